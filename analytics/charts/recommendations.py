"""Figures for the Recommendations page: the model leaderboard, a SHAP waterfall per item, related items."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.charts.theme import COLORS, MUTED, TEMPLATE, empty_figure

HYBRID_COLOR = "#7048E8"
SINGLE_COLOR = "#3B5BDB"
PUBLISHED_COLOR = "#ADB5BD"
UP_COLOR = "#2F9E44"
DOWN_COLOR = "#E03131"


def leaderboard_figure(models: pd.DataFrame, metric: str = "ndcg@10", published: pd.DataFrame | None = None,
                       ) -> go.Figure:
    """Horizontal bars of one metric per model, best on top; the hybrid highlighted.

    Args:
        models: one row per model with `model` and `metric` columns (a Leaderboard's models).
        metric: the column to plot, 0–1.
        published: optional rows (model, metric) from a published table, drawn in grey.

    Returns:
        The figure; an empty-state figure when there are no rows.
    """
    rows = models[["model", metric]].assign(source="ours")
    if published is not None and not published.empty:
        rows = pd.concat([rows, published[["model", metric]].assign(source="published")], ignore_index=True)
    rows = rows.dropna(subset=[metric])
    if rows.empty:
        return empty_figure("No models were evaluated")
    rows = rows.sort_values(metric, ascending=True, kind="stable")
    colours = [PUBLISHED_COLOR if source == "published" else HYBRID_COLOR if model == "hybrid" else SINGLE_COLOR
               for model, source in zip(rows["model"], rows["source"])]
    labels = [f"{model} (published)" if source == "published" else model
              for model, source in zip(rows["model"], rows["source"])]
    figure = go.Figure(go.Bar(
        x=rows[metric], y=labels, orientation="h", marker_color=colours,
        text=[f"{value:.3f}" for value in rows[metric]], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.4f}<extra></extra>",
    ))
    figure.update_layout(template=TEMPLATE, height=max(220, 28 * len(rows) + 60), hovermode="closest",
                         xaxis={"title": {"text": metric.upper().replace("@", " @ ")}, "rangemode": "tozero"},
                         yaxis={"showgrid": False})
    return figure


def waterfall_table(contributions: pd.Series, base_value: float, max_features: int = 8) -> pd.DataFrame:
    """The rows a waterfall draws: the biggest |SHAP| features, the rest summed, and the final score.

    Args:
        contributions: feature label -> SHAP value (ranking-score units).
        base_value: the ranker's expected score.
        max_features: features shown one by one, >= 1.

    Returns:
        step, contribution, cumulative (score after the step); first row "Average score", last "Score".
    """
    ordered = contributions.reindex(contributions.abs().sort_values(ascending=False, kind="stable").index)
    shown = ordered.iloc[:max_features]
    rest = ordered.iloc[max_features:].sum()
    steps = [("Average score", base_value)] + list(shown.items())
    if len(ordered) > max_features:
        steps.append((f"{len(ordered) - max_features} other features", rest))
    table = pd.DataFrame(steps, columns=["step", "contribution"])
    table["cumulative"] = table["contribution"].cumsum()
    total = base_value + float(contributions.sum())
    return pd.concat([table, pd.DataFrame([{"step": "Score", "contribution": total, "cumulative": total}])],
                     ignore_index=True)


def shap_waterfall_figure(contributions: pd.Series, base_value: float, max_features: int = 8) -> go.Figure:
    """A waterfall from the average ranking score to this item's score, one bar per feature.

    Args:
        contributions: feature label -> SHAP value for one recommended item.
        base_value: the ranker's expected score (SHAP base value).
        max_features: features drawn one by one; the rest are one bar.

    Returns:
        A plotly Waterfall; green bars raise the item, red lower it.
    """
    if contributions.empty:
        return empty_figure("No explanation for this item")
    table = waterfall_table(contributions, base_value, max_features)
    measures = ["absolute"] + ["relative"] * (len(table) - 2) + ["total"]
    figure = go.Figure(go.Waterfall(
        orientation="h", measure=measures, y=table["step"], x=table["contribution"],
        text=[f"{value:+.3f}" if measure == "relative" else f"{value:.3f}"
              for value, measure in zip(table["contribution"], measures)],
        textposition="outside", cliponaxis=False,
        increasing={"marker": {"color": UP_COLOR}}, decreasing={"marker": {"color": DOWN_COLOR}},
        totals={"marker": {"color": HYBRID_COLOR}}, connector={"line": {"color": MUTED, "width": 1}},
        hovertemplate="%{y}: %{x:+.4f}<extra></extra>",
    ))
    figure.update_layout(template=TEMPLATE, height=max(260, 30 * len(table) + 60), hovermode="closest",
                         yaxis={"autorange": "reversed", "showgrid": False},
                         xaxis={"title": {"text": "Ranking score"}, "rangemode": "normal"})
    return figure


def related_figure(related: pd.DataFrame, measure: str = "lift") -> go.Figure:
    """Bars of `measure` (lift, confidence or similarity) per related item, labelled by title.

    Args:
        related: rows with product_id, title and the measure, best first.
        measure: the column to plot.

    Returns:
        The figure, or an empty-state figure when there are no related items.
    """
    if related.empty or measure not in related:
        return empty_figure("Never seen together with another product")
    rows = related.iloc[::-1]
    labels = [_short(title if isinstance(title, str) and title else product, 40)
              for title, product in zip(rows.get("title", rows["product_id"]), rows["product_id"])]
    figure = go.Figure(go.Bar(
        x=rows[measure], y=labels, orientation="h", marker_color=COLORS["product"],
        customdata=np.stack([rows["product_id"]], axis=-1),
        hovertemplate="%{y} (%{customdata[0]}): %{x:.3f}<extra></extra>",
    ))
    figure.update_layout(template=TEMPLATE, height=max(220, 26 * len(rows) + 60), hovermode="closest",
                         xaxis={"title": {"text": measure.capitalize()}}, yaxis={"showgrid": False})
    return figure


def _short(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"
