-- One row per cart: a product put in the cart by a user, with what was known
-- at that moment and when (if ever) the same user bought the same product.
--
-- A cart starts at a cart event of a product by a user when that user has no
-- cart of the product still open, i.e. at their first cart event of it or the
-- first one after they last bought it. Cart events in between (re-adding the
-- product) belong to the same cart. The cart converts at the user's next
-- purchase event of the product at or after the cart started, so every
-- purchase converts at most one cart. Purchases without a cart are ignored.
with

-- Not materialised: it is read three times, and copying 10M events each build costs seconds.
events as not materialized (
    select * from fct_events
),

products as (
    select * from dim_products
),

orders as (
    select * from fct_orders
),

-- Only cart and purchase events decide where carts start and end.
cart_and_purchase as (
    select event_id, user_id, product_id, event_time, event_type
    from events
    where event_type in ('cart', 'purchase') and product_id is not null
),

marked as (
    select
        *,
        -- A cart event opens a cart unless the previous cart-or-purchase event
        -- of this user and product was a cart (that cart is still open).
        event_type = 'cart'
            and coalesce(lag(event_type) over by_user_product, 'purchase') = 'purchase' as is_cart_start,
        -- The first purchase at or after this event. At equal timestamps the
        -- cart sorts first, so a cart bought in the same second converts.
        min(event_time) filter (where event_type = 'purchase') over (
            by_user_product rows between current row and unbounded following
        ) as next_purchase_at
    from cart_and_purchase
    window by_user_product as (
        partition by user_id, product_id
        order by event_time, event_type = 'purchase', event_id
    )
),

cart_starts as (
    select event_id, next_purchase_at as purchased_at
    from marked
    where is_cart_start
),

-- Median list price of the products in each leaf category (category_path);
-- the planted price effect and the price bands are relative to it.
category_medians as (
    select category_path, median(list_price) as category_median_list_price
    from products
    where list_price > 0
    group by category_path
),

carts as (
    select
        events.event_id as cart_id,
        events.user_id,
        events.user_key,
        events.session_id,
        events.product_id,
        events.event_time as carted_at,
        events.event_date as cart_date,
        events.category,
        events.subcategory,
        products.category_path,
        events.brand,
        events.list_price,
        category_medians.category_median_list_price,
        events.price as cart_price,
        events.quantity,
        events.device,
        events.channel,
        events.is_returning,
        cart_starts.purchased_at
    from cart_starts
    inner join events using (event_id)
    left join products using (product_id)
    left join category_medians using (category_path)
),

-- Events of the cart's session up to and including the cart itself.
session_depths as (
    select carts.cart_id, count(*) as session_depth
    from carts
    inner join events
        on events.session_id = carts.session_id
        and (events.event_time, events.event_id) <= (carts.carted_at, carts.cart_id)
    group by carts.cart_id
),

-- Orders the user placed before the cart.
prior_orders as (
    select carts.cart_id, count(*) as prior_order_count
    from carts
    inner join orders
        on orders.user_id = carts.user_id
        and orders.ordered_at < carts.carted_at
    group by carts.cart_id
),

final as (
    select
        carts.cart_id,
        carts.user_id,
        carts.user_key,
        carts.session_id,
        carts.product_id,
        carts.carted_at,
        carts.cart_date,
        carts.category,
        carts.subcategory,
        carts.category_path,
        carts.brand,
        carts.list_price,
        carts.category_median_list_price,
        carts.list_price / nullif(carts.category_median_list_price, 0) as price_ratio,
        case
            when carts.list_price is null or carts.category_median_list_price is null then 'unknown'
            when carts.list_price > 1.5 * carts.category_median_list_price then 'over 1.5x median'
            when carts.list_price >= 0.75 * carts.category_median_list_price then '0.75-1.5x median'
            else 'under 0.75x median'
        end as price_band,
        carts.cart_price,
        greatest(0, least(1, 1 - carts.cart_price / nullif(carts.list_price, 0))) as discount_rate,
        carts.quantity,
        carts.device,
        carts.channel,
        carts.is_returning,
        cast(hour(carts.carted_at) as integer) as cart_hour,
        coalesce(prior_orders.prior_order_count, 0) as prior_order_count,
        coalesce(session_depths.session_depth, 1) as session_depth,
        carts.purchased_at,
        date_diff('millisecond', carts.carted_at, carts.purchased_at) / 3600000.0 as hours_to_purchase
    from carts
    left join session_depths using (cart_id)
    left join prior_orders using (cart_id)
)

select * from final order by cart_date, carted_at, cart_id
