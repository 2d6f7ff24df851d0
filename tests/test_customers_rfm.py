"""RFM scores, segments, migration and export: hand-computed cases and properties."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.customers.rfm import (
    NEW_CUSTOMER, NO_PURCHASE, SEGMENT_GRID, SEGMENTS, RfmBins, load_rfm, load_rfm_migration, migration_flows,
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


def test_migration_from_the_start_of_the_period_to_its_end(con):
    period = Filters(date(2025, 1, 13), date(2025, 1, 22))
    migration = load_rfm_migration(con, period)

    # As of the start: orders before 01-13, recency to 01-12. A: 6 days, 1 order, 100; C: 4 days,
    # 1 order, 30. Scores of 2 customers (1 + floor(5 * strictly worse / 2)): recency A 1, C 3;
    # frequency both 1; monetary A 3, C 1. FM = ceil((F + M) / 2): A 2, C 1.
    # Grid: A R1 FM2 -> Lost; C R3 FM1 -> About to sleep.
    before = migration.before.customers.set_index("user_id")
    assert before["recency_days"].to_dict() == {"A": 6, "C": 4}
    assert before["segment"].to_dict() == {"A": "Lost", "C": "About to sleep"}
    # As of the end: all orders to 01-22, as in test_customer_values_and_scores_by_hand (nobody
    # bought before 01-06): A Potential loyalist, C Lost, D At risk. D's first order is 01-13.
    flows = {(row.source, row.target): row.customers for row in migration.flows.itertuples()}
    assert flows == {("Lost", "Potential loyalist"): 1, ("About to sleep", "Lost"): 1, (NEW_CUSTOMER, "At risk"): 1}


def test_migration_over_the_whole_history_has_only_new_customers(con):
    # Nobody bought before the first order day, so all three customers are new.
    migration = load_rfm_migration(con, Filters(date(2025, 1, 1), date(2025, 1, 22)))

    assert migration.before.is_empty
    assert set(migration.flows["source"]) == {NEW_CUSTOMER}
    assert migration.flows["customers"].sum() == 3


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

    assert flows == {("Lost", NO_PURCHASE): 1, ("Champions", "Loyal"): 1, (NEW_CUSTOMER, "New customers"): 1}


def reference_scores(values: pd.Series, bins: RfmBins, edges: tuple[float, ...] | None,
                     lower_is_better: bool = False) -> pd.Series:
    """Scores written independently of rfm.score: pandas rank for quantiles, comparisons for edges."""
    if edges is not None:
        above = sum((values > edge).astype(int) for edge in edges)  # edges strictly below the value
        return bins.bins - above if lower_is_better else 1 + above
    # rank(method="min") - 1 = customers strictly worse (strictly more days for recency).
    worse = values.rank(method="min", ascending=not lower_is_better) - 1
    return (1 + np.floor(bins.bins * worse / len(values))).astype(int)


@pytest.mark.parametrize("bins", [RfmBins(5), RfmBins(3), RfmBins(4, recency_days_edges=(7, 30, 90),
                                                                    orders_edges=(1, 2, 4), revenue_edges=(50, 100, 300))])
def test_warehouse_scores_match_an_independent_reference_on_the_sample(sample_con, bins):
    filters = Filters(date(2025, 4, 1), date(2025, 9, 30))
    ours = load_rfm(sample_con, filters, bins).customers.set_index("user_id").sort_index()
    # Reference values straight from the order lines (distinct orders), then pandas ranks.
    raw = sample_con.execute("""
        select user_id, max(order_date) as last_order_date, count(distinct order_id) as orders, sum(revenue) as revenue
        from fct_order_items where order_date between $start and $end group by user_id
    """, {"start": filters.start_date, "end": filters.end_date}).df().set_index("user_id").sort_index()
    recency_days = (pd.Timestamp(filters.end_date) - pd.to_datetime(raw["last_order_date"])).dt.days
    recency = reference_scores(recency_days, bins, bins.recency_days_edges, lower_is_better=True)
    frequency = reference_scores(raw["orders"], bins, bins.orders_edges)
    monetary = reference_scores(raw["revenue"], bins, bins.revenue_edges)

    def five(scores: pd.Series) -> pd.Series:
        return scores.map(lambda value: min(5, max(1, math.ceil(value * 5 / bins.bins - 1e-9))))

    fm = (five(frequency) + five(monetary)).map(lambda total: math.ceil(total / 2))
    segment = [SEGMENT_GRID[r][f - 1] for r, f in zip(five(recency), fm)]

    assert len(ours) > 1000
    assert ours.index.tolist() == raw.index.tolist()
    assert ours["recency_days"].tolist() == recency_days.tolist()
    assert ours["orders"].tolist() == raw["orders"].tolist()
    assert ours["recency_score"].tolist() == recency.tolist()
    assert ours["frequency_score"].tolist() == frequency.tolist()
    assert ours["monetary_score"].tolist() == monetary.tolist()
    assert ours["fm_score"].tolist() == fm.tolist()
    assert ours["segment"].tolist() == segment


def test_thresholds_in_sql(con):
    bins = RfmBins(3, recency_days_edges=(1, 7), orders_edges=(1, 2), revenue_edges=(50, 100))
    table = load_rfm(con, PERIOD, bins).customers.set_index("user_id")

    # Recency A 0 (<= 1) -> 3, D 2 -> 2, C 14 -> 1; orders A 2 -> 2, C 1 -> 1, D 3 -> 3;
    # revenue A 150 -> 3, C 30 -> 1, D 70 -> 2.
    assert table["recency_score"].to_dict() == {"A": 3, "C": 1, "D": 2}
    assert table["frequency_score"].to_dict() == {"A": 2, "C": 1, "D": 3}
    assert table["monetary_score"].to_dict() == {"A": 3, "C": 1, "D": 2}


def test_category_filter_counts_orders_from_the_chosen_lines(con):
    # Home lines only (P2): A OA2 50 on 01-22; C OC1 30 on 01-08; D OD1 20 and OD2 10 on 01-13.
    table = load_rfm(con, Filters(PERIOD.start_date, PERIOD.end_date, categories=("Home",))).customers
    table = table.set_index("user_id")

    assert table["orders"].to_dict() == {"A": 1, "C": 1, "D": 2}
    assert table["revenue"].to_dict() == {"A": 50.0, "C": 30.0, "D": 30.0}
    assert table["recency_days"].to_dict() == {"A": 0, "C": 14, "D": 9}


@pytest.mark.parametrize("channels", [(), ("email", "direct")])
def test_orders_path_equals_the_order_lines_path_on_the_sample(sample_con, channels):
    # Without a category filter customers come from fct_orders; with every category chosen, from
    # the order lines with a distinct order count. Both must describe the same customers.
    filters = Filters(date(2025, 4, 1), date(2025, 9, 30), channels=channels)
    categories = tuple(row[0] for row in sample_con.execute(
        "select distinct category from fct_order_items where category is not null").fetchall())
    from_orders = load_rfm(sample_con, filters).customers.set_index("user_id").sort_index()
    from_lines = load_rfm(sample_con, replace(filters, categories=categories)).customers
    from_lines = from_lines.set_index("user_id").sort_index()

    assert len(from_orders) > 1000
    assert from_orders.index.tolist() == from_lines.index.tolist()
    assert from_orders["orders"].tolist() == from_lines["orders"].tolist()
    assert np.allclose(from_orders["revenue"], from_lines["revenue"])
    assert from_orders["last_order_date"].tolist() == from_lines["last_order_date"].tolist()
