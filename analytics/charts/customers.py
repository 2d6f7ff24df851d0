"""Figures for the Customers page: pure functions from retention, RFM and CLV results to Plotly figures.

Each figure plots exactly the numbers it is given, so tests compare the traces with the engine's frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.charts.theme import (
    COLORWAY, COUNT_FORMAT, DEFAULT_HEIGHT, GRID, MONEY_FORMAT, MUTED, RATIO_FORMAT, TEMPLATE, empty_figure,
)

NO_COHORTS = "No customers entered a cohort in this period"
NO_CUSTOMERS = "No customers bought in this period"
AVERAGE_COLOR = "#212529"
SEGMENT_COLORS: dict[str, str] = {
    "Champions": "#2F9E44", "Loyal": "#66A80F", "Potential loyalist": "#94D82D", "New customers": "#1098AD",
    "Promising": "#3BC9DB", "Need attention": "#FAB005", "About to sleep": "#F08C00", "At risk": "#E8590C",
    "Can't lose them": "#C92A2A", "Hibernating": "#868E96", "Lost": "#495057",
    "New customer": "#CED4DA", "No purchase": "#CED4DA",
}
PERIOD_LABELS = {"day": "Days", "week": "Weeks", "month": "Months"}


def retention_heatmap(matrix: pd.DataFrame, period: str, measure: str = "percent",
                      rate_column: str = "retained_rate") -> go.Figure:
    """Cohort heatmap: one row per cohort (oldest on top), one column per period since entry.

    Args:
        matrix: `Retention.matrix` rows of one segment.
        period: "day", "week" or "month" (axis label).
        measure: "percent" (the rate) or "count" (users).
        rate_column: "retained_rate" (unbounded) or "active_rate" (N-period); counts use the
            matching users column.
    """
    if matrix.empty:
        return empty_figure(NO_COHORTS)
    value_column = rate_column if measure == "percent" else rate_column.replace("_rate", "_users")
    wide = matrix.pivot(index="cohort", columns="period_number", values=value_column).sort_index()
    sizes = matrix.drop_duplicates("cohort").set_index("cohort")["cohort_size"].reindex(wide.index)
    values = wide.to_numpy(dtype=float)
    labels = [f"{cohort:%Y-%m-%d} ({size:,})" for cohort, size in zip(wide.index, sizes)]
    text_format = RATIO_FORMAT if measure == "percent" else COUNT_FORMAT
    show_text = values.size <= 400
    figure = go.Figure(go.Heatmap(
        z=values, x=[int(k) for k in wide.columns], y=labels, colorscale="Blues", zmin=0,
        zmax=1 if measure == "percent" else None,
        texttemplate=f"%{{z:{text_format}}}" if show_text else None, textfont={"size": 10},
        hovertemplate=(f"Cohort %{{y}}<br>{PERIOD_LABELS.get(period, 'Periods')} since entry: %{{x}}"
                       f"<br>%{{z:{text_format}}}<extra></extra>"),
        colorbar={"tickformat": ".0%" if measure == "percent" else ",.0f", "thickness": 10},
        xgap=1, ygap=1,
    ))
    figure.update_layout(template=TEMPLATE, height=min(900, max(DEFAULT_HEIGHT, 22 * len(labels) + 60)),
                         hovermode="closest",
                         xaxis={"title": {"text": f"{PERIOD_LABELS.get(period, 'Periods')} since entry"},
                                "dtick": 1 if values.shape[1] <= 30 else None},
                         yaxis={"autorange": "reversed", "showgrid": False, "type": "category"})
    return figure


def retention_curves_figure(matrix: pd.DataFrame, average: pd.DataFrame, period: str,
                            rate_column: str = "retained_rate", max_cohorts: int = 12) -> go.Figure:
    """Retention curves of the latest cohorts, and the size-weighted average of all, against periods since entry.

    Args:
        matrix: `Retention.matrix` rows of one segment.
        average: `Retention.average_curve()` rows of the same segment.
        period: axis label.
        rate_column: "retained_rate" or "active_rate".
        max_cohorts: the newest cohorts drawn (older ones are in the average).
    """
    if matrix.empty:
        return empty_figure(NO_COHORTS)
    figure = go.Figure()
    cohorts = sorted(matrix["cohort"].unique())[-max_cohorts:]
    for index, cohort in enumerate(cohorts):
        rows = matrix[(matrix["cohort"] == cohort) & matrix["is_complete"]]
        figure.add_trace(go.Scatter(
            x=rows["period_number"], y=rows[rate_column], mode="lines", name=f"{cohort:%Y-%m-%d}",
            line={"width": 1.2, "color": COLORWAY[index % len(COLORWAY)]}, opacity=0.55,
            hovertemplate=f"Cohort {cohort:%Y-%m-%d}: %{{y:{RATIO_FORMAT}}}<extra></extra>",
        ))
    if not average.empty:
        figure.add_trace(go.Scatter(
            x=average["period_number"], y=average[rate_column], mode="lines+markers", name="All cohorts",
            line={"width": 3, "color": AVERAGE_COLOR}, marker={"size": 5},
            hovertemplate=f"All cohorts: %{{y:{RATIO_FORMAT}}}<extra></extra>",
        ))
    figure.update_layout(template=TEMPLATE, height=DEFAULT_HEIGHT + 60,
                         xaxis={"title": {"text": f"{PERIOD_LABELS.get(period, 'Periods')} since entry"}},
                         yaxis={"tickformat": ".0%", "rangemode": "tozero"})
    return figure


def ltv_curves_figure(matrix: pd.DataFrame, average: pd.DataFrame, period: str, max_cohorts: int = 12) -> go.Figure:
    """Cumulative revenue per user by periods since entry (LTV curves), newest cohorts and the average."""
    if matrix.empty:
        return empty_figure(NO_COHORTS)
    figure = go.Figure()
    cohorts = sorted(matrix["cohort"].unique())[-max_cohorts:]
    for index, cohort in enumerate(cohorts):
        rows = matrix[(matrix["cohort"] == cohort) & matrix["is_complete"]]
        figure.add_trace(go.Scatter(
            x=rows["period_number"], y=rows["cumulative_revenue_per_user"], mode="lines", name=f"{cohort:%Y-%m-%d}",
            line={"width": 1.2, "color": COLORWAY[index % len(COLORWAY)]}, opacity=0.55,
            hovertemplate=f"Cohort {cohort:%Y-%m-%d}: %{{y:{MONEY_FORMAT}}} per user<extra></extra>",
        ))
    if not average.empty:
        figure.add_trace(go.Scatter(
            x=average["period_number"], y=average["cumulative_revenue_per_user"], mode="lines+markers",
            name="All cohorts", line={"width": 3, "color": AVERAGE_COLOR}, marker={"size": 5},
            hovertemplate=f"All cohorts: %{{y:{MONEY_FORMAT}}} per user<extra></extra>",
        ))
    figure.update_layout(template=TEMPLATE, height=DEFAULT_HEIGHT + 60,
                         xaxis={"title": {"text": f"{PERIOD_LABELS.get(period, 'Periods')} since entry"}},
                         yaxis={"tickformat": MONEY_FORMAT, "rangemode": "tozero"})
    return figure


def segment_share_figure(segments: pd.DataFrame) -> go.Figure:
    """Share of customers and share of revenue per RFM segment, side by side, segments top to bottom.

    Args:
        segments: `Rfm.segments` (segment, customers, revenue, customer_share, revenue_share, ...).
    """
    if segments.empty or segments["customers"].sum() == 0:
        return empty_figure(NO_CUSTOMERS)
    names = segments["segment"].tolist()
    figure = go.Figure()
    figure.add_trace(go.Bar(
        y=names, x=segments["customer_share"], orientation="h", name="Customers", marker={"color": COLORWAY[0]},
        customdata=segments[["customers"]].to_numpy(),
        hovertemplate=f"%{{y}}: %{{x:{RATIO_FORMAT}}} of customers (%{{customdata[0]:,}})<extra></extra>",
    ))
    figure.add_trace(go.Bar(
        y=names, x=segments["revenue_share"].fillna(0.0), orientation="h", name="Revenue",
        marker={"color": COLORWAY[2]}, customdata=segments[["revenue"]].to_numpy(),
        hovertemplate=f"%{{y}}: %{{x:{RATIO_FORMAT}}} of revenue (%{{customdata[0]:{MONEY_FORMAT}}})<extra></extra>",
    ))
    figure.update_layout(template=TEMPLATE, barmode="group", height=DEFAULT_HEIGHT + 140, hovermode="closest",
                         xaxis={"tickformat": ".0%", "showgrid": True, "gridcolor": GRID},
                         yaxis={"autorange": "reversed", "showgrid": False})
    return figure


def migration_sankey(flows: pd.DataFrame) -> go.Figure:
    """Sankey of customers moving from their segment as of the period's start (left) to as of its end (right).

    Args:
        flows: `RfmMigration.flows` (source, target, customers); "New customer" on the left holds
            the customers whose first order is in the period.
    """
    if flows.empty:
        return empty_figure(NO_CUSTOMERS)
    sources = [f"{name} " for name in _ordered(flows["source"])]
    targets = [f" {name}" for name in _ordered(flows["target"])]
    # Left and right nodes share names, so the labels carry a space on one side to keep them apart.
    labels = sources + targets
    index = {label: position for position, label in enumerate(labels)}
    figure = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": [label.strip() for label in labels], "pad": 10, "thickness": 12,
              "color": [SEGMENT_COLORS.get(label.strip(), MUTED) for label in labels]},
        link={"source": [index[f"{name} "] for name in flows["source"]],
              "target": [index[f" {name}"] for name in flows["target"]],
              "value": flows["customers"].astype(int).tolist(),
              "hovertemplate": "%{source.label} → %{target.label}: %{value:,} customers<extra></extra>"},
    ))
    figure.update_layout(template=TEMPLATE, height=DEFAULT_HEIGHT + 200, hovermode="closest",
                         margin={"t": 40})
    for x, text, anchor in ((0.0, "As of the start", "left"), (1.0, "As of the end", "right")):
        figure.add_annotation(x=x, y=1.0, xref="paper", yref="paper", yanchor="bottom", xanchor=anchor,
                              text=text, showarrow=False, font={"color": MUTED})
    return figure


def holdout_figure(holdout: pd.DataFrame, time_unit: str) -> go.Figure:
    """Actual against predicted mean holdout purchases by calibration-period repeat purchases (FHL figure 3).

    Args:
        holdout: `Clv.holdout` (frequency, customers, actual, predicted).
        time_unit: for the caption of the axis.
    """
    if holdout.empty:
        return empty_figure("No data after the calibration end to compare with")
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=holdout["frequency"], y=holdout["actual"], mode="lines+markers", name="Actual",
                                line={"color": COLORWAY[0], "width": 2.5},
                                hovertemplate="%{x} repeats: actual %{y:.2f}<extra></extra>"))
    figure.add_trace(go.Scatter(x=holdout["frequency"], y=holdout["predicted"], mode="lines+markers",
                                name="BG/NBD", line={"color": COLORWAY[1], "width": 2.5, "dash": "dash"},
                                hovertemplate="%{x} repeats: predicted %{y:.2f}<extra></extra>"))
    figure.update_layout(template=TEMPLATE, height=DEFAULT_HEIGHT + 40,
                         xaxis={"title": {"text": "Repeat purchases in the calibration period"}, "type": "category"},
                         yaxis={"title": {"text": "Mean purchases in the holdout"}, "rangemode": "tozero"})
    return figure


def clv_alive_figure(predictions: pd.DataFrame, max_points: int = 3000) -> go.Figure:
    """Each customer's CLV against P(alive), coloured by repeat purchases: who is worth keeping and slipping away.

    Args:
        predictions: `Clv.predictions`; the highest-CLV `max_points` customers are drawn.
    """
    if predictions.empty:
        return empty_figure(NO_CUSTOMERS)
    shown = predictions.nlargest(max_points, "clv")
    figure = go.Figure(go.Scattergl(
        x=shown["probability_alive"], y=shown["clv"], mode="markers",
        marker={"size": 6, "color": np.log1p(shown["frequency"].astype(float)), "colorscale": "Viridis",
                "opacity": 0.7, "colorbar": {"title": {"text": "Repeats"}, "thickness": 10,
                                             "tickvals": np.log1p([0, 1, 3, 10, 30]).tolist(),
                                             "ticktext": ["0", "1", "3", "10", "30"]}},
        customdata=shown[["user_id", "frequency", "expected_purchases"]].to_numpy(),
        hovertemplate=("Customer %{customdata[0]}<br>P(alive) %{x:.0%}<br>CLV %{y:,.2f}"
                       "<br>%{customdata[1]} repeats; %{customdata[2]:.2f} expected purchases<extra></extra>"),
    ))
    figure.update_layout(template=TEMPLATE, height=DEFAULT_HEIGHT + 60, hovermode="closest",
                         xaxis={"title": {"text": "P(alive)"}, "tickformat": ".0%", "range": [0, 1.02]},
                         yaxis={"title": {"text": "CLV"}, "rangemode": "tozero"})
    return figure


def _ordered(names: pd.Series) -> list[str]:
    order = {name: position for position, name in enumerate(SEGMENT_COLORS)}
    return sorted(names.unique(), key=lambda name: (order.get(name, len(order)), name))
