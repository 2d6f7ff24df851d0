-- Order totals summed from their lines.
with

items as (
    select * from stg_order_items
),

final as (
    select
        order_id,
        count(*) as line_count,
        cast(sum(quantity) as bigint) as units,
        sum(gross_revenue) as gross_revenue,
        sum(discount_amount) as discount_amount,
        sum(revenue) as revenue
    from items
    group by order_id
)

select * from final
