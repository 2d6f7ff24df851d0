"""RFM scores, segments, migration and export: hand-computed cases and properties."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.customers.rfm import (
    NO_PURCHASE, NOT_A_CUSTOMER, SEGMENT_GRID, SEGMENTS, RfmBins, load_rfm, load_rfm_migration, migration_flows,
    score, score_customers, segment_of, to_five,
)
from analytics.errors import ShopLensError
from analytics.filters import Filters
from tests.customers_fixtures import build_customer_warehouse

PERIOD = Filters(date(2025, 1, 6), date(2025, 1, 22))


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = build_customer_warehouse(tmp_path_factory.mktemp("customers_rfm"))
    with duckdb.connect(str(path), read_only=True) as connection:
        yield connection


def test_customer_values_and_scores_by_hand(con):
    rfm = load_rfm(con, PERIOD)
    table = rfm.customers.set_index("user_id")

    assert table["recency_days"].to_dict() == {"A": 0, "C": 14, "D": 2}
    assert table["orders"].to_dict() == {"A": 2, "C": 1, "D": 3}
    assert table["revenue"].to_dict() == {"A": 150.0, "C": 30.0, "D": 70.0}
    # Score = 1 + floor(5 * customers strictly worse / 3): A has 2 worse on recency -> 4, D 1 -> 2, C 0 -> 1.
    assert table["recency_score"].to_dict() == {"A": 4, "C": 1, "D": 2}
    assert table["frequency_score"].to_dict() == {"A": 2, "C": 1, "D": 4}
    assert table["monetary_score"].to_dict() == {"A": 4, "C": 1, "D": 2}
    # FM = ceil((F + M) / 2): A (2+4) -> 3, D (4+2) -> 3, C -> 1. Grid: R4 FM3, R2 FM3, R1 FM1.
    assert table["segment"].to_dict() == {"A": "Potential loyalist", "C": "Lost", "D": "At risk"}
    assert table.loc["A", "rfm_score"] == "424"


def test_segment_table_shares(con):
    segments = load_rfm(con, PERIOD).segments.set_index("segment")

    assert list(segments.index) == list(SEGMENTS)
    assert segments["customers"].sum() == 3
    assert segments.loc["Potential loyalist", "revenue_share"] == pytest.approx(150 / 250)
    assert segments.loc["Champions", "customers"] == 0


def test_export_of_a_segment(con):
    rfm = load_rfm(con, PERIOD)

    assert rfm.segment_customers("Lost")["user_id"].tolist() == ["C"]
    with pytest.raises(ShopLensError, match="segment 'Gold'"):
        rfm.segment_customers("Gold")


def test_migration_between_periods(con):
    # Previous period 2025-01-01..2025-01-12 (A and C bought) against 01-13..01-24? Use two halves.
    later = Filters(date(2025, 1, 13), date(2025, 1, 22))  # previous: 01-03..01-12
    migration = load_rfm_migration(con, later)

    flows = {(row.source, row.target): row.customers for row in migration.flows.itertuples()}
    # Before: A (01-06) and C (01-08) bought; after: A (01-22) and D (01-13, 01-20).
    assert sum(flows.values()) == 3
    assert sum(count for (source, _), count in flows.items() if source == NOT_A_CUSTOMER) == 1  # D
    assert sum(count for (_, target), count in flows.items() if target == NO_PURCHASE) == 1  # C


def test_quintile_score_keeps_ties_together():
    # 10 values: 1 x6, 2 x3, 9 x1. Ties share a score: 1 -> 1; 2 has 6 below -> 1 + floor(5*6/10) = 4; 9 -> 5.
    values = np.array([1, 1, 1, 1, 1, 1, 2, 2, 2, 9], dtype=float)
    assert score(values, 5, None).tolist() == [1] * 6 + [4] * 3 + [5]


def test_explicit_thresholds():
    # Edges 30/60/90/180 days: 10 -> score 5, 30 (on the edge) -> 5, 31 -> 4, 400 -> 1.
    rows = pd.DataFrame({"user_id": ["a", "b", "c", "d"], "orders": [1, 2, 3, 4], "revenue": [1.0, 2.0, 3.0, 4.0],
                         "last_order_date": pd.to_datetime(["2025-12-21", "2025-12-01", "2025-11-30", "2024-11-26"])})
    bins = RfmBins(5, recency_days_edges=(30, 60, 90, 180), orders_edges=(1, 2, 3, 4), revenue_edges=(1, 2, 3, 4))
    table = score_customers(rows, Filters(date(2025, 1, 1), date(2025, 12, 31)), bins).customers.set_index("user_id")

    assert table["recency_days"].tolist() == [10, 30, 31, 400]
    assert table["recency_score"].tolist() == [5, 5, 4, 1]
    assert table["frequency_score"].tolist() == [1, 2, 3, 4]


def test_bins_are_validated():
    with pytest.raises(ShopLensError, match="bins is 11"):
        RfmBins(11)
    with pytest.raises(ShopLensError, match="strictly increasing"):
        RfmBins(3, orders_edges=(5, 2))


def test_grid_names_every_segment_once_per_cell():
    names = {name for row in SEGMENT_GRID.values() for name in row}
    assert names == set(SEGMENTS)
    assert segment_of(np.array([5, 1, 2]), np.array([5, 1, 5])).tolist() == ["Champions", "Lost", "Can't lose them"]
    assert to_five(np.array([1, 2, 3]), 3).tolist() == [2, 4, 5]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(1, 6), st.floats(0, 500, allow_nan=False)),
                min_size=1, max_size=40),
       st.integers(2, 10))
def test_segments_partition_customers_and_scores_match_a_reference(customers, bins):
    rows = pd.DataFrame({
        "user_id": [f"u{index}" for index in range(len(customers))],
        "last_order_date": [pd.Timestamp("2025-03-01") - pd.Timedelta(days=recency) for recency, _, _ in customers],
        "orders": [orders for _, orders, _ in customers],
        "revenue": [revenue for _, _, revenue in customers],
    })
    rfm = score_customers(rows, Filters(date(2025, 1, 1), date(2025, 3, 1)), RfmBins(bins))

    assert rfm.segments["customers"].sum() == len(customers)
    assert rfm.segments["revenue"].sum() == pytest.approx(rows["revenue"].sum())
    # Reference: a customer's score is 1 + floor(bins * (customers with a strictly lower value) / n).
    n = len(customers)
    for row in rfm.customers.itertuples():
        worse = sum(other < row.orders for other in rows["orders"])
        assert row.frequency_score == 1 + (bins * worse) // n
        more_recent_count = sum(other > row.recency_days for other in rfm.customers["recency_days"])
        assert row.recency_score == 1 + (bins * more_recent_count) // n
        assert 1 <= row.monetary_score <= bins


def test_migration_flows_cover_both_periods():
    before = pd.DataFrame({"user_id": ["a", "b"], "segment": ["Lost", "Champions"]})
    after = pd.DataFrame({"user_id": ["b", "c"], "segment": ["Loyal", "New customers"]})
    flows = {(row.source, row.target): row.customers for row in migration_flows(before, after).itertuples()}

    assert flows == {("Lost", NO_PURCHASE): 1, ("Champions", "Loyal"): 1, (NOT_A_CUSTOMER, "New customers"): 1}


@pytest.mark.parametrize("bins", [RfmBins(5), RfmBins(3), RfmBins(4, recency_days_edges=(7, 30, 90),
                                                                    orders_edges=(1, 2, 4), revenue_edges=(50, 100, 300))])
def test_sql_scores_match_the_pandas_reference_on_the_sample(sample_con, bins):
    # The warehouse path scores in SQL; score_customers is the same definition written in pandas.
    filters = Filters(date(2025, 4, 1), date(2025, 9, 30))
    ours = load_rfm(sample_con, filters, bins).customers.set_index("user_id").sort_index()
    raw = ours[["last_order_date", "orders", "revenue"]].reset_index()
    reference = score_customers(raw, filters, bins).customers.set_index("user_id").sort_index()

    assert len(ours) > 1000
    for column in ("recency_days", "recency_score", "frequency_score", "monetary_score", "fm_score", "segment"):
        assert ours[column].tolist() == reference[column].tolist(), column


def test_thresholds_in_sql(con):
    bins = RfmBins(3, recency_days_edges=(1, 7), orders_edges=(1, 2), revenue_edges=(50, 100))
    table = load_rfm(con, PERIOD, bins).customers.set_index("user_id")

    # Recency A 0 (<= 1) -> 3, D 2 -> 2, C 14 -> 1; orders A 2 -> 2, C 1 -> 1, D 3 -> 3;
    # revenue A 150 -> 3, C 30 -> 1, D 70 -> 2.
    assert table["recency_score"].to_dict() == {"A": 3, "C": 1, "D": 2}
    assert table["frequency_score"].to_dict() == {"A": 2, "C": 1, "D": 3}
    assert table["monetary_score"].to_dict() == {"A": 3, "C": 1, "D": 2}
