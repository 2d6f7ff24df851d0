"""Figures for the Overview page: pure functions from `Overview` frames to Plotly figures.

Every function plots the numbers it is given without re-aggregating them, so
the figure shows exactly what the engine computed (tests compare the two).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.charts import standard
from analytics.charts.standard import empty_figure, finish
from analytics.charts.theme import (
    COLORS,
    COUNT_FORMAT,
    DEFAULT_HEIGHT,
    GRID,
    MONEY_FORMAT,
    MUTED,
    RATIO_FORMAT,
    TEMPLATE,
    TEXT,
)
from analytics.formatting import format_count

NO_DAYS = "No days in this period"
NO_ORDERS = "No orders in this period"
DAY_MS = 24 * 60 * 60 * 1000
BAR_ROW_HEIGHT = 34
COMPACT_ROW_HEIGHT = 26
MIN_BAR_SLOTS = 7


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
            mode=_mode(daily),
            line={"color": COLORS["sessions"], "width": 2.5},
            marker={"size": 6},
            fill="tozeroy" if len(daily) > 1 else None,
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
            mode=_mode(daily),
            line={"color": COLORS["orders"], "width": 2.5},
            marker={"size": 6},
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
    if len(daily) == 1:
        # One day puts both dots at the top of their own axes, one on the other: label them, and keep
        # orders at mid-height so both show.
        sessions, orders = float(daily["sessions"].iloc[0]), float(daily["orders"].iloc[0])
        figure.update_traces(mode="markers+text", marker={"size": 9}, textposition="middle right",
                             textfont={"color": TEXT})
        figure.data[0].text = [f"{format_count(sessions)} sessions"]
        figure.data[1].text = [f"{format_count(orders)} orders"]
        figure.update_yaxes(range=[0, max(sessions, 1) * 1.25], secondary_y=False)
        figure.update_yaxes(range=[0, max(orders, 1) * 2], secondary_y=True)
    return finish(figure)


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
            # Bars a day wide (less a gap): Plotly would make a lone day's bar a millisecond wide.
            width=DAY_MS * 0.8,
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
    return finish(figure)


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
            mode=_mode(daily),
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
        yaxis={"tickformat": standard.percent_format(daily["conversion_rate"]), "rangemode": "tozero",
               "hoverformat": RATIO_FORMAT},
    )
    if daily["conversion_rate"].notna().sum() <= 1:
        # One day: Plotly would centre a lone value on a zero-height range ("0% 0% 0%").
        figure.update_yaxes(range=standard.value_range(daily["conversion_rate"], minimum_span=0.01))
    return finish(figure)


def top_categories_table(top_categories: pd.DataFrame) -> pd.DataFrame:
    """The categories the chart draws: the 12 with most revenue and one "Other" row for the rest.

    The CSV behind the chart is this table. "Other" adds up revenue, units, the revenue share and
    orders (an order with items of two folded categories counts in both, as it does per category).
    """
    return standard.fold_top_n(top_categories, "category", "revenue",
                               sum_columns=("orders", "units", "revenue_share"))


def top_categories_figure(top_categories: pd.DataFrame, currency_symbol: str = "") -> go.Figure:
    """Revenue per category as horizontal bars, largest on top, labelled with its share.

    Args:
        top_categories: `Overview.top_categories` (category, revenue, orders, units, revenue_share);
            folded to the top 12 and "Other" (`top_categories_table`).
        currency_symbol: put before amounts; empty for none.
    """
    if top_categories.empty:
        return empty_figure(NO_ORDERS)
    table = top_categories_table(top_categories)
    figure = go.Figure(
        go.Bar(
            x=table["revenue"].to_numpy(dtype=float),
            y=[str(category) for category in table["category"]],
            orientation="h",
            name="Revenue",
            marker={"color": [standard.OTHER_COLOR if category == standard.OTHER_LABEL else COLORS["category"]
                              for category in table["category"]], "cornerradius": 3},
            customdata=table[["revenue_share", "orders", "units"]].to_numpy(dtype=float),
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
    _style_horizontal_bars(figure, table["revenue"], currency_symbol, row_height=COMPACT_ROW_HEIGHT)
    return finish(figure)


def top_products_figure(top_products: pd.DataFrame, currency_symbol: str = "", label_width: int = 34) -> go.Figure:
    """Revenue per product as horizontal bars, best seller on top, keyed by product id and labelled by title.

    Args:
        top_products: `Overview.top_products` (product_id, title, category, brand, revenue, orders, units);
            at most 12 are drawn.
        currency_symbol: put before amounts; empty for none.
        label_width: longest axis label in display columns (a CJK character counts two); longer
            titles are shortened with an ellipsis and shown in full on hover; a title shared by
            two products gets the product id after it.
    """
    if top_products.empty:
        return empty_figure(NO_ORDERS)
    top_products = top_products.head(standard.MAX_CATEGORIES)
    titles = [_text(title) or _text(product_id)
              for title, product_id in zip(top_products["title"], top_products["product_id"])]
    labels = standard.labels_by_id(titles, list(top_products["product_id"]), label_width)
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
    _style_horizontal_bars(figure, top_products["revenue"], currency_symbol)
    return finish(figure)


def shorten(text: str, width: int) -> str:
    """Cut `text` to at most `width` display columns (CJK characters count two), adding "…" when cut."""
    return standard.shorten(text, width)


def _style_horizontal_bars(figure: go.Figure, values: pd.Series, currency_symbol: str,
                           row_height: int = BAR_ROW_HEIGHT) -> None:
    # At least MIN_BAR_SLOTS slots, so one or two bars stay as thin as in a full chart.
    slots = max(len(values), MIN_BAR_SLOTS)
    figure.update_layout(
        template=TEMPLATE,
        showlegend=False,
        hovermode="closest",
        height=max(DEFAULT_HEIGHT, row_height * slots + 60),
        bargap=0.3,
        xaxis={
            "showgrid": True,
            "gridcolor": GRID,
            "showline": False,
            "tickformat": _amount_format(values.max()),
            "tickprefix": currency_symbol,
            # Room past the longest bar for its outside label.
            "range": standard.outside_text_range(values),
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
    return standard.amount_format(largest)


def _day_axis(daily: pd.DataFrame) -> dict:
    """A date axis labelled in days: one tick per day for short periods, one day wide for a single day."""
    return standard.time_axis(list(daily["kpi_date"]), "day")


def _mode(daily: pd.DataFrame) -> str:
    return standard.line_mode(len(daily))


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    return str(value)


def _tint(hex_color: str, alpha: float) -> str:
    red, green, blue = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"
