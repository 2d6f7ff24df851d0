-- Daily revenue and units per series at one level (total, category, product, channel or region).
-- Days without sales are absent here; the engine fills them with 0.
with

order_items as (
    select * from filtered_order_items($start_date, $end_date, $categories, $channels, $devices)
),

users as (
    select * from dim_users
),

labelled as (
    select
        order_items.order_date as ds,
        case $level
            when 'total' then 'Total'
            when 'category' then order_items.category
            when 'product' then order_items.product_id
            when 'channel' then coalesce(order_items.channel, 'unknown')
            when 'region' then coalesce(users.region, 'unknown')
        end as unique_id,
        order_items.revenue,
        order_items.quantity
    from order_items
    left join users on users.user_id = order_items.user_id
),

final as (
    select
        unique_id,
        ds,
        sum(revenue) as revenue,
        cast(sum(quantity) as double) as units
    from labelled
    group by unique_id, ds
)

select * from final order by unique_id, ds
