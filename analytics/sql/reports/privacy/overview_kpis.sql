-- The Overview's KPI totals for one period with each user's contribution bounded: the exact
-- inputs to the noisy tiles (analytics/privacy/overview.py adds the noise). Each user counts at
-- most $session_cap sessions, least($session_cap, $order_cap) converted sessions (a converted
-- session holds a purchase, so it is bounded like orders, and never more than the sessions
-- counted), $order_cap orders and $revenue_cap revenue (their revenue clamped to [0, cap]), and
-- once as a user. So one user changes each total by at most that bound, which is the noise's
-- sensitivity. Every bound is applied to the user's own totals, so adding or removing one user
-- never changes what another contributes. Filter semantics are the filtered_* macros', as in
-- reports/overview_kpis.sql; one aggregation per table, no per-session ordering.
with

sessions_per_user as (
    select
        user_key,
        count(*) as sessions,
        count(*) filter (where is_converted_in_filter) as converted_sessions
    from filtered_sessions($start_date, $end_date, $categories, $channels, $devices)
    group by user_key
),

orders_per_user as (
    select
        user_id,
        count(distinct order_id) as orders,
        sum(revenue) as revenue
    from filtered_order_items($start_date, $end_date, $categories, $channels, $devices)
    group by user_id
),

session_totals as (
    select
        coalesce(sum(least(sessions, $session_cap)), 0) as sessions,
        count(*) as users,
        coalesce(sum(least(converted_sessions, least($session_cap, $order_cap))), 0) as converted_sessions
    from sessions_per_user
),

order_totals as (
    select
        coalesce(sum(least(orders, $order_cap)), 0) as orders,
        coalesce(sum(least(greatest(revenue, 0), $revenue_cap)), 0) as revenue
    from orders_per_user
),

final as (
    select
        session_totals.sessions,
        session_totals.users,
        session_totals.converted_sessions,
        order_totals.orders,
        order_totals.revenue
    from session_totals, order_totals
)

select * from final
