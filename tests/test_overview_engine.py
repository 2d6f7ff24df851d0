"""load_overview and filter_options on the tiny shop, against numbers worked out by hand.

The expectations come from the journeys in tests/tiny_shop.py, not from running the code:

- S1 2025-01-01 U1 desktop organic_search: buys P1 (Electronics) -> O1, 90.
- S2 2025-01-02 U1 mobile direct: views P2 (Home) and P3 (Books); no order.
- S3 2025-01-02 U2 mobile email: buys 2 x P2 (Home, 20) and P3 (Books, 20) -> O2, 40.
- U3 2025-01-03 desktop social: two derived sessions (08:00+08:10, then 09:00); no order.
"""

from __future__ import annotations

import math
from datetime import date

import pytest

from analytics.errors import ShopLensError
from analytics.filters import Filters
from analytics.overview import filter_options, load_overview

JAN_1, JAN_2, JAN_3 = date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)
ALL_DAYS = Filters(JAN_1, JAN_3)


def values(overview) -> dict[str, float | None]:
    return {kpi.name: kpi.value for kpi in overview.kpis}


def previous_values(overview) -> dict[str, float | None]:
    return {kpi.name: kpi.previous_value for kpi in overview.kpis}


def changes(overview) -> dict[str, float | None]:
    return {kpi.name: kpi.change_ratio for kpi in overview.kpis}


def test_filter_options_list_what_the_data_has(tiny_con):
    options = filter_options(tiny_con)

    assert options.categories == ("Books", "Electronics", "Home")
    assert options.channels == ("direct", "email", "organic_search", "social")
    assert options.devices == ("desktop", "mobile")
    assert (options.first_date, options.last_date) == (JAN_1, JAN_3)


def test_headline_kpis_for_the_whole_shop(tiny_con):
    overview = load_overview(tiny_con, ALL_DAYS)

    assert [kpi.name for kpi in overview.kpis] == [
        "sessions", "users", "orders", "revenue", "conversion_rate", "average_order_value",
    ]
    assert [kpi.label for kpi in overview.kpis] == [
        "Sessions", "Users", "Orders", "Revenue", "Conversion rate", "Average order value",
    ]
    assert [kpi.unit for kpi in overview.kpis] == ["count", "count", "count", "currency", "ratio", "currency"]
    assert values(overview) == pytest.approx(
        {"sessions": 5, "users": 3, "orders": 2, "revenue": 130.0, "conversion_rate": 0.4,
         "average_order_value": 65.0}
    )
    assert not overview.is_empty


def test_previous_period_without_data_gives_zero_counts_and_no_rates(tiny_con):
    # 2024-12-29..31 has no activity: counts are 0, rates undefined, so no change can be computed.
    overview = load_overview(tiny_con, ALL_DAYS)

    assert previous_values(overview) == {
        "sessions": 0, "users": 0, "orders": 0, "revenue": 0, "conversion_rate": None,
        "average_order_value": None,
    }
    assert set(changes(overview).values()) == {None}


def test_change_against_the_previous_period(tiny_con):
    # Current 01-02..01-03: S2, S3 and U3's two sessions; users U1, U2, U3; one converted; O2 = 40.
    # Previous 12-31..01-01: S1 only; one user; converted; O1 = 90.
    overview = load_overview(tiny_con, Filters(JAN_2, JAN_3))

    assert values(overview) == pytest.approx(
        {"sessions": 4, "users": 3, "orders": 1, "revenue": 40.0, "conversion_rate": 0.25,
         "average_order_value": 40.0}
    )
    assert previous_values(overview) == pytest.approx(
        {"sessions": 1, "users": 1, "orders": 1, "revenue": 90.0, "conversion_rate": 1.0,
         "average_order_value": 90.0}
    )
    assert changes(overview) == pytest.approx(
        {"sessions": 3.0, "users": 2.0, "orders": 0.0, "revenue": 40 / 90 - 1, "conversion_rate": -0.75,
         "average_order_value": 40 / 90 - 1}
    )


def test_category_filter_keeps_sessions_that_touched_it_and_only_its_revenue(tiny_con):
    # Home: S2 viewed the mug, S3 bought 2 mugs at 10; only the mug line of O2 counts.
    overview = load_overview(tiny_con, Filters(JAN_1, JAN_3, categories=("Home",)))

    assert values(overview) == pytest.approx(
        {"sessions": 2, "users": 2, "orders": 1, "revenue": 20.0, "conversion_rate": 0.5,
         "average_order_value": 20.0}
    )
    assert list(overview.top_categories["category"]) == ["Home"]
    assert list(overview.top_categories["revenue_share"]) == pytest.approx([1.0])
    assert list(overview.top_products["product_id"]) == ["P2"]
    assert list(overview.top_products["units"]) == [2]


def test_channel_filter(tiny_con):
    # email: only S3 (U2), which converted with O2 = 40 over 3 units.
    overview = load_overview(tiny_con, Filters(JAN_1, JAN_3, channels=("email",)))

    assert values(overview) == pytest.approx(
        {"sessions": 1, "users": 1, "orders": 1, "revenue": 40.0, "conversion_rate": 1.0,
         "average_order_value": 40.0}
    )
    assert overview.daily["units"].sum() == 3


def test_device_filter(tiny_con):
    # desktop: S1 and U3's two sessions; users U1 and U3; S1 converted with O1 = 90.
    overview = load_overview(tiny_con, Filters(JAN_1, JAN_3, devices=("desktop",)))

    assert values(overview) == pytest.approx(
        {"sessions": 3, "users": 2, "orders": 1, "revenue": 90.0, "conversion_rate": 1 / 3,
         "average_order_value": 90.0}
    )


