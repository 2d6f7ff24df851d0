"""RFM: recency, frequency and monetary scores, the 11 named segments, and migration between periods.

The customers are those who bought in the chosen period (after the global filters). For each:

- recency_days: days from the last order in the period to the period's end (0 = bought on the last day);
- orders: distinct orders in the period (frequency);
- revenue: net revenue in the period (monetary).

Each is scored 1..`bins` (5 by default, quintiles): the share of customers with a strictly worse
value decides the score, so tied customers share a score and a score boundary never splits a tie.
Recency scores are reversed (recent = high). Explicit thresholds can replace the quantiles.

The segment comes from the recency score and the FM score, the rounded-up mean of the frequency
and monetary scores (both first rescaled to 1..5), through `SEGMENT_GRID` (see docs/customers.md).
Every (R, FM) cell names exactly one segment, so the segments partition the customers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from analytics.errors import ShopLensError
from analytics.filters import Filters
from analytics.queries import run_report

SEGMENTS: tuple[str, ...] = (
    "Champions", "Loyal", "Potential loyalist", "New customers", "Promising", "Need attention",
    "About to sleep", "At risk", "Can't lose them", "Hibernating", "Lost",
)

# Rows: recency score 5 (most recent) .. 1; columns: FM score 1 .. 5.
SEGMENT_GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: ("New customers", "Potential loyalist", "Potential loyalist", "Champions", "Champions"),
    4: ("Promising", "Potential loyalist", "Potential loyalist", "Loyal", "Champions"),
    3: ("About to sleep", "About to sleep", "Need attention", "Loyal", "Loyal"),
    2: ("Hibernating", "Hibernating", "At risk", "At risk", "Can't lose them"),
    1: ("Lost", "Lost", "At risk", "Can't lose them", "Can't lose them"),
}

CUSTOMER_COLUMNS: tuple[str, ...] = (
    "user_id", "last_order_date", "recency_days", "orders", "revenue",
    "recency_score", "frequency_score", "monetary_score", "rfm_score", "fm_score", "segment",
)
NO_PURCHASE = "No purchase"
NOT_A_CUSTOMER = "Not a customer"


@dataclass(frozen=True)
class RfmBins:
    """How values become scores.

    Attributes:
        bins: number of scores per dimension, 2..10 (5 = quintiles).
        recency_days_edges: optional ascending thresholds in days (bins - 1 of them); a recency at
            or below the first edge scores `bins`, above the last scores 1. None = quantiles.
        orders_edges: optional ascending order-count thresholds; at or below the first scores 1.
        revenue_edges: optional ascending revenue thresholds; at or below the first scores 1.
    """

    bins: int = 5
    recency_days_edges: tuple[float, ...] | None = None
    orders_edges: tuple[float, ...] | None = None
    revenue_edges: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not 2 <= self.bins <= 10:
            raise ShopLensError(f"bins is {self.bins}; use a whole number from 2 to 10 (5 = quintiles)")
        for name in ("recency_days_edges", "orders_edges", "revenue_edges"):
            edges = getattr(self, name)
            if edges is None:
                continue
            if len(edges) != self.bins - 1:
                raise ShopLensError(f"{name} has {len(edges)} thresholds; give bins - 1 = {self.bins - 1}")
            if list(edges) != sorted(edges) or len(set(edges)) != len(edges):
                raise ShopLensError(f"{name} {edges} must be strictly increasing")


@dataclass(frozen=True)
class Rfm:
    """RFM scores and segments for one period.

    Attributes:
        filters: the period and filters.
        bins: how scores were made.
        customers: one row per customer (`CUSTOMER_COLUMNS`): user_id, last_order_date,
            recency_days (>= 0), orders (>= 1), revenue, recency_score / frequency_score /
            monetary_score (1..bins, higher is better), rfm_score ("545"), fm_score (1..5),
            segment (one of `SEGMENTS`).
        segments: one row per segment of `SEGMENTS` in that order: segment, customers, revenue,
            customer_share and revenue_share (0..1; revenue share NaN when total revenue is 0),
            average_recency_days, average_orders, average_revenue.
    """

    filters: Filters
    bins: RfmBins
    customers: pd.DataFrame
    segments: pd.DataFrame

    @property
    def is_empty(self) -> bool:
        return self.customers.empty

    def segment_row(self, segment: str) -> pd.Series:
        """The `segments` row of one segment (customers, revenue, shares, averages)."""
        return self.segments.set_index("segment").loc[segment]

    def segment_customers(self, segment: str) -> pd.DataFrame:
        """The customers of one segment, best first (highest revenue), for export.

        Raises:
            ShopLensError: the segment is not one of `SEGMENTS`.
        """
        if segment not in SEGMENTS:
            raise ShopLensError(f"segment {segment!r} is not known; choose one of {', '.join(SEGMENTS)}")
        chosen = self.customers[self.customers["segment"] == segment]
        return chosen.sort_values(["revenue", "user_id"], ascending=[False, True]).reset_index(drop=True)


@dataclass(frozen=True)
class RfmMigration:
    """How customers moved between the segments of two periods.

    Attributes:
        before: RFM of the earlier period.
        after: RFM of the later period.
        flows: source (segment before, or "Not a customer"), target (segment after, or
            "No purchase"), customers (> 0); every customer of either period in exactly one flow.
    """

    before: Rfm
    after: Rfm
    flows: pd.DataFrame = field(default_factory=pd.DataFrame)


def load_rfm(con: duckdb.DuckDBPyConnection, filters: Filters, bins: RfmBins = RfmBins()) -> Rfm:
    """Score the customers who bought in the filters' period.

    Args:
        con: a warehouse connection.
        filters: the period (recency is measured to its end date) and category/channel/device filters.
        bins: quantile count or explicit thresholds.

    Returns:
        An `Rfm`; empty when nobody bought in the period.
    """
    parameters = filters.sql_parameters() | {
        "bins": bins.bins,
        "recency_days_edges": list(bins.recency_days_edges or ()),
        "orders_edges": list(bins.orders_edges or ()),
        "revenue_edges": list(bins.revenue_edges or ()),
        "segment_grid": [SEGMENT_GRID[recency][fm - 1] for recency in range(1, 6) for fm in range(1, 6)],
    }
    customers = run_report(con, "customers/rfm_customers", parameters)
    if customers.empty:
        customers = pd.DataFrame(columns=list(CUSTOMER_COLUMNS))
    else:
        customers["last_order_date"] = pd.to_datetime(customers["last_order_date"]).dt.date
    return Rfm(filters, bins, customers[list(CUSTOMER_COLUMNS)], segment_table(customers))


def score_customers(rows: pd.DataFrame, filters: Filters, bins: RfmBins = RfmBins()) -> Rfm:
    """Score customers given their last order date, orders and revenue in the period (in pandas).

    The warehouse path (`load_rfm`) scores in SQL; this is the same definition written
    independently, used for data that is not in a warehouse and as the tests' reference.

    Args:
        rows: user_id, last_order_date (date), orders (>= 1), revenue.
        filters: the period; recency_days = end_date - last_order_date.
        bins: quantile count or explicit thresholds.

    Returns:
        An `Rfm` with its customers and segment table.
    """
    customers = rows.copy()
    if customers.empty:
        customers = pd.DataFrame(columns=list(CUSTOMER_COLUMNS))
        return Rfm(filters, bins, customers, segment_table(customers))
    last = pd.to_datetime(customers["last_order_date"])
    customers["last_order_date"] = last.dt.date
    customers["recency_days"] = (pd.Timestamp(filters.end_date) - last).dt.days.astype(int)
    customers["orders"] = customers["orders"].astype(int)
    customers["revenue"] = customers["revenue"].astype(float)
    n = bins.bins
    customers["recency_score"] = (n + 1 - score(customers["recency_days"].to_numpy(float), n, bins.recency_days_edges)
                                  if bins.recency_days_edges is not None
                                  else score(-customers["recency_days"].to_numpy(float), n, None))
    customers["frequency_score"] = score(customers["orders"].to_numpy(float), n, bins.orders_edges)
    customers["monetary_score"] = score(customers["revenue"].to_numpy(float), n, bins.revenue_edges)
    customers["rfm_score"] = (customers["recency_score"].astype(str) + customers["frequency_score"].astype(str)
                              + customers["monetary_score"].astype(str))
    r5 = to_five(customers["recency_score"].to_numpy(), n)
    f5 = to_five(customers["frequency_score"].to_numpy(), n)
    m5 = to_five(customers["monetary_score"].to_numpy(), n)
    customers["fm_score"] = (f5 + m5 + 1) // 2
    customers["segment"] = segment_of(r5, customers["fm_score"].to_numpy())
    customers = customers.sort_values("user_id", kind="stable").reset_index(drop=True)[list(CUSTOMER_COLUMNS)]
    return Rfm(filters, bins, customers, segment_table(customers))


def score(values: np.ndarray, bins: int, edges: tuple[float, ...] | None) -> np.ndarray:
    """Scores 1..bins, higher for higher values.

    With quantiles, a value's score is 1 + floor(bins * share of values strictly below it), so
    equal values share a score. With edges, the score is 1 + the number of edges strictly below
    the value (a value equal to an edge stays in the lower score).

    Args:
        values: one per customer.
        bins: number of scores.
        edges: ascending thresholds (bins - 1), or None for quantiles.

    Returns:
        int array of scores in 1..bins, same length.
    """
    if edges is not None:
        return 1 + np.searchsorted(np.asarray(edges, dtype=float), values, side="left")
    if len(values) == 0:
        return np.zeros(0, dtype=int)
    ordered = np.sort(values)
    below = np.searchsorted(ordered, values, side="left")
    return 1 + np.floor(bins * below / len(values)).astype(int)


def to_five(scores: np.ndarray, bins: int) -> np.ndarray:
    """Rescale scores 1..bins to 1..5 (ceil(score * 5 / bins)) so the segment grid applies."""
    return np.ceil(np.asarray(scores, dtype=float) * 5 / bins - 1e-9).astype(int).clip(1, 5)


def segment_of(recency_scores: np.ndarray, fm_scores: np.ndarray) -> np.ndarray:
    """The segment name for each (R, FM) pair, both 1..5, through `SEGMENT_GRID`."""
    grid = np.array([[SEGMENT_GRID[r][fm - 1] for fm in range(1, 6)] for r in range(1, 6)], dtype=object)
    return grid[np.asarray(recency_scores, dtype=int) - 1, np.asarray(fm_scores, dtype=int) - 1]


def segment_table(customers: pd.DataFrame) -> pd.DataFrame:
    """Size and revenue share of each segment, every segment listed (zero when empty).

    Returns:
        segment, customers, revenue, customer_share, revenue_share, average_recency_days,
        average_orders, average_revenue; rows in `SEGMENTS` order.
    """
    grouped = customers.groupby("segment").agg(
        customers=("user_id", "size"), revenue=("revenue", "sum"), average_recency_days=("recency_days", "mean"),
        average_orders=("orders", "mean"), average_revenue=("revenue", "mean"),
    ) if not customers.empty else pd.DataFrame(
        columns=["customers", "revenue", "average_recency_days", "average_orders", "average_revenue"], dtype=float)
    table = grouped.reindex(list(SEGMENTS))
    table.index.name = "segment"
    table = table.reset_index()
    table["customers"] = table["customers"].fillna(0).astype(int)
    table["revenue"] = table["revenue"].fillna(0.0).astype(float)
    total_customers = table["customers"].sum()
    total_revenue = table["revenue"].sum()
    table["customer_share"] = table["customers"] / total_customers if total_customers else 0.0
    table["revenue_share"] = table["revenue"] / total_revenue if total_revenue else math.nan
    return table[["segment", "customers", "revenue", "customer_share", "revenue_share", "average_recency_days",
                  "average_orders", "average_revenue"]]


def load_rfm_migration(con: duckdb.DuckDBPyConnection, filters: Filters, bins: RfmBins = RfmBins()) -> RfmMigration:
    """Segments in the previous equally long period against those in the filters' period.

    Args:
        con: a warehouse connection.
        filters: the later period; the earlier one is `filters.previous_period()`.
        bins: as for `load_rfm`.

    Returns:
        An `RfmMigration`.
    """
    before = load_rfm(con, filters.previous_period(), bins)
    after = load_rfm(con, filters, bins)
    return RfmMigration(before, after, migration_flows(before.customers, after.customers))


def migration_flows(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Count customers per (segment before, segment after).

    Args:
        before, after: customer tables with user_id and segment.

    Returns:
        source, target, customers; customers only in `after` come from "Not a customer", those
        only in `before` go to "No purchase". Sorted by customers, largest first.
    """
    joined = before[["user_id", "segment"]].merge(after[["user_id", "segment"]], on="user_id", how="outer",
                                                  suffixes=("_before", "_after"))
    joined["source"] = joined["segment_before"].fillna(NOT_A_CUSTOMER)
    joined["target"] = joined["segment_after"].fillna(NO_PURCHASE)
    flows = joined.groupby(["source", "target"], as_index=False).agg(customers=("user_id", "size"))
    return flows.sort_values(["customers", "source", "target"], ascending=[False, True, True]).reset_index(drop=True)
