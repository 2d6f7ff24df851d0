-- The catalogue the recommenders describe items by: title, category path,
-- brand and list price, plus the top-level category for reasons.
with

products as (
    select * from dim_products
),

final as (
    select
        product_id,
        coalesce(title, product_id) as title,
        coalesce(category_path, category) as category_path,
        category,
        brand,
        list_price,
        is_in_catalogue
    from products
)

select * from final
order by product_id
