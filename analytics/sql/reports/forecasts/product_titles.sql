-- Product titles for labelling product series.
with

products as (
    select * from dim_products
),

final as (
    select
        product_id,
        coalesce(title, product_id) as title
    from products
)

select * from final order by product_id
