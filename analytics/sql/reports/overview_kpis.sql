-- KPI totals for the chosen period and the equally long period before it,
-- which ends the day before $start_date. Filter semantics live in the
-- filtered_sessions and filtered_order_items macros.
with

periods as (
    select 'current' as period
    union all
    select 'previous'
),

-- One scan over both periods; a plain date range lets DuckDB skip row groups.
sessions as (
    select
        if(session_date >= $start_date, 'current', 'previous') as period,
        *
    from filtered_sessions($previous_start_date, $end_date, $categories, $channels, $devices)
),

order_items as (
    select
        if(order_date >= $start_date, 'current', 'previous') as period,
        *
    from filtered_order_items($previous_start_date, $end_date, $categories, $channels, $devices)
),

session_totals as (
    select
        period,
        count(*) as sessions,
        count(distinct user_key) as users,
        count(*) filter (where is_converted_in_filter) as converted_sessions
    from sessions
    group by period
),

order_totals as (
    select
        period,
        count(distinct order_id) as orders,
        cast(sum(quantity) as bigint) as units,
        sum(revenue) as revenue
    from order_items
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
