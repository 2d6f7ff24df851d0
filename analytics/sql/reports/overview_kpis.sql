-- KPI totals for the chosen period and the equally long period before it,
-- which ends the day before $start_date.
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
    select 'current' as period
    union all
    select 'previous'
),

-- A plain range filter (rather than a join to the periods) lets DuckDB skip
-- row groups by their min/max dates.
filtered_sessions as (
    select
        if(session_date >= $start_date, 'current', 'previous') as period,
        *
    from sessions
    where session_date between $previous_start_date and $end_date
        and (len($channels) = 0 or list_contains($channels, channel))
        and (len($devices) = 0 or list_contains($devices, device))
        and (len($categories) = 0 or list_has_any(categories, $categories))
),

session_totals as (
    select
        period,
        count(*) as sessions,
        count(distinct user_key) as users,
        count(*) filter (
            where if(len($categories) = 0, is_converted, list_has_any(purchased_categories, $categories))
        ) as converted_sessions
    from filtered_sessions
    group by period
),

filtered_items as (
    select
        if(order_date >= $start_date, 'current', 'previous') as period,
        *
    from order_items
    where order_date between $previous_start_date and $end_date
        and (len($channels) = 0 or list_contains($channels, channel))
        and (len($devices) = 0 or list_contains($devices, device))
        and (len($categories) = 0 or list_contains($categories, category))
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
