-- One row per order and product bought in it, up to $end_date: the baskets
-- "bought together" counts pairs in. Return lines (negative quantity) are left out.
-- A warehouse without order lines (an events-only import such as a grocery
-- transaction log) uses the products purchased in one session as the basket.
with

order_items as (
    select * from fct_order_items
),

events as (
    select * from fct_events
),

order_lines as (
    select distinct
        order_id as basket_id,
        product_id
    from order_items
    where quantity > 0
        and order_date <= $end_date
),

session_purchases as (
    select distinct
        session_id as basket_id,
        product_id
    from events
    where event_type = 'purchase'
        and product_id is not null
        and session_id is not null
        and event_date <= $end_date
        and not exists (select 1 from order_items)
),

final as (
    select * from order_lines
    union all
    select * from session_purchases
)

select * from final
order by basket_id, product_id
