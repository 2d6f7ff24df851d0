-- The best-selling products by revenue over the chosen period.
with

order_items as (
    select * from filtered_order_items($start_date, $end_date, $categories, $channels, $devices)
),

products as (
    select * from dim_products
),

per_product as (
    select
        product_id,
        sum(revenue) as revenue,
        count(distinct order_id) as orders,
        cast(sum(quantity) as bigint) as units
    from order_items
    group by product_id
    order by revenue desc, product_id
    limit $top_n
),

final as (
    select
        per_product.product_id,
        coalesce(products.title, per_product.product_id) as title,
        products.category,
        products.brand,
        per_product.revenue,
        per_product.orders,
        per_product.units
    from per_product
    left join products using (product_id)
)

select * from final order by revenue desc, product_id
