-- User features as of a point in time. Every value uses only events and
-- orders strictly before $as_of (a UTC timestamp), so a model trained on
-- snapshots at earlier times never sees the future it predicts. One row per
-- user with at least one event before $as_of. Windows are "the last N days":
-- [$as_of - N days, $as_of). See docs/feature-store.md for each column.
with

events as (
    select * from fct_events
),

orders as (
    select * from fct_orders
),

products as (
    select * from dim_products
),

-- The catalogue has no history, so prices relative to it are the same at any $as_of.
category_medians as (
    select category_path, median(list_price) as category_median_list_price
    from products
    where list_price > 0
    group by category_path
),

product_price_ratios as (
    select
        products.product_id,
        products.list_price / nullif(category_medians.category_median_list_price, 0) as price_ratio
    from products
    inner join category_medians using (category_path)
),

-- Not materialised: it is read by several summaries, and copying 10M events costs more than rescanning.
past_events as not materialized (
    select
        event_id,
        user_key,
        session_id,
        event_time,
        event_type,
        product_id,
        category,
        device,
        channel,
        quantity,
        price,
        list_price,
        event_time >= cast($as_of as timestamp) - interval 7 day as is_last_7_days,
        event_time >= cast($as_of as timestamp) - interval 30 day as is_last_30_days
    from events
    where event_time < cast($as_of as timestamp)
),

-- user_key is a dense integer per user_id; summaries group by it because hashing integers is cheaper.
past_users as (
    select user_key, min(user_id) as user_id
    from events
    where event_time < cast($as_of as timestamp)
    group by user_key
),

-- Sessions cut at $as_of: a visit still going on at $as_of counts only its earlier events.
past_sessions as (
    select
        user_key,
        session_id,
        min(event_time) as started_at,
        count(*) as event_count,
        arg_min(device, event_time) as device,
        arg_min(channel, event_time) as channel
    from past_events
    group by user_key, session_id
),

-- The device and channel of most visits; ties go to the alphabetically first.
device_visits as (
    select user_key, device, count(*) as visits
    from past_sessions
    group by user_key, device
),

channel_visits as (
    select user_key, channel, count(*) as visits
    from past_sessions
    group by user_key, channel
),

main_devices as (
    select user_key, arg_min(device, struct_pack(fewer := -visits, device)) as main_device
    from device_visits
    group by user_key
),

main_channels as (
    select user_key, arg_min(channel, struct_pack(fewer := -visits, channel)) as main_channel
    from channel_visits
    group by user_key
),

session_summary as (
    select
        user_key,
        count(*) as sessions_total,
        count(*) filter (where started_at >= cast($as_of as timestamp) - interval 7 day) as sessions_7d,
        count(*) filter (where started_at >= cast($as_of as timestamp) - interval 30 day) as sessions_30d,
        avg(event_count) as mean_session_depth,
        avg(event_count) filter (
            where started_at >= cast($as_of as timestamp) - interval 30 day
        ) as mean_session_depth_30d,
        min(started_at) as first_session_at,
        -- Mean gap between consecutive visits: the span of visits over the number of gaps.
        date_diff('second', min(started_at), max(started_at)) / 86400.0 / nullif(count(*) - 1, 0)
            as mean_days_between_sessions,
        avg(cast(device = 'app' as double)) as app_session_share,
        avg(cast(device = 'mobile' as double)) as mobile_session_share,
        avg(cast(device = 'desktop' as double)) as desktop_session_share,
        avg(cast(channel = 'email' as double)) as email_session_share
    from past_sessions
    group by user_key
),

event_summary as (
    select
        user_key,
        max(event_time) as last_event_at,
        count(*) filter (where event_type = 'view' and is_last_7_days) as views_7d,
        count(*) filter (where event_type = 'view' and is_last_30_days) as views_30d,
        count(*) filter (where event_type = 'cart' and is_last_30_days) as carts_30d,
        count(*) filter (where event_type = 'search' and is_last_30_days) as searches_30d,
        avg(greatest(0, least(1, 1 - price / nullif(list_price, 0)))) filter (
            where event_type = 'view' and is_last_30_days
        ) as mean_viewed_discount_rate_30d
    from past_events
    group by user_key
),

-- A product is in the cart when the user's last cart, removal or purchase of it
-- (within 30 days) was a cart. At equal times a purchase comes after the cart.
last_cart_actions as (
    select
        user_key,
        product_id,
        arg_max(event_type, struct_pack(event_time, is_purchase := event_type = 'purchase', event_id))
            as last_action,
        arg_max(price * coalesce(quantity, 1), struct_pack(event_time, is_purchase := event_type = 'purchase', event_id))
            as last_value
    from past_events
    where event_type in ('cart', 'remove_from_cart', 'purchase')
        and product_id is not null
        and is_last_30_days
    group by user_key, product_id
),

cart_summary as (
    select
        user_key,
        coalesce(sum(last_value) filter (where last_action = 'cart'), 0) as open_cart_value,
        count(*) filter (where last_action = 'cart') as open_cart_products
    from last_cart_actions
    group by user_key
),

