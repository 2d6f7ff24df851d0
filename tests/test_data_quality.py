"""Data tests on the marts of the sample warehouse: unique keys, no nulls, arithmetic identities."""

from __future__ import annotations

import pytest

UNIQUE_KEYS = {
    "fct_sessions": "session_id",
    "fct_orders": "order_id",
    "fct_order_items": "order_id, line_number",
    "dim_users": "user_id",
    "dim_products": "product_id",
    "fct_daily_kpis": "kpi_date, channel, device",
    "fct_events": "event_id",
}

NOT_NULL = {
    "fct_sessions": ["session_id", "user_id", "session_date", "started_at", "event_count", "is_converted", "is_returning"],
    "fct_orders": ["order_id", "user_id", "ordered_at", "order_date", "units", "revenue", "is_returning"],
    "fct_order_items": ["order_id", "line_number", "product_id", "order_date", "quantity", "unit_price", "revenue"],
    "dim_users": ["user_id", "first_seen_at", "cohort_week", "cohort_month", "order_count", "lifetime_revenue"],
    "dim_products": ["product_id", "category"],
    "fct_daily_kpis": ["kpi_date", "sessions", "orders", "revenue"],
    "fct_events": ["event_id", "user_id", "user_key", "session_id", "event_time", "event_date", "event_type"],
}


def test_every_event_reaches_fct_events(sample_con):
    assert scalar(sample_con, "select count(*) from fct_events") == scalar(sample_con, "select count(*) from stg_events")


def scalar(con, sql: str):
    return con.execute(sql).fetchone()[0]


@pytest.mark.parametrize("mart,key", UNIQUE_KEYS.items())
def test_unique_keys(sample_con, mart, key):
    assert scalar(sample_con, f"select count(*) from (select {key} from {mart} group by all having count(*) > 1)") == 0


@pytest.mark.parametrize("mart,column", [(m, c) for m, columns in NOT_NULL.items() for c in columns])
def test_not_null(sample_con, mart, column):
    assert scalar(sample_con, f"select count(*) from {mart} where {column} is null") == 0


def test_item_revenue_sums_to_order_revenue(sample_con):
    mismatched = scalar(sample_con, """
        select count(*) from fct_orders
        left join (select order_id, sum(revenue) as item_revenue from fct_order_items group by order_id) using (order_id)
        where abs(fct_orders.revenue - coalesce(item_revenue, 0)) > 1e-6
    """)
    assert mismatched == 0


def test_net_revenue_is_gross_less_discount(sample_con):
    assert scalar(sample_con, "select count(*) from fct_orders where abs(gross_revenue - discount_amount - revenue) > 1e-6") == 0


def test_purchase_events_match_order_lines(sample_con):
    # Each purchase event is one order line at the discounted unit price.
    events_revenue, events_units = sample_con.execute(
        "select sum(quantity * price), sum(quantity) from stg_events where event_type = 'purchase'"
    ).fetchone()
    items_revenue, items_units = sample_con.execute("select sum(revenue), sum(quantity) from fct_order_items").fetchone()
    assert events_units == items_units
    assert events_revenue == pytest.approx(items_revenue, rel=1e-9)


def test_daily_kpis_roll_up_to_the_fact_tables(sample_con):
    daily = sample_con.execute("select sum(sessions), sum(converted_sessions), sum(orders), sum(revenue) from fct_daily_kpis").fetchone()
    sessions = sample_con.execute("select count(*), count(*) filter (where is_converted) from fct_sessions").fetchone()
    orders = sample_con.execute("select count(*), sum(revenue) from fct_orders").fetchone()
    assert daily[:2] == sessions
    assert daily[2] == orders[0]
    assert daily[3] == pytest.approx(orders[1], rel=1e-9)


def test_every_user_has_exactly_one_first_session(sample_con):
    assert scalar(sample_con, "select count(*) from fct_sessions where not is_returning") == scalar(
        sample_con, "select count(distinct user_id) from fct_sessions"
    )


def test_first_seen_is_never_after_activity(sample_con):
    late = scalar(sample_con, """
        select count(*) from fct_sessions join dim_users using (user_id)
        where fct_sessions.started_at < dim_users.first_seen_at
    """)
    assert late == 0


def test_conversion_needs_a_purchase(sample_con):
    assert scalar(sample_con, "select count(*) from fct_sessions where is_converted <> (purchase_count > 0)") == 0
