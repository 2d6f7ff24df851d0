"""Figures for the Funnels page: pure functions from `FunnelResult` frames to Plotly figures.

Each function plots exactly the numbers it is given (tests compare them with the engine's).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.theme import COLORS, COLORWAY, COUNT_FORMAT, MUTED, RATIO_FORMAT, TEMPLATE, TEXT, empty_figure

NOBODY = "Nobody did the first step"
STEP_ROW_HEIGHT = 46


def funnel_figure(steps: pd.DataFrame, count_column: str = "users") -> go.Figure:
    """A funnel of how many reached each step, labelled with the share of those who started.

    Args:
        steps: `FunnelResult.steps` (step, the count column, conversion_from_start, ...).
        count_column: "users", "sessions" or "conversions".
    """
    if steps.empty or steps[count_column].iloc[0] == 0:
        return empty_figure(NOBODY)
    figure = go.Figure(go.Funnel(
        y=list(steps["step"]),
        x=steps[count_column].to_numpy(),
        customdata=steps[["conversion_from_start", "conversion_from_previous", "dropped"]].to_numpy(),
        texttemplate=f"%{{x:{COUNT_FORMAT}}} (%{{customdata[0]:{RATIO_FORMAT}}})",
        textposition="inside",
        marker={"color": COLORS["users"] if count_column == "users" else COLORS["sessions"]},
        connector={"fillcolor": "#E7F5FF"},
        hovertemplate=(f"%{{y}}<br>%{{x:{COUNT_FORMAT}}} {count_column}<br>"
                       f"%{{customdata[0]:{RATIO_FORMAT}}} of the start, %{{customdata[1]:{RATIO_FORMAT}}} of the "
                       f"previous step<br>%{{customdata[2]:{COUNT_FORMAT}}} dropped<extra></extra>"),
    ))
    figure.update_layout(template=TEMPLATE, height=max(240, STEP_ROW_HEIGHT * len(steps) + 40), hovermode="closest")
    figure.update_yaxes(showgrid=False)
    return figure


def breakdown_figure(breakdown: pd.DataFrame, count_column: str = "users") -> go.Figure:
    """Conversion from the start at each step, one bar per breakdown value.

    Args:
        breakdown: `FunnelResult.breakdown` (breakdown_value, step, conversion_from_start, the count column).
    """
    if breakdown is None or breakdown.empty:
        return empty_figure(NOBODY)
    figure = go.Figure()
    for index, (value, rows) in enumerate(_by_value(breakdown)):
        figure.add_trace(go.Bar(
            x=list(rows["step"]),
            y=rows["conversion_from_start"].to_numpy(),
            name=str(value),
            marker={"color": COLORWAY[index % len(COLORWAY)]},
            customdata=rows[count_column].to_numpy(),
            hovertemplate=(f"%{{y:{RATIO_FORMAT}}} (%{{customdata:{COUNT_FORMAT}}} {count_column})"
                           f"<extra>{value}</extra>"),
        ))
    figure.update_layout(template=TEMPLATE, barmode="group", yaxis={"tickformat": ".0%", "rangemode": "tozero"})
    return figure


def trend_figure(trend: pd.DataFrame) -> go.Figure:
    """Conversion rate (entered -> last step) per entry period.

    Args:
        trend: `FunnelResult.trend` (period_start, entered, converted, conversion_rate).
    """
    if trend.empty:
        return empty_figure(NOBODY)
    figure = go.Figure(go.Scatter(
        x=list(trend["period_start"]),
        y=trend["conversion_rate"].to_numpy(),
        mode="lines+markers" if len(trend) < 40 else "lines",
        line={"color": COLORS["conversion_rate"], "width": 2.5},
        customdata=trend[["entered", "converted"]].to_numpy(),
        hovertemplate=(f"%{{y:{RATIO_FORMAT}}}: %{{customdata[1]:{COUNT_FORMAT}}} of "
                       f"%{{customdata[0]:{COUNT_FORMAT}}} converted<extra></extra>"),
    ))
    figure.update_layout(template=TEMPLATE, yaxis={"tickformat": ".0%", "rangemode": "tozero"})
    return figure


def time_to_convert_figure(histogram: pd.DataFrame, median_seconds: float | None, p90_seconds: float | None
                           ) -> go.Figure:
    """Histogram of the time from the first to the last step, with the median and p90 marked.

    Args:
        histogram: `FunnelResult.time_to_convert` (bin_start_seconds, bin_end_seconds, count).
        median_seconds, p90_seconds: drawn as dashed lines when given (seconds).
    """
    if histogram.empty or histogram["count"].sum() == 0:
        return empty_figure("Nobody reached the last step")
    minutes_start = histogram["bin_start_seconds"].to_numpy() / 60
    minutes_end = histogram["bin_end_seconds"].to_numpy() / 60
    figure = go.Figure(go.Bar(
        x=(minutes_start + minutes_end) / 2,
        width=minutes_end - minutes_start,
        y=histogram["count"].to_numpy(),
        marker={"color": COLORS["users"], "line": {"color": "white", "width": 1}},
        customdata=list(zip(minutes_start, minutes_end)),
        hovertemplate=(f"%{{customdata[0]:.1f}}–%{{customdata[1]:.1f}} min: %{{y:{COUNT_FORMAT}}}"
                       "<extra></extra>"),
    ))
    for seconds, name, side in ((median_seconds, "median", "top left"), (p90_seconds, "p90", "top right")):
        if seconds is not None and seconds == seconds:
            figure.add_vline(x=seconds / 60, line={"color": MUTED, "dash": "dash", "width": 1.5},
                             annotation_text=f"{name} {seconds / 60:.1f} min", annotation_position=side)
    figure.update_layout(template=TEMPLATE, hovermode="closest", bargap=0,
                         xaxis={"title": {"text": "minutes from the first step"}})
    return figure


def _by_value(breakdown: pd.DataFrame) -> list[tuple[object, pd.DataFrame]]:
    values = list(dict.fromkeys(breakdown["breakdown_value"]))
    return [(value, breakdown[breakdown["breakdown_value"] == value]) for value in values]


def comparison_figure(comparison: pd.DataFrame, period_label: str = "This period",
                      previous_label: str = "Previous period") -> go.Figure:
    """Conversion from the first step in two periods, with 95 % Wilson intervals as error bars.

    Args:
        comparison: `analytics.funnels.comparison.compare_periods` output.
        period_label, previous_label: legend names of the two periods.
    """
    if comparison.empty or comparison["conversion"].isna().all():
        return empty_figure(NOBODY)
    figure = go.Figure()
    for suffix, name, color in (("_previous", previous_label, MUTED), ("", period_label, COLORS["conversion_rate"])):
        values = comparison[f"conversion{suffix}"].to_numpy()
        figure.add_trace(go.Bar(
            x=list(comparison["step"]),
            y=values,
            name=name,
            marker={"color": color},
            error_y={"type": "data", "symmetric": False,
                     "array": comparison[f"conversion{suffix}_high"].to_numpy() - values,
                     "arrayminus": values - comparison[f"conversion{suffix}_low"].to_numpy(),
                     "color": TEXT, "thickness": 1.2, "width": 4},
            customdata=comparison[["p_value"]].to_numpy(),
            hovertemplate=f"%{{y:{RATIO_FORMAT}}} (p = %{{customdata[0]:.3f}})<extra>{name}</extra>",
        ))
    figure.update_layout(template=TEMPLATE, barmode="group", hovermode="closest",
                         yaxis={"tickformat": ".0%", "rangemode": "tozero"})
    return figure
