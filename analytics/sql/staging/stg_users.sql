-- Users as the data set describes them; gaps are filled from events in dim_users.
with

source as (
    select * from source_users
),

final as (
    select
        user_id,
        first_seen_at,
        lower(nullif(trim(acquisition_channel), '')) as acquisition_channel,
        nullif(trim(region), '') as region
    from source
)

select * from final
