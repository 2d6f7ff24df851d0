"""The "Explain this chart" panel: one component every model-backed page attaches beside its chart.

How to attach the panel
-----------------------
Register a job in `analytics/models/jobs.py` whose artifact is a `ModelReport` (a trainer in
`analytics/` returning an `analytics.explain.trained.TrainedModel`, any task: "classification",
"regression", "ranking", wrapped with `jobs.model_report`). The background worker trains it once
per data build (its defaults) or when a page first asks for other parameters. Then, in the page,
below the chart the model explains:

    from dashboard import explanation_panel

    explanation_panel.show_model(
        "churn_28d", key="churn", what="the churn model", title="Why customers are predicted to churn",
        segment_labels={"device": "Device", "is_returning": "New vs returning"}, row_label="Customer",
    )

Parameters go to the job: `show_model("cart_conversion", cart_params(filters, 24.0), key="cart", ...)`.
The page never trains: a model not trained yet shows a status box that reruns the page when it is
ready (`dashboard/model_status.py`); a job that failed (too little data) shows its reason under
"Not enough data for a model". The stored model and explanation are shared by every session:
never modify them.

The panel shows the validation metrics for the task, the global SHAP bar chart, the
beeswarm, the calibration curve (classifiers), a segment explanation (segments are the
TrainedModel's `segments` columns; `segment_labels` picks and names them), and behind a
"Look closer" toggle a dependence plot for a chosen feature and a waterfall for a chosen
row (`row_label` names the rows: "Customer", "Cart", "Day").

`key` prefixes every widget key, so two panels on one page need different keys; the
panel's pickers are bound to the URL under those keys (`?cart_segment_by=device`), so a
link reproduces the view.
To draw a TrainedExplanation you already have, call `trained_panel(explanation, key=...)`.
This module draws UI only.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from analytics.charts import explanations as charts
from analytics.explain.cards import METRIC_LABELS
from analytics.explain.explanation import explain_segment
from analytics.explain.tree_shap import TrainedExplanation, dependence_table, explain_row
from dashboard import access, common, model_status

# Metrics shown as percentages; the rest with three decimals.
RATIO_METRICS = {"base_rate", "wape"}
METRIC_HELP = {
    "roc_auc": "On the later rows the model never saw: 0.5 is chance, 1 is perfect.",
    "log_loss": "On the later rows; lower is better.",
    "base_rate": "Share of positive outcomes in the later rows.",
    "top_decile_lift": "Outcome rate of the 10% highest predictions over the overall rate; 1 is no better than chance.",
    "mase": "Mean absolute error over the naive forecast's; below 1 beats the naive forecast.",
    "wape": "Sum of absolute errors over the sum of actual values; lower is better.",
    "r2": "How closely a surrogate reproduces the model it explains, on rows it did not see: 1 is exactly.",
}


# Figures that depend on the explanation alone, built once per explanation object: artifacts are decoded
# once per process (model_status caches them), so every session shares the object and its figures,
# which are dropped when the object is. Keyed by the object's identity: hashing a whole explanation on
# every view would cost what building the figure does.
_FIGURES: dict[int, dict[tuple, Any]] = {}
_FIGURES_LOCK = threading.Lock()


def shared(explanation: TrainedExplanation, build: Callable[..., Any], *args: Any) -> Any:
    """`build(explanation, *args)`, built once per explanation object and arguments and shared by every session.

    For figures and tables that depend on the explanation alone (and hashable choices such as a feature
    name); what is shared is never changed afterwards (pages only draw it).
    """
    with _FIGURES_LOCK:
        identity = id(explanation)
        if identity not in _FIGURES:
            _FIGURES[identity] = {}
            # The id may be reused only after the object is gone, and by then its figures are too.
            weakref.finalize(explanation, _FIGURES.pop, identity, None)
        built = _FIGURES[identity]
        key = (f"{build.__module__}.{build.__qualname__}", args)
        if key not in built:
            built[key] = build(explanation, *args)
        return built[key]


def dependence(explanation: TrainedExplanation, feature: str) -> tuple[Any, go.Figure]:
    """The dependence table of `feature` (coloured by its strongest interaction) and its figure, shared."""
    return shared(explanation, _dependence, feature)


def _dependence(explanation: TrainedExplanation, feature: str) -> tuple[Any, go.Figure]:
    table = dependence_table(explanation, feature)
    return table, charts.dependence_figure(explanation, table)


def show_model(name: str, params: dict[str, Any] | None = None, *, key: str, what: str,
               title: str = "Why, according to a model", segment_labels: dict[str, str] | None = None,
               row_label: str | None = None) -> None:
    """Draw the panel for the stored model `name` (a job whose artifact is a ModelReport).

    Args:
        name, params: the job and its parameters (None: the defaults every page opens with).
        key: a prefix for widget keys, unique on the page.
        what: what the model is, for people ("the cart model"), in the status box.
        title: the panel's heading.
        segment_labels: segment column -> label for the segment picker; defaults to every segment column.
        row_label: what one row is, for people ("Customer", "Cart"); defaults to "Row".
    """
    st.subheader(title, anchor=False)
    report = model_status.artifact(name, params, what=what, key=key)
    if report is not None:
        trained_panel(report.explanation, key=key, segment_labels=segment_labels, row_label=row_label)


def trained_panel(explanation: TrainedExplanation, *, key: str, segment_labels: dict[str, str] | None = None,
                  row_label: str | None = None, segment_default: tuple[str, str] | None = None) -> None:
    """Draw a TrainedExplanation: metrics, SHAP bar and beeswarm, calibration, segment, dependence and one row.

    Args:
        explanation: from `analytics.explain.tree_shap.explain_trained` (not modified).
        key: a prefix for widget keys, unique on the page.
        segment_labels: segment column -> label for the segment picker.
        row_label: what one row is, for people.
        segment_default: (segment column, value) the segment picker opens on, e.g. the series the page
            shows, so the panel explains what the person is looking at; ignored when absent.
    """
    st.caption(describe(explanation))
    metric_row(explanation)
    if not explanation.is_additive:
        st.warning(f"The SHAP values miss the model output by up to {explanation.additivity_max_error:.2g} "
                   f"{explanation.unit}; read them as approximate.", icon=":material/warning:")
    importance, swarm = st.columns(2)
    with importance:
        common.chart_card("What matters most", shared(explanation, charts.shap_bar_figure),
                          charts.importance_table(explanation), file_name=f"{key}-shap-importance",
                          caption=f"Mean |SHAP value| per feature, {explanation.unit}", key=f"{key}_shap_bar")
    with swarm:
        common.chart_card("How each feature pushes", shared(explanation, charts.shap_beeswarm_figure),
                          explanation.shap_values.rename(columns=explanation.feature_labels).reset_index(),
                          file_name=f"{key}-shap-values",
                          caption=f"One dot per row: right raises the {_output_word(explanation)}, "
                                  "red means a high value", key=f"{key}_shap_beeswarm")
    left, right = st.columns(2)
    if explanation.task == "classification" and not explanation.calibration.empty:
        with left:
            common.chart_card("Calibration", shared(explanation, charts.calibration_figure), explanation.calibration,
                              file_name=f"{key}-calibration", caption="Predicted against observed, later rows",
                              key=f"{key}_calibration")
        with right:
            _segment_explanation(explanation, key, segment_labels, segment_default)
    else:
        with left:
            _segment_explanation(explanation, key, segment_labels, segment_default)
    if st.toggle("Look closer: one feature, one row", key=f"{key}_details", bind="query-params",
                 help="A dependence plot for a feature you pick and the waterfall of a single row."):
        feature_column, row_column = st.columns(2)
        with feature_column:
            dependence_section(explanation, key)
        with row_column:
            row_section(explanation, key, row_label)


def describe(explanation: TrainedExplanation) -> str:
    """One paragraph for people: what the model predicts, what it learned from, the stated sample."""
    windows = ""
    if explanation.metrics:
        windows = " Metrics are measured on later rows than the model learned from (a time split)."
    sample = (f"a sample of {explanation.shap_rows:,} of {explanation.available_rows:,} validation rows"
              if explanation.is_sampled else f"{explanation.shap_rows:,} validation rows")
    return (f"A gradient-boosted model predicts **{explanation.target}**.{windows} SHAP values "
            f"(TreeExplainer) explain {sample}, in {explanation.unit}; base value plus SHAP values equals the "
            f"model output within {explanation.additivity_max_error:.1g}.")


def metric_row(explanation: TrainedExplanation) -> None:
    """The validation metrics as tiles, then the fit's sample size."""
    with st.container(horizontal=True, gap="small"):
        for name, value in explanation.metrics.items():
            st.metric(METRIC_LABELS.get(name, common.humanize(name)), format_metric(name, value), border=True,
                      help=METRIC_HELP.get(name))
        st.metric("Rows explained", f"{explanation.shap_rows:,}", border=True,
                  help="SHAP values are computed on this many validation rows (a seeded sample on large data).")