-- The view -> cart -> purchase sequence of each product a user touched, and its recent views.
-- Category counts and price ratios are taken per product here, after grouping, which is far
-- cheaper than joining and counting distinct values over every event.
product_journeys as (
    select
        user_key,
        product_id,
        min(event_time) filter (where event_type = 'view') as first_viewed_at,
        min(event_time) filter (where event_type = 'cart') as first_carted_at,
        min(event_time) filter (where event_type = 'purchase') as first_purchased_at,
        count(*) filter (where event_type = 'view' and is_last_7_days) as views_7d,
        count(*) filter (where event_type = 'view' and is_last_30_days) as views_30d
    from past_events
    where product_id is not null and event_type in ('view', 'cart', 'purchase')
    group by user_key, product_id
),

sequence_summary as (
    select
        user_key,
        median(date_diff('second', first_viewed_at, first_carted_at)) filter (
            where first_carted_at >= first_viewed_at
        ) as median_view_to_cart_seconds,
        median(date_diff('second', first_carted_at, first_purchased_at)) filter (
            where first_purchased_at >= first_carted_at
        ) as median_cart_to_purchase_seconds,
        count(*) filter (where first_carted_at is not null)
            / nullif(count(*) filter (where first_viewed_at is not null), 0) as viewed_products_carted_share,
        count(*) filter (where first_purchased_at >= first_carted_at)
            / nullif(count(*) filter (where first_carted_at is not null), 0) as carted_products_bought_share
    from product_journeys
    group by user_key
),

product_context as (
    select products.product_id, products.category, product_price_ratios.price_ratio
    from products
    left join product_price_ratios using (product_id)
),

-- Only the products viewed in the last 30 days are joined to the catalogue.
recent_view_summary as (
    select
        user_key,
        count(distinct product_context.category) filter (where views_7d > 0) as categories_viewed_7d,
        count(distinct product_context.category) as categories_viewed_30d,
        sum(views_30d * product_context.price_ratio)
            / nullif(sum(views_30d) filter (where product_context.price_ratio is not null), 0)
            as mean_viewed_price_ratio_30d
    from product_journeys
    inner join product_context using (product_id)
    where views_30d > 0
    group by user_key
),

past_orders as (
    select user_id, ordered_at, revenue
    from orders
    where ordered_at < cast($as_of as timestamp)
),

order_summary as (
    select
        user_id,
        count(*) as orders_total,
        count(*) filter (where ordered_at >= cast($as_of as timestamp) - interval 30 day) as orders_30d,
        sum(revenue) as revenue_total,
        max(ordered_at) as last_ordered_at
    from past_orders
    group by user_id
),

-- Quintile scores 1-5 among the customers as of $as_of (5 = most recent, most
-- orders, most revenue). Ties share the lower score, so equal customers score alike.
rfm_scores as (
    select
        user_id,
        1 + floor(5 * (rank() over (order by last_ordered_at) - 1) / count(*) over ()) as recency_score,
        1 + floor(5 * (rank() over (order by orders_total) - 1) / count(*) over ()) as frequency_score,
        1 + floor(5 * (rank() over (order by revenue_total) - 1) / count(*) over ()) as monetary_score
    from order_summary
),

final as (
    select
        past_users.user_id,
        cast($as_of as timestamp) as as_of,
        date_diff('second', event_summary.last_event_at, cast($as_of as timestamp)) / 86400.0
            as days_since_last_event,
        date_diff('second', session_summary.first_session_at, cast($as_of as timestamp)) / 86400.0
            as days_since_first_event,
        date_diff('second', order_summary.last_ordered_at, cast($as_of as timestamp)) / 86400.0
            as days_since_last_purchase,
        event_summary.views_7d,
        event_summary.views_30d,
        coalesce(recent_view_summary.categories_viewed_7d, 0) as categories_viewed_7d,
        coalesce(recent_view_summary.categories_viewed_30d, 0) as categories_viewed_30d,
        event_summary.carts_30d,
        event_summary.searches_30d,
        session_summary.sessions_7d,
        session_summary.sessions_30d,
        session_summary.sessions_total,
        session_summary.mean_session_depth,
        session_summary.mean_session_depth_30d,
        session_summary.mean_days_between_sessions,
        coalesce(order_summary.orders_total, 0) as orders_total,
        coalesce(order_summary.orders_30d, 0) as orders_30d,
        coalesce(order_summary.revenue_total, 0) as revenue_total,
        cast(rfm_scores.recency_score as integer) as recency_score,
        cast(rfm_scores.frequency_score as integer) as frequency_score,
        cast(rfm_scores.monetary_score as integer) as monetary_score,
        coalesce(cart_summary.open_cart_value, 0) as open_cart_value,
        coalesce(cart_summary.open_cart_products, 0) as open_cart_products,
        recent_view_summary.mean_viewed_price_ratio_30d,
        event_summary.mean_viewed_discount_rate_30d,
        sequence_summary.median_view_to_cart_seconds,
        sequence_summary.median_cart_to_purchase_seconds,
        sequence_summary.viewed_products_carted_share,
        sequence_summary.carted_products_bought_share,
        session_summary.app_session_share,
        session_summary.mobile_session_share,
        session_summary.desktop_session_share,
        session_summary.email_session_share,
        main_devices.main_device,
        main_channels.main_channel
    from session_summary
    inner join event_summary using (user_key)
    inner join past_users using (user_key)
    left join order_summary on order_summary.user_id = past_users.user_id
    left join rfm_scores on rfm_scores.user_id = past_users.user_id
    left join cart_summary using (user_key)
    left join sequence_summary using (user_key)
    left join recent_view_summary using (user_key)
    left join main_devices using (user_key)
    left join main_channels using (user_key)
)

select * from final order by user_id
