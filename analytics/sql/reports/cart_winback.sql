-- The win-back segment (analytics.cart_dropoff.load_winback_segment): carts the global filters
-- select that were not bought within $within_hours although that window had closed when the data
-- ends (abandoned, as cart_states classifies them), newest first. Filtering here rather than in
-- pandas reads a fraction of the rows. Same carts, filters and hours_observed as cart_outcomes.sql.
with

carts as (
    select * from fct_carts
),

data_end as (
    select max(event_time) as data_end_at from fct_events
),

observed as (
    select
        carts.*,
        date_diff('millisecond', carts.carted_at, data_end.data_end_at) / 3600000.0 as hours_observed
    from carts
    cross join data_end
    where carts.cart_date between $start_date and $end_date
        and (len($categories) = 0 or list_contains($categories, carts.category))
        and (len($channels) = 0 or list_contains($channels, carts.channel))
        and (len($devices) = 0 or list_contains($devices, carts.device))
),

final as (
    select
        user_id,
        product_id,
        category,
        brand,
        list_price,
        cart_price,
        price_band,
        carted_at,
        device,
        channel,
        is_returning,
        purchased_at,
        hours_to_purchase is not null as is_recovered
    from observed
    where coalesce(hours_to_purchase <= $within_hours, false) = false
        and hours_observed >= $within_hours
    order by carted_at desc, cart_id
)

select * from final
