-- Groups a model's fairness check compares users by: region and acquisition channel.
with users as (
    select * from dim_users
),

final as (
    select
        user_id,
        coalesce(region, 'unknown') as region,
        coalesce(acquisition_channel, 'unknown') as acquisition_channel
    from users
)

select * from final
