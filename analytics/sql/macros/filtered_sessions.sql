-- The sessions that a page's filters select, defined once for every report.
-- A category filter keeps sessions that touched a chosen category, and such a
-- session counts as converted only when it bought from a chosen category.
-- Parameters are named apart from the columns they are compared with.
create macro filtered_sessions(from_date, to_date, chosen_categories, chosen_channels, chosen_devices) as table

with

sessions as (
    select * from fct_sessions
),

final as (
    select
        *,
        if(
            len(chosen_categories) = 0,
            is_converted,
            list_has_any(purchased_categories, chosen_categories)
        ) as is_converted_in_filter
    from sessions
    where session_date between from_date and to_date
        and (len(chosen_channels) = 0 or list_contains(chosen_channels, channel))
        and (len(chosen_devices) = 0 or list_contains(chosen_devices, device))
        and (len(chosen_categories) = 0 or list_has_any(categories, chosen_categories))
)

select * from final
