"""SHAP and validation figures for any `ModelExplanation`: bar, beeswarm, calibration, segment.

Pure functions, so the explanation panel of every page draws the same figures and
tests can inspect them. SHAP values are in log-odds of the outcome.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.charts.theme import COLORWAY, DEFAULT_HEIGHT, GRID, MUTED, TEMPLATE, TEXT, empty_figure
from analytics.explain.explanation import ModelExplanation, SegmentExplanation

IMPORTANCE_COLOR = COLORWAY[3]
POSITIVE_COLOR = "#D6336C"
NEGATIVE_COLOR = "#3B5BDB"
CATEGORY_COLOR = "#ADB5BD"
# Low feature values blue, high red, as in the shap package's own plots.
FEATURE_SCALE = [[0.0, NEGATIVE_COLOR], [0.5, "#C5B3E6"], [1.0, POSITIVE_COLOR]]
ROW_HEIGHT = 34


def importance_table(explanation: ModelExplanation) -> pd.DataFrame:
    """feature, label, mean_abs_shap (log-odds, >= 0), most important first: the bar chart's numbers."""
    importance = explanation.mean_abs_shap()
    return pd.DataFrame(
        {
            "feature": importance.index,
            "label": [explanation.feature_labels[name] for name in importance.index],
            "mean_abs_shap": importance.to_numpy(),
        }
    )


def shap_bar_figure(explanation: ModelExplanation) -> go.Figure:
    """Mean |SHAP| per feature as horizontal bars, most important on top."""
    table = importance_table(explanation)
    if table.empty:
        return empty_figure("No features to explain")
    figure = go.Figure(go.Bar(
        x=table["mean_abs_shap"].to_numpy(dtype=float),
        y=list(table["label"]),
        orientation="h",
        marker={"color": IMPORTANCE_COLOR, "cornerradius": 3},
        texttemplate="%{x:.3f}",
        textposition="outside",
        cliponaxis=False,
        textfont={"color": MUTED},
        hovertemplate="<b>%{y}</b><br>Mean |SHAP| %{x:.3f} log-odds<extra></extra>",
    ))
    figure.update_layout(
        template=TEMPLATE, showlegend=False, hovermode="closest",
        height=max(DEFAULT_HEIGHT, ROW_HEIGHT * len(table) + 60),
        margin={"r": 48},
        xaxis={"title": {"text": "Mean |SHAP value| (log-odds)"}, "showgrid": True, "gridcolor": GRID},
        yaxis={"type": "category", "autorange": "reversed", "showgrid": False, "tickfont": {"color": TEXT}},
    )
    return figure


def shap_beeswarm_figure(explanation: ModelExplanation, max_points: int = 1_000, seed: int = 0) -> go.Figure:
    """One dot per explained row and feature: x is its SHAP value, colour its feature value.

    Numeric features are coloured from low (blue) to high (red) by their rank within the feature;
    categorical features are grey and name their value on hover. Rows are jittered vertically.

    Args:
        explanation: from `explain_model`.
        max_points: rows drawn per feature at most (a seeded sample of the explained rows).
        seed: for the sample and the jitter.
    """
    features = explanation.feature_ranking()
    if not features or explanation.shap_values.empty:
        return empty_figure("No rows to explain")
    rng = np.random.default_rng(seed)
    rows = np.arange(len(explanation.shap_values))
    if len(rows) > max_points:
        rows = np.sort(rng.choice(rows, size=max_points, replace=False))
    figure = go.Figure()
    for position, feature in enumerate(features):
        values = explanation.shap_values[feature].to_numpy(dtype=float)[rows]
        raw = explanation.feature_values[feature].iloc[rows]
        jitter = _swarm_offsets(values, rng)
        is_categorical = feature in explanation.categorical_features
        colour = CATEGORY_COLOR if is_categorical else _rank_colour(raw)
        figure.add_trace(go.Scattergl(
            x=values,
            y=position + jitter,
            mode="markers",
            name=explanation.feature_labels[feature],
            showlegend=False,
            marker={
                "size": 5, "opacity": 0.75, "color": colour,
                "colorscale": None if is_categorical else FEATURE_SCALE,
                "cmin": 0, "cmax": 1,
                "showscale": position == 0 and not is_categorical,
                "colorbar": {"title": {"text": "Feature value"}, "tickvals": [0, 1], "ticktext": ["low", "high"],
                             "thickness": 10, "len": 0.6},
            },
            customdata=np.array([str(value) for value in raw], dtype=object),
            hovertemplate=(
                f"<b>{explanation.feature_labels[feature]}</b> = %{{customdata}}"
                "<br>SHAP %{x:+.3f} log-odds<extra></extra>"
            ),
        ))
    figure.add_vline(x=0, line={"color": GRID, "width": 1})
    figure.update_layout(
        template=TEMPLATE, hovermode="closest",
        height=max(DEFAULT_HEIGHT, ROW_HEIGHT * len(features) + 80),
        xaxis={"title": {"text": "SHAP value (log-odds)"}, "zeroline": False},
        yaxis={
            "tickmode": "array", "tickvals": list(range(len(features))),
            "ticktext": [explanation.feature_labels[feature] for feature in features],
            "range": [len(features) - 0.5, -0.5], "showgrid": False, "rangemode": "normal",
            "tickfont": {"color": TEXT},
        },
    )
    return figure


