-- Every fct_events row with the columns a funnel can filter, narrow or break down by, for
-- analytics.funnels.store (an in-memory extract, loaded once per warehouse build).
-- No ORDER BY: the store sorts by (user, time) itself, with one stable sort by user over the
-- storage order (event_date, user_key, event_time), cheaper than a sort on two keys here.
-- Strings stay strings here; the store encodes them batch by batch against dictionaries read first
-- (a per-row list_position over thousands of categories would be a linear search per event).
select
    events.user_key::integer as user_key,
    epoch_us(events.event_time) as event_time_us,
    events.event_type,
    events.category,
    events.device,
    events.channel,
    coalesce(events.is_returning, false) as is_returning,
    events.session_id is not null as has_session,
    hash(events.session_id) as session_hash
from fct_events as events
