"""The "Explain this chart" panel: one component any page attaches beside a chart.

A page passes an engine function that fits and explains a model
(`analytics.explain`, returning a `ModelExplanation`) and its arguments:

    explanation_panel.show(explain_cart_conversion, filters, 24.0, key="cart",
                           segment_labels={"price_band": "Price band", "device": "Device"})

The fit runs once per warehouse build and arguments (`st.cache_resource`
keyed on the data version); the cached explanation is shared by every
session and never modified. The panel shows the time-split validation
metrics, the SHAP bar chart and beeswarm, the calibration curve, and an
explanation for a segment the user picks. This module draws UI only.
"""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from analytics.charts import explanations as charts
from analytics.errors import ShopLensError
from analytics.explain.explanation import ModelExplanation, explain_segment
from pages import common


def cached_explanation(fit: Callable[..., ModelExplanation], *args: Any, **kwargs: Any) -> ModelExplanation:
    """Run `fit(connection, *args, **kwargs)` once per warehouse build and arguments.

    Args:
        fit: an engine function returning a ModelExplanation, taking a connection first.
        args, kwargs: hashable by Streamlit (Filters, numbers, strings, tuples).

    Returns:
        The shared explanation; treat it as read-only.
    """
    warehouse = common.open_warehouse()
    if not warehouse.ready:
        raise ShopLensError(warehouse.info.message)
    name = f"{fit.__module__}.{fit.__qualname__}"
    return _fit(name, warehouse.info.data_version, args, kwargs, _fit_function=fit, _connection=warehouse.connection)


@st.cache_resource(max_entries=32, show_spinner="Fitting the model…")
def _fit(name: str, data_version: str, args: tuple, kwargs: dict, *,
         _fit_function: Callable[..., ModelExplanation], _connection: Any) -> ModelExplanation:
    # `name`, `data_version` and the arguments are the cache key; underscore parameters are not hashed.
    # cache_resource (not cache_data) because the result is large and only ever read.
    return _fit_function(_connection, *args, **kwargs)


def show(fit: Callable[..., ModelExplanation], *args: Any, key: str, title: str = "Why, according to a model",
         segment_labels: dict[str, str] | None = None, **kwargs: Any) -> None:
    """Fit (cached) and draw the panel; says why instead when the data cannot support a model.

    Args:
        fit, args, kwargs: as for `cached_explanation`.
        key: a prefix for widget keys, unique on the page.
        title: the panel's heading.
        segment_labels: segment column -> label for the segment picker; defaults to the columns.
    """
    st.subheader(title, anchor=False)
    try:
        explanation = cached_explanation(fit, *args, **kwargs)
    except ShopLensError as error:
        common.empty_state(str(error), title="Not enough data for a model", icon=":material/model_training:")
        return
    explanation_panel(explanation, key=key, segment_labels=segment_labels)


def explanation_panel(explanation: ModelExplanation, *, key: str,
                      segment_labels: dict[str, str] | None = None) -> None:
    """Draw a fitted explanation: metrics, SHAP bar and beeswarm, calibration and a segment explanation.

    Args:
        explanation: from `analytics.explain.explanation.explain_model` (not modified).
        key: a prefix for widget keys, unique on the page.
        segment_labels: segment column -> label for the segment picker.
    """
    st.caption(
        f"A gradient-boosted model predicts **{explanation.target}**. It learned from "
        f"{explanation.train_rows:,} rows before {explanation.split_at:%d %b %Y %H:%M} and is validated on the "
        f"{explanation.test_rows:,} later rows"
        + (f" (a sample of {explanation.train_rows + explanation.test_rows:,} of "
           f"{explanation.training_rows_available:,} rows)"
           if explanation.training_rows_available > explanation.train_rows + explanation.test_rows else "")
        + f". SHAP values explain a sample of {explanation.shap_rows:,} validation rows, in log-odds."
    )
    with st.container(horizontal=True, gap="small"):
        st.metric("ROC AUC", f"{explanation.roc_auc:.3f}", border=True,
                  help="On the later rows the model never saw: 0.5 is chance, 1 is perfect.")
        st.metric("Log loss", f"{explanation.log_loss:.3f}", border=True,
                  help="On the later rows; lower is better.")
        st.metric("Base rate", common.format_ratio(explanation.base_rate), border=True,
                  help=f"Share of the later rows {explanation.target}.")
        st.metric("Fit time", f"{explanation.fit_seconds:.1f} s", border=True,
                  help="Fitting, validation and SHAP together; cached until the data is rebuilt.")

    importance, swarm = st.columns(2)
    with importance:
        common.chart_card("What matters most", charts.shap_bar_figure(explanation),
                          charts.importance_table(explanation), file_name=f"{key}-shap-importance",
                          caption="Mean |SHAP value| per feature", key=f"{key}_shap_bar")
    with swarm:
        common.chart_card("How each feature pushes", charts.shap_beeswarm_figure(explanation),
                          explanation.shap_values.rename(columns=explanation.feature_labels),
                          file_name=f"{key}-shap-values",
                          caption="One dot per row: right raises the chance, red means a high value",
                          key=f"{key}_shap_beeswarm")

    calibration, segment_column = st.columns(2)
    with calibration:
        common.chart_card("Calibration", charts.calibration_figure(explanation), explanation.calibration,
                          file_name=f"{key}-calibration", caption="Predicted against observed, later rows",
                          key=f"{key}_calibration")
    with segment_column:
        _segment_explanation(explanation, key, segment_labels)


def _segment_explanation(explanation: ModelExplanation, key: str, segment_labels: dict[str, str] | None) -> None:
    labels = segment_labels or {column: common.humanize(column) for column in explanation.segments.columns}
    if not labels:
        return
    with st.container(horizontal=True, gap="small"):
        column = st.selectbox("Explain the segment", list(labels), format_func=labels.get, key=f"{key}_segment_by")
        values = sorted(explanation.segments[column].unique())
        value = st.selectbox("Value", values, key=f"{key}_segment_value")
    if value is None:
        return
    segment = explain_segment(explanation, column, value)
    common.chart_card(
        f"Why {labels[column].lower()} “{value}” differs", charts.segment_figure(segment),
        segment.contributions, file_name=f"{key}-segment", key=f"{key}_segment",
        caption=(f"{segment.rows:,} rows: predicted {common.format_ratio(segment.predicted_rate)}, observed "
                 f"{common.format_ratio(segment.observed_rate)}; all rows "
                 f"{common.format_ratio(segment.overall_predicted_rate)} and "
                 f"{common.format_ratio(segment.overall_observed_rate)}"),
    )
