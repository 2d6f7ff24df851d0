"""Figures for the Recommendations page: the model leaderboard, a SHAP waterfall per item, related items."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.charts import standard
from analytics.charts.standard import empty_figure, finish, plain_text
from analytics.charts.theme import COLORS, GRID, MUTED, TEMPLATE, TEXT

HYBRID_COLOR = "#7048E8"
SINGLE_COLOR = "#3B5BDB"
PUBLISHED_COLOR = "#ADB5BD"
UP_COLOR = "#2F9E44"
DOWN_COLOR = "#E03131"
# What each related-items measure is, on the axis and in the hover.
MEASURE_TITLES = {"lift": "Lift (× chance)", "confidence": "Confidence", "support": "Support",
                  "similarity": "Similarity (0–1)"}
MEASURE_FORMATS = {"lift": ".2f", "confidence": ".0%", "support": ".2%", "similarity": ".2f", "together": ",.0f"}
LABEL_WIDTH = 34
STEP_LABEL_WIDTH = 44


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
    labels = [plain_text(f"{model} (published)" if source == "published" else model)
              for model, source in zip(rows["model"], rows["source"])]
    figure = go.Figure(go.Bar(
        x=rows[metric], y=labels, orientation="h", marker_color=colours,
        text=[f"{value:.3f}" for value in rows[metric]], textposition="outside", cliponaxis=False,
        constraintext="none", textfont={"color": TEXT},
        hovertemplate="%{y}: %{x:.4f}<extra></extra>",
    ))
    figure.update_layout(template=TEMPLATE, height=max(220, 28 * len(rows) + 60), hovermode="closest",
                         xaxis={"title": {"text": metric.upper().replace("@", " @ ")},
                                "range": standard.outside_text_range(rows[metric]), "showgrid": True,
                                "gridcolor": GRID},
                         yaxis={"showgrid": False, "type": "category", "tickfont": {"color": TEXT}})
    return finish(figure)


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

    Each value is printed past its bar inside a range widened for it, so it never runs into the
    feature names.

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
    labels = [plain_text(standard.shorten(str(step), STEP_LABEL_WIDTH)) for step in table["step"]]
    ends = [0.0, *table["cumulative"].to_numpy(dtype=float)]
    cumulative = table["cumulative"].to_numpy(dtype=float)
    contribution = table["contribution"].to_numpy(dtype=float)
    starts = np.where(np.array(measures) == "relative", cumulative - contribution, 0.0)
    figure = go.Figure(go.Waterfall(
        orientation="h", measure=measures, y=labels, x=table["contribution"],
        textposition="none",
        increasing={"marker": {"color": UP_COLOR}}, decreasing={"marker": {"color": DOWN_COLOR}},
        totals={"marker": {"color": HYBRID_COLOR}}, connector={"line": {"color": MUTED, "width": 1}},
        customdata=[plain_text(step) for step in table["step"]],
        hovertemplate="%{customdata}: %{x:+.4f}<extra></extra>",
    ))
    # Every value is written just right of its bar, never left of it: a small negative bar's label
    # would otherwise sit on the feature names ("Average score-0.001").
    figure.add_trace(go.Scatter(
        x=np.maximum(starts, cumulative), y=labels, mode="text", cliponaxis=False, hoverinfo="skip",
        text=[f"  {value:+.3f}" if measure == "relative" else f"  {value:.3f}"
              for value, measure in zip(contribution, measures)],
        textposition="middle right", textfont={"color": TEXT}, showlegend=False,
    ))
    figure.update_layout(template=TEMPLATE, height=max(260, 30 * len(table) + 60), hovermode="closest",
                         showlegend=False,
                         yaxis={"autorange": "reversed", "showgrid": False, "type": "category",
                                "tickfont": {"color": TEXT}},
                         xaxis={"title": {"text": "Ranking score"}, "showgrid": True, "gridcolor": GRID,
                                "range": _waterfall_range(ends)})
    return finish(figure)


def _waterfall_range(ends: list[float]) -> list[float]:
    """Room right of the bars for their values (all written on the right), a little on the left."""
    low, high = min(0.0, min(ends)), max(0.0, max(ends))
    span = (high - low) or 1.0
    return [low - span * 0.04, high + span * 0.3]


def related_table(related: pd.DataFrame, measure: str = "lift") -> pd.DataFrame:
    """The related items as drawn: keyed by product_id, best `measure` first, at most 12.

    Returns:
        The rows of `related` sorted by `measure` (descending, ties by product_id), plus `label`:
        the title shortened, with the product id where two titles would read the same.
    """
    if related.empty or measure not in related:
        return related.assign(label=pd.Series(dtype=object))
    rows = related.dropna(subset=[measure]).drop_duplicates("product_id")
    rows = rows.sort_values([measure, "product_id"], ascending=[False, True], kind="stable")
    rows = rows.head(standard.MAX_CATEGORIES).reset_index(drop=True)
    titles = rows["title"] if "title" in rows else rows["product_id"]
    return rows.assign(label=standard.labels_by_id(list(titles), list(rows["product_id"]), LABEL_WIDTH))


def related_figure(related: pd.DataFrame, measure: str = "lift", together_label: str = "Orders together"
                   ) -> go.Figure:
    """Bars of `measure` per related item, one bar per product id, best on top, labelled by title.

    Two products with the same title stay two bars (the id is added to their labels), and the
    bars are ordered by the value they show.

    Args:
        related: rows with product_id, title and the measure (`RelatedItems` lists).
        measure: the column to plot: "lift", "confidence", "support", "together" or "similarity".
        together_label: what "together" counts, for its axis: "Orders together" for bought together,
            "Sessions together" for viewed together.

    Returns:
        The figure, or an empty-state figure when there are no related items.
    """
    table = related_table(related, measure)
    if table.empty:
        return empty_figure("Never seen together with another product")
    title = together_label if measure == "together" else MEASURE_TITLES.get(measure, measure.capitalize())
    number = MEASURE_FORMATS.get(measure, ".3f")
    values = table[measure].to_numpy(dtype=float)
    details = np.column_stack([
        [plain_text(value) for value in table.get("title", table["product_id"])],
        [plain_text(value) for value in table["product_id"]],
    ])
    figure = go.Figure(go.Bar(
        x=values, y=list(table["label"]), orientation="h", marker_color=COLORS["product"],
        customdata=details, text=[format(value, number) for value in values], textposition="outside",
        constraintext="none", textfont={"color": MUTED},
        hovertemplate=f"<b>%{{customdata[0]}}</b> (%{{customdata[1]}})<br>{title}: %{{x:{number}}}<extra></extra>",
    ))
    figure.update_layout(template=TEMPLATE, height=max(220, 26 * len(table) + 70), hovermode="closest",
                         xaxis={"title": {"text": title}, "range": standard.outside_text_range(values),
                                "tickformat": ".0%" if measure == "confidence" else None, "showgrid": True,
                                "gridcolor": GRID},
                         yaxis={"showgrid": False, "type": "category", "autorange": "reversed",
                                "tickfont": {"color": TEXT}})
    return finish(figure)
