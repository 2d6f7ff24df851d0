-- One row per customer who bought in $start_date..$end_date (after the global filters), with
-- recency, frequency and monetary values: last_order_date, recency_days (to $end_date), orders
-- (distinct orders) and revenue. analytics/customers/rfm.py scores them (score_frame): sorting three
-- numpy arrays is faster than window sorts here, and only integers and the id leave DuckDB.
with

-- Without a category filter a customer's orders are fct_orders rows (one per order, revenue and
-- channel/device equal to its lines'), so no distinct count over order lines is needed: that
-- distinct count was most of the time at 10M lines. A category filter keeps only the chosen
-- categories' lines, so then the lines are aggregated. The branch not taken is filtered on a
-- parameter alone, so DuckDB does not scan it.
orders as (
    select user_id, order_date, revenue
    from fct_orders
    where len($categories) = 0
        and order_date between $start_date and $end_date
        and (len($channels) = 0 or list_contains($channels, channel))
        and (len($devices) = 0 or list_contains($devices, device))
),

customers_from_orders as (
    select
        user_id,
        max(order_date) as last_order_date,
        count(*) as orders,
        sum(revenue) as revenue
    from orders
    group by user_id
),

order_lines as (
    select user_id, order_id, order_date, revenue
    from filtered_order_items($start_date, $end_date, $categories, $channels, $devices)
    where len($categories) > 0
),

customers_from_lines as (
    select
        user_id,
        max(order_date) as last_order_date,
        count(distinct order_id) as orders,
        sum(revenue) as revenue
    from order_lines
    group by user_id
),

customers as (
    select * from customers_from_orders
    union all
    select * from customers_from_lines
),

final as (
    select
        user_id,
        last_order_date,
        date_diff('day', last_order_date, $end_date) as recency_days,
        orders,
        revenue
    from customers
)

select * from final
