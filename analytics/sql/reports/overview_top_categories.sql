-- Revenue, orders and units per top-level category over the chosen period.
with

order_items as (
    select * from filtered_order_items($start_date, $end_date, $categories, $channels, $devices)
),

final as (
    select
        category,
        sum(revenue) as revenue,
        count(distinct order_id) as orders,
        cast(sum(quantity) as bigint) as units
    from order_items
    group by category
)

select * from final order by revenue desc, category
