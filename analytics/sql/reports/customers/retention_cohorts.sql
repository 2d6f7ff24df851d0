-- Cohort retention: one row per cohort, segment and period number with the cohort's size, the
-- users active in that period, the users whose last active period it is, and their revenue in it.
-- $entry ('event' | 'purchase') picks what makes a user enter a cohort, $return_on ('event' |
-- 'purchase') what counts as coming back; $period ('day' | 'week' | 'month') sizes cohorts and
-- periods; $breakdown ('none' | 'acquisition_channel' | 'first_category') splits cohorts.
-- Entry is the user's first qualifying activity over all history (so a user is acquired once);
-- cohorts whose entry date falls in $start_date..$end_date are kept. Category, channel and
-- device filters apply to the activity considered, through the shared macros.
-- Activity is cut to (user, period) rows; one aggregation per user finds the entry date and the
-- last active period, keeps only the users who entered in the dates, gets their segment (one row
-- per user), and is joined back once. At 10M events this is about a quarter faster than a window
-- partitioned by user (which sorts every row) followed by a segment join on every (user, period).
with

sessions as (
    select user_id, session_date, started_at, landing_category
    from filtered_sessions(date '0001-01-01', date '9999-12-31', $categories, $channels, $devices)
),

order_lines as (
    select user_id, order_date, ordered_at, line_number, category, revenue
    from filtered_order_items(date '0001-01-01', date '9999-12-31', $categories, $channels, $devices)
),

users as (
    select user_id, acquisition_channel from dim_users
),

activity_days as (
    select
        user_id,
        session_date as activity_date,
        $entry = 'event' as is_entry,
        $return_on = 'event' as is_return,
        0.0 as revenue
    from sessions
    union all
    -- an order is both an event and a purchase
    select user_id, order_date, true, true, revenue from order_lines
),

user_periods as (
    select
        user_id,
        cast(date_trunc($period, activity_date) as date) as activity_period,
        min(activity_date) filter (where is_entry) as first_entry_date,
        bool_or(is_return) as is_active,
        sum(revenue) as revenue
    from activity_days
    group by all
),

user_bounds as (
    select
        user_id,
        min(first_entry_date) as entry_date,
        max(case when is_active then activity_period end) as last_active_period
    from user_periods
    group by user_id
    having min(first_entry_date) between $start_date and $end_date
),

-- Built only for the first-category breakdown (the filter on the constant empties it otherwise):
-- on the entry day, the landing category of the first visit (event entry) or the category of the
-- first order line, whichever came first; ties broken by line number, then name. It reads the
-- macros again rather than the CTEs above, so DuckDB streams them instead of materialising them.
entry_categories as (
    select user_id, landing_category as category, started_at as happened_at, 0 as source_rank,
        0 as line_number, session_date as activity_date
    from filtered_sessions(date '0001-01-01', date '9999-12-31', $categories, $channels, $devices)
    where $breakdown = 'first_category' and $entry = 'event'
    union all
    select user_id, category, ordered_at, 1, line_number, order_date
    from filtered_order_items(date '0001-01-01', date '9999-12-31', $categories, $channels, $devices)
    where $breakdown = 'first_category'
),

entries as (
    select user_id, entry_date
    from user_bounds
    where $breakdown = 'first_category'
),

first_categories as (
    select
        entry_categories.user_id,
        arg_min(
            entry_categories.category,
            {
                'happened_at': entry_categories.happened_at,
                'source_rank': entry_categories.source_rank,
                'line_number': entry_categories.line_number,
                'category': entry_categories.category
            }
        ) as first_category
    from entry_categories
    join entries
        on entry_categories.user_id = entries.user_id
        and entry_categories.activity_date = entries.entry_date
    group by entry_categories.user_id
),

-- Empty without a breakdown, so the join below costs nothing then.
user_segments as (
    select
        users.user_id,
        case $breakdown
            when 'acquisition_channel' then coalesce(users.acquisition_channel, 'unknown')
            else coalesce(first_categories.first_category, 'unknown')
        end as segment
    from users
    left join first_categories using (user_id)
    where $breakdown != 'none'
),

-- The segment joins the one row per user here, not the (user, period) rows.
user_cohorts as (
    select
        user_bounds.user_id,
        user_bounds.entry_date,
        user_bounds.last_active_period,
        cast(date_trunc($period, user_bounds.entry_date) as date) as cohort,
        coalesce(user_segments.segment, 'All') as segment
    from user_bounds
    left join user_segments using (user_id)
),

segmented as (
    select
        user_periods.*,
        user_cohorts.entry_date,
        user_cohorts.last_active_period,
        user_cohorts.cohort,
        user_cohorts.segment,
        case $period
            when 'month' then date_diff('month', user_cohorts.cohort, user_periods.activity_period)
            when 'week' then date_diff('day', user_cohorts.cohort, user_periods.activity_period) // 7
            else date_diff('day', user_cohorts.cohort, user_periods.activity_period)
        end as period_number
    from user_periods
    join user_cohorts using (user_id)
    where user_periods.activity_period >= user_cohorts.cohort
),

counts as (
    select
        cohort,
        segment,
        period_number,
        count(*) filter (where period_number = 0) as entered_users,
        count(*) filter (where is_active) as active_users,
        count(*) filter (where activity_period = last_active_period) as last_active_users,
        sum(revenue) as revenue
    from segmented
    group by all
),

final as (
    select
        cohort,
        segment,
        period_number,
        -- every user has a row in their entry period, so period 0 counts the cohort
        cast(sum(entered_users) over (partition by cohort, segment) as bigint) as cohort_size,
        active_users,
        last_active_users,
        revenue
    from counts
)

select * from final
order by cohort, segment, period_number
