-- Every event with a session id. Where the data set has none, a new session
-- starts after 30 minutes without an event (the GA4 and Mixpanel default), so
-- imported logs without visits still get sessions. Only rows that lack a
-- session id pay for the window sort.
with

events as (
    select * from stg_events
),

products as (
    select * from stg_products
),

with_session as (
    select * from events where session_id is not null
),

without_session as (
    select * from events where session_id is null
),

marked as (
    select
        *,
        coalesce(
            event_time - lag(event_time) over by_user > interval 30 minute,
            true
        ) as is_session_start
    from without_session
    window by_user as (partition by user_id order by event_time, event_id)
),

numbered as (
    select
        * exclude (is_session_start),
        sum(cast(is_session_start as integer)) over (
            partition by user_id order by event_time, event_id rows unbounded preceding
        ) as session_number
    from marked
),

derived as (
    select * exclude (session_number) replace (user_id || '#' || session_number as session_id)
    from numbered
),

sessionized as (
    select * from with_session
    union all by name
    select * from derived
),

final as (
    select
        sessionized.*,
        products.category
    from sessionized
    left join products using (product_id)
)

select * from final
