"""Figures of the purchase and churn predictions: score distributions, calibration and segment averages.

Pure functions from engine results (`analytics.features.predictive`) to plotly
figures, so tests can inspect them without a browser.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.charts import standard
from analytics.charts.standard import empty_figure, finish, plain_text
from analytics.charts.theme import DEFAULT_HEIGHT, GRID, MUTED, RATIO_FORMAT, TEMPLATE, TEXT

PURCHASE_COLOR = "#2F9E44"
CHURN_COLOR = "#E03131"
COLORS: dict[str, str] = {"purchase_probability_7d": PURCHASE_COLOR, "churn_probability_28d": CHURN_COLOR}
LABELS: dict[str, str] = {
    "purchase_probability_7d": "P(purchase in 7 days)",
    "churn_probability_28d": "P(churn in 28 days)",
}
NO_USERS = "No recently active users to score"


def distribution_figure(distribution: pd.DataFrame, column: str) -> go.Figure:
    """Users per probability band as bars.

    Args:
        distribution: from `probability_distribution`: band_start, band_end (0..1), users.
        column: the scored column the distribution is of, for colour and labels.
    """
    if distribution.empty or distribution["users"].sum() == 0:
        return empty_figure(NO_USERS)
    middles = (distribution["band_start"] + distribution["band_end"]) / 2
    widths = distribution["band_end"] - distribution["band_start"]
    figure = go.Figure(go.Bar(
        x=middles,
        y=distribution["users"],
        width=widths * 0.92,
        name=LABELS.get(column, column),
        marker={"color": COLORS.get(column, MUTED), "cornerradius": 2},
        customdata=distribution[["band_start", "band_end"]].to_numpy(dtype=float),
        hovertemplate=("%{customdata[0]:.0%}–%{customdata[1]:.0%}: <b>%{y:,.0f}</b> users<extra></extra>"),
    ))
    figure.update_layout(
        template=TEMPLATE, showlegend=False, hovermode="closest", height=DEFAULT_HEIGHT, bargap=0,
        xaxis={"tickformat": ".0%", "range": [0, 1], "title": {"text": LABELS.get(column, column)},
               "showgrid": False},
        yaxis={"title": {"text": "Users"}, "showgrid": True, "gridcolor": GRID, "rangemode": "tozero"},
    )
    return finish(figure)


def calibration_figure(calibration: pd.DataFrame, column: str) -> go.Figure:
    """Observed rate against mean predicted probability per bin, with the diagonal of perfect calibration.

    Args:
        calibration: a TrainedModel's calibration: bin, mean_predicted, observed_rate, rows.
        column: the scored column the model produces, for colour and labels.
    """
    if calibration.empty:
        return empty_figure("No validation rows")
    top = float(max(calibration["mean_predicted"].max(), calibration["observed_rate"].max(), 0.01)) * 1.05
    top = min(1.0, top)
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=[0, top], y=[0, top], mode="lines", name="Perfectly calibrated",
        line={"color": MUTED, "dash": "dot", "width": 1}, hoverinfo="skip",
    ))
    figure.add_trace(go.Scatter(
        x=calibration["mean_predicted"], y=calibration["observed_rate"], mode="lines+markers",
        name="Model", line={"color": COLORS.get(column, MUTED), "width": 2},
        marker={"size": 7}, customdata=calibration[["bin", "rows"]].to_numpy(dtype=float),
        hovertemplate=(f"Bin %{{customdata[0]:.0f}} (%{{customdata[1]:,.0f}} users)<br>predicted "
                       f"%{{x:{RATIO_FORMAT}}}, observed %{{y:{RATIO_FORMAT}}}<extra></extra>"),
    ))
    figure.update_layout(
        template=TEMPLATE, hovermode="closest", height=DEFAULT_HEIGHT,
        xaxis={"tickformat": ".0%", "range": [0, top], "title": {"text": "Predicted"}, "showgrid": True,
               "gridcolor": GRID},
        yaxis={"tickformat": ".0%", "range": [0, top], "title": {"text": "Observed"}, "showgrid": True,
               "gridcolor": GRID},
    )
    if top < 0.1:
        figure.update_xaxes(tickformat=standard.percent_format(top))
        figure.update_yaxes(tickformat=standard.percent_format(top))
    return finish(figure)


PROBABILITY_COLUMNS = ("purchase_probability_7d", "churn_probability_28d")


def segment_table(segments: pd.DataFrame, by: str) -> pd.DataFrame:
    """The segments the chart draws: the 12 with most users and "Other" for the rest.

    "Other" adds up users, and its mean probabilities are the users-weighted means of the folded
    segments (the mean over all their users). The page's CSV is this table.
    """
    if segments.empty:
        return segments.copy()
    totals = {column: f"_{column}_total" for column in PROBABILITY_COLUMNS if column in segments}
    weighted = segments.assign(**{total: segments[column] * segments["users"] for column, total in totals.items()})
    folded = standard.fold_top_n(weighted, by, "users", sum_columns=list(totals.values()),
                                 ratio_columns={column: (total, "users") for column, total in totals.items()})
    return folded.drop(columns=list(totals.values()))


def segment_figure(segments: pd.DataFrame, by: str) -> go.Figure:
    """Mean purchase and churn probability per segment as grouped horizontal bars, each labelled.

    Args:
        segments: from `probability_by_segment`: the `by` column, users, purchase_probability_7d,
            churn_probability_28d (means, 0..1); folded to the top 12 and "Other" (`segment_table`).
        by: the segment column.
    """
    table = segment_table(segments, by)
    if table.empty:
        return empty_figure(NO_USERS)
    labels = [plain_text(value) for value in table[by]]
    figure = go.Figure()
    for column in PROBABILITY_COLUMNS:
        figure.add_trace(go.Bar(
            x=table[column], y=labels, orientation="h", name=LABELS[column],
            marker={"color": COLORS[column], "cornerradius": 3},
            customdata=table[["users"]].to_numpy(dtype=float),
            text=[f"{value:.1%}" for value in table[column]], textposition="outside", constraintext="none",
            textfont={"color": MUTED, "size": 11},
            hovertemplate=(f"<b>%{{y}}</b><br>{LABELS[column]} %{{x:{RATIO_FORMAT}}} on average"
                           "<br>%{customdata[0]:,.0f} users<extra></extra>"),
        ))
    figure.update_layout(
        template=TEMPLATE, barmode="group", hovermode="closest",
        height=max(DEFAULT_HEIGHT, 44 * len(table) + 80),
        xaxis={"tickformat": ".0%", "range": [0, 1.1], "showgrid": True, "gridcolor": GRID,
               "tickvals": [0, 0.25, 0.5, 0.75, 1.0]},
        yaxis={"type": "category", "autorange": "reversed", "showgrid": False, "tickfont": {"color": TEXT}},
    )
    return finish(figure)
