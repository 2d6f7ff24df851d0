-- One row per customer who bought in $start_date..$end_date (after the global filters), with
-- recency, frequency and monetary values, their scores 1..$bins and the segment.
-- A quantile score is 1 + floor($bins * customers with a strictly worse value / customers), so
-- ties share a score; rank() - 1 counts the strictly worse customers. With thresholds
-- ($recency_days_edges, $orders_edges, $revenue_edges, ascending, empty = quantiles) the score is
-- 1 + the number of edges strictly below the value (reversed for recency). Scores are rescaled to
-- 1..5, FM = ceil((F + M) / 2), and the segment is $segment_grid[(R - 1) * 5 + FM] (the grid of
-- analytics/customers/rfm.py, row by row).
with

order_lines as (
    select * from filtered_order_items($start_date, $end_date, $categories, $channels, $devices)
),

customers as (
    select
        user_id,
        max(order_date) as last_order_date,
        count(distinct order_id) as orders,
        sum(revenue) as revenue
    from order_lines
    group by user_id
),

measured as (
    select *, date_diff('day', last_order_date, $end_date) as recency_days
    from customers
),

scored as (
    select
        *,
        cast(case
            when len($recency_days_edges) = 0
                then 1 + floor($bins * (rank() over (order by recency_days desc) - 1) / count(*) over ())
            else $bins - len(list_filter($recency_days_edges, lambda edge: edge < recency_days))
        end as integer) as recency_score,
        cast(case
            when len($orders_edges) = 0
                then 1 + floor($bins * (rank() over (order by orders) - 1) / count(*) over ())
            else 1 + len(list_filter($orders_edges, lambda edge: edge < orders))
        end as integer) as frequency_score,
        cast(case
            when len($revenue_edges) = 0
                then 1 + floor($bins * (rank() over (order by revenue) - 1) / count(*) over ())
            else 1 + len(list_filter($revenue_edges, lambda edge: edge < revenue))
        end as integer) as monetary_score
    from measured
),

rescaled as (
    select
        *,
        least(5, greatest(1, cast(ceil(recency_score * 5.0 / $bins - 1e-9) as integer))) as recency_five,
        (least(5, greatest(1, cast(ceil(frequency_score * 5.0 / $bins - 1e-9) as integer)))
            + least(5, greatest(1, cast(ceil(monetary_score * 5.0 / $bins - 1e-9) as integer))) + 1) // 2
            as fm_score
    from scored
),

final as (
    select
        user_id,
        last_order_date,
        recency_days,
        orders,
        revenue,
        recency_score,
        frequency_score,
        monetary_score,
        recency_score::varchar || frequency_score::varchar || monetary_score::varchar as rfm_score,
        fm_score,
        $segment_grid[(recency_five - 1) * 5 + fm_score] as segment
    from rescaled
)

select * from final
