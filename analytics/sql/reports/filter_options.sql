-- The values the sidebar filters offer, and the span of the data.
with

sessions as (
    select * from fct_sessions
),

orders as (
    select * from fct_orders
),

products as (
    select * from dim_products
),

final as (
    select
        (select list(distinct category order by category) from products) as categories,
        (select list(distinct channel order by channel) filter (where channel is not null) from sessions) as channels,
        (select list(distinct device order by device) filter (where device is not null) from sessions) as devices,
        least((select min(session_date) from sessions), (select min(order_date) from orders)) as first_date,
        greatest((select max(session_date) from sessions), (select max(order_date) from orders)) as last_date
)

select * from final
