-- Revenue, orders and units per top-level category over the chosen period.
with

order_items as (
    select * from fct_order_items
),

filtered as (
    select *
    from order_items
    where order_date between $start_date and $end_date
        and (len($channels) = 0 or list_contains($channels, channel))
        and (len($devices) = 0 or list_contains($devices, device))
        and (len($categories) = 0 or list_contains($categories, category))
),

final as (
    select
        category,
        sum(revenue) as revenue,
        count(distinct order_id) as orders,
        cast(sum(quantity) as bigint) as units
    from filtered
    group by category
)

select * from final order by revenue desc, category
