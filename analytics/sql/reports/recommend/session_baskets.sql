-- One row per session and product viewed in it, up to $end_date: the baskets
-- "also viewed" counts pairs in.
with

events as (
    select * from fct_events
),

final as (
    select distinct
        session_id as basket_id,
        product_id
    from events
    where event_type = 'view'
        and product_id is not null
        and event_date <= $end_date
)

select * from final
order by basket_id, product_id
