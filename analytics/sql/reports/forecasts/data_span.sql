-- The first and last order day of the whole warehouse: the history a forecast can learn from.
with

order_items as (
    select * from fct_order_items
),

final as (
    select
        min(order_date) as first_date,
        max(order_date) as last_date
    from order_items
)

select * from final
