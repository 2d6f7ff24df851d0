-- One row per order line, with the order's date and context and the
-- product's category, so product reports need no further joins.
with

items as (
    select * from stg_order_items
),

orders as (
    select * from fct_orders
),

products as (
    select * from dim_products
),

final as (
    select
        items.order_id,
        items.line_number,
        items.product_id,
        orders.user_id,
        orders.ordered_at,
        orders.order_date,
        orders.channel,
        orders.device,
        products.category,
        products.subcategory,
        products.brand,
        items.quantity,
        items.unit_price,
        items.discount_amount,
        items.gross_revenue,
        items.revenue
    from items
    inner join orders using (order_id)
    left join products using (product_id)
)

select * from final order by order_date, order_id, line_number
