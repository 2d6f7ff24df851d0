"""Figures for the Overview page: pure functions from `Overview` frames to Plotly figures.

Every function plots the numbers it is given without re-aggregating them, so
the figure shows exactly what the engine computed (tests compare the two).
"""

from __future__ import annotations

import unicodedata

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.charts.theme import (
    COLORS,
    COUNT_FORMAT,
    DAY_FORMAT,
    DEFAULT_HEIGHT,
    GRID,
    MONEY_FORMAT,
    MUTED,
    RATIO_FORMAT,
    TEMPLATE,
    TEXT,
    empty_figure,
)

NO_DAYS = "No days in this period"
NO_ORDERS = "No orders in this period"
BAR_ROW_HEIGHT = 34
COMPACT_ROW_HEIGHT = 26
MIN_BAR_SLOTS = 7
DAY_MS = 24 * 60 * 60 * 1000


def daily_traffic_figure(daily: pd.DataFrame) -> go.Figure:
    """Sessions (left axis) and orders (right axis) per day.

    Args:
        daily: `Overview.daily` (kpi_date, sessions, orders, ...).
    """
    if daily.empty:
        return empty_figure(NO_DAYS)
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(
        go.Scatter(
            x=list(daily["kpi_date"]),
            y=daily["sessions"].to_numpy(),
            name="Sessions",
            mode="lines",
            line={"color": COLORS["sessions"], "width": 2.5},
            fill="tozeroy",
            fillcolor=_tint(COLORS["sessions"], 0.08),
            hovertemplate=f"%{{y:{COUNT_FORMAT}}}<extra>Sessions</extra>",
        ),
        secondary_y=False,
    )
    figure.add_trace(
        go.Scatter(
            x=list(daily["kpi_date"]),
            y=daily["orders"].to_numpy(),
            name="Orders",
            mode="lines",
            line={"color": COLORS["orders"], "width": 2.5},
            hovertemplate=f"%{{y:{COUNT_FORMAT}}}<extra>Orders</extra>",
        ),
        secondary_y=True,
    )
    figure.update_layout(template=TEMPLATE, height=DEFAULT_HEIGHT, xaxis=_day_axis(daily))
    figure.update_yaxes(
        title={"text": "Sessions", "font": {"color": COLORS["sessions"]}},
        **_count_ticks(daily["sessions"].max()),
        secondary_y=False,
    )
    figure.update_yaxes(
        title={"text": "Orders", "font": {"color": COLORS["orders"]}},
        **_count_ticks(daily["orders"].max()),
        showgrid=False,
        rangemode="tozero",
        tickfont={"color": MUTED},
        secondary_y=True,
    )
    return figure


def daily_revenue_figure(daily: pd.DataFrame, currency_symbol: str = "") -> go.Figure:
    """Revenue per day as bars.

    Args:
        daily: `Overview.daily` (kpi_date, revenue, orders, ...).
        currency_symbol: put before amounts, e.g. "¥"; empty for none.
    """
    if daily.empty:
        return empty_figure(NO_DAYS)
    figure = go.Figure(
        go.Bar(
            x=list(daily["kpi_date"]),
            y=daily["revenue"].to_numpy(dtype=float),
            name="Revenue",
            marker={"color": COLORS["revenue"], "cornerradius": 3},
            customdata=daily[["orders"]].to_numpy(),
            hovertemplate=(
                f"{currency_symbol}%{{y:{MONEY_FORMAT}}} from %{{customdata[0]:{COUNT_FORMAT}}} orders"
                "<extra>Revenue</extra>"
            ),
        )
    )
    figure.update_layout(
        template=TEMPLATE,
        height=DEFAULT_HEIGHT,
        showlegend=False,
        xaxis=_day_axis(daily),
        yaxis={"tickformat": _amount_format(daily["revenue"].max()), "tickprefix": currency_symbol},
    )
    return figure


