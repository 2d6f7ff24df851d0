-- One row per customer and purchase day, with the day's revenue: repeat purchases on the same day
-- count as one transaction, as in Fader, Hardie & Lee (2005). Whole history up to $end_date (the
-- model needs the calibration and holdout periods); category, channel and device filters apply.
with

order_lines as (
    select * from filtered_order_items(date '0001-01-01', $end_date, $categories, $channels, $devices)
),

final as (
    select
        user_id,
        order_date,
        sum(revenue) as revenue
    from order_lines
    group by user_id, order_date
)

select * from final
order by user_id, order_date
