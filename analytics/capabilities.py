"""Which analyses a warehouse's data supports, and why not when it does not.

A data set may lack events, orders or products (a Shopify export has no
views; a click log has no orders). The build records the verdicts in
`meta_capabilities`, and the app lists only pages whose analysis is supported
or says what data would enable them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import duckdb

from analytics.sql_files import read_sql

MIN_FORECAST_DAYS = 56


@dataclass(frozen=True)
class Capability:
    """The verdict for one analysis.

    Attributes:
        analysis: machine name, e.g. "funnels".
        is_supported: whether the data can feed it.
        reason: what the data has, or what it lacks and how to add it.
    """

    analysis: str
    is_supported: bool
    reason: str


@dataclass(frozen=True)
class _Rule:
    analysis: str
    test: Callable[[dict[str, int]], bool]
    needs: str


_RULES: tuple[_Rule, ...] = (
    _Rule("overview", lambda p: p["sessions"] > 0 or p["orders"] > 0, "events or orders"),
    _Rule("funnels", lambda p: min(p["view_events"], p["cart_events"], p["purchase_events"]) > 0,
          "view, cart and purchase events"),
    _Rule("cart_dropoff", lambda p: min(p["cart_events"], p["purchase_events"]) > 0, "cart and purchase events"),
    _Rule("customers", lambda p: p["identified_orders"] > 0 and p["repeat_customers"] > 0,
          "orders with customers who ordered more than once"),
    _Rule("revenue", lambda p: p["priced_order_lines"] > 0, "orders with prices"),
    # The Data page (imports, rejects) is listed with the other pages; an empty warehouse shows setup help instead.
    _Rule("data", lambda p: p["sessions"] > 0 or p["orders"] > 0, "events or orders to add to"),
    _Rule("forecasts", lambda p: p["order_days"] >= MIN_FORECAST_DAYS,
          f"orders on at least {MIN_FORECAST_DAYS} distinct days"),
    _Rule("recommendations", lambda p: p["products_with_events"] >= 2, "events on at least two products"),
    _Rule("search", lambda p: p["search_events"] > 0, "search events with a search_query"),
    _Rule("promotions", lambda p: p["promotions"] > 0, "rows in the promotions table"),
)

ANALYSES: tuple[str, ...] = tuple(rule.analysis for rule in _RULES)


def profile(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Count what the marts hold (sessions, orders, events by type, ...)."""
    cursor = con.execute(read_sql("meta/data_profile"))
    names = [column[0] for column in cursor.description]
    return dict(zip(names, cursor.fetchone()))


def assess(data_profile: dict[str, int]) -> list[Capability]:
    """Judge every analysis against a data profile.

    Args:
        data_profile: from `profile`.

    Returns:
        One Capability per analysis, in `ANALYSES` order.
    """
    verdicts = []
    for rule in _RULES:
        if rule.test(data_profile):
            verdicts.append(Capability(rule.analysis, True, f"the data has {rule.needs}"))
        else:
            verdicts.append(Capability(rule.analysis, False, f"needs {rule.needs}; load data that has them"))
    return verdicts

