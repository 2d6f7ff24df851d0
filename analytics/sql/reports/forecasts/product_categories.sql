-- Each product's top-level category, so category promotions reach product series.
with

products as (
    select * from dim_products
),

final as (
    select
        product_id,
        category
    from products
)

select * from final order by product_id
