"""Figures for the Cart drop-off page: pure functions from `CartDropoff` frames to Plotly figures.

Each figure plots exactly the numbers it is given (tests compare them with the engine's).
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.theme import COLORWAY, DEFAULT_HEIGHT, GRID, MUTED, RATIO_FORMAT, TEMPLATE, empty_figure

NO_CARTS = "No carts for these filters"
SURVIVAL_COLOR = COLORWAY[0]
ABANDONED_COLOR = COLORWAY[4]
WINDOW_COLOR = MUTED
LOG_TICKS = {1 / 60: "1 min", 5 / 60: "5 min", 0.25: "15 min", 1.0: "1 h", 6.0: "6 h", 24.0: "24 h",
             72.0: "3 d", 168.0: "7 d", 720.0: "30 d"}
BREAKDOWN_LABELS = {
    "category": "Category",
    "price_band": "Price vs category median",
    "device": "Device",
    "hour": "Hour of day (UTC)",
    "is_returning": "Visitor",
}


def survival_figure(survival: pd.DataFrame, within_hours: float) -> go.Figure:
    """The Kaplan–Meier curve: share of carts not yet bought, by hours since add-to-cart, with its band.

    Args:
        survival: `CartDropoff.survival` (hours, survival, lower, upper, at_risk).
        within_hours: the abandonment window, marked with a vertical line.
    """
    if survival.empty or survival["survival"].isna().all():
        return empty_figure(NO_CARTS)
    # A log axis shows both the first minutes (when most carts are bought) and the days after;
    # hour 0 (survival 1 by definition) cannot sit on it.
    survival = survival[survival["hours"] > 0]
    hours = survival["hours"].to_numpy(dtype=float)
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=hours, y=survival["upper"].to_numpy(dtype=float), mode="lines", line={"width": 0, "shape": "hv"},
        name="95% upper", showlegend=False, hoverinfo="skip",
    ))
    figure.add_trace(go.Scatter(
        x=hours, y=survival["lower"].to_numpy(dtype=float), mode="lines", line={"width": 0, "shape": "hv"},
        fill="tonexty", fillcolor=_tint(SURVIVAL_COLOR, 0.15), name="95% band", hoverinfo="skip",
    ))
    figure.add_trace(go.Scatter(
        x=hours, y=survival["survival"].to_numpy(dtype=float), mode="lines", name="Not yet bought",
        line={"color": SURVIVAL_COLOR, "width": 2.5, "shape": "hv"},
        customdata=survival[["lower", "upper", "at_risk"]].to_numpy(dtype=float),
        hovertemplate=(
            f"%{{x:.2f}} h after the cart: %{{y:{RATIO_FORMAT}}} not yet bought"
            f"<br>95% band %{{customdata[0]:{RATIO_FORMAT}}}–%{{customdata[1]:{RATIO_FORMAT}}}"
            "<br>%{customdata[2]:,.0f} carts still waiting<extra></extra>"
        ),
    ))
    # On a log axis plotly.js places shapes in data coordinates but annotations in log10 ones.
    figure.add_shape(type="line", x0=within_hours, x1=within_hours, xref="x", y0=0, y1=1, yref="paper",
                     line={"color": WINDOW_COLOR, "dash": "dot", "width": 1.5})
    figure.add_annotation(x=math.log10(within_hours), xref="x", y=1, yref="paper", text=f"{within_hours:g} h",
                          showarrow=False, xanchor="left", yanchor="top", font={"color": MUTED})
    figure.update_layout(
        template=TEMPLATE, height=DEFAULT_HEIGHT, hovermode="closest",
        xaxis={"title": {"text": "Time since add-to-cart (log scale)"}, "type": "log",
               "range": [math.log10(hours.min()), math.log10(hours.max())],
               "tickvals": [tick for tick in LOG_TICKS if tick <= hours.max()],
               "ticktext": [LOG_TICKS[tick] for tick in LOG_TICKS if tick <= hours.max()]},
        yaxis={"tickformat": ".0%", "range": [0, 1.02]},
    )
    return figure


def breakdown_figure(table: pd.DataFrame, by: str) -> go.Figure:
    """Abandonment rate per value of a breakdown as horizontal bars with 95 % error bars.

    Args:
        table: a `CartDropoff.breakdowns` frame (by, carts, abandoned, abandonment_rate,
            abandonment_lower, abandonment_upper, ...).
        by: the breakdown's name, the table's first column.
    """
    rows = table[table["abandonment_rate"].notna()]
    if rows.empty:
        return empty_figure(NO_CARTS)
    labels = [breakdown_label(by, value) for value in rows[by]]
    rates = rows["abandonment_rate"].to_numpy(dtype=float)
    figure = go.Figure(go.Bar(
        x=rates,
        y=labels,
        orientation="h",
        name="Abandoned within the window",
        marker={"color": ABANDONED_COLOR, "cornerradius": 3},
        error_x={
            "type": "data", "symmetric": False, "color": MUTED, "thickness": 1.2, "width": 3,
            "array": rows["abandonment_upper"].to_numpy(dtype=float) - rates,
            "arrayminus": rates - rows["abandonment_lower"].to_numpy(dtype=float),
        },
        customdata=rows[["carts", "abandoned", "recovered"]].to_numpy(dtype=float),
        texttemplate=f"%{{x:{RATIO_FORMAT}}}",
        textposition="inside",
        insidetextanchor="start",
        hovertemplate=(
            f"<b>%{{y}}</b><br>Abandoned %{{x:{RATIO_FORMAT}}} of decided carts"
            "<br>%{customdata[1]:,.0f} abandoned of %{customdata[0]:,.0f} carts"
            "<br>%{customdata[2]:,.0f} recovered later<extra></extra>"
        ),
    ))
    slots = max(len(rows), 4)
    figure.update_layout(
        template=TEMPLATE, showlegend=False, hovermode="closest",
        height=max(DEFAULT_HEIGHT, 28 * slots + 60),
        xaxis={"tickformat": ".0%", "range": [0, 1], "showgrid": True, "gridcolor": GRID},
        yaxis={"type": "category", "autorange": "reversed", "showgrid": False},
    )
    return figure


def breakdown_label(by: str, value: object) -> str:
    """How a breakdown value reads on an axis: hours as "09:00", is_returning as New/Returning."""
    if by == "hour" and str(value).isdigit():
        return f"{int(value):02d}:00"
    if by == "is_returning":
        return {"True": "Returning", "False": "New"}.get(str(value), str(value))
    return str(value)


def _tint(hex_color: str, alpha: float) -> str:
    red, green, blue = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"