def format_metric(name: str, value: float | None) -> str:
    """A metric's text: percentages for rates, three decimals otherwise, "–" when unknown."""
    if value is None or value != value:
        return "–"
    return common.format_ratio(value) if name in RATIO_METRICS else f"{value:.3f}"


def dependence_section(explanation: TrainedExplanation, key: str) -> None:
    """A feature picker and the chosen feature's dependence plot, coloured by its strongest interaction."""
    labels = explanation.feature_labels
    feature = st.selectbox("Feature", explanation.feature_ranking(), format_func=labels.get,
                           key=f"{key}_dependence_feature", bind="query-params")
    if feature is None:
        return
    table, figure = dependence(explanation, feature)
    colour_by = table.attrs.get("colour_by")
    common.chart_card(
        f"How {labels[feature].lower()} drives the prediction", figure, table,
        file_name=f"{key}-dependence-{feature}", key=f"{key}_dependence",
        caption=(f"One dot per row; colour: {labels[colour_by]}, the feature it interacts with most"
                 if colour_by else "One dot per row"),
    )


def row_section(explanation: TrainedExplanation, key: str, row_label: str | None = None) -> None:
    """A row picker (highest predictions first) and that row's SHAP waterfall."""
    if not access.allowed("view_user_level"):  # a row is one shopper, cart or order
        st.caption(":material/lock: Explanations of single rows need the analyst role.")
        return
    label = row_label or "Row"
    order = explanation.predicted.to_numpy().argsort(kind="stable")[::-1]
    ids = [explanation.row_ids()[position] for position in order]
    row_id = st.selectbox(label, ids, key=f"{key}_row", bind="query-params",
                          help="Explained rows, highest prediction first; type to search.")
    if row_id is None:
        return
    row = explain_row(explanation, row_id)
    outcome = "unknown" if row.actual != row.actual else f"{row.actual:g}"
    prediction = (common.format_ratio(row.predicted) if explanation.task == "classification"
                  else f"{row.predicted:.3f}")
    common.chart_card(
        f"Why {label.lower()} {row.row_id} gets {prediction}", charts.waterfall_figure(row),
        charts.waterfall_table(row), file_name=f"{key}-row-{row.row_id}", key=f"{key}_waterfall",
        caption=f"From the base value {row.base_value:+.3f} to the output {row.raw_output:+.3f} {row.unit}; "
                f"actual outcome {outcome}",
    )


