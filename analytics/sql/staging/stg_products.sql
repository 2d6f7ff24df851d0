-- Products, with the category path split into its top two levels.
with

source as (
    select * from source_products
),

final as (
    select
        product_id,
        title,
        category_path,
        coalesce(nullif(trim(split_part(category_path, ' > ', 1)), ''), 'Uncategorised') as category,
        nullif(trim(split_part(category_path, ' > ', 2)), '') as subcategory,
        brand,
        list_price
    from source
)

select * from final
