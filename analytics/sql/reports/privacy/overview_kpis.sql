-- The Overview's KPI totals for one period with each user's contribution bounded: the exact
-- inputs to the noisy tiles (analytics/privacy/overview.py adds the noise). With the bounds, one
-- user changes sessions and converted_sessions by at most $session_cap, users by 1, orders by at
-- most $order_cap and revenue by at most $revenue_cap. Which sessions and orders a user keeps
-- depends on that user's own rows only (their earliest), so adding or removing one user never
-- changes what another contributes. Filter semantics are the filtered_* macros', as in
-- reports/overview_kpis.sql.
with

sessions as (
    select user_key, session_id, started_at, is_converted_in_filter
    from filtered_sessions($start_date, $end_date, $categories, $channels, $devices)
),

bounded_sessions as (
    select *
    from sessions
    qualify row_number() over (partition by user_key order by started_at, session_id) <= $session_cap
),

-- Among the kept sessions, at most $order_cap converted ones per user count as converted.
converted_sessions as (
    select *
    from bounded_sessions
    where is_converted_in_filter
    qualify row_number() over (partition by user_key order by started_at, session_id) <= $order_cap
),

order_items as (
    select user_id, order_id, ordered_at, revenue
    from filtered_order_items($start_date, $end_date, $categories, $channels, $devices)
),

orders as (
    select user_id, order_id, min(ordered_at) as ordered_at, sum(revenue) as revenue
    from order_items
    group by user_id, order_id
),

bounded_orders as (
    select *
    from orders
    qualify row_number() over (partition by user_id order by ordered_at, order_id) <= $order_cap
),

user_revenue as (
    select least(greatest(sum(revenue), 0), $revenue_cap) as revenue
    from bounded_orders
    group by user_id
),

session_totals as (
    select
        count(*) as sessions,
        count(distinct user_key) as users
    from bounded_sessions
),

final as (
    select
        session_totals.sessions,
        session_totals.users,
        (select count(*) from converted_sessions) as converted_sessions,
        (select count(*) from bounded_orders) as orders,
        (select coalesce(sum(revenue), 0) from user_revenue) as revenue
    from session_totals
)

select * from final
