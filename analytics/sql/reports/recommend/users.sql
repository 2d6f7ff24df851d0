-- The users the page can pick from and the segment popularity is computed in:
-- region, else acquisition channel, else 'unknown'.
with

users as (
    select * from dim_users
),

final as (
    select
        user_id,
        coalesce(region, acquisition_channel, 'unknown') as segment,
        order_count,
        session_count
    from users
)

select * from final
order by user_id
