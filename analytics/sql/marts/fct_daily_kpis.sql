-- Whole-shop KPIs per day, channel and device. Every measure is additive
-- across rows, so any roll-up is a plain sum; distinct users are not, and
-- live in fct_sessions.
with

sessions as (
    select * from fct_sessions
),

orders as (
    select * from fct_orders
),

session_days as (
    select
        session_date as kpi_date,
        channel,
        device,
        count(*) as sessions,
        count(*) filter (where is_converted) as converted_sessions,
        count(*) filter (where not is_returning) as new_user_sessions
    from sessions
    group by all
),

order_days as (
    select
        order_date as kpi_date,
        channel,
        device,
        count(*) as orders,
        cast(sum(units) as bigint) as units,
        sum(gross_revenue) as gross_revenue,
        sum(discount_amount) as discount_amount,
        sum(revenue) as revenue
    from orders
    group by all
),

final as (
    select
        coalesce(session_days.kpi_date, order_days.kpi_date) as kpi_date,
        coalesce(session_days.channel, order_days.channel) as channel,
        coalesce(session_days.device, order_days.device) as device,
        coalesce(session_days.sessions, 0) as sessions,
        coalesce(session_days.converted_sessions, 0) as converted_sessions,
        coalesce(session_days.new_user_sessions, 0) as new_user_sessions,
        coalesce(order_days.orders, 0) as orders,
        coalesce(order_days.units, 0) as units,
        coalesce(order_days.gross_revenue, 0) as gross_revenue,
        coalesce(order_days.discount_amount, 0) as discount_amount,
        coalesce(order_days.revenue, 0) as revenue
    from session_days
    full outer join order_days
        on session_days.kpi_date = order_days.kpi_date
        and session_days.channel is not distinct from order_days.channel
        and session_days.device is not distinct from order_days.device
)

select * from final
