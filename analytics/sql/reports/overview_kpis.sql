-- KPI totals for the chosen period and the equally long period before it.
-- A category filter keeps sessions that touched a chosen category (converted
-- when they bought in one) and only the chosen categories' order lines.
with

sessions as (
    select * from fct_sessions
),

order_items as (
    select * from fct_order_items
),

periods as (
    select 'current' as period, cast($start_date as date) as start_date, cast($end_date as date) as end_date
    union all
    select 'previous', cast($previous_start_date as date), cast($previous_end_date as date)
),

filtered_sessions as (
    select periods.period, sessions.*
    from sessions
    inner join periods on sessions.session_date between periods.start_date and periods.end_date
    where (len($channels) = 0 or list_contains($channels, sessions.channel))
        and (len($devices) = 0 or list_contains($devices, sessions.device))
        and (len($categories) = 0 or list_has_any(sessions.categories, $categories))
),

session_totals as (
    select
        period,
        count(*) as sessions,
        count(distinct user_id) as users,
        count(*) filter (
            where if(len($categories) = 0, is_converted, list_has_any(purchased_categories, $categories))
        ) as converted_sessions
    from filtered_sessions
    group by period
),

filtered_items as (
    select periods.period, order_items.*
    from order_items
    inner join periods on order_items.order_date between periods.start_date and periods.end_date
    where (len($channels) = 0 or list_contains($channels, order_items.channel))
        and (len($devices) = 0 or list_contains($devices, order_items.device))
        and (len($categories) = 0 or list_contains($categories, order_items.category))
),

order_totals as (
    select
        period,
        count(distinct order_id) as orders,
        cast(sum(quantity) as bigint) as units,
        sum(revenue) as revenue
    from filtered_items
    group by period
),

final as (
    select
        periods.period,
        coalesce(session_totals.sessions, 0) as sessions,
        coalesce(session_totals.users, 0) as users,
        coalesce(session_totals.converted_sessions, 0) as converted_sessions,
        coalesce(order_totals.orders, 0) as orders,
        coalesce(order_totals.units, 0) as units,
        coalesce(order_totals.revenue, 0) as revenue
    from periods
    left join session_totals using (period)
    left join order_totals using (period)
)

select * from final
