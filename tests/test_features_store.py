"""The feature store on the hand-built tiny shop: values worked out by hand from tests/tiny_shop.py."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd
import pytest

from analytics.errors import ShopLensError
from analytics.features.store import (
    PRODUCT_FEATURES,
    USER_FEATURES,
    as_of_timestamp,
    compute_features,
    feature_directory,
    feature_file,
    load_features,
)


def _row(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    return frame.set_index(key).loc[value]


def test_user_features_as_of_mid_session_count_only_earlier_events(tiny_con: duckdb.DuckDBPyConnection) -> None:
    features = compute_features(tiny_con, "2025-01-02T12:03", "user")
    # U3's first event is on 2025-01-03, after as_of, so only U1 and U2 have rows.
    assert list(features["user_id"]) == ["U1", "U2"]
    u1 = _row(features, "user_id", "U1")
    # U1 viewed P1 (Electronics) in S1, then P2 (Home) and P3 (Books) in S2.
    assert u1["views_7d"] == 3 and u1["categories_viewed_30d"] == 3
    # Last event 2025-01-02 09:01 -> 12:03 is 3 h 2 min = 182 / 1440 days.
    assert u1["days_since_last_event"] == pytest.approx(182 / 1440)
    # Order O1 at 2025-01-01 10:02 -> 26 h 1 min before as_of.
    assert u1["days_since_last_purchase"] == pytest.approx((26 * 60 + 1) / 1440)
    assert u1["orders_total"] == 1 and u1["revenue_total"] == pytest.approx(90.0)
    # Sessions of 3 and 2 events; they started 23 h apart.
    assert u1["sessions_total"] == 2 and u1["mean_session_depth"] == pytest.approx(2.5)
    assert u1["mean_days_between_sessions"] == pytest.approx(23 / 24)
    # P1: viewed 10:00, carted 10:01, bought 10:02.
    assert u1["median_view_to_cart_seconds"] == 60 and u1["median_cart_to_purchase_seconds"] == 60
    # 1 of 3 viewed products carted, and it was bought.
    assert u1["viewed_products_carted_share"] == pytest.approx(1 / 3)
    assert u1["carted_products_bought_share"] == pytest.approx(1.0)
    # A desktop and a mobile visit tie; the alphabetically first device wins.
    assert u1["main_device"] == "desktop" and u1["mobile_session_share"] == pytest.approx(0.5)
    # The only customer gets the lowest quintile of each score (rank 1 of 1).
    assert (u1["recency_score"], u1["frequency_score"], u1["monetary_score"]) == (1, 1, 1)

    u2 = _row(features, "user_id", "U2")
    # At 12:03 U2 has carted 2 mugs at 10 (12:02); the book cart is at 12:03, not before as_of.
    assert u2["carts_30d"] == 1 and u2["open_cart_value"] == pytest.approx(20.0)
    assert u2["searches_30d"] == 1 and u2["email_session_share"] == pytest.approx(1.0)
    assert u2["orders_total"] == 0 and pd.isna(u2["days_since_last_purchase"]) and pd.isna(u2["recency_score"])


def test_bought_cart_is_no_longer_open(tiny_con: duckdb.DuckDBPyConnection) -> None:
    features = compute_features(tiny_con, "2025-01-03", "user")
    u2 = _row(features, "user_id", "U2")
    # Both carted products were bought at 12:04, so nothing is left in the cart.
    assert u2["open_cart_value"] == 0 and u2["open_cart_products"] == 0
    # Two customers: U1 ordered earlier with less revenue (90 vs 40 -> U2 lower monetary).
    u1 = _row(features, "user_id", "U1")
    # rank 1 -> 1 + floor(5 * 0 / 2) = 1; rank 2 -> 1 + floor(5 * 1 / 2) = 3.
    assert (u1["recency_score"], u2["recency_score"]) == (1, 3)
    assert (u1["monetary_score"], u2["monetary_score"]) == (3, 1)
    # Equal order counts share the lower score.
    assert u1["frequency_score"] == u2["frequency_score"] == 1


def test_product_features_by_hand(tiny_con: duckdb.DuckDBPyConnection) -> None:
    features = compute_features(tiny_con, "2025-01-03", "product")
    assert set(features.columns) >= set(PRODUCT_FEATURES) | {"product_id", "as_of", "category"}
    mug = _row(features, "product_id", "P2")
    # P2 viewed by U1 and U2, carted once (2 units), bought 2 units for 20.
    assert (mug["views_30d"], mug["viewers_30d"], mug["carts_30d"]) == (2, 2, 1)
    assert mug["cart_rate_30d"] == pytest.approx(0.5)
    assert mug["units_sold_30d"] == 2 and mug["revenue_total"] == pytest.approx(20.0)
    # Bought 2025-01-02 12:04 -> 11 h 56 min before 2025-01-03.
    assert mug["days_since_last_purchase"] == pytest.approx((11 * 60 + 56) / 1440)
    phone = _row(features, "product_id", "P1")
    # O1's line: 100 - 10 discount.
    assert phone["revenue_30d"] == pytest.approx(90.0)
    # Each leaf category has one product, so each is its category's median.
    assert features["price_ratio"].tolist() == [1.0, 1.0, 1.0]


def test_every_documented_user_feature_is_computed(tiny_con: duckdb.DuckDBPyConnection) -> None:
    features = compute_features(tiny_con, "2025-01-04", "user")
    assert set(USER_FEATURES) <= set(features.columns)
    assert len(features) == 3


def test_before_any_event_there_are_no_users(tiny_con: duckdb.DuckDBPyConnection) -> None:
    assert compute_features(tiny_con, "2024-12-31", "user").empty


def test_as_of_parsing_and_validation(tiny_con: duckdb.DuckDBPyConnection) -> None:
    assert as_of_timestamp("2025-01-02") == datetime(2025, 1, 2)
    with pytest.raises(ShopLensError, match="YYYY-MM-DD"):
        as_of_timestamp("yesterday")
    with pytest.raises(ShopLensError, match="user, product"):
        compute_features(tiny_con, "2025-01-02", "order")  # type: ignore[arg-type]


def test_load_features_materialises_once_per_data_version(tiny_warehouse, tiny_con) -> None:
    version = tiny_con.execute("select data_version from meta_warehouse").fetchone()[0]
    assert feature_directory(tiny_con) == tiny_warehouse.resolve().parent / "features" / version
    path = feature_file(tiny_con, "2025-01-02T12:03", "user")
    path.unlink(missing_ok=True)
    first = load_features(tiny_con, "2025-01-02T12:03", "user")
    assert path.is_file()
    # Overwrite the materialised file: a second load must read it, not recompute.
    first.assign(views_7d=99).to_parquet(path, index=False)
    assert (load_features(tiny_con, "2025-01-02T12:03", "user")["views_7d"] == 99).all()
    path.unlink()


def test_in_memory_warehouse_is_not_materialised() -> None:
    with duckdb.connect() as con:
        assert feature_directory(con) is None
