"""Noisy figures in the app: tiles with their ± accuracy, the viewer's budget, DP CSV exports.

- `noisy_overview(filters)` / `noisy_funnel(query, filters)`: the figures for the current user,
  through the budget ledger beside the warehouse; None (after a calm message) when today's budget
  cannot pay for them.
- `noisy_tile(kpi)`, `noisy_tiles(overview)`: st.metric tiles reading "22,180 ± 150".
- `budget_caption(...)`: how much of today's ε the viewer has spent.
- `dp_csv_button(frame, file_name)`: a download of a DP export (`analytics.privacy.display`).
- `overview_section(filters)`, `funnel_section(query, filters)`: what a viewer sees on the Overview and
  Funnels pages instead of the exact figures (pages call them when `view_exact_counts` is not allowed).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from analytics.access.roles import roles_file_path
from analytics.charts import funnels as charts
from analytics.errors import ShopLensError
from analytics.filters import Filters
from analytics.funnels.query import FunnelQuery
from analytics.privacy.display import accuracy_sentence, format_noisy, funnel_export, overview_export
from analytics.privacy.funnel import PrivateFunnel, private_funnel
from analytics.privacy.ledger import BudgetExhausted, PrivacyLedger, ledger_path
from analytics.privacy.overview import NoisyKpi, PrivateOverview, private_overview
from analytics.privacy.settings import PrivacySettings, load_privacy_settings
from analytics.warehouse import default_warehouse_path
from dashboard import common
from dashboard.access import current_user

# "22.3k ± 200" needs about twice a plain number's width: three tiles a row on wide screens.
KPI_MIN_WIDTH = 230
TILES_PER_ROW = 3
SHORT_LABELS = {"average_order_value": "Avg. order value"}


def settings() -> PrivacySettings:
    """The `[privacy]` settings of the roles file (re-read when the file changes)."""
    path = roles_file_path()
    try:
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        stamp = None
    return _settings(str(path), stamp)


@lru_cache(maxsize=4)
def _settings(path: str, stamp: tuple[int, int] | None) -> PrivacySettings:
    del stamp  # part of the cache key only
    return load_privacy_settings(Path(path))


def ledger() -> PrivacyLedger:
    """The budget ledger beside the current warehouse."""
    return PrivacyLedger(ledger_path(default_warehouse_path()), settings().daily_epsilon)


def noisy_overview(filters: Filters) -> PrivateOverview | None:
    """The noisy Overview tiles for the current user, or None after saying why they cannot be shown."""
    return _released(private_overview, filters)


def noisy_funnel(query: FunnelQuery, filters: Filters, store: Any = None) -> PrivateFunnel | None:
    """The noisy funnel step counts for the current user, or None after saying why they cannot be shown.

    Args:
        query: the funnel (counted by users here).
        filters: the slice.
        store: the build's events in memory, when the page holds them.
    """
    return _released(private_funnel, query, filters, store=store)


def _released(release: Any, *args: Any, **kwargs: Any) -> Any:
    warehouse = common.ready_warehouse()
    try:
        return release(warehouse.connection, *args, data_version=warehouse.info.data_version,
                       viewer=current_user().email, ledger=ledger(), settings=settings(), **kwargs)
    except BudgetExhausted as error:
        st.info(str(error), title="Today's privacy budget is spent", icon=":material/shield_lock:")
        return None
    except ShopLensError as error:   # e.g. a broken [privacy] table: the message says where
        st.warning(str(error), title="These figures cannot be shown", icon=":material/shield_lock:")
        return None


def noisy_tile(kpi: NoisyKpi) -> None:
    """A bordered st.metric reading "22,180 ± 150", with what ± means in its tooltip."""
    value = format_noisy(kpi.value, kpi.accuracy, kpi.unit, common.currency_symbol())
    st.metric(SHORT_LABELS.get(kpi.name, kpi.label), value, border=True, height="stretch",
              help=accuracy_sentence(kpi.epsilon, kpi.sensitivity, kpi.unit))


def noisy_tiles(overview: PrivateOverview, *, with_revenue: bool = True) -> None:
    """The noisy tiles in a grid, the budget caption and a DP CSV of them."""
    kpis = [kpi for kpi in overview.kpis if with_revenue or kpi.unit != "currency"]
    with st.grid(TILES_PER_ROW, min_column_width=KPI_MIN_WIDTH, gap="small"):
        for kpi in kpis:
            noisy_tile(kpi)
    with st.container(horizontal=True, vertical_alignment="center", horizontal_alignment="distribute"):
        budget_caption(overview.epsilon, overview.charged, overview.spent_today, overview.daily_epsilon)
        export = overview_export(overview)
        dp_csv_button(export if with_revenue else export[~export["figure"].isin(["revenue", "average_order_value"])],
                      "overview-dp", key="download_overview_dp")


def budget_caption(epsilon: float, charged: float, spent_today: float, daily_epsilon: float) -> None:
    """One line: what these figures cost, and how much of today's budget is spent."""
    cost = f"these figures cost ε = {epsilon:.2g}" if charged else "already seen today, so free"
    st.caption(f":material/shield_lock: Differentially private: {cost}; ε spent today "
               f"{spent_today:.2g} of {daily_epsilon:g}.", width="content")


