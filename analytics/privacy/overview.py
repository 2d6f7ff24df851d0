"""Differentially private Overview tiles: sessions, users, orders, revenue, conversion rate, order value.

The exact inputs come from `sql/reports/privacy/overview_kpis.sql`, which bounds each user's
contribution (at most `session_cap` sessions, `order_cap` orders and converted sessions, and
`revenue_cap` revenue per query; average order value divides revenue from all of a user's orders by
orders counted up to the cap, so it leans high for shops with many very frequent buyers). Five
figures get noise, each with its share of `overview_epsilon` (`EPSILON_SHARES`); by sequential
composition the set costs `overview_epsilon`. Conversion rate and average order value are divided
from the noisy parts (post-processing, free of charge).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from analytics.filters import Filters
from analytics.privacy.ledger import PrivacyLedger, query_key
from analytics.privacy.mechanisms import (
    NoisyValue,
    accuracy,
    noisy_count,
    noisy_sum,
)
from analytics.privacy.settings import PrivacySettings
from analytics.queries import run_report

# (name, label, unit) in the Overview's order; the first five are measured, the last two divided.
MEASURED = ("sessions", "converted_sessions", "users", "orders", "revenue")
# Shares of `overview_epsilon`. Sessions and users are large counts that stay within about 1% at a
# small share; orders, converted sessions and revenue are an order of magnitude smaller in a shop
# (a few percent of sessions convert), so they get more of the budget. On the sample shop's last 30
# days with the defaults this puts every tile within about 1% to 10% (docs/security.md).
EPSILON_SHARES = {"sessions": 0.15, "users": 0.10, "converted_sessions": 0.25, "orders": 0.25, "revenue": 0.25}
TILES = (
    ("sessions", "Sessions", "count"),
    ("users", "Users", "count"),
    ("orders", "Orders", "count"),
    ("revenue", "Revenue", "currency"),
    ("conversion_rate", "Conversion rate", "ratio"),
    ("average_order_value", "Average order value", "currency"),
)


@dataclass(frozen=True)
class NoisyKpi:
    """One tile.

    Attributes:
        name, label, unit: as `analytics.overview.Kpi` ("count", "currency" or "ratio").
        value: the noisy figure; None when undefined (a rate over no sessions).
        accuracy: half-width of its 95% interval; for the two divided figures, the larger side of an
            interval that holds with at least 95% (each part's 97.5% interval, Bonferroni).
        epsilon: ε spent on it; 0 for the divided figures.
        sensitivity: the most one user changes the exact figure; None for the divided figures.
    """

    name: str
    label: str
    unit: str
    value: float | None
    accuracy: float | None
    epsilon: float
    sensitivity: float | None


@dataclass(frozen=True)
class PrivateOverview:
    """The noisy tiles for one set of filters, and what they cost.

    Attributes:
        filters: the slice.
        kpis: the tiles in `TILES` order.
        epsilon: ε the set spends (what the ledger charges a viewer once per day).
        charged: ε charged now (0 when this viewer saw these figures earlier today).
        spent_today, daily_epsilon: the viewer's budget after this release.
        settings: the bounds and budgets used.
    """

    filters: Filters
    kpis: tuple[NoisyKpi, ...]
    epsilon: float
    charged: float
    spent_today: float
    daily_epsilon: float
    settings: PrivacySettings

    def kpi(self, name: str) -> NoisyKpi:
        """The tile called `name`."""
        return next(kpi for kpi in self.kpis if kpi.name == name)


def bounded_totals(con: duckdb.DuckDBPyConnection, filters: Filters, settings: PrivacySettings) -> dict[str, float]:
    """The exact Overview totals with each user's contribution bounded (the noise's input).

    Returns:
        sessions, converted_sessions, users, orders (int) and revenue (float).
    """
    parameters = filters.sql_parameters() | {
        "session_cap": settings.session_cap, "order_cap": settings.order_cap, "revenue_cap": settings.revenue_cap,
    }
    row = run_report(con, "privacy/overview_kpis", parameters).iloc[0]
    totals = {name: int(row[name]) for name in ("sessions", "converted_sessions", "users", "orders")}
    totals["revenue"] = float(row["revenue"])
    return totals


def sensitivities(settings: PrivacySettings) -> dict[str, float]:
    """How much one user can change each measured figure, given the bounds."""
    return {"sessions": settings.session_cap, "converted_sessions": min(settings.session_cap, settings.order_cap),
            "users": 1,
            "orders": settings.order_cap, "revenue": settings.revenue_cap}


def draw_figures(totals: dict[str, float], settings: PrivacySettings) -> dict[str, dict[str, float]]:
    """Noise for the five measured figures, each with its share (`EPSILON_SHARES`) of `overview_epsilon`.

    Returns:
        name -> {value, accuracy, epsilon, sensitivity, scale} (JSON-ready, as the ledger stores it).
    """
    bounds = sensitivities(settings)
    figures = {}
    for name in MEASURED:
        share = settings.overview_epsilon * EPSILON_SHARES[name]
        if name == "revenue":
            noisy = noisy_sum(totals[name], bounds[name], share)
        else:
            noisy = noisy_count(int(totals[name]), int(bounds[name]), share)
        figures[name] = _as_dict(noisy)
    return figures


def tiles(figures: dict[str, dict[str, float]]) -> tuple[NoisyKpi, ...]:
    """The six tiles from the five noisy figures (post-processing only)."""
    def measured(name: str, label: str, unit: str) -> NoisyKpi:
        figure = figures[name]
        return NoisyKpi(name, label, unit, figure["value"], figure["accuracy"], figure["epsilon"],
                        figure["sensitivity"])

    by_name = {name: measured(name, label, unit) for name, label, unit in TILES[:4]}
    rate = _ratio_tile("conversion_rate", "Conversion rate", "ratio", figures["converted_sessions"],
                       figures["sessions"], upper=1.0)
    order_value = _ratio_tile("average_order_value", "Average order value", "currency", figures["revenue"],
                              figures["orders"], upper=None)
    return (by_name["sessions"], by_name["users"], by_name["orders"], by_name["revenue"], rate, order_value)


def private_overview(con: duckdb.DuckDBPyConnection, filters: Filters, *, data_version: str, viewer: str,
                     ledger: PrivacyLedger, settings: PrivacySettings) -> PrivateOverview:
    """The noisy Overview tiles for `viewer`, through the budget ledger.

    Args:
        con: a warehouse connection.
        filters: the slice (dates, categories, channels, devices).
        data_version: the build's id (a rebuild makes the figures new releases).
        viewer: who asks; charged `settings.overview_epsilon` the first time today.
        ledger: the budget ledger.
        settings: bounds and budgets.

    Raises:
        BudgetExhausted: the viewer cannot afford these figures today.
    """
    parameters = {"filters": filters.sql_parameters(), "settings": settings.__dict__}
    key = query_key("overview_kpis", data_version, parameters)
    label = f"Overview tiles {filters.start_date}..{filters.end_date} {filters.categories} {filters.channels} " \
            f"{filters.devices}"
    release = ledger.release(viewer, key, label, settings.overview_epsilon,
                             lambda: {"figures": draw_figures(bounded_totals(con, filters, settings), settings)})
    figures = release.answer["figures"]
    epsilon = sum(figure["epsilon"] for figure in figures.values())
    return PrivateOverview(filters, tiles(figures), epsilon, release.charged, release.spent_today,
                           release.daily_epsilon, settings)


def _ratio_tile(name: str, label: str, unit: str, numerator: dict[str, float], denominator: dict[str, float],
                upper: float | None) -> NoisyKpi:
    if denominator["value"] <= 0:
        return NoisyKpi(name, label, unit, None, None, 0.0, None)
    value = numerator["value"] / denominator["value"]
    if upper is not None:
        value = min(value, upper)
    # Each part within its 97.5% interval makes both hold with >= 95% (Bonferroni); the ratio then
    # lies between the extreme ratios of the two intervals.
    top = numerator["value"] + _accuracy_at(numerator, 0.975)
    bottom = numerator["value"] - _accuracy_at(numerator, 0.975)
    low_denominator = denominator["value"] - _accuracy_at(denominator, 0.975)
    high_denominator = denominator["value"] + _accuracy_at(denominator, 0.975)
    low = max(bottom, 0.0) / high_denominator
    high = top / low_denominator if low_denominator > 0 else float("inf")
    if upper is not None:
        high = min(high, upper)
    return NoisyKpi(name, label, unit, value, max(value - low, high - value), 0.0, None)


def _accuracy_at(figure: dict[str, Any], confidence: float) -> float:
    return accuracy(figure["scale"], figure["mechanism"], confidence)


def _as_dict(noisy: NoisyValue) -> dict[str, Any]:
    return {"value": noisy.value, "accuracy": noisy.accuracy, "epsilon": noisy.epsilon,
            "sensitivity": noisy.sensitivity, "scale": noisy.scale, "mechanism": noisy.mechanism}
