-- The events a funnel reads: one row per event of fct_events in the global filters, with a bit
-- mask of the steps it matches (bit k for step k + 1; exclusion j + 1 takes bit n_steps + j).
-- analytics/funnels/events_sql.py fills the /*slots*/ with fragments built from column names and
-- $parameters only; values are always bound.
-- Times are microseconds since $time_origin_us; when the mask fits beside them, the two are packed
-- into one integer (time << mask_bits | mask), which halves what crosses into Python.
-- No ORDER BY: fct_events is stored by (event_date, user_key, event_time), which is the order the
-- engine needs, and the engine re-sorts whenever it finds rows in another order.
select
    events.user_key::integer as user_key,
    /*columns*/
from fct_events as events
/*joins*/
where events.event_date between $start_date and $end_date
    and (len($channels) = 0 or list_contains($channels, events.channel))
    and (len($devices) = 0 or list_contains($devices, events.device))
    and (len($categories) = 0 or list_contains($categories, events.category))
    /*step_filter*/
