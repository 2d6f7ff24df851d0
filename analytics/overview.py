"""The Overview: headline KPIs against the previous period, daily trends, top categories and products."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import duckdb
import pandas as pd

from analytics.filters import Filters
from analytics.queries import run_report

Unit = Literal["count", "currency", "ratio"]


@dataclass(frozen=True)
class Kpi:
    """One headline number and the same number for the previous period.

    Attributes:
        name: machine name, e.g. "conversion_rate".
        label: for people, e.g. "Conversion rate".
        unit: "count", "currency" (shop currency) or "ratio" (0 to 1).
        value: this period's value; None when undefined (e.g. a rate with no sessions).
        previous_value: the previous period's value, or None.
    """

    name: str
    label: str
    unit: Unit
    value: float | None
    previous_value: float | None

    @property
    def change_ratio(self) -> float | None:
        """Relative change against the previous period (0.1 = +10 %); None when undefined."""
        if self.value is None or not self.previous_value:
            return None
        return self.value / self.previous_value - 1


@dataclass(frozen=True)
class Overview:
    """Everything the Overview page shows for one set of filters.

    Attributes:
        filters: the filters applied.
        kpis: sessions, users, orders, revenue, conversion_rate, average_order_value, in that order.
        daily: one row per day of the period: kpi_date (date), sessions, users, converted_sessions,
            orders, units (int), revenue (float), conversion_rate (0..1, NaN without sessions),
            average_order_value (NaN without orders).
        top_categories: category, revenue, orders, units, revenue_share (0..1), by revenue descending.
        top_products: product_id, title, category, brand, revenue, orders, units; at most `top_n` rows.
    """

    filters: Filters
    kpis: tuple[Kpi, ...]
    daily: pd.DataFrame
    top_categories: pd.DataFrame
    top_products: pd.DataFrame

    def kpi(self, name: str) -> Kpi:
        """Return the KPI called `name`."""
        return next(kpi for kpi in self.kpis if kpi.name == name)

    @property
    def is_empty(self) -> bool:
        """True when the period has no sessions and no orders."""
        return not (self.kpi("sessions").value or self.kpi("orders").value)


@dataclass(frozen=True)
class FilterOptions:
    """What the sidebar can offer: values present in the data and its date span."""

    categories: tuple[str, ...]
    channels: tuple[str, ...]
    devices: tuple[str, ...]
    first_date: date | None
    last_date: date | None


def filter_options(con: duckdb.DuckDBPyConnection) -> FilterOptions:
    """Read the categories, channels, devices and date span present in the warehouse."""
    row = run_report(con, "filter_options", {}).iloc[0]
    return FilterOptions(
        categories=_as_tuple(row["categories"]),
        channels=_as_tuple(row["channels"]),
        devices=_as_tuple(row["devices"]),
        first_date=_as_date(row["first_date"]),
        last_date=_as_date(row["last_date"]),
    )


def load_overview(con: duckdb.DuckDBPyConnection, filters: Filters, top_n: int = 10) -> Overview:
    """Compute the Overview for `filters`.

    Args:
        con: a warehouse connection.
        filters: the slice to report on; the period it is compared with comes from `filters.comparison_period()`.
        top_n: how many products to list, >= 1.

    Returns:
        An Overview.
    """
    previous = filters.comparison_period()
    parameters = filters.sql_parameters() | {
        "previous_start_date": previous.start_date,
        "previous_end_date": previous.end_date,
        "top_n": top_n,
    }
    totals = run_report(con, "overview_kpis", parameters).set_index("period")
    daily = _with_rates(run_report(con, "overview_daily", parameters))
    daily["kpi_date"] = pd.to_datetime(daily["kpi_date"]).dt.date
    categories = run_report(con, "overview_top_categories", parameters)
    total_revenue = categories["revenue"].sum()
    categories["revenue_share"] = categories["revenue"] / total_revenue if total_revenue else 0.0
    products = run_report(con, "overview_top_products", parameters)
    return Overview(filters, _kpis(totals), daily, categories, products)


def _kpis(totals: pd.DataFrame) -> tuple[Kpi, ...]:
    def pair(metric: str) -> tuple[float | None, float | None]:
        return tuple(_number(totals.loc[period, metric]) for period in ("current", "previous"))

    def ratio(numerator: str, denominator: str) -> tuple[float | None, float | None]:
        return tuple(
            _ratio(totals.loc[period, numerator], totals.loc[period, denominator])
            for period in ("current", "previous")
        )

    return (
        Kpi("sessions", "Sessions", "count", *pair("sessions")),
        Kpi("users", "Users", "count", *pair("users")),
        Kpi("orders", "Orders", "count", *pair("orders")),
        Kpi("revenue", "Revenue", "currency", *pair("revenue")),
        Kpi("conversion_rate", "Conversion rate", "ratio", *ratio("converted_sessions", "sessions")),
        Kpi("average_order_value", "Average order value", "currency", *ratio("revenue", "orders")),
    )


def _with_rates(daily: pd.DataFrame) -> pd.DataFrame:
    sessions = daily["sessions"].where(daily["sessions"] > 0)
    orders = daily["orders"].where(daily["orders"] > 0)
    return daily.assign(
        conversion_rate=daily["converted_sessions"] / sessions,
        average_order_value=daily["revenue"] / orders,
    )


def _number(value: object) -> float | None:
    return None if pd.isna(value) else float(value)


def _ratio(numerator: object, denominator: object) -> float | None:
    if pd.isna(denominator) or float(denominator) == 0:
        return None
    return float(numerator) / float(denominator)


def _as_tuple(values: object) -> tuple[str, ...]:
    # An aggregate over no rows comes back as None or pandas' NA.
    if values is None or values is pd.NA:
        return ()
    return tuple(str(value) for value in values)


def _as_date(value: object) -> date | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()
