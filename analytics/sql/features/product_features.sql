-- Product features as of a point in time. Every value uses only events and
-- orders strictly before $as_of (a UTC timestamp). One row per catalogue
-- product (zero counts before its first activity) and per product outside the
-- catalogue that events or orders mentioned before $as_of. Windows are
-- "the last N days": [$as_of - N days, $as_of). See docs/feature-store.md.
with

events as (
    select * from fct_events
),

orders as (
    select * from fct_orders
),

order_items as (
    select * from fct_order_items
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

past_events as (
    select
        product_id,
        user_id,
        event_time,
        event_type,
        quantity,
        greatest(0, least(1, 1 - price / nullif(list_price, 0))) as discount_rate,
        event_time >= cast($as_of as timestamp) - interval 7 day as is_last_7_days,
        event_time >= cast($as_of as timestamp) - interval 30 day as is_last_30_days
    from events
    where event_time < cast($as_of as timestamp) and product_id is not null
),

event_summary as (
    select
        product_id,
        count(*) filter (where event_type = 'view' and is_last_7_days) as views_7d,
        count(*) filter (where event_type = 'view' and is_last_30_days) as views_30d,
        count(distinct user_id) filter (where event_type = 'view' and is_last_30_days) as viewers_30d,
        count(*) filter (where event_type = 'cart' and is_last_30_days) as carts_30d,
        coalesce(sum(coalesce(quantity, 1)) filter (where event_type = 'purchase' and is_last_30_days), 0)
            as units_sold_30d,
        avg(discount_rate) filter (where event_type = 'view' and is_last_30_days) as mean_discount_rate_30d,
        arg_max(discount_rate, event_time) filter (where event_type = 'view') as last_seen_discount_rate,
        max(event_time) filter (where event_type = 'purchase') as last_purchased_at
    from past_events
    group by product_id
),

past_items as (
    select order_items.product_id, orders.ordered_at, order_items.revenue
    from order_items
    inner join orders using (order_id)
    where orders.ordered_at < cast($as_of as timestamp)
),

revenue_summary as (
    select
        product_id,
        sum(revenue) filter (where ordered_at >= cast($as_of as timestamp) - interval 30 day) as revenue_30d,
        sum(revenue) as revenue_total
    from past_items
    group by product_id
),

final as (
    select
        products.product_id,
        cast($as_of as timestamp) as as_of,
        products.category,
        products.category_path,
        products.list_price,
        products.list_price / nullif(category_medians.category_median_list_price, 0) as price_ratio,
        coalesce(event_summary.views_7d, 0) as views_7d,
        coalesce(event_summary.views_30d, 0) as views_30d,
        coalesce(event_summary.viewers_30d, 0) as viewers_30d,
        coalesce(event_summary.carts_30d, 0) as carts_30d,
        coalesce(event_summary.units_sold_30d, 0) as units_sold_30d,
        event_summary.carts_30d / nullif(event_summary.views_30d, 0) as cart_rate_30d,
        coalesce(revenue_summary.revenue_30d, 0) as revenue_30d,
        coalesce(revenue_summary.revenue_total, 0) as revenue_total,
        event_summary.mean_discount_rate_30d,
        event_summary.last_seen_discount_rate,
        date_diff('second', event_summary.last_purchased_at, cast($as_of as timestamp)) / 86400.0
            as days_since_last_purchase
    from products
    left join category_medians using (category_path)
    left join event_summary using (product_id)
    left join revenue_summary using (product_id)
    -- A product only later events mention would otherwise betray those events.
    where products.is_in_catalogue
        or event_summary.product_id is not null
        or revenue_summary.product_id is not null
)

select * from final order by product_id
