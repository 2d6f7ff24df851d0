"""Figures for the Cart drop-off page: pure functions from `CartDropoff` frames to Plotly figures.

Each figure plots exactly the numbers it is given (tests compare them with the engine's).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.charts import standard
from analytics.charts.standard import empty_figure, finish, plain_text
from analytics.charts.theme import COLORWAY, DEFAULT_HEIGHT, GRID, MUTED, RATIO_FORMAT, TEMPLATE, TEXT

NO_CARTS = "No carts for these filters"
NONE_DECIDED = ("None of the {carts} carts is decided yet: each is still inside the window, neither bought nor "
                "abandoned, so there is no abandonment rate to show")
# Ordered breakdowns keep every value in order (24 hours, a few price bands, new/returning);
# the others fold to the top 12 by carts and "Other".
ORDERED_BREAKDOWNS = ("hour", "price_band", "is_returning")
Z_95 = 1.959963984540054
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
    if survival.empty:
        return empty_figure(NO_CARTS)
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
        customdata=[[lower, upper, at_risk, _duration_text(hour)] for lower, upper, at_risk, hour
                    in zip(survival["lower"].astype(float), survival["upper"].astype(float),
                           survival["at_risk"].astype(float), hours)],
        hovertemplate=(
            f"%{{customdata[3]}} after the cart: %{{y:{RATIO_FORMAT}}} not yet bought"
            f"<br>95% band %{{customdata[0]:{RATIO_FORMAT}}}–%{{customdata[1]:{RATIO_FORMAT}}}"
            "<br>%{customdata[2]:,.0f} carts still waiting<extra></extra>"
        ),
    ))
    # On a log axis plotly.js places shapes in data coordinates but annotations in log10 ones.
    figure.add_shape(type="line", x0=within_hours, x1=within_hours, xref="x", y0=0, y1=1, yref="paper",
                     line={"color": WINDOW_COLOR, "dash": "dot", "width": 1.5})
    figure.add_annotation(x=math.log10(within_hours), xref="x", y=1, yref="paper", text=f"{within_hours:g} h",
                          showarrow=False, xanchor="left", yanchor="top", font={"color": MUTED})
    # A little room left of the first tick so its label does not run into the y axis's "0%".
    low, high = math.log10(hours.min()), math.log10(hours.max())
    if high - low < 0.5:
        low, high = low - 0.25, high + 0.25
    figure.update_layout(
        template=TEMPLATE, height=DEFAULT_HEIGHT, hovermode="closest",
        xaxis={"title": {"text": "Time since add-to-cart (log scale)"}, "type": "log",
               "range": [low - 0.06 * (high - low), high],
               "tickvals": [tick for tick in LOG_TICKS if tick <= hours.max()],
               "ticktext": [LOG_TICKS[tick] for tick in LOG_TICKS if tick <= hours.max()]},
        yaxis={"tickformat": ".0%", "range": [0, 1.02]},
    )
    return finish(figure)


def _duration_text(hours: float) -> str:
    """1.2 min, 3.5 h, 2.1 days: the unit people would say."""
    if hours < 1:
        return f"{hours * 60:.1f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def breakdown_table(table: pd.DataFrame, by: str) -> pd.DataFrame:
    """The values the breakdown chart draws: every value of an ordered breakdown (hour, price band,
    new/returning); for the others the 12 with most carts and one "Other" row.

    "Other" adds up carts, bought_within, abandoned, open and recovered, and its rates and 95 %
    Wilson interval are recomputed from those sums. The page's CSV is this table.
    """
    if by in ORDERED_BREAKDOWNS or table.empty:
        return table.copy()
    folded = standard.fold_top_n(table, by, "carts",
                                 sum_columns=[column for column in ("bought_within", "abandoned", "open", "recovered")
                                              if column in table])
    if folded.attrs.get("folded_labels"):
        other = folded[by] == standard.OTHER_LABEL
        abandoned = folded.loc[other, "abandoned"].astype(float)
        decided = (folded.loc[other, "bought_within"] + folded.loc[other, "abandoned"]).astype(float)
        folded.loc[other, "abandonment_rate"] = abandoned / decided.where(decided > 0)
        if "recovered_rate" in folded:
            folded.loc[other, "recovered_rate"] = (folded.loc[other, "recovered"] / abandoned.where(abandoned > 0))
        low, high = _wilson(abandoned.to_numpy(), decided.to_numpy())
        folded.loc[other, "abandonment_lower"] = low
        folded.loc[other, "abandonment_upper"] = high
    return folded


def _wilson(successes: np.ndarray, trials: np.ndarray, z: float = Z_95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval, as `analytics.cart_dropoff.wilson_interval` computes it; NaN without trials."""
    with np.errstate(divide="ignore", invalid="ignore"):
        trials = np.where(trials > 0, trials, np.nan)
        share = successes / trials
        denominator = 1 + z**2 / trials
        centre = (share + z**2 / (2 * trials)) / denominator
        half = z * np.sqrt(share * (1 - share) / trials + z**2 / (4 * trials**2)) / denominator
    return np.clip(centre - half, 0, None), np.clip(centre + half, None, 1)


