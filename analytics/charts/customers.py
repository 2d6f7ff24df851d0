"""Figures for the Customers page: pure functions from retention, RFM and CLV results to Plotly figures.

Each figure plots exactly the numbers it is given, so tests compare the traces with the engine's frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.charts import standard
from analytics.charts.standard import empty_figure, finish, plain_text
from analytics.charts.theme import (
    COLORWAY, COUNT_FORMAT, DEFAULT_HEIGHT, GRID, MONEY_FORMAT, MUTED, RATIO_FORMAT, TEMPLATE, TEXT,
)

NO_COHORTS = "No customers entered a cohort in this period"
NO_CUSTOMERS = "No customers bought in this period"
NO_COMPLETE_PERIOD = "No cohort has a complete {period} yet; curves start once the first {period} has ended"
AVERAGE_COLOR = "#212529"
# The 11 RFM segments in their usual order, best first, in the standard's fixed segment colours.
SEGMENT_ORDER = ("Champions", "Loyal", "Potential loyalist", "New customers", "Promising", "Need attention",
                 "About to sleep", "At risk", "Can't lose them", "Hibernating", "Lost", "New customer",
                 "No purchase")
SEGMENT_COLORS: dict[str, str] = {name: standard.category_color(name) for name in SEGMENT_ORDER}
# Newest cohorts darkest: a sequential blue ramp, every step visible on white.
COHORT_RAMP = ("#A5B4FC", "#91A7FF", "#748FFC", "#5C7CFA", "#4C6EF5", "#4263EB", "#3B5BDB", "#364FC7",
               "#2F44AD", "#283A94", "#22307B", "#1B2A6B")
# Pale blue (not white, so a 0% cell still reads as a cell) to navy; Plotly picks a contrasting text colour.
HEATMAP_SCALE = [[0.0, "#DBE4FF"], [0.5, "#5C7CFA"], [1.0, "#1B2A6B"]]
MAX_LABELLED_COHORTS = 36
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
    labelled = len(wide.index) <= MAX_LABELLED_COHORTS
    # Up to MAX_LABELLED_COHORTS rows each get a "date (size)" label; more would overlap, so the
    # rows then sit on a date axis whose ticks Plotly spaces out, with the size on hover.
    labels = ([f"{cohort:%Y-%m-%d} ({size:,})" for cohort, size in zip(wide.index, sizes)] if labelled
              else [f"{cohort:%Y-%m-%d}" for cohort in wide.index])
    text_format = RATIO_FORMAT if measure == "percent" else COUNT_FORMAT
    show_text = values.size <= 400
    cohort_sizes = np.repeat(sizes.to_numpy(dtype=float)[:, None], values.shape[1], axis=1)
    figure = go.Figure(go.Heatmap(
        z=values, x=[int(k) for k in wide.columns], y=labels, colorscale=HEATMAP_SCALE, zmin=0,
        zmax=1 if measure == "percent" else None, customdata=cohort_sizes,
        texttemplate=f"%{{z:{text_format}}}" if show_text else None, textfont={"size": 10},
        hovertemplate=(f"Cohort %{{y}} (%{{customdata:,.0f}} users)<br>{PERIOD_LABELS.get(period, 'Periods')} "
                       f"since entry: %{{x}}<br>%{{z:{text_format}}}<extra></extra>"),
        colorbar={"tickformat": ".0%" if measure == "percent" else ",.0f", "thickness": 10},
        xgap=1 if values.shape[1] <= 60 else 0, ygap=1 if labelled else 0,
    ))
    figure.update_layout(template=TEMPLATE, height=min(900, max(DEFAULT_HEIGHT, 22 * len(labels) + 60)),
                         hovermode="closest",
                         xaxis={"title": {"text": f"{PERIOD_LABELS.get(period, 'Periods')} since entry"},
                                "dtick": 1 if values.shape[1] <= 30 else None},
                         yaxis={"autorange": "reversed", "showgrid": False,
                                "type": "category" if labelled else "date",
                                "hoverformat": "%Y-%m-%d"})
    return finish(figure)


def retention_curves_figure(matrix: pd.DataFrame, average: pd.DataFrame, period: str,
                            rate_column: str = "retained_rate", max_cohorts: int = 12) -> go.Figure:
    """Retention curves of the latest cohorts, and the size-weighted average of all, against periods since entry.

    Args:
        matrix: `Retention.matrix` rows of one segment.
        average: `Retention.average_curve()` rows of the same segment.
        period: axis label.
        rate_column: "retained_rate" or "active_rate".
        max_cohorts: the newest cohorts drawn (older ones are in the average); at most 12.
    """
    if matrix.empty:
        return empty_figure(NO_COHORTS)
    if not matrix["is_complete"].any():
        return empty_figure(NO_COMPLETE_PERIOD.format(period=period))
    figure = _cohort_curves(matrix, average, rate_column, max_cohorts,
                            hover=f"%{{y:{RATIO_FORMAT}}}", average_hover=f"All cohorts: %{{y:{RATIO_FORMAT}}}")
    values = _plotted(figure)
    figure.update_layout(template=TEMPLATE, height=DEFAULT_HEIGHT + 60, hovermode="closest",
                         xaxis=_period_axis(matrix, average, period),
                         yaxis={"tickformat": standard.percent_format(values), "rangemode": "tozero",
                                "range": standard.value_range(values, headroom=0.05, minimum_span=0.01)})
    return finish(figure)


def ltv_curves_figure(matrix: pd.DataFrame, average: pd.DataFrame, period: str, max_cohorts: int = 12,
                      currency_symbol: str = "") -> go.Figure:
    """Cumulative revenue per user by periods since entry (LTV curves), newest cohorts and the average.

    Every curve is cumulative and never falls: each cohort's is its revenue so far over its size,
    and the average adds up each period's revenue per user of the cohorts that completed that
    period (`Retention.average_curve`).

    Args:
        matrix: `Retention.matrix` rows of one segment.
        average: `Retention.average_curve()` rows of the same segment.
        period: axis label.
        max_cohorts: the newest cohorts drawn; at most 12.
        currency_symbol: put before amounts, e.g. "¥"; empty for none.
    """
    if matrix.empty:
        return empty_figure(NO_COHORTS)
    if not matrix["is_complete"].any():
        return empty_figure(NO_COMPLETE_PERIOD.format(period=period))
    money = f"{currency_symbol}%{{y:{MONEY_FORMAT}}} per user"
    figure = _cohort_curves(matrix, average, "cumulative_revenue_per_user", max_cohorts,
                            hover=money, average_hover=f"All cohorts: {money}")
    values = _plotted(figure)
    largest = float(values.max()) if values.notna().any() else 0.0
    figure.update_layout(template=TEMPLATE, height=DEFAULT_HEIGHT + 60, hovermode="closest",
                         xaxis=_period_axis(matrix, average, period),
                         yaxis={"tickformat": standard.amount_format(largest) if largest >= 1_000 else ",.2~f",
                                "tickprefix": currency_symbol, "rangemode": "tozero",
                                "range": standard.value_range(values, headroom=0.05),
                                "title": {"text": "Revenue per user"}})
    return finish(figure)


def _cohort_curves(matrix: pd.DataFrame, average: pd.DataFrame, column: str, max_cohorts: int, hover: str,
                   average_hover: str) -> go.Figure:
    """One thin line per recent cohort (complete periods only), newest darkest, and the bold average."""
    figure = go.Figure()
    cohorts = sorted(matrix["cohort"].unique())[-min(max_cohorts, standard.MAX_CATEGORIES):]
    ramp = COHORT_RAMP[-len(cohorts):] if cohorts else ()
    for cohort, colour in zip(cohorts, ramp):
        rows = matrix[(matrix["cohort"] == cohort) & matrix["is_complete"]]
        if rows.empty:
            continue  # the newest cohort may have no complete period yet
        figure.add_trace(go.Scatter(
            x=rows["period_number"], y=rows[column], mode=standard.line_mode(len(rows)), name=f"{cohort:%Y-%m-%d}",
            line={"width": 1.4, "color": colour}, marker={"size": 5, "color": colour},
            hovertemplate=f"Cohort {cohort:%Y-%m-%d}: {hover}<extra></extra>",
        ))
    if not average.empty:
        figure.add_trace(go.Scatter(
            x=average["period_number"], y=average[column], mode="lines+markers", name="All cohorts",
            line={"width": 3, "color": AVERAGE_COLOR}, marker={"size": 7},
            customdata=average[["cohorts", "users"]].to_numpy() if {"cohorts", "users"} <= set(average) else None,
            hovertemplate=(average_hover + ("<br>%{customdata[0]:,} cohorts, %{customdata[1]:,} users"
                                            if {"cohorts", "users"} <= set(average) else "") + "<extra></extra>"),
        ))
    return figure


def _plotted(figure: go.Figure) -> pd.Series:
    """Every y value drawn, for an axis range that fits the curves shown (not cohorts left out)."""
    values = [value for trace in figure.data for value in (trace.y if trace.y is not None else ())]
    return pd.Series(values, dtype=float)


def _period_axis(matrix: pd.DataFrame, average: pd.DataFrame, period: str) -> dict:
    """Whole period numbers from 0, with a little room at both ends (one period is one dot, not "-1 0 1")."""
    numbers = pd.concat([matrix.loc[matrix["is_complete"], "period_number"], average.get("period_number", pd.Series())])
    last = float(numbers.max()) if numbers.notna().any() else 0.0
    axis = {"title": {"text": f"{PERIOD_LABELS.get(period, 'Periods')} since entry"},
            "range": [-0.3, max(last, 1.0) + 0.3], "tick0": 0}
    if last <= 30:
        axis["dtick"] = 1
    return axis


def segment_share_figure(segments: pd.DataFrame, currency_symbol: str = "") -> go.Figure:
    """Share of customers and share of revenue per RFM segment, side by side, segments top to bottom.

    Args:
        segments: `Rfm.segments` (segment, customers, revenue, customer_share, revenue_share, ...);
            at most the 11 segments and their placeholders.
        currency_symbol: put before revenue in the hover; empty for none.
    """
    if segments.empty or segments["customers"].sum() == 0:
        return empty_figure(NO_CUSTOMERS)
    names = [plain_text(name) for name in segments["segment"]]
    customer_share = segments["customer_share"].to_numpy(dtype=float)
    revenue_share = segments["revenue_share"].fillna(0.0).to_numpy(dtype=float)
    figure = go.Figure()
    figure.add_trace(go.Bar(
        y=names, x=customer_share, orientation="h", name="Customers", marker={"color": COLORWAY[0]},
        customdata=segments[["customers"]].to_numpy(), text=[_share_text(value) for value in customer_share],
        textposition="outside", textfont={"color": MUTED, "size": 11}, constraintext="none",
        hovertemplate=f"%{{y}}: %{{x:{RATIO_FORMAT}}} of customers (%{{customdata[0]:,}})<extra></extra>",
    ))
    figure.add_trace(go.Bar(
        y=names, x=revenue_share, orientation="h", name="Revenue",
        marker={"color": COLORWAY[2]}, customdata=segments[["revenue"]].to_numpy(),
        text=[_share_text(value) for value in revenue_share],
        textposition="outside", textfont={"color": MUTED, "size": 11}, constraintext="none",
        hovertemplate=(f"%{{y}}: %{{x:{RATIO_FORMAT}}} of revenue ({currency_symbol}%{{customdata[0]:{MONEY_FORMAT}}})"
                       "<extra></extra>"),
    ))
    largest = max(float(customer_share.max()), float(revenue_share.max()), 0.01)
    figure.update_layout(template=TEMPLATE, barmode="group", height=max(DEFAULT_HEIGHT + 140, 36 * len(names) + 90),
                         hovermode="closest", bargap=0.25,
                         xaxis={"tickformat": standard.percent_format(largest), "showgrid": True, "gridcolor": GRID,
                                "range": standard.outside_text_range([0, largest])},
                         yaxis={"autorange": "reversed", "showgrid": False, "type": "category",
                                "tickfont": {"color": TEXT}})
    return finish(figure)


def _share_text(value: float) -> str:
    return "" if value == 0 or value != value else f"{value:.0%}" if value >= 0.1 else f"{value:.1%}"


def migration_sankey(flows: pd.DataFrame) -> go.Figure:
    """Sankey of customers moving from their segment as of the period's start (left) to as of its end (right).

    Nodes keep the segment order (best on top) and the segment colours on both sides; each link is
    its source segment's colour, translucent but never near-white on the white page (Plotly's own
    default link colour is white when the paper is transparent, which drew no visible flows).

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
    colours = [_segment_color(label.strip()) for label in labels]
    # Fixed positions keep the segment order on both sides instead of Plotly's shuffle by size.
    x = [0.001] * len(sources) + [0.999] * len(targets)
    y = _node_positions(flows, sources, "source") + _node_positions(flows, targets, "target")
    figure = go.Figure(go.Sankey(
        arrangement="fixed",
        node={"label": [plain_text(label.strip()) for label in labels], "pad": 10, "thickness": 12,
              "color": colours, "x": x, "y": y, "line": {"width": 0},
              "hovertemplate": "%{label}: %{value:,} customers<extra></extra>"},
        link={"source": [index[f"{name} "] for name in flows["source"]],
              "target": [index[f" {name}"] for name in flows["target"]],
              "value": flows["customers"].astype(int).tolist(),
              "color": [standard.translucent(_segment_color(name), 0.4) for name in flows["source"]],
              "hovertemplate": "%{source.label} → %{target.label}: %{value:,} customers<extra></extra>"},
        textfont={"color": TEXT, "size": 12},
    ))
    figure.update_layout(template=TEMPLATE, height=DEFAULT_HEIGHT + 200, hovermode="closest")
    for x_position, text, anchor in ((0.0, "As of the start", "left"), (1.0, "As of the end", "right")):
        figure.add_annotation(x=x_position, y=1.0, xref="paper", yref="paper", yanchor="bottom", xanchor=anchor,
                              text=text, showarrow=False, font={"color": MUTED})
    return finish(figure)


