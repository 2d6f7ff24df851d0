-- The catalogue, plus any product that events or orders mention but the
-- catalogue lacks, so joins never drop activity.
with

products as (
    select * from stg_products
),

events as (
    select * from stg_events
),

order_items as (
    select * from stg_order_items
),

mentioned as (
    select distinct product_id from events where product_id is not null
    union
    select distinct product_id from order_items
),

missing as (
    select
        product_id,
        cast(null as varchar) as title,
        cast(null as varchar) as category_path,
        'Uncategorised' as category,
        cast(null as varchar) as subcategory,
        cast(null as varchar) as brand,
        cast(null as double) as list_price,
        false as is_in_catalogue
    from mentioned
    anti join products using (product_id)
),

final as (
    select *, true as is_in_catalogue from products
    union all by name
    select * from missing
)

select * from final
