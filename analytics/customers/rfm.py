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
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

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
NEW_CUSTOMER = "New customer"
# "All history" starts here: the as-of-start and as-of-end RFM read every order from this day on.
HISTORY_START = date(1, 1, 1)


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
    """How customers moved between their segments as of a period's start and as of its end.

    Attributes:
        before: RFM as of the start: every order before the start date (same filters otherwise),
            recency measured to the day before the start.
        after: RFM as of the end: every order up to the end date, recency measured to the end date.
        flows: source (segment as of the start, or "New customer" for customers whose first order
            is in the period), target (segment as of the end), customers (> 0); every customer of
            `after` in exactly one flow.
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
    customers = run_report(con, "customers/rfm_customers", filters.sql_parameters())
    if customers.empty:
        customers = pd.DataFrame(columns=list(CUSTOMER_COLUMNS))
    else:
        # numpy's day precision turns into datetime.date objects faster than the .dt.date accessor.
        customers["last_order_date"] = customers["last_order_date"].to_numpy().astype("datetime64[D]").astype(object)
        customers = score_frame(customers, bins)
    # The query and score_frame already give CUSTOMER_COLUMNS in order; selecting them again
    # would copy a million rows, so only a reordered frame is selected.
    if list(customers.columns) != list(CUSTOMER_COLUMNS):
        customers = customers[list(CUSTOMER_COLUMNS)]
    return Rfm(filters, bins, customers, segment_table(customers))


def score_frame(customers: pd.DataFrame, bins: RfmBins) -> pd.DataFrame:
    """Add the scores, labels and segment to customers' RFM values (vectorised, any size).

    Args:
        customers: one row per customer with recency_days (>= 0), orders (>= 1) and revenue.
        bins: quantile count or explicit thresholds.

    Returns:
        The same frame with recency_score, frequency_score, monetary_score (1..bins), rfm_score
        ("545"), fm_score (1..5) and segment added.
    """
    n = bins.bins
    recency_days = customers["recency_days"].to_numpy(float)
    # Recency is reversed: fewer days is better. With thresholds, a value on an edge stays in the
    # better score (n - edges strictly below); with quantiles, scoring -days ranks recent first.
    customers["recency_score"] = (n + 1 - score(recency_days, n, bins.recency_days_edges)
                                  if bins.recency_days_edges is not None else score(-recency_days, n, None))
    customers["frequency_score"] = score(customers["orders"].to_numpy(float), n, bins.orders_edges)
    customers["monetary_score"] = score(customers["revenue"].to_numpy(float), n, bins.revenue_edges)
    recency, frequency, monetary = (customers[column].to_numpy()
                                    for column in ("recency_score", "frequency_score", "monetary_score"))
    customers["rfm_score"] = rfm_labels(recency, frequency, monetary)
    customers["fm_score"] = (to_five(frequency, n) + to_five(monetary, n) + 1) // 2
    customers["segment"] = segment_of(to_five(recency, n), customers["fm_score"].to_numpy())
    return customers


def rfm_labels(recency_scores: np.ndarray, frequency_scores: np.ndarray, monetary_scores: np.ndarray) -> np.ndarray:
    """The "545"-style label of each customer's three scores (each 1..10), by table look-up.

    Looking the label up among the 1,000 possible ones is much faster than formatting a million
    strings.
    """
    labels = np.array([f"{r}{f}{m}" for r in range(1, 11) for f in range(1, 11) for m in range(1, 11)], dtype=object)
    codes = ((np.asarray(recency_scores, dtype=int) - 1) * 100 + (np.asarray(frequency_scores, dtype=int) - 1) * 10
             + np.asarray(monetary_scores, dtype=int) - 1)
    return labels[codes]


def score_customers(rows: pd.DataFrame, filters: Filters, bins: RfmBins = RfmBins()) -> Rfm:
    """Score customers given their last order date, orders and revenue in the period (no warehouse).

    `load_rfm` computes the same values in SQL and scores them with the same `score_frame`.

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
    customers = score_frame(customers, bins)
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
    # Values strictly below = customers before the value's first occurrence in sorted order.
    # np.unique's one sort beats searchsorted (random look-ups, several times slower at 1M); it
    # sorts NaN last and groups them, so a missing revenue ranks above every number (as SQL's
    # NULLS LAST would).
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    below = (np.cumsum(counts) - counts)[inverse]
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
    # Counted with bincount over the segment codes: a string groupby over a million customers took
    # a noticeable share of load_rfm's time.
    codes = pd.Categorical(customers["segment"], categories=list(SEGMENTS)).codes if not customers.empty \
        else np.zeros(0, dtype=int)
    if (codes < 0).any():
        raise ShopLensError("a customer's segment is not one of the 11 named segments; check SEGMENT_GRID")
    size = len(SEGMENTS)
    counts = np.bincount(codes, minlength=size)

    def total(column: str) -> np.ndarray:
        return np.bincount(codes, weights=customers[column].to_numpy(float), minlength=size) if len(codes) \
            else np.zeros(size)

    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame({
            "segment": list(SEGMENTS),
            "customers": counts.astype(int),
            "revenue": total("revenue"),
            "average_recency_days": np.where(counts > 0, total("recency_days") / counts, np.nan),
            "average_orders": np.where(counts > 0, total("orders") / counts, np.nan),
            "average_revenue": np.where(counts > 0, total("revenue") / counts, np.nan),
        })
    total_customers = table["customers"].sum()
    total_revenue = table["revenue"].sum()
    table["customer_share"] = table["customers"] / total_customers if total_customers else 0.0
    table["revenue_share"] = table["revenue"] / total_revenue if total_revenue else math.nan
    return table[["segment", "customers", "revenue", "customer_share", "revenue_share", "average_recency_days",
                  "average_orders", "average_revenue"]]


def load_rfm_migration(con: duckdb.DuckDBPyConnection, filters: Filters, bins: RfmBins = RfmBins()) -> RfmMigration:
    """Segments as of the period's start against segments as of its end.

    Both are scored the same way over all history (the category, channel and device filters still
    apply): as of the start over the orders before `filters.start_date`, as of the end over the
    orders up to `filters.end_date`. With the whole history selected nobody has bought before the
    start, so every customer comes from "New customer".

    Args:
        con: a warehouse connection.
        filters: the period whose start and end are compared.
        bins: as for `load_rfm`.

    Returns:
        An `RfmMigration`.
    """
    after = load_rfm(con, replace(filters, start_date=HISTORY_START), bins)
    if filters.start_date > HISTORY_START:
        before = load_rfm(con, replace(filters, start_date=HISTORY_START,
                                       end_date=filters.start_date - timedelta(days=1)), bins)
    else:
        before = score_customers(pd.DataFrame(), filters, bins)
    return RfmMigration(before, after, migration_flows(before.customers, after.customers))


def migration_flows(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Count customers per (segment before, segment after).

    Args:
        before, after: customer tables with user_id and segment.

    Returns:
        source, target, customers; customers only in `after` come from "New customer", those only in
        `before` (none when `after` covers `before`'s history) go to "No purchase". Sorted by
        customers, largest first.
    """
    joined = before[["user_id", "segment"]].merge(after[["user_id", "segment"]], on="user_id", how="outer",
                                                  suffixes=("_before", "_after"))
    joined["source"] = joined["segment_before"].fillna(NEW_CUSTOMER)
    joined["target"] = joined["segment_after"].fillna(NO_PURCHASE)
    flows = joined.groupby(["source", "target"], as_index=False).agg(customers=("user_id", "size"))
    return flows.sort_values(["customers", "source", "target"], ascending=[False, True, True]).reset_index(drop=True)
