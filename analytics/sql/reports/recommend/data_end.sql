-- The last day with a view, favourite, cart or purchase event.
with

events as (
    select * from fct_events
),

final as (
    select max(event_date) as data_end_date
    from events
    where event_type in ('view', 'favorite', 'cart', 'purchase')
)

select * from final
