-- One row per order and product bought in it, up to $end_date: the baskets
-- "bought together" counts pairs in. Return lines (negative quantity) are left out.
with

order_items as (
    select * from fct_order_items
),

final as (
    select distinct
        order_id as basket_id,
        product_id
    from order_items
    where quantity > 0
        and order_date <= $end_date
)

select * from final
order by basket_id, product_id
