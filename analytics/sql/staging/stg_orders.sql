-- Orders, with the UTC order date.
with

source as (
    select * from source_orders
),

final as (
    select
        order_id,
        user_id,
        nullif(trim(session_id), '') as session_id,
        ordered_at,
        cast(ordered_at as date) as order_date,
        lower(nullif(trim(channel), '')) as channel,
        lower(nullif(trim(device), '')) as device
    from source
)

select * from final