def breakdown_figure(table: pd.DataFrame, by: str) -> go.Figure:
    """Abandonment rate per value of a breakdown as horizontal bars with 95 % error bars.

    Each bar is labelled with its rate and the decided carts behind it; categories and devices are
    folded to the top 12 and "Other" (`breakdown_table`).

    Args:
        table: a `CartDropoff.breakdowns` frame (by, carts, abandoned, abandonment_rate,
            abandonment_lower, abandonment_upper, ...).
        by: the breakdown's name, the table's first column.
    """
    table = breakdown_table(table, by)
    rows = table[table["abandonment_rate"].notna()]
    if rows.empty:
        if table.empty or table["carts"].sum() == 0:
            return empty_figure(NO_CARTS)
        return empty_figure(NONE_DECIDED.format(carts=f"{int(table['carts'].sum()):,}"))
    labels = [plain_text(breakdown_label(by, value)) for value in rows[by]]
    rates = rows["abandonment_rate"].to_numpy(dtype=float)
    # The rate's denominator: carts bought within the window or abandoned (open ones are undecided).
    decided = ((rows["bought_within"] + rows["abandoned"]) if "bought_within" in rows else rows["carts"]).to_numpy(
        dtype=float)
    upper = rows["abandonment_upper"].to_numpy(dtype=float)
    ends = np.where(np.isnan(upper), rates, np.maximum(upper, rates))
    figure = go.Figure(go.Bar(
        x=rates,
        y=labels,
        orientation="h",
        name="Abandoned within the window",
        marker={"color": [standard.OTHER_COLOR if label == standard.OTHER_LABEL else ABANDONED_COLOR
                          for label in labels], "cornerradius": 3},
        error_x={
            "type": "data", "symmetric": False, "color": MUTED, "thickness": 1.2, "width": 3,
            "array": upper - rates,
            "arrayminus": rates - rows["abandonment_lower"].to_numpy(dtype=float),
        },
        customdata=rows[["carts", "abandoned", "recovered"]].to_numpy(dtype=float),
        hovertemplate=(
            f"<b>%{{y}}</b><br>Abandoned %{{x:{RATIO_FORMAT}}} of decided carts"
            "<br>%{customdata[1]:,.0f} abandoned of %{customdata[0]:,.0f} carts"
            "<br>%{customdata[2]:,.0f} recovered later<extra></extra>"
        ),
    ))
    # The labels sit just past each bar's error bar, so the whisker never strikes through them.
    figure.add_trace(go.Scatter(
        x=ends, y=labels, mode="text", text=[f"  {rate:.1%} of {count:,.0f}" for rate, count in zip(rates, decided)],
        textposition="middle right", textfont={"color": TEXT, "size": 12}, hoverinfo="skip", showlegend=False,
        cliponaxis=False,
    ))
    slots = max(len(rows), 4)
    figure.update_layout(
        template=TEMPLATE, showlegend=False, hovermode="closest",
        height=max(DEFAULT_HEIGHT, 28 * slots + 60),
        # Past 100% only to hold the labels; the ticks stop at 100%.
        xaxis={"tickformat": ".0%", "range": [0, max(1.0, float(np.nanmax(ends)) + 0.42)], "showgrid": True,
               "gridcolor": GRID, "tickvals": [0, 0.2, 0.4, 0.6, 0.8, 1.0]},
        # At least four slots, top down, so one or two bars stay as thin as in a full chart.
        yaxis={"type": "category", "range": [slots - 0.5, -0.5], "showgrid": False, "tickfont": {"color": TEXT}},
    )
    return finish(figure)


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
