-- The order lines that a page's filters select, defined once for every report.
-- A category filter keeps only the chosen categories' lines.
create macro filtered_order_items(from_date, to_date, chosen_categories, chosen_channels, chosen_devices) as table

with

order_items as (
    select * from fct_order_items
),

final as (
    select *
    from order_items
    where order_date between from_date and to_date
        and (len(chosen_channels) = 0 or list_contains(chosen_channels, channel))
        and (len(chosen_devices) = 0 or list_contains(chosen_devices, device))
        and (len(chosen_categories) = 0 or list_contains(chosen_categories, category))
)

select * from final
