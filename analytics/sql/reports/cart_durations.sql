-- What cart drop-off's summary needs of each cart the global filters select, and nothing more
-- (analytics.cart_dropoff.load_cart_dropoff): the breakdown columns and the two durations.
-- Same carts, filters and hours_observed as cart_outcomes.sql; reading only these seven columns
-- keeps the whole-year summary at 10M events well under a second (ids and timestamps are
-- what made reading every column slow).
with

carts as (
    select * from fct_carts
),

data_end as (
    select max(event_time) as data_end_at from fct_events
),

final as (
    select
        carts.category,
        carts.price_band,
        carts.device,
        carts.cart_hour,
        carts.is_returning,
        carts.hours_to_purchase,
        date_diff('millisecond', carts.carted_at, data_end.data_end_at) / 3600000.0 as hours_observed
    from carts
    cross join data_end
    where carts.cart_date between $start_date and $end_date
        and (len($categories) = 0 or list_contains($categories, carts.category))
        and (len($channels) = 0 or list_contains($channels, carts.channel))
        and (len($devices) = 0 or list_contains($devices, carts.device))
)

select * from final
