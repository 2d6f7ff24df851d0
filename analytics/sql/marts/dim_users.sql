-- One row per user: first-seen cohort, acquisition and lifetime totals.
-- first_seen_at is the earliest of what the users table says, the first
-- event and the first order, so a cohort never starts after its activity.
with

users as (
    select * from stg_users
),

sessions as (
    select * from fct_sessions
),

orders as (
    select * from fct_orders
),

activity as (
    select
        user_id,
        min(started_at) as first_session_at,
        arg_min(channel, started_at) as first_session_channel,
        count(*) as session_count
    from sessions
    group by user_id
),

purchases as (
    select
        user_id,
        min(ordered_at) as first_ordered_at,
        count(*) as order_count,
        sum(revenue) as lifetime_revenue
    from orders
    group by user_id
),

all_users as (
    select user_id from users
    union
    select user_id from activity
    union
    select user_id from purchases
),

joined as (
    select
        all_users.user_id,
        least(users.first_seen_at, activity.first_session_at, purchases.first_ordered_at) as first_seen_at,
        coalesce(users.acquisition_channel, activity.first_session_channel) as acquisition_channel,
        users.region,
        purchases.first_ordered_at,
        coalesce(activity.session_count, 0) as session_count,
        coalesce(purchases.order_count, 0) as order_count,
        coalesce(purchases.lifetime_revenue, 0) as lifetime_revenue
    from all_users
    left join users using (user_id)
    left join activity using (user_id)
    left join purchases using (user_id)
),

final as (
    select
        user_id,
        first_seen_at,
        cast(first_seen_at as date) as first_seen_date,
        cast(date_trunc('week', first_seen_at) as date) as cohort_week,
        cast(date_trunc('month', first_seen_at) as date) as cohort_month,
        acquisition_channel,
        region,
        first_ordered_at,
        cast(first_ordered_at as date) as first_order_date,
        session_count,
        order_count,
        lifetime_revenue,
        order_count > 0 as is_customer
    from joined
)

select * from final
