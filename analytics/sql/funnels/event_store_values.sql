-- The distinct values of each column the event store encodes (analytics.funnels.store), sorted,
-- nulls left out (code 0 stands for null), and the number of rows to allocate.
select
    count(*) as row_count,
    list(distinct events.event_type order by events.event_type) filter (where events.event_type is not null)
        as event_types,
    list(distinct events.category order by events.category) filter (where events.category is not null)
        as categories,
    list(distinct events.device order by events.device) filter (where events.device is not null) as devices,
    list(distinct events.channel order by events.channel) filter (where events.channel is not null) as channels
from fct_events as events
