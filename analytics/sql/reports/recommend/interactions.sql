-- One row per user and product: how strongly the user showed interest, from
-- views, favourites, carts and purchases from $start_date to $end_date (inclusive), with
-- the first and the last time they did. Weights are bound parameters so the engine owns them.
with

events as (
    select * from fct_events
),

scored as (
    select
        user_id,
        product_id,
        event_time,
        case event_type
            when 'view' then $view_weight
            when 'favorite' then $favorite_weight
            when 'cart' then $cart_weight
            when 'purchase' then $purchase_weight
        end as weight,
        (event_type = 'purchase')::integer as is_purchase
    from events
    where product_id is not null
        and event_type in ('view', 'favorite', 'cart', 'purchase')
        and event_date between $start_date and $end_date
),

final as (
    select
        user_id,
        product_id,
        sum(weight)::double as weight,
        sum(is_purchase)::integer as purchases,
        count(*)::integer as events,
        min(event_time) as first_event_time,
        max(event_time) as last_event_time
    from scored
    group by user_id, product_id
)

select * from final
order by user_id, product_id
