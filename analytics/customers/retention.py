"""Cohort retention: who comes back, period by period, after their first visit or purchase.

A user enters the cohort of the period (day, week or month) holding their first qualifying
activity over all history: the first event (a session or an order) or the first purchase. For
each later period number k (0 = the entry period) the matrix counts

- N-period retention: users with a returning activity (any event, or a purchase) *in* period k;
- unbounded (rolling) retention: users with a returning activity in period k *or any later one*;
- revenue: what the cohort's users spent in period k (always purchases), cumulated per user
  into LTV curves.

Periods that start after the data ends are left out; the period holding the data end is marked
incomplete, so a curve never drops only because the period is still running.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from analytics.errors import ShopLensError
from analytics.filters import Filters
from analytics.queries import run_report

Period = Literal["day", "week", "month"]
Activity = Literal["event", "purchase"]
Breakdown = Literal["none", "acquisition_channel", "first_category"]
PERIODS: tuple[str, ...] = ("day", "week", "month")
ACTIVITIES: tuple[str, ...] = ("event", "purchase")
BREAKDOWNS: tuple[str, ...] = ("none", "acquisition_channel", "first_category")

MATRIX_COLUMNS: tuple[str, ...] = (
    "cohort", "segment", "period_number", "period_start", "cohort_size", "active_users", "retained_users",
    "active_rate", "retained_rate", "revenue", "cumulative_revenue_per_user", "is_complete",
)


@dataclass(frozen=True)
class Retention:
    """A cohort retention matrix in long form.

    Attributes:
        filters: cohorts are the users whose entry date is in filters' dates; category, channel and
            device filters restrict the activity considered.
        period: "day", "week" (starting Monday) or "month".
        entry: "event" (first visit or order) or "purchase" (first order).
        return_on: "event" or "purchase": what counts as coming back.
        breakdown: "none", "acquisition_channel" or "first_category".
        data_end_date: the last day with data; later periods are not in the matrix.
        matrix: one row per cohort, segment and observed period number (`MATRIX_COLUMNS`):
            cohort (date, the period's first day), segment ("All" without a breakdown),
            period_number (0 = entry period), period_start (date), cohort_size (users, > 0),
            active_users (users active in the period), retained_users (active in it or later),
            active_rate and retained_rate (0..1, of cohort_size), revenue (the cohort's revenue in
            the period), cumulative_revenue_per_user (revenue up to and including the period ÷
            cohort_size), is_complete (the period ended on or before data_end_date).
    """

    filters: Filters
    period: str
    entry: str
    return_on: str
    breakdown: str
    data_end_date: date | None
    matrix: pd.DataFrame

    @property
    def is_empty(self) -> bool:
        """True when no user entered a cohort in the period."""
        return self.matrix.empty

    @property
    def users(self) -> int:
        """Users in all cohorts together."""
        if self.matrix.empty:
            return 0
        return int(self.matrix.drop_duplicates(["cohort", "segment"])["cohort_size"].sum())

    @property
    def segments(self) -> list[str]:
        """The segments present, sorted ("All" without a breakdown)."""
        return sorted(self.matrix["segment"].unique()) if not self.matrix.empty else []

    def segment_matrix(self, segment: str) -> pd.DataFrame:
        """The matrix rows of one segment."""
        return self.matrix[self.matrix["segment"] == segment].reset_index(drop=True)

    def segment_average(self, segment: str) -> pd.DataFrame:
        """`average_curve()` rows of one segment."""
        average = self.average_curve()
        return average[average["segment"] == segment].reset_index(drop=True)

    def average_curve(self) -> pd.DataFrame:
        """Retention and revenue per user averaged over cohorts, weighted by size, per segment and period number.

        Only complete periods count, so young cohorts do not pull the tail down. The cohorts behind
        period k are therefore fewer than behind period k - 1 (the youngest drop out), and a
        cumulative average must not divide cumulative revenue by that shrinking set: when the cohorts
        still observed at day 29 spent less than the average cohort at day 0, such a "cumulative"
        curve falls. Instead the revenue *in* period k is averaged over the users of the cohorts
        complete at k, and those per-period averages are added up (the chain-ladder way), so the
        curve never decreases while revenue is non-negative and equals the plain average when every
        cohort is observed for every period.

        Returns:
            segment, period_number, cohorts (cohorts with that period complete), users (their
            size), active_rate and retained_rate (0..1), revenue_per_user (revenue in the period
            per user of those cohorts) and cumulative_revenue_per_user (its running sum).
        """
        complete = self.matrix[self.matrix["is_complete"]]
        columns = ["segment", "period_number", "cohorts", "users", "active_rate", "retained_rate",
                   "revenue_per_user", "cumulative_revenue_per_user"]
        if complete.empty:
            return pd.DataFrame(columns=columns)
        totals = complete.groupby(["segment", "period_number"], as_index=False).agg(
            cohorts=("cohort", "size"), users=("cohort_size", "sum"), active_users=("active_users", "sum"),
            retained_users=("retained_users", "sum"), revenue=("revenue", "sum"))
        totals = totals.sort_values(["segment", "period_number"], kind="stable").reset_index(drop=True)
        totals["active_rate"] = totals["active_users"] / totals["users"]
        totals["retained_rate"] = totals["retained_users"] / totals["users"]
        totals["revenue_per_user"] = totals["revenue"] / totals["users"]
        totals["cumulative_revenue_per_user"] = totals.groupby("segment")["revenue_per_user"].cumsum()
        return totals[columns]


def load_retention(con: duckdb.DuckDBPyConnection, filters: Filters, period: Period = "week",
                   entry: Activity = "event", return_on: Activity = "event",
                   breakdown: Breakdown = "none") -> Retention:
    """Build the cohort retention matrix.

    Args:
        con: a warehouse connection.
        filters: entry dates in start_date..end_date define the cohorts; categories, channels and
            devices restrict the sessions and order lines counted as activity.
        period: cohort and period size: "day", "week" (Monday first) or "month".
        entry: "event" (first session or order) or "purchase" (first order).
        return_on: "event" (any session or order) or "purchase" (an order).
        breakdown: "none", "acquisition_channel" (dim_users) or "first_category" (landing category of
            the first visit, or category of the first purchase).

    Returns:
        A `Retention`; its matrix is empty when no user entered in the period.

    Raises:
        ShopLensError: an unknown period, activity or breakdown.
    """
    _check_choice("period", period, PERIODS)
    _check_choice("entry", entry, ACTIVITIES)
    _check_choice("return_on", return_on, ACTIVITIES)
    _check_choice("breakdown", breakdown, BREAKDOWNS)
    data_end = run_report(con, "customers/data_end", {})["data_end_date"].iloc[0]
    data_end_date = None if pd.isna(data_end) else pd.Timestamp(data_end).date()
    parameters = filters.sql_parameters() | {
        "period": period, "entry": entry, "return_on": return_on, "breakdown": breakdown}
    rows = run_report(con, "customers/retention_cohorts", parameters)
    matrix = build_matrix(rows, period, data_end_date)
    return Retention(filters, period, entry, return_on, breakdown, data_end_date, matrix)


def build_matrix(rows: pd.DataFrame, period: str, data_end_date: date | None) -> pd.DataFrame:
    """Turn per-period counts into the complete long matrix (every observed period of every cohort).

    Args:
        rows: cohort, segment, period_number (-1 marks a size-only row), cohort_size, active_users,
            last_active_users (users whose last active period it is), revenue.
        period: "day", "week" or "month".
        data_end_date: last day with data; periods starting after it are dropped.

    Returns:
        `MATRIX_COLUMNS`, sorted by cohort, segment, period_number.
    """
    if rows.empty or data_end_date is None:
        return pd.DataFrame(columns=list(MATRIX_COLUMNS))
    rows = rows.copy()
    rows["cohort"] = pd.to_datetime(rows["cohort"]).dt.date
    cohorts = rows.drop_duplicates(["cohort", "segment"])[["cohort", "segment", "cohort_size"]]
    frames = []
    for cohort, segment, size in cohorts.itertuples(index=False):
        observed = periods_observed(cohort, period, data_end_date)
        frames.append(pd.DataFrame({"cohort": cohort, "segment": segment, "cohort_size": int(size),
                                    "period_number": np.arange(observed)}))
    grid = pd.concat(frames, ignore_index=True)
    counts = rows[rows["period_number"] >= 0][
        ["cohort", "segment", "period_number", "active_users", "last_active_users", "revenue"]]
    matrix = grid.merge(counts, on=["cohort", "segment", "period_number"], how="left")
    matrix[["active_users", "last_active_users"]] = matrix[["active_users", "last_active_users"]].fillna(0).astype(int)
    matrix["revenue"] = matrix["revenue"].fillna(0.0).astype(float)
    matrix = matrix.sort_values(["cohort", "segment", "period_number"], kind="stable").reset_index(drop=True)
    keys = [matrix["cohort"], matrix["segment"]]
    # Unbounded retention at k: users whose last active period is k or later (a reverse cumulative sum).
    reverse = matrix.iloc[::-1]
    matrix["retained_users"] = reverse.groupby(["cohort", "segment"], sort=False)["last_active_users"].cumsum()[::-1]
    matrix["cumulative_revenue_per_user"] = matrix.groupby(keys)["revenue"].cumsum() / matrix["cohort_size"]
    matrix["active_rate"] = matrix["active_users"] / matrix["cohort_size"]
    matrix["retained_rate"] = matrix["retained_users"] / matrix["cohort_size"]
    matrix["period_start"] = [period_start(cohort, period, k)
                              for cohort, k in zip(matrix["cohort"], matrix["period_number"])]
    matrix["is_complete"] = [period_start(start, period, 1) - timedelta(days=1) <= data_end_date
                             for start in matrix["period_start"]]
    return matrix[list(MATRIX_COLUMNS)]


def period_start(cohort: date, period: str, k: int) -> date:
    """The first day of period number `k` after `cohort` (itself a period's first day)."""
    if period == "day":
        return cohort + timedelta(days=int(k))
    if period == "week":
        return cohort + timedelta(weeks=int(k))
    months = cohort.year * 12 + cohort.month - 1 + int(k)
    return date(months // 12, months % 12 + 1, 1)


def periods_observed(cohort: date, period: str, data_end_date: date) -> int:
    """How many periods of a cohort have started by `data_end_date` (>= 1 when the cohort has)."""
    if period == "day":
        return max(0, (data_end_date - cohort).days + 1)
    if period == "week":
        return max(0, (data_end_date - cohort).days // 7 + 1)
    return max(0, (data_end_date.year - cohort.year) * 12 + data_end_date.month - cohort.month + 1)


def matrix_table(retention: Retention, measure: str = "retained_rate", segment: str | None = None) -> pd.DataFrame:
    """The matrix as a wide table: one row per cohort, one column per period number.

    Args:
        retention: the result.
        measure: a matrix column: active_rate, retained_rate, active_users, retained_users or
            cumulative_revenue_per_user.
        segment: the segment to show; None for the first one.

    Returns:
        cohort, cohort_size, then one column per period number ("0", "1", ...); NaN where the
        period has not started.
    """
    matrix = retention.matrix
    if matrix.empty:
        return pd.DataFrame(columns=["cohort", "cohort_size"])
    segment = segment if segment is not None else str(matrix["segment"].iloc[0])
    chosen = matrix[matrix["segment"] == segment]
    wide = chosen.pivot(index=["cohort", "cohort_size"], columns="period_number", values=measure)
    wide.columns = [str(column) for column in wide.columns]
    return wide.reset_index()


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ShopLensError(f"{name} {value!r} is not known; choose one of {', '.join(choices)}")
