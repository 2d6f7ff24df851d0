-- Order lines, with their gross and net revenue.
with

source as (
    select * from source_order_items
),

final as (
    select
        order_id,
        line_number,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        quantity * unit_price as gross_revenue,
        quantity * unit_price - discount_amount as revenue
    from source
)

select * from final
