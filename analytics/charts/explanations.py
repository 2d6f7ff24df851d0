"""SHAP and validation figures for any explanation: bar, beeswarm, dependence, waterfall, calibration, segment.

Pure functions, so the explanation panel of every page draws the same figures and
tests can inspect them. They take a `TrainedExplanation` (analytics.explain.tree_shap,
any task), whose `unit` is the unit of its SHAP values (log-odds for classifiers, target units for regressors, the
ranking score for rankers), which every axis names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.charts import standard
from analytics.charts.standard import empty_figure, finish, plain_text
from analytics.charts.theme import COLORWAY, DEFAULT_HEIGHT, GRID, MUTED, TEMPLATE, TEXT
from analytics.explain.explanation import SegmentExplanation
from analytics.explain.tree_shap import RowExplanation, TrainedExplanation

Explanation = TrainedExplanation

IMPORTANCE_COLOR = COLORWAY[3]
POSITIVE_COLOR = "#D6336C"
NEGATIVE_COLOR = "#3B5BDB"
CATEGORY_COLOR = "#ADB5BD"
# Low feature values blue, high red, as in the shap package's own plots.
FEATURE_SCALE = [[0.0, NEGATIVE_COLOR], [0.5, "#C5B3E6"], [1.0, POSITIVE_COLOR]]
ROW_HEIGHT = 34
# Features drawn by the bar, beeswarm and segment charts; a 30-feature model stays readable in half a
# page. The rest are folded into one "N other features" bar; the CSV keeps every feature.
MAX_FEATURES = 12
# Longest row label of a waterfall ("Days since last order = 12.5"), in display columns.
STEP_LABEL_WIDTH = 44


def importance_table(explanation: Explanation) -> pd.DataFrame:
    """feature, label, mean_abs_shap (in the explanation's unit, >= 0), most important first: the bar's numbers."""
    importance = explanation.mean_abs_shap()
    return pd.DataFrame(
        {
            "feature": importance.index,
            "label": [explanation.feature_labels[name] for name in importance.index],
            "mean_abs_shap": importance.to_numpy(),
        }
    )


def shap_bar_figure(explanation: Explanation, max_features: int = MAX_FEATURES) -> go.Figure:
    """Mean |SHAP| per feature as horizontal bars, most important on top; the title states the sample size.

    Args:
        explanation: a fitted explanation.
        max_features: features drawn; the rest are summed into one "N other features" bar (the sum of
            their mean |SHAP|, so the bars still add up to the model's total attribution).
    """
    table = importance_table(explanation)
    if table.empty:
        return empty_figure("No features to explain")
    if len(table) > max_features:
        rest = table.iloc[max_features - 1:]
        other = pd.DataFrame({"feature": ["other"], "label": [f"{len(rest)} other features"],
                              "mean_abs_shap": [rest["mean_abs_shap"].sum()]})
        table = pd.concat([table.iloc[:max_features - 1], other], ignore_index=True)
    figure = go.Figure(go.Bar(
        x=table["mean_abs_shap"].to_numpy(dtype=float),
        y=[plain_text(label) for label in table["label"]],
        orientation="h",
        marker={"color": IMPORTANCE_COLOR, "cornerradius": 3},
        texttemplate="%{x:.3f}",
        textposition="outside",
        cliponaxis=False,
        textfont={"color": MUTED},
        hovertemplate=f"<b>%{{y}}</b><br>Mean |SHAP| %{{x:.3f}} {explanation.unit}<extra></extra>",
    ))
    figure.update_layout(
        template=TEMPLATE, showlegend=False, hovermode="closest",
        height=max(DEFAULT_HEIGHT, ROW_HEIGHT * len(table) + 60),
        # The sample on a line of its own: beside the unit it ran past a half-width chart's edge.
        xaxis={"title": {"text": f"Mean |SHAP value| ({explanation.unit})<br>{sample_text(explanation)}"},
               "showgrid": True, "gridcolor": GRID, "range": standard.outside_text_range(table["mean_abs_shap"])},
        yaxis={"type": "category", "autorange": "reversed", "showgrid": False, "tickfont": {"color": TEXT}},
    )
    return finish(figure)


def shap_beeswarm_figure(explanation: Explanation, max_points: int = 400, seed: int = 0,
                         max_features: int = MAX_FEATURES) -> go.Figure:
    """One dot per explained row and feature: x is its SHAP value, colour its feature value.

    Numeric features are coloured from low (blue) to high (red) by their rank within the feature;
    categorical features are grey and name their value on hover. Rows are jittered vertically.

    Args:
        explanation: from `explain_model`.
        max_points: rows drawn per feature at most (a seeded sample of the explained rows; the axis
            says so). 400 dots per feature show the shape of the swarm; a thousand made the figure
            300 KB and a noticeable part of a page's drawing time.
        seed: for the sample and the jitter.
        max_features: the most important features drawn (by mean |SHAP|).
    """
    features = explanation.feature_ranking()[:max_features]
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
            name=plain_text(explanation.feature_labels[feature]),
            showlegend=False,
            marker={
                "size": 5, "opacity": 0.75, "color": colour,
                "colorscale": None if is_categorical else FEATURE_SCALE,
                "cmin": 0, "cmax": 1,
                "showscale": position == 0 and not is_categorical,
                "colorbar": {"title": {"text": "Feature value"}, "tickvals": [0, 1], "ticktext": ["low", "high"],
                             "thickness": 10, "len": 0.6},
            },
            customdata=np.array([standard.value_text(value) for value in raw], dtype=object),
            hovertemplate=(
                f"<b>{plain_text(explanation.feature_labels[feature])}</b> = %{{customdata}}"
                f"<br>SHAP %{{x:+.3f}} {explanation.unit}<extra></extra>"
            ),
        ))
    figure.add_vline(x=0, line={"color": GRID, "width": 1})
    figure.update_layout(
        template=TEMPLATE, hovermode="closest",
        height=max(DEFAULT_HEIGHT, ROW_HEIGHT * len(features) + 80),
        xaxis={"title": {"text": f"SHAP value ({explanation.unit})<br>{_drawn_text(len(rows), explanation)}"},
               "zeroline": False},
        yaxis={
            "tickmode": "array", "tickvals": list(range(len(features))),
            "ticktext": [plain_text(explanation.feature_labels[feature]) for feature in features],
            "range": [len(features) - 0.5, -0.5], "showgrid": False, "rangemode": "normal",
            "tickfont": {"color": TEXT},
        },
    )
    return finish(figure)


def calibration_figure(explanation: Explanation) -> go.Figure:
    """Observed outcome rate against mean predicted probability per bin, with the diagonal."""
    table = explanation.calibration
    if table is None or table.empty:
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
    return finish(figure)


def segment_figure(segment: SegmentExplanation, unit: str = "log-odds", max_features: int = MAX_FEATURES
                   ) -> go.Figure:
    """How the segment's mean SHAP differs from all rows', per feature (in `unit`), largest on top.

    Only the `max_features` largest differences are drawn (contributions come largest first).
    """
    table = segment.contributions.dropna(subset=["difference"]).head(max_features)
    if table.empty:
        return empty_figure("No explained rows in this segment")
    differences = table["difference"].to_numpy(dtype=float)
    figure = go.Figure(go.Bar(
        x=differences,
        y=[plain_text(label) for label in table["label"]],
        text=[f"{value:+.3f}" for value in differences],
        textposition="outside",
        constraintext="none",
        textfont={"color": MUTED},
        orientation="h",
        marker={"color": [POSITIVE_COLOR if value > 0 else NEGATIVE_COLOR for value in differences],
                "cornerradius": 3},
        customdata=table[["segment_mean_shap", "overall_mean_shap"]].to_numpy(dtype=float),
        hovertemplate=(
            f"<b>%{{y}}</b><br>%{{x:+.3f}} {unit} against all rows"
            "<br>segment mean SHAP %{customdata[0]:+.3f} · all rows %{customdata[1]:+.3f}<extra></extra>"
        ),
    ))
    figure.add_vline(x=0, line={"color": MUTED, "width": 1})
    figure.update_layout(
        template=TEMPLATE, showlegend=False, hovermode="closest",
        height=max(DEFAULT_HEIGHT, ROW_HEIGHT * len(table) + 60),
        xaxis={"title": {"text": f"Mean SHAP, segment minus all rows ({unit})"}, "showgrid": True,
               "gridcolor": GRID, "zeroline": False, "range": standard.outside_text_range(differences)},
        yaxis={"type": "category", "autorange": "reversed", "showgrid": False, "tickfont": {"color": TEXT}},
    )
    return finish(figure)


def _drawn_text(drawn: int, explanation: Explanation) -> str:
    """`sample_text`, or how many of the explained rows are drawn when fewer are (kept short: it must fit
    under a half-width chart)."""
    explained = len(explanation.shap_values)
    if drawn >= explained:
        return sample_text(explanation)
    return f"{drawn:,} of the {explained:,} rows explained"


def sample_text(explanation: Explanation) -> str:
    """The stated sample size: "2,000 rows" or "a sample of 2,000 of 9,120 rows"."""
    shown = explanation.shap_rows
    available = getattr(explanation, "available_rows", shown)
    return f"a sample of {shown:,} of {available:,} rows" if available > shown else f"{shown:,} rows"


def dependence_figure(explanation: Explanation, table: pd.DataFrame, max_points: int = 2_000, seed: int = 0
                      ) -> go.Figure:
    """A feature's value (x) against its SHAP value (y), one dot per row, coloured by another feature.

    A numeric colouring feature is a low-to-high colour scale with its colour bar; a categorical
    one draws one trace per value (the 12 commonest and "Other") in the standard's category
    colours, with a legend, so "coloured by device" shows which colour is which device.

    Args:
        explanation: gives labels, categorical features and the unit.
        table: from `analytics.explain.tree_shap.dependence_table` (row_id, value, shap_value,
            colour_value; attrs["colour_by"]).
        max_points: dots drawn at most (a seeded sample).
        seed: for the sample and the jitter of categorical x values.
    """
    if table.empty:
        return empty_figure("No rows to explain")
    feature = _feature_of(explanation, table)
    colour_by = table.attrs.get("colour_by")
    rng = np.random.default_rng(seed)
    rows = np.arange(len(table))
    if len(rows) > max_points:
        rows = np.sort(rng.choice(rows, size=max_points, replace=False))
    shown = table.iloc[rows]
    is_categorical = feature in explanation.categorical_features or not pd.api.types.is_numeric_dtype(shown["value"])
    label = explanation.feature_labels.get(feature, feature)
    colour_label = explanation.feature_labels.get(colour_by, colour_by) if colour_by else None
    colour_is_numeric = (colour_by is not None and colour_by not in explanation.categorical_features
                         and pd.api.types.is_numeric_dtype(shown["colour_value"]))
    if is_categorical:
        # At most the 12 commonest values get a column of their own; the rest share "Other".
        texts = shown["value"].astype(str)
        counts = texts.value_counts().rename_axis("value").reset_index(name="rows")
        kept = set(standard.fold_top_n(counts, "value", "rows")["value"]) - {standard.OTHER_LABEL}
        texts = texts.where(texts.isin(kept), standard.OTHER_LABEL)
        categories = sorted(set(texts) - {standard.OTHER_LABEL}) + (
            [standard.OTHER_LABEL] if (texts == standard.OTHER_LABEL).any() and standard.OTHER_LABEL not in kept
            else [])
        position = {value: index for index, value in enumerate(categories)}
        x = np.array([position[value] for value in texts], dtype=float)
        x = x + rng.uniform(-0.2, 0.2, size=len(x))
    else:
        x = shown["value"].to_numpy(dtype=float)
    y = shown["shap_value"].to_numpy(dtype=float)
    customdata = np.column_stack([[plain_text(value) for value in shown["row_id"]],
                                  [standard.value_text(value) for value in shown["value"]],
                                  [standard.value_text(value) for value in shown["colour_value"]]])
    hovertemplate = (
        f"Row %{{customdata[0]}}<br><b>{plain_text(label)}</b> = %{{customdata[1]}}"
        + (f"<br>{plain_text(colour_label)} = %{{customdata[2]}}" if colour_label else "")
        + f"<br>SHAP %{{y:+.3f}} {explanation.unit}<extra></extra>"
    )
    figure = go.Figure()
    marker: dict = {"size": 5, "opacity": 0.75}
    if colour_by is not None and not colour_is_numeric:
        groups = shown["colour_value"].astype(str).where(shown["colour_value"].notna(), "unknown")
        counts = groups.value_counts()
        folded = standard.fold_top_n(counts.rename_axis("value").reset_index(name="rows"), "value", "rows")
        kept = set(folded["value"]) - {standard.OTHER_LABEL}
        groups = groups.where(groups.isin(kept), standard.OTHER_LABEL)
        order = _natural_order([value for value in folded["value"] if value != standard.OTHER_LABEL])
        order += [standard.OTHER_LABEL] if standard.OTHER_LABEL in set(folded["value"]) else []
        colours = standard.category_colors(order)
        for value in order:
            chosen = (groups == value).to_numpy()
            if not chosen.any():
                continue
            figure.add_trace(go.Scattergl(
                x=x[chosen], y=y[chosen], mode="markers", name=plain_text(standard.shorten(value, 24)),
                marker=marker | {"color": colours[value]}, customdata=customdata[chosen],
                hovertemplate=hovertemplate, legendgroup=value,
            ))
        figure.update_layout(legend={"title": {"text": f"{plain_text(colour_label)}: "}})
    else:
        if colour_is_numeric:
            marker |= {"color": _rank_colour(shown["colour_value"]), "colorscale": FEATURE_SCALE, "cmin": 0,
                       "cmax": 1, "showscale": True,
                       "colorbar": {"title": {"text": plain_text(standard.shorten(str(colour_label), 22)),
                                              "side": "right"},
                                    "tickvals": [0, 1], "ticktext": ["low", "high"], "thickness": 10, "len": 0.8}}
        else:
            marker |= {"color": IMPORTANCE_COLOR}
        figure.add_trace(go.Scattergl(x=x, y=y, mode="markers", marker=marker, showlegend=False,
                                      customdata=customdata, hovertemplate=hovertemplate))
    figure.add_hline(y=0, line={"color": MUTED, "width": 1, "dash": "dot"})
    xaxis: dict = {"title": {"text": plain_text(label)}, "zeroline": False}
    if is_categorical:
        xaxis |= {"tickmode": "array", "tickvals": list(range(len(categories))),
                  "ticktext": [plain_text(standard.shorten(value, 16)) for value in categories]}
    figure.update_layout(
        template=TEMPLATE, height=DEFAULT_HEIGHT + 40, hovermode="closest", xaxis=xaxis,
        # Short, so it fits along the plot's height; the feature is named on the x axis.
        yaxis={"title": {"text": f"SHAP ({explanation.unit})"}, "zeroline": False},
    )
    return finish(figure)


def waterfall_table(row: RowExplanation, max_features: int = 10) -> pd.DataFrame:
    """The waterfall's steps: the largest contributions, the rest summed into one "other" step.

    Returns:
        step (text), shap_value, cumulative (the running output after the step); first the base
        value is implied, the last cumulative equals row.raw_output.
    """
    contributions = row.contributions
    head = contributions.head(max_features)
    steps = pd.DataFrame({"step": [f"{label} = {value}" for label, value in zip(head["label"], head["value"])],
                          "shap_value": head["shap_value"].to_numpy(dtype=float)})
    rest = contributions.iloc[max_features:]
    if len(rest):
        steps.loc[len(steps)] = [f"{len(rest)} other features", float(rest["shap_value"].sum())]
    steps["cumulative"] = row.base_value + steps["shap_value"].cumsum()
    return steps


WATERFALL_TEXT_SHARE = 0.33


def waterfall_figure(row: RowExplanation, max_features: int = 10) -> go.Figure:
    """One row's explanation as a waterfall: from the base value, each feature pushes up or down to the output.

    Largest contributions are drawn first (top); the rest are summed into one bar. Each bar's value
    is printed past its end, inside a range widened for it, so no value runs into the row labels;
    long "feature = value" labels are shortened (in full on hover).
    """
    steps = waterfall_table(row, max_features)
    if steps.empty:
        return empty_figure("No features to explain")
    full_labels = ["Base value", *steps["step"], "Model output"]
    labels = _unique_labels([standard.shorten(label, STEP_LABEL_WIDTH) for label in full_labels])
    values = [row.base_value, *steps["shap_value"].to_numpy(dtype=float), row.raw_output]
    ends = [0.0, row.base_value, *steps["cumulative"].to_numpy(dtype=float), row.raw_output]
    figure = go.Figure(go.Waterfall(
        orientation="h",
        measure=["absolute", *["relative"] * len(steps), "total"],
        y=[plain_text(label) for label in labels],
        x=values,
        increasing={"marker": {"color": POSITIVE_COLOR}},
        decreasing={"marker": {"color": NEGATIVE_COLOR}},
        totals={"marker": {"color": IMPORTANCE_COLOR}},
        connector={"line": {"color": MUTED, "width": 1}},
        text=[f"{value:.3f}" if index in (0, len(values) - 1) else f"{value:+.3f}"
              for index, value in enumerate(values)],
        textposition="outside",
        constraintext="none",
        textfont={"color": TEXT},
        cliponaxis=False,
        customdata=[plain_text(label) for label in full_labels],
        hovertemplate=f"<b>%{{customdata}}</b><br>%{{x:+.3f}} {row.unit}<extra></extra>",
    ))
    figure.update_layout(
        template=TEMPLATE, showlegend=False, hovermode="closest",
        height=max(DEFAULT_HEIGHT, ROW_HEIGHT * len(labels) + 60),
        xaxis={"title": {"text": f"Model output ({row.unit})"}, "showgrid": True, "gridcolor": GRID,
               # The plot area of a half-width card is ~240 px, and a value label ~45 px: a third of
               # the span on each side keeps "-0.178" off the row labels and "+0.016" inside the card.
               "range": standard.outside_text_range(ends, share=WATERFALL_TEXT_SHARE, floor_at_zero=False)},
        yaxis={"type": "category", "autorange": "reversed", "showgrid": False, "tickfont": {"color": TEXT}},
    )
    return finish(figure)


def _natural_order(values: list[str]) -> list[str]:
    """Numbers in numeric order ("2" before "10"), other labels alphabetically."""
    def key(value: str) -> tuple:
        try:
            return (0, float(value), "")
        except ValueError:
            return (1, 0.0, value)

    return sorted(values, key=key)


def _unique_labels(labels: list[str]) -> list[str]:
    """Equal labels would merge into one waterfall row; repeats get " (2)", " (3)"."""
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return unique


def _feature_of(explanation: Explanation, table: pd.DataFrame) -> str:
    feature = table.attrs.get("feature")
    if feature:
        return feature
    # Match the SHAP column the table was built from.
    for name in explanation.feature_labels:
        values = explanation.shap_values[name].to_numpy(dtype=float)
        if len(values) == len(table) and np.allclose(values, table["shap_value"].to_numpy(dtype=float)):
            return name
    return next(iter(explanation.feature_labels))


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


def fairness_table(groups: pd.DataFrame, column: str) -> pd.DataFrame:
    """One group column's rows as drawn: the 12 largest groups and "Other" (rows-weighted rates, no AUC)."""
    table = groups[groups["column"] == column]
    if table.empty:
        return table.copy()
    weighted = table.assign(_base_total=table["base_rate"] * table["rows"],
                            _predicted_total=table["mean_predicted"] * table["rows"])
    folded = standard.fold_top_n(weighted, "value", "rows", sum_columns=["_base_total", "_predicted_total"],
                                 ratio_columns={"base_rate": ("_base_total", "rows"),
                                                "mean_predicted": ("_predicted_total", "rows")})
    folded["column"] = column
    return folded.drop(columns=["_base_total", "_predicted_total"])


def fairness_figure(groups: pd.DataFrame, column: str, task: str = "classification") -> go.Figure:
    """Per group of one column: observed base rate and mean prediction as bars, ROC AUC as diamonds.

    Args:
        groups: `FairnessReport.groups`; the column's 12 largest groups are drawn and the rest are
            one "Other" group (`fairness_table`).
        column: the group column to draw.
        task: the model task; ROC AUC only for classifiers.
    """
    table = fairness_table(groups, column)
    if table.empty:
        return empty_figure("No groups to compare")
    labels = [f"{plain_text(standard.shorten(str(value), 18))} ({rows:,})"
              for value, rows in zip(table["value"], table["rows"])]
    ratio = task == "classification"
    figure = go.Figure()
    figure.add_trace(go.Bar(
        x=labels, y=table["base_rate"].to_numpy(dtype=float), name="Observed" if ratio else "Mean actual",
        marker={"color": MUTED, "cornerradius": 3},
        hovertemplate="%{x}<br>Observed %{y:.3f}<extra></extra>",
    ))
    figure.add_trace(go.Bar(
        x=labels, y=table["mean_predicted"].to_numpy(dtype=float), name="Mean prediction",
        marker={"color": IMPORTANCE_COLOR, "cornerradius": 3},
        hovertemplate="%{x}<br>Predicted %{y:.3f}<extra></extra>",
    ))
    if ratio and "roc_auc" in table and table["roc_auc"].notna().any():
        figure.add_trace(go.Scatter(
            x=labels, y=table["roc_auc"].to_numpy(dtype=float), name="ROC AUC", mode="markers",
            marker={"symbol": "diamond", "size": 11, "color": POSITIVE_COLOR},
            hovertemplate="%{x}<br>ROC AUC %{y:.3f}<extra></extra>",
        ))
    figure.update_layout(
        template=TEMPLATE, height=DEFAULT_HEIGHT + 40, barmode="group", hovermode="closest",
        xaxis={"title": {"text": "Group (rows)"}, "type": "category"},
        yaxis={"title": {"text": "Rate and ROC AUC" if ratio else "Value"},
               "tickformat": ".2f" if ratio else None, "rangemode": "tozero"},
    )
    return finish(figure)
