-- Users who reached one step of a funnel but not the next, with what they did at the step they
-- reached: how many such events, when, and on which products. `dropped_users` (user_key) is a
-- relation the engine registers; /*step_predicate*/ is filled by analytics/funnels/dropoff.py
-- with column names and $parameters only.
with

events as (
    select * from fct_events
),

dropped as (
    select user_key from dropped_users
),

at_last_step as (
    select events.*
    from events
    inner join dropped using (user_key)
    where events.event_date between $start_date and $end_date
        and (len($channels) = 0 or list_contains($channels, events.channel))
        and (len($devices) = 0 or list_contains($devices, events.device))
        and (len($categories) = 0 or list_contains($categories, events.category))
        and /*step_predicate*/
),

final as (
    select
        user_id,
        count(*) as events,
        min(event_time) as first_event_time,
        max(event_time) as last_event_time,
        count(distinct product_id) as products,
        array_to_string(list_sort(list(distinct product_id)), ' ') as product_ids,
        array_to_string(list_sort(list(distinct category)), ', ') as categories
    from at_last_step
    group by user_id
)

select * from final order by last_event_time desc, user_id
