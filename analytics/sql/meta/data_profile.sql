-- Counts that decide which analyses the warehouse's data supports.
with

sessions as (
    select * from fct_sessions
),

orders as (
    select * from fct_orders
),

events as (
    select * from int_events_sessionized
),

promotions as (
    select * from stg_promotions
),

order_items as (
    select * from stg_order_items
),

users as (
    select * from dim_users
),

event_counts as (
    select
        count(*) filter (where event_type = 'view') as view_events,
        count(*) filter (where event_type = 'cart') as cart_events,
        count(*) filter (where event_type = 'purchase') as purchase_events,
        count(*) filter (where event_type = 'search' and search_query is not null) as search_events,
        count(distinct product_id) as products_with_events
    from events
),

final as (
    select
        (select count(*) from sessions) as sessions,
        (select count(*) from orders) as orders,
        (select count(distinct order_date) from orders) as order_days,
        (select coalesce(date_diff('day', min(order_date), max(order_date)), 0) from orders) as order_span_days,
        (select count(*) from users where order_count >= 2) as repeat_customers,
        (select count(*) from promotions) as promotions,
        (select count(*) from order_items where unit_price is not null) as priced_order_lines,
        -- Importers record orders without a known customer as '(unknown)'.
        (select count(*) from orders where user_id <> '(unknown)') as identified_orders,
        event_counts.*
    from event_counts
)

select * from final
