-- One row per day of the chosen period, zero-filled.
with

days as (
    select cast(day as date) as kpi_date
    from range(cast($start_date as date), cast($end_date as date) + interval 1 day, interval 1 day) as t(day)
),

sessions as (
    select * from filtered_sessions($start_date, $end_date, $categories, $channels, $devices)
),

order_items as (
    select * from filtered_order_items($start_date, $end_date, $categories, $channels, $devices)
),

session_days as (
    select
        session_date as kpi_date,
        count(*) as sessions,
        count(distinct user_key) as users,
        count(*) filter (where is_converted_in_filter) as converted_sessions
    from sessions
    group by session_date
),

order_days as (
    select
        order_date as kpi_date,
        count(distinct order_id) as orders,
        cast(sum(quantity) as bigint) as units,
        sum(revenue) as revenue
    from order_items
    group by order_date
),

final as (
    select
        days.kpi_date,
        coalesce(session_days.sessions, 0) as sessions,
        coalesce(session_days.users, 0) as users,
        coalesce(session_days.converted_sessions, 0) as converted_sessions,
        coalesce(order_days.orders, 0) as orders,
        coalesce(order_days.units, 0) as units,
        coalesce(order_days.revenue, 0) as revenue
    from days
    left join session_days using (kpi_date)
    left join order_days using (kpi_date)
)

select * from final order by kpi_date
