-- Events, cleaned: event types and dimensions lower-cased, empty strings made null.
with

source as (
    select * from source_events
),

final as (
    select
        event_id,
        user_id,
        nullif(trim(session_id), '') as session_id,
        event_time,
        lower(trim(event_type)) as event_type,
        nullif(trim(product_id), '') as product_id,
        quantity,
        price,
        nullif(trim(search_query), '') as search_query,
        lower(nullif(trim(device), '')) as device,
        lower(nullif(trim(channel), '')) as channel
    from source
)

select * from final
