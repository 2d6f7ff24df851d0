-- What each user did in the $horizon_days days from $as_of: the outcomes the
-- purchase and churn models learn. One row per user with an event or an order
-- in [$as_of, $as_of + $horizon_days days); everyone else did nothing.
with

events as (
    select * from fct_events
),

orders as (
    select * from fct_orders
),

active_users as (
    select distinct user_id
    from events
    where event_time >= cast($as_of as timestamp)
        and event_time < cast($as_of as timestamp) + to_days(cast($horizon_days as integer))
),

ordering_users as (
    select distinct user_id
    from orders
    where ordered_at >= cast($as_of as timestamp)
        and ordered_at < cast($as_of as timestamp) + to_days(cast($horizon_days as integer))
),

final as (
    select
        user_id,
        active_users.user_id is not null as is_active,
        ordering_users.user_id is not null as has_ordered
    from active_users
    full outer join ordering_users using (user_id)
)

select * from final order by user_id