def dp_csv_button(frame: pd.DataFrame, file_name: str, *, key: str, label: str = "DP CSV") -> None:
    """A download of a DP export: only noisy figures, their ± and the ε they cost."""
    st.download_button(label, data=common.to_csv(frame), file_name=f"{file_name}.csv",
                       mime="text/csv", key=key, type="tertiary", icon=":material/download:", on_click="ignore",
                       help="The noisy figures with their 95% accuracy and the ε they cost")


def overview_section(filters: Filters, *, with_revenue: bool = True) -> None:
    """A viewer's Overview: the noisy tiles, what they cost, and why the exact charts are not shown."""
    overview = noisy_overview(filters)
    if overview is None:
        return
    noisy_tiles(overview, with_revenue=with_revenue)
    st.info("Your role sees these figures with differential-privacy noise, so no one shopper can be picked out "
            "of them. Daily charts and product rankings show exact figures, which would undo the noise; they "
            "need the analyst role.", icon=":material/shield_lock:")


def funnel_section(query: FunnelQuery, filters: Filters, store: Any = None) -> None:
    """A viewer's funnel: noisy users reaching each step (never increasing), their ±, and a DP CSV."""
    if query.count_by != "users" or query.breakdown is not None:
        st.caption(":material/shield_lock: With noise, funnels count users and have no breakdown: sessions, "
                   "conversions and breakdowns would count one shopper many times.")
    funnel = noisy_funnel(query, filters, store=store)
    if funnel is None:
        return
    steps = funnel.steps
    conversion, conversion_accuracy = funnel.conversion
    help_text = accuracy_sentence(funnel.epsilon, 1, "count")
    with st.container(horizontal=True, gap="small"):
        st.metric("Entered (users)", format_noisy(steps["users"].iloc[0], steps["users_accuracy"].iloc[0], "count"),
                  border=True, help=help_text)
        st.metric("Completed", format_noisy(steps["users"].iloc[-1], steps["users_accuracy"].iloc[-1], "count"),
                  border=True, help=help_text)
        st.metric("Conversion", format_noisy(conversion, conversion_accuracy, "ratio"), border=True,
                  help=accuracy_sentence(0, None, "ratio"))
    export = funnel_export(funnel)
    common.chart_card("Funnel", charts.funnel_figure(steps, "users"), export, file_name="funnel-steps-dp",
                      caption="Users reaching at least each step, with differential-privacy noise; ± in the table")
    st.dataframe(export[["step", "users", "plus_minus_95", "conversion_from_start"]], hide_index=True,
                 column_config={"step": "Step", "users": st.column_config.NumberColumn("Users", format="localized"),
                                "plus_minus_95": st.column_config.NumberColumn("± (95%)", format="%d"),
                                "conversion_from_start": st.column_config.NumberColumn("Of entered", format="percent")})
    budget_caption(funnel.epsilon, funnel.charged, funnel.spent_today, funnel.daily_epsilon)
    st.info("Breakdowns, trends, time to convert and the users who dropped out show exact figures or single "
            "shoppers; they need the analyst role.", icon=":material/shield_lock:")
