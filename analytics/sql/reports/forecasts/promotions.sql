-- Promotions as planned in the promotions table, the only promotions a forecast may know in advance.
-- There is no promotions mart; the staging view is the cleaned table (scopes lower-cased, empty values null).
with

promotions as (
    select * from stg_promotions
),

final as (
    select
        promotion_id,
        name,
        start_date,
        end_date,
        scope,
        scope_value,
        discount_rate
    from promotions
)

select * from final order by start_date, promotion_id
