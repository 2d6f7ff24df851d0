-- Products whose id or title matches what a person typed, best matches first.
-- $text: what was typed ('' lists the best sellers); $categories: top-level categories to keep (empty: all);
-- $limit: rows at most. An exact id comes first, then ids and titles that start with the text, then titles
-- that contain it; ties go to the product ordered most.
with

products as (
    select * from dim_products
),

order_lines as (
    select product_id, count(*) as order_lines from fct_order_items group by product_id
),

typed as (
    select lower(trim($text)) as text
),

matches as (
    select
        products.product_id,
        products.title,
        products.category,
        products.brand,
        coalesce(order_lines.order_lines, 0) as order_lines,
        case
            when typed.text = '' then 3
            when lower(products.product_id) = typed.text then 0
            when starts_with(lower(products.product_id), typed.text) then 1
            when starts_with(lower(coalesce(products.title, '')), typed.text) then 1
            else 2
        end as match_rank
    from products
    cross join typed
    left join order_lines using (product_id)
    where (len($categories) = 0 or list_contains($categories, products.category))
        and (
            typed.text = ''
            or contains(lower(products.product_id), typed.text)
            or contains(lower(coalesce(products.title, '')), typed.text)
            or contains(lower(coalesce(products.brand, '')), typed.text)
        )
),

final as (
    select product_id, title, category, brand, order_lines
    from matches
    order by match_rank, order_lines desc, product_id
    limit $limit
)

select * from final