def calibration_figure(explanation: ModelExplanation) -> go.Figure:
    """Observed outcome rate against mean predicted probability per bin, with the diagonal."""
    table = explanation.calibration
    if table.empty:
        return empty_figure("No validation rows")
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="Perfectly calibrated",
        line={"color": MUTED, "dash": "dot", "width": 1}, hoverinfo="skip",
    ))
    figure.add_trace(go.Scatter(
        x=table["mean_predicted"].to_numpy(dtype=float),
        y=table["observed_rate"].to_numpy(dtype=float),
        mode="lines+markers", name="Model",
        line={"color": IMPORTANCE_COLOR, "width": 2}, marker={"size": 7},
        customdata=table["rows"].to_numpy(dtype=float),
        hovertemplate="Predicted %{x:.1%} · observed %{y:.1%}<br>%{customdata:,.0f} rows<extra></extra>",
    ))
    figure.update_layout(
        template=TEMPLATE, height=DEFAULT_HEIGHT, hovermode="closest",
        xaxis={"title": {"text": "Predicted probability"}, "tickformat": ".0%", "range": [0, 1]},
        yaxis={"title": {"text": "Observed rate"}, "tickformat": ".0%", "range": [0, 1]},
    )
    return figure


def segment_figure(segment: SegmentExplanation) -> go.Figure:
    """How the segment's mean SHAP differs from all rows', per feature (log-odds), largest on top."""
    table = segment.contributions.dropna(subset=["difference"])
    if table.empty:
        return empty_figure("No explained rows in this segment")
    differences = table["difference"].to_numpy(dtype=float)
    figure = go.Figure(go.Bar(
        x=differences,
        y=list(table["label"]),
        orientation="h",
        marker={"color": [POSITIVE_COLOR if value > 0 else NEGATIVE_COLOR for value in differences],
                "cornerradius": 3},
        customdata=table[["segment_mean_shap", "overall_mean_shap"]].to_numpy(dtype=float),
        hovertemplate=(
            "<b>%{y}</b><br>%{x:+.3f} log-odds against all rows"
            "<br>segment mean SHAP %{customdata[0]:+.3f} · all rows %{customdata[1]:+.3f}<extra></extra>"
        ),
    ))
    figure.add_vline(x=0, line={"color": MUTED, "width": 1})
    figure.update_layout(
        template=TEMPLATE, showlegend=False, hovermode="closest",
        height=max(DEFAULT_HEIGHT, ROW_HEIGHT * len(table) + 60),
        xaxis={"title": {"text": "Mean SHAP, segment minus all rows"}, "showgrid": True,
               "gridcolor": GRID, "zeroline": False},
        yaxis={"type": "category", "autorange": "reversed", "showgrid": False, "tickfont": {"color": TEXT}},
    )
    return figure


def _rank_colour(values: pd.Series) -> np.ndarray:
    """Each value's rank within the feature, 0 (lowest) .. 1 (highest); NaN stays NaN."""
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers.rank(pct=True).to_numpy(dtype=float)


def _swarm_offsets(values: np.ndarray, rng: np.random.Generator, width: float = 0.35) -> np.ndarray:
    """Vertical offsets that widen where dots are dense, like a beeswarm (±width at most)."""
    if len(values) < 2 or np.ptp(values) == 0:
        return rng.uniform(-width, width, size=len(values)) * 0.3
    counts, edges = np.histogram(values, bins=40)
    density = counts[np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(counts) - 1)]
    return rng.uniform(-1, 1, size=len(values)) * width * density / counts.max()
