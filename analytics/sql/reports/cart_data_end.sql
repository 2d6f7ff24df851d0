-- When the data ends: the latest event in the warehouse. Carts not bought by
-- then are censored at this moment.
select max(event_time) as data_end_at from fct_events
