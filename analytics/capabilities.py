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
# Cohorts, RFM recency and lifetime value mean nothing on a few hours of data (2 hours of Taobao gave one
# cohort retained 100%): orders spanning a week give at least one cohort a later period to come back in.
MIN_CUSTOMER_SPAN_DAYS = 7


@dataclass(frozen=True)
class Capability:
    """The verdict for one analysis.

    Attributes:
        analysis: machine name, e.g. "funnels".
        is_supported: whether the data can feed it.
        reason: what the data has, or what it lacks (with what it has) and how to add it.
    """

    analysis: str
    is_supported: bool
    reason: str


@dataclass(frozen=True)
class _Rule:
    analysis: str
    test: Callable[[dict[str, int]], bool]
    needs: str
    has: Callable[[dict[str, int]], str]


def _count(value: int, noun: str, plural: str | None = None) -> str:
    return f"{value:,} {noun if value == 1 else plural or noun + 's'}"


_RULES: tuple[_Rule, ...] = (
    _Rule("overview", lambda p: p["sessions"] > 0 or p["orders"] > 0, "events or orders",
          lambda p: f"{_count(p['sessions'], 'session')} and {_count(p['orders'], 'order')}"),
    _Rule("funnels", lambda p: min(p["view_events"], p["cart_events"], p["purchase_events"]) > 0,
          "view, cart and purchase events",
          lambda p: f"{p['view_events']:,} views, {p['cart_events']:,} carts and {p['purchase_events']:,} purchases"),
    _Rule("cart_dropoff", lambda p: min(p["cart_events"], p["purchase_events"]) > 0, "cart and purchase events",
          lambda p: f"{p['cart_events']:,} carts and {p['purchase_events']:,} purchases"),
    _Rule("customers",
          lambda p: (p["identified_orders"] > 0 and p["repeat_customers"] > 0
                     and p["order_span_days"] >= MIN_CUSTOMER_SPAN_DAYS),
          f"orders spanning at least {MIN_CUSTOMER_SPAN_DAYS} days from customers who ordered more than once",
          lambda p: (f"orders spanning {_count(p['order_span_days'], 'day')} and "
                     f"{_count(p['repeat_customers'], 'repeat customer')}")),
    _Rule("revenue", lambda p: p["priced_order_lines"] > 0, "orders with prices",
          lambda p: f"{_count(p['priced_order_lines'], 'priced order line')}"),
    # The Data page (imports, rejects) is listed with the other pages; an empty warehouse shows setup help instead.
    _Rule("data", lambda p: p["sessions"] > 0 or p["orders"] > 0, "events or orders to add to",
          lambda p: f"{_count(p['sessions'], 'session')} and {_count(p['orders'], 'order')}"),
    _Rule("forecasts", lambda p: p["order_days"] >= MIN_FORECAST_DAYS,
          f"orders on at least {MIN_FORECAST_DAYS} distinct days",
          lambda p: f"orders on {_count(p['order_days'], 'day')}"),
    _Rule("recommendations", lambda p: p["products_with_events"] >= 2, "events on at least two products",
          lambda p: f"events on {_count(p['products_with_events'], 'product')}"),
    _Rule("search", lambda p: p["search_events"] > 0, "search events with a search_query",
          lambda p: f"{_count(p['search_events'], 'search', 'searches')}"),
    _Rule("promotions", lambda p: p["promotions"] > 0, "rows in the promotions table",
          lambda p: f"{_count(p['promotions'], 'promotion')}"),
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
            verdicts.append(Capability(rule.analysis, False,
                                       f"needs {rule.needs}, and this data has {rule.has(data_profile)}; "
                                       "load data that has them"))
    return verdicts

