-- One row per session, summarised from its events.
with

events as (
    select * from int_events_sessionized
),

final as (
    select
        session_id,
        min(user_id) as user_id,
        min(event_time) as started_at,
        max(event_time) as ended_at,
        arg_min(device, event_time) filter (where device is not null) as device,
        arg_min(channel, event_time) filter (where channel is not null) as channel,
        arg_min(category, event_time) filter (where category is not null) as landing_category,
        coalesce(list_sort(list_distinct(list(category) filter (where category is not null))), []) as categories,
        coalesce(list_sort(list_distinct(
            list(category) filter (where category is not null and event_type = 'purchase')
        )), []) as purchased_categories,
        count(*) as event_count,
        count(*) filter (where event_type = 'view') as view_count,
        count(*) filter (where event_type = 'cart') as cart_count,
        count(*) filter (where event_type = 'purchase') as purchase_count
    from events
    group by session_id
)

select * from final