def test_filters_combine(tiny_con):
    # Home and email: S3 only; its mug line is 20.
    overview = load_overview(tiny_con, Filters(JAN_1, JAN_3, categories=("Home",), channels=("email",)))

    assert values(overview) == pytest.approx(
        {"sessions": 1, "users": 1, "orders": 1, "revenue": 20.0, "conversion_rate": 1.0,
         "average_order_value": 20.0}
    )


def test_daily_rows_by_hand(tiny_con):
    daily = load_overview(tiny_con, ALL_DAYS).daily

    assert list(daily["kpi_date"]) == [JAN_1, JAN_2, JAN_3]
    assert list(daily["sessions"]) == [1, 2, 2]
    assert list(daily["users"]) == [1, 2, 1]
    assert list(daily["converted_sessions"]) == [1, 1, 0]
    assert list(daily["orders"]) == [1, 1, 0]
    assert list(daily["units"]) == [1, 3, 0]
    assert list(daily["revenue"]) == pytest.approx([90.0, 40.0, 0.0])
    assert list(daily["conversion_rate"]) == pytest.approx([1.0, 0.5, 0.0])
    assert list(daily["average_order_value"][:2]) == pytest.approx([90.0, 40.0])
    assert math.isnan(daily["average_order_value"].iloc[2])


def test_days_without_activity_are_zero_filled(tiny_con):
    daily = load_overview(tiny_con, Filters(date(2024, 12, 30), date(2025, 1, 5))).daily

    assert list(daily["kpi_date"]) == [date(2024, 12, 30), date(2024, 12, 31), JAN_1, JAN_2, JAN_3,
                                       date(2025, 1, 4), date(2025, 1, 5)]
    quiet = daily.iloc[[0, 1, 5, 6]]
    for column in ("sessions", "users", "converted_sessions", "orders", "units", "revenue"):
        assert list(quiet[column]) == [0, 0, 0, 0], column
    assert quiet["conversion_rate"].isna().all()
    assert quiet["average_order_value"].isna().all()
    assert daily["sessions"].sum() == 5
    assert daily["revenue"].sum() == pytest.approx(130.0)


def test_top_categories_by_revenue(tiny_con):
    categories = load_overview(tiny_con, ALL_DAYS).top_categories

    # Books and Home tie at 20 and are then ordered by name.
    assert list(categories["category"]) == ["Electronics", "Books", "Home"]
    assert list(categories["revenue"]) == pytest.approx([90.0, 20.0, 20.0])
    assert list(categories["orders"]) == [1, 1, 1]
    assert list(categories["units"]) == [1, 1, 2]
    assert list(categories["revenue_share"]) == pytest.approx([90 / 130, 20 / 130, 20 / 130])


def test_top_products_with_titles(tiny_con):
    products = load_overview(tiny_con, ALL_DAYS).top_products

    assert list(products["product_id"]) == ["P1", "P2", "P3"]
    assert list(products["title"]) == ["Phone X", "陶瓷 马克杯 Mug", "A Novel"]
    assert list(products["category"]) == ["Electronics", "Home", "Books"]
    assert list(products["brand"]) == ["Acme", "家居", "Pages"]
    assert list(products["revenue"]) == pytest.approx([90.0, 20.0, 20.0])
    assert list(products["orders"]) == [1, 1, 1]
    assert list(products["units"]) == [1, 2, 1]


def test_top_n_limits_products(tiny_con):
    products = load_overview(tiny_con, ALL_DAYS, top_n=1).top_products

    assert list(products["product_id"]) == ["P1"]


def test_a_period_without_data_is_empty(tiny_con):
    overview = load_overview(tiny_con, Filters(date(2025, 2, 1), date(2025, 2, 28)))

    assert overview.is_empty
    assert values(overview) == {
        "sessions": 0, "users": 0, "orders": 0, "revenue": 0, "conversion_rate": None,
        "average_order_value": None,
    }
    assert len(overview.daily) == 28
    assert overview.top_categories.empty
    assert overview.top_products.empty


def test_a_filter_that_matches_nothing_is_empty(tiny_con):
    # On 01-03 only U3 (social) was active.
    overview = load_overview(tiny_con, Filters(JAN_3, JAN_3, channels=("email",)))

    assert overview.is_empty


def test_previous_period_is_the_same_length_just_before():
    previous = Filters(date(2025, 1, 10), date(2025, 1, 16), categories=("Home",)).previous_period()

    assert (previous.start_date, previous.end_date) == (date(2025, 1, 3), date(2025, 1, 9))
    assert previous.categories == ("Home",)


def test_filters_refuse_an_end_before_the_start():
    with pytest.raises(ShopLensError, match="swap"):
        Filters(JAN_3, JAN_1)


def test_filter_options_of_data_without_channels_or_devices(tmp_path):
    from analytics.overview import filter_options
    from analytics.warehouse import build_warehouse, connect
    from tests import tiny_shop

    events = tiny_shop.EVENTS.drop(columns=["device", "channel"])
    source = tiny_shop.write_tiny_shop(tmp_path / "src", {"events": events, "products": tiny_shop.PRODUCTS})
    build_warehouse(source, tmp_path / "w.duckdb")
    with connect(tmp_path / "w.duckdb") as con:
        options = filter_options(con)
    assert (options.channels, options.devices) == ((), ())
    assert options.categories == ("Books", "Electronics", "Home")
