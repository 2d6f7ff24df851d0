-- The carts that the global filters select, one row per cart, with the moment
-- the data ends (the latest event in the warehouse): a cart not bought by then
-- is censored there. Filters apply to the cart: its date, its product's
-- category, and its session's channel and device. The purchase that converts a
-- cart may fall after $end_date; it still counts.
with

carts as (
    select * from fct_carts
),

data_end as (
    select max(event_time) as data_end_at from fct_events
),

final as (
    select
        carts.cart_id,
        carts.user_id,
        carts.session_id,
        carts.product_id,
        carts.carted_at,
        carts.cart_date,
        carts.category,
        carts.category_path,
        carts.brand,
        carts.list_price,
        carts.category_median_list_price,
        carts.price_ratio,
        carts.price_band,
        carts.cart_price,
        carts.discount_rate,
        carts.quantity,
        carts.device,
        carts.channel,
        carts.is_returning,
        carts.cart_hour,
        carts.prior_order_count,
        carts.session_depth,
        carts.purchased_at,
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