def daily_conversion_figure(daily: pd.DataFrame) -> go.Figure:
    """Conversion rate (converted sessions / sessions) per day; gaps on days without sessions.

    Args:
        daily: `Overview.daily` (kpi_date, conversion_rate, converted_sessions, sessions, ...).
    """
    if daily.empty:
        return empty_figure(NO_DAYS)
    figure = go.Figure(
        go.Scatter(
            x=list(daily["kpi_date"]),
            y=daily["conversion_rate"].to_numpy(dtype=float),
            name="Conversion rate",
            mode="lines+markers" if len(daily) <= 45 else "lines",
            line={"color": COLORS["conversion_rate"], "width": 2.5},
            marker={"size": 6},
            connectgaps=False,
            customdata=daily[["converted_sessions", "sessions"]].to_numpy(),
            hovertemplate=(
                f"%{{y:{RATIO_FORMAT}}} (%{{customdata[0]:{COUNT_FORMAT}}} of "
                f"%{{customdata[1]:{COUNT_FORMAT}}} sessions)<extra>Conversion</extra>"
            ),
        )
    )
    figure.update_layout(
        template=TEMPLATE,
        height=DEFAULT_HEIGHT,
        showlegend=False,
        xaxis=_day_axis(daily),
        yaxis={"tickformat": ".1%"},
    )
    return figure


def top_categories_figure(top_categories: pd.DataFrame, currency_symbol: str = "") -> go.Figure:
    """Revenue per category as horizontal bars, largest on top, labelled with its share.

    Args:
        top_categories: `Overview.top_categories` (category, revenue, orders, units, revenue_share).
        currency_symbol: put before amounts; empty for none.
    """
    if top_categories.empty:
        return empty_figure(NO_ORDERS)
    figure = go.Figure(
        go.Bar(
            x=top_categories["revenue"].to_numpy(dtype=float),
            y=[str(category) for category in top_categories["category"]],
            orientation="h",
            name="Revenue",
            marker={"color": COLORS["category"], "cornerradius": 3},
            customdata=top_categories[["revenue_share", "orders", "units"]].to_numpy(dtype=float),
            texttemplate="%{customdata[0]:.1%}",
            textposition="outside",
            cliponaxis=False,
            textfont={"color": MUTED},
            hovertemplate=(
                f"<b>%{{y}}</b><br>Revenue {currency_symbol}%{{x:{MONEY_FORMAT}}} (%{{customdata[0]:.1%}})"
                f"<br>Orders %{{customdata[1]:{COUNT_FORMAT}}} · Units %{{customdata[2]:{COUNT_FORMAT}}}"
                "<extra></extra>"
            ),
        )
    )
    # Compact rows keep up to 9 categories within the height of the daily charts beside it.
    _style_horizontal_bars(figure, len(top_categories), top_categories["revenue"].max(), currency_symbol,
                           row_height=COMPACT_ROW_HEIGHT)
    return figure