def _segment_color(name: str) -> str:
    return SEGMENT_COLORS.get(name) or standard.category_color(name)


def _node_positions(flows: pd.DataFrame, nodes: list[str], side: str) -> list[float]:
    """Node centres from top (0) to bottom (1) in the given order, each as tall as its customers."""
    totals = flows.groupby(side)["customers"].sum()
    sizes = [float(totals.get(node.strip(), 0)) for node in nodes]
    total = sum(sizes) or 1.0
    # Every node gets at least 4% of the height for its label, so a tiny segment's name does not
    # collide with its neighbour's or fall off the bottom.
    sizes = [max(size, 0.04 * total) for size in sizes]
    total = sum(sizes)
    gap = 0.02 if len(nodes) > 1 else 0.0
    usable = max(0.0, 1.0 - gap * (len(nodes) - 1))
    positions, top = [], 0.0
    for size in sizes:
        height = usable * size / total
        positions.append(min(0.999, max(0.001, top + height / 2)))
        top += height + gap
    return positions


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
    return finish(figure)


def clv_alive_figure(predictions: pd.DataFrame, max_points: int = 3000, currency_symbol: str = "") -> go.Figure:
    """Each customer's CLV against P(alive), coloured by repeat purchases: who is worth keeping and slipping away.

    Args:
        predictions: `Clv.predictions`; the highest-CLV `max_points` customers are drawn.
        currency_symbol: put before amounts; empty for none.
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
        customdata=np.column_stack([[plain_text(user) for user in shown["user_id"]],
                                    shown[["frequency", "expected_purchases"]].to_numpy(dtype=object)]),
        hovertemplate=("Customer %{customdata[0]}<br>P(alive) %{x:.0%}<br>CLV " + currency_symbol + "%{y:,.2f}"
                       "<br>%{customdata[1]} repeats; %{customdata[2]:.2f} expected purchases<extra></extra>"),
    ))
    figure.update_layout(template=TEMPLATE, height=DEFAULT_HEIGHT + 60, hovermode="closest",
                         xaxis={"title": {"text": "P(alive)"}, "tickformat": ".0%", "range": [0, 1.02]},
                         yaxis={"title": {"text": "CLV"}, "rangemode": "tozero", "tickprefix": currency_symbol})
    return finish(figure)


def _ordered(names: pd.Series) -> list[str]:
    order = {name: position for position, name in enumerate(SEGMENT_ORDER)}
    return sorted(names.unique(), key=lambda name: (order.get(name, len(order)), name))
