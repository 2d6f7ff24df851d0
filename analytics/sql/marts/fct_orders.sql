-- One row per order with its totals. Channel and device fall back to the
-- ordering session's. is_returning: the customer had ordered before.
with

orders as (
    select * from stg_orders
),

order_totals as (
    select * from int_order_totals
),

sessions as (
    select * from int_sessions
),

joined as (
    select
        orders.order_id,
        orders.user_id,
        orders.session_id,
        orders.ordered_at,
        orders.order_date,
        coalesce(orders.channel, sessions.channel) as channel,
        coalesce(orders.device, sessions.device) as device,
        coalesce(order_totals.line_count, 0) as line_count,
        coalesce(order_totals.units, 0) as units,
        coalesce(order_totals.gross_revenue, 0) as gross_revenue,
        coalesce(order_totals.discount_amount, 0) as discount_amount,
        coalesce(order_totals.revenue, 0) as revenue,
        row_number() over (
            partition by orders.user_id order by orders.ordered_at, orders.order_id
        ) as customer_order_number
    from orders
    left join order_totals using (order_id)
    left join sessions using (session_id)
),

final as (
    select
        *,
        customer_order_number > 1 as is_returning
    from joined
)

select * from final order by order_date, ordered_at
