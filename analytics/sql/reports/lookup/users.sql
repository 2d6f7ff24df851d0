-- Shoppers whose id matches what a person typed, best matches first.
-- $text: what was typed ('' lists the most active); $limit: rows at most. An exact id comes first, then
-- ids that start with the text, then ids that contain it; ties go to the shopper with most sessions.
with

users as (
    select * from dim_users
),

typed as (
    select lower(trim($text)) as text
),

matches as (
    select
        users.user_id,
        users.session_count,
        users.order_count,
        case
            when typed.text = '' then 3
            when lower(users.user_id) = typed.text then 0
            when starts_with(lower(users.user_id), typed.text) then 1
            else 2
        end as match_rank
    from users
    cross join typed
    where typed.text = '' or contains(lower(users.user_id), typed.text)
),

final as (
    select user_id, session_count, order_count
    from matches
    order by match_rank, session_count desc, user_id
    limit $limit
)

select * from final
