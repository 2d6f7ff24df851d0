-- The users with a visit the global filters select: whom a page's filters point at.
with

sessions as (
    select * from filtered_sessions($start_date, $end_date, $categories, $channels, $devices)
),

final as (
    select distinct user_id
    from sessions
)

select * from final order by user_id
