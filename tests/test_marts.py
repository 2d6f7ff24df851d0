"""Unit tests of the marts on the hand-built tiny shop (see tests/tiny_shop.py)."""

from __future__ import annotations

from datetime import date

import pytest


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_sessions_keep_given_ids_and_derive_missing_ones_after_30_idle_minutes(tiny_con):
    sessions = dict(rows(tiny_con, "select session_id, event_count from fct_sessions"))
    # U3's 08:00 and 08:10 views share a session; the 09:00 view is 50 idle minutes later.
    assert sessions == {"S1": 3, "S2": 2, "S3": 6, "U3#1": 2, "U3#2": 1}


def test_session_flags(tiny_con):
    flags = {
        session_id: (is_converted, is_returning)
        for session_id, is_converted, is_returning in rows(
            tiny_con, "select session_id, is_converted, is_returning from fct_sessions"
        )
    }
    assert flags == {
        "S1": (True, False),
        "S2": (False, True),
        "S3": (True, False),
        "U3#1": (False, False),
        "U3#2": (False, True),
    }


def test_session_categories(tiny_con):
    categories = {
        session_id: (landing, list(touched), list(bought))
        for session_id, landing, touched, bought in rows(
            tiny_con, "select session_id, landing_category, categories, purchased_categories from fct_sessions"
        )
    }
    assert categories["S3"] == ("Home", ["Books", "Home"], ["Books", "Home"])
    assert categories["U3#1"] == ("Books", ["Books", "Electronics"], [])


def test_order_totals_are_net_of_discounts(tiny_con):
    orders = {
        order_id: (units, gross, discount, revenue, is_returning)
        for order_id, units, gross, discount, revenue, is_returning in rows(
            tiny_con,
            "select order_id, units, gross_revenue, discount_amount, revenue, is_returning from fct_orders",
        )
    }
    # O1: 1 x 100 less 10 off; O2: 2 x 10 + 1 x 20.
    assert orders == {"O1": (1, 100.0, 10.0, 90.0, False), "O2": (3, 40.0, 0.0, 40.0, False)}


def test_order_items_carry_category_and_order_context(tiny_con):
    items = rows(
        tiny_con,
        "select order_id, line_number, category, channel, device, revenue from fct_order_items order by all",
    )
    assert items == [
        ("O1", 1, "Electronics", "organic_search", "desktop", 90.0),
        ("O2", 1, "Home", "email", "mobile", 20.0),
        ("O2", 2, "Books", "email", "mobile", 20.0),
    ]


def test_users_without_a_users_row_get_first_seen_and_channel_from_events(tiny_con):
    users = {
        user_id: (first_seen_date, cohort_week, acquisition_channel, order_count, lifetime_revenue)
        for user_id, first_seen_date, cohort_week, acquisition_channel, order_count, lifetime_revenue in rows(
            tiny_con,
            "select user_id, first_seen_date, cohort_week, acquisition_channel, order_count, lifetime_revenue "
            "from dim_users",
        )
    }
    # 2025-01-01 is a Wednesday; its ISO week starts on Monday 2024-12-30.
    assert users == {
        "U1": (date(2025, 1, 1), date(2024, 12, 30), "organic_search", 1, 90.0),
        "U2": (date(2025, 1, 2), date(2024, 12, 30), "email", 1, 40.0),
        "U3": (date(2025, 1, 3), date(2024, 12, 30), "social", 0, 0.0),
    }


def test_daily_kpis(tiny_con):
    daily = rows(
        tiny_con,
        "select kpi_date, sum(sessions), sum(converted_sessions), sum(new_user_sessions), sum(orders), sum(revenue) "
        "from fct_daily_kpis group by kpi_date order by kpi_date",
    )
    assert daily == [
        (date(2025, 1, 1), 1, 1, 1, 1, 90.0),
        (date(2025, 1, 2), 2, 1, 1, 1, 40.0),
        (date(2025, 1, 3), 2, 0, 1, 0, 0.0),
    ]


def test_products_mentioned_but_not_in_the_catalogue_are_kept(tmp_path):
    from analytics.warehouse import build_warehouse
    from tests import tiny_shop

    import duckdb

    tables = dict(tiny_shop.TABLES, products=tiny_shop.PRODUCTS[tiny_shop.PRODUCTS.product_id != "P3"])
    target = tmp_path / "w.duckdb"
    build_warehouse(tiny_shop.write_tiny_shop(tmp_path / "src", tables), target)
    with duckdb.connect(str(target), read_only=True) as con:
        assert rows(con, "select category, is_in_catalogue from dim_products where product_id = 'P3'") == [
            ("Uncategorised", False)
        ]
        # Revenue is never dropped by a missing catalogue row.
        assert rows(con, "select sum(revenue) from fct_order_items") == [(130.0,)]


@pytest.mark.parametrize("mart", ["fct_sessions", "fct_orders", "fct_order_items", "dim_users", "dim_products"])
def test_marts_are_not_empty(tiny_con, mart):
    assert rows(tiny_con, f"select count(*) > 0 from {mart}") == [(True,)]
