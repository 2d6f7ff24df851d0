-- Promotions, one row each, scopes lower-cased.
with

source as (
    select * from source_promotions
),

final as (
    select
        promotion_id,
        name,
        start_date,
        end_date,
        lower(trim(scope)) as scope,
        nullif(trim(scope_value), '') as scope_value,
        discount_rate
    from source
)

select * from final
