-- The last day with a session or an order: later periods are not observed yet.
with

sessions as (
    select max(session_date) as last_date from fct_sessions
),

orders as (
    select max(order_date) as last_date from fct_orders
),

final as (
    select greatest(sessions.last_date, orders.last_date) as data_end_date
    from sessions cross join orders
)

select * from final