def _output_word(explanation: TrainedExplanation) -> str:
    return {"classification": "chance", "regression": "prediction", "ranking": "score"}.get(explanation.task, "output")


def _segment_explanation(explanation: TrainedExplanation, key: str, segment_labels: dict[str, str] | None,
                         segment_default: tuple[str, str] | None = None) -> None:
    labels = segment_labels or {column: common.humanize(column) for column in explanation.segments.columns}
    labels = {column: label for column, label in labels.items() if column in explanation.segments.columns}
    if not labels:
        return
    default_column, default_value = segment_default or (None, None)
    columns = list(labels)
    with st.container(horizontal=True, gap="small"):
        column = st.selectbox("Explain the segment", columns, format_func=labels.get, key=f"{key}_segment_by",
                              index=columns.index(default_column) if default_column in columns else 0)
        values = sorted(explanation.segments[column].unique())
        opens_on = values.index(default_value) if column == default_column and default_value in values else 0
        # Keyed by the default too: when the page moves to another series, the picker follows it.
        value = st.selectbox("Value", values, index=opens_on,
                             key=f"{key}_segment_value" + (f"_{default_value}" if default_value else ""))
    if value is None:
        return
    segment = explain_segment(explanation, column, value)
    if explanation.task == "classification":
        predicted, observed = (common.format_ratio(segment.predicted_rate), common.format_ratio(segment.observed_rate))
        overall = (common.format_ratio(segment.overall_predicted_rate),
                   common.format_ratio(segment.overall_observed_rate))
    else:
        predicted, observed = f"{segment.predicted_rate:.3g}", f"{segment.observed_rate:.3g}"
        overall = f"{segment.overall_predicted_rate:.3g}", f"{segment.overall_observed_rate:.3g}"
    common.chart_card(
        f"Why {labels[column].lower()} “{value}” differs", charts.segment_figure(segment, explanation.unit),
        segment.contributions, file_name=f"{key}-segment", key=f"{key}_segment",
        caption=(f"{segment.rows:,} rows: predicted {predicted}, observed {observed}; "
                 f"all rows {overall[0]} and {overall[1]}"),
    )
