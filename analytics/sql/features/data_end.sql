-- The first and last event times in the warehouse: the span the models can learn from.
with

events as (
    select * from fct_events
),

final as (
    select min(event_time) as first_event_at, max(event_time) as last_event_at
    from events
)

select * from final
