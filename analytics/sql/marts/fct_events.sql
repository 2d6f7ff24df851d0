-- One row per event with its session and product context, for event-level
-- analyses (funnels, cart drop-off). Stored in date order so date-filtered
-- scans skip row groups.
with

events as (
    select * from int_events_sessionized
),

sessions as (
    select * from fct_sessions
),

products as (
    select * from dim_products
),

final as (
    select
        events.event_id,
        events.user_id,
        sessions.user_key,
        events.session_id,
        events.event_time,
        cast(events.event_time as date) as event_date,
        events.event_type,
        events.product_id,
        products.category,
        products.subcategory,
        products.brand,
        products.list_price,
        events.quantity,
        events.price,
        events.search_query,
        coalesce(events.device, sessions.device) as device,
        coalesce(events.channel, sessions.channel) as channel,
        sessions.is_returning
    from events
    inner join sessions using (session_id)
    left join products using (product_id)
)

select * from final order by event_date, user_key, event_time, event_id
