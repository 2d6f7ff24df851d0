-- One row per session. is_returning: the user had an earlier session.
-- user_key is a dense integer stand-in for user_id: distinct-user counts over
-- millions of sessions hash integers instead of strings. Rows are stored in
-- date order so date-filtered reports skip whole row groups.
with

sessions as (
    select * from int_sessions
),

final as (
    select
        session_id,
        user_id,
        dense_rank() over (order by user_id) as user_key,
        cast(started_at as date) as session_date,
        started_at,
        ended_at,
        datediff('second', started_at, ended_at) as duration_seconds,
        device,
        channel,
        landing_category,
        categories,
        purchased_categories,
        event_count,
        view_count,
        cart_count,
        purchase_count,
        purchase_count > 0 as is_converted,
        row_number() over (partition by user_id order by started_at, session_id) > 1 as is_returning
    from sessions
)

select * from final order by session_date, started_at