def top_products_figure(top_products: pd.DataFrame, currency_symbol: str = "", label_width: int = 34) -> go.Figure:
    """Revenue per product as horizontal bars, best seller on top, labelled by title.

    Args:
        top_products: `Overview.top_products` (product_id, title, category, brand, revenue, orders, units).
        currency_symbol: put before amounts; empty for none.
        label_width: longest axis label in display columns (a CJK character counts two); longer
            titles are shortened with an ellipsis and shown in full on hover.
    """
    if top_products.empty:
        return empty_figure(NO_ORDERS)
    titles = [_text(title) or _text(product_id) for title, product_id in zip(top_products["title"], top_products["product_id"])]
    labels = _unique([shorten(title, label_width) for title in titles], list(top_products["product_id"]))
    details = pd.DataFrame(
        {
            "title": titles,
            "product_id": [_text(value) for value in top_products["product_id"]],
            "category": [_text(value) or "—" for value in top_products["category"]],
            "brand": [_text(value) or "—" for value in top_products["brand"]],
            "orders": top_products["orders"].to_numpy(dtype=float),
            "units": top_products["units"].to_numpy(dtype=float),
        }
    )
    figure = go.Figure(
        go.Bar(
            x=top_products["revenue"].to_numpy(dtype=float),
            y=labels,
            orientation="h",
            name="Revenue",
            marker={"color": COLORS["product"], "cornerradius": 3},
            customdata=details.to_numpy(dtype=object),
            texttemplate=f"{currency_symbol}%{{x:,.3~s}}",
            textposition="outside",
            cliponaxis=False,
            textfont={"color": MUTED},
            hovertemplate=(
                "<b>%{customdata[0]}</b><br>%{customdata[2]} · %{customdata[3]} · %{customdata[1]}"
                f"<br>Revenue {currency_symbol}%{{x:{MONEY_FORMAT}}}"
                f"<br>Orders %{{customdata[4]:{COUNT_FORMAT}}} · Units %{{customdata[5]:{COUNT_FORMAT}}}"
                "<extra></extra>"
            ),
        )
    )
    _style_horizontal_bars(figure, len(top_products), top_products["revenue"].max(), currency_symbol)
    return figure


def shorten(text: str, width: int) -> str:
    """Cut `text` to at most `width` display columns (CJK characters count two), adding "…" when cut."""
    if _display_width(text) <= width:
        return text
    kept, used = [], 0
    for character in text:
        size = _display_width(character)
        if used + size > width - 1:
            break
        kept.append(character)
        used += size
    return "".join(kept).rstrip() + "…"


def _style_horizontal_bars(figure: go.Figure, rows: int, largest: float, currency_symbol: str,
                           row_height: int = BAR_ROW_HEIGHT) -> None:
    # At least MIN_BAR_SLOTS slots, so one or two bars stay as thin as in a full chart.
    slots = max(rows, MIN_BAR_SLOTS)
    figure.update_layout(
        template=TEMPLATE,
        showlegend=False,
        hovermode="closest",
        height=max(DEFAULT_HEIGHT, row_height * slots + 60),
        bargap=0.3,
        margin={"r": 56},
        xaxis={
            "showgrid": True,
            "gridcolor": GRID,
            "showline": False,
            "tickformat": _amount_format(largest),
            "tickprefix": currency_symbol,
            "rangemode": "tozero",
        },
        yaxis={
            "type": "category",
            "range": [slots - 0.5, -0.5],
            "ticklabelstandoff": 6,
            "showgrid": False,
            "tickfont": {"color": TEXT},
        },
    )


def _count_ticks(largest: float) -> dict:
    """Tick settings for a count axis: whole numbers only, SI suffixes for large values."""
    if pd.isna(largest) or largest < 5:
        return {"tickformat": ",d", "tickmode": "linear", "tick0": 0, "dtick": 1}
    return {"tickformat": "~s", "tickmode": "auto"}


def _amount_format(largest: float) -> str:
    """SI suffixes (12k) for large amounts; plain numbers below 1,000 so 0.5 is not shown as 500m."""
    return "~s" if not pd.isna(largest) and largest >= 1_000 else ",~g"


def _day_axis(daily: pd.DataFrame) -> dict:
    """A date axis labelled in days; one tick per day for short periods so no hours appear."""
    axis = {"type": "date", "hoverformat": DAY_FORMAT}
    if len(daily) <= 14:
        axis |= {"dtick": DAY_MS, "tickformat": "%-d %b"}
    return axis


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in text)


def _unique(labels: list[str], ids: list[object]) -> list[str]:
    """Make axis labels unique (Plotly merges equal category labels) by appending the product id."""
    seen: dict[str, int] = {}
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
    return [f"{label} ({_text(id_)})" if seen[label] > 1 else label for label, id_ in zip(labels, ids)]


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    return str(value)


def _tint(hex_color: str, alpha: float) -> str:
    red, green, blue = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"
