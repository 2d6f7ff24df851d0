"""Explanations: every model's card, SHAP summary and dependence plots, one row's explanation, a fairness check."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import models as models_store
from analytics.charts import explanations as charts
from analytics.explain.cards import METRIC_LABELS
from analytics.explain.fairness import GROUP_COLUMNS
from analytics.explain.registry import availability
from analytics.explain.tree_shap import explain_row
from dashboard import common, explanation_panel, model_status


@st.cache_resource(show_spinner=False, max_entries=16)
def _available() -> list:
    # Importing every trainer module is slow (forecasting pulls in Prophet); the answer only
    # changes with the code, so once per server is enough.
    return availability()


warehouse = common.open_warehouse()
common.page_header("Explanations", warehouse.info)
st.caption("Every model behind a chart: what it learned from, how well it predicts later data it never saw, "
           "what drives it (SHAP values from TreeExplainer), and whether it works as well for every group.")

every_model = _available()
# A model is offered only where its page is: the data must support the analysis it serves.
models = [item for item in every_model if warehouse.info.supports(item.spec.analysis)]
by_name = {item.spec.name: item for item in models}
trained = {status.name: status for status in models_store.statuses(
    warehouse=warehouse.info.path, data_version=warehouse.info.data_version)}


def _why_not(item) -> str:
    if not warehouse.info.supports(item.spec.analysis):
        capability = warehouse.info.capabilities.get(item.spec.analysis)
        return f"its page is not shown for this data: {capability.reason if capability else 'rebuild the warehouse'}"
    return item.reason


with st.expander(f"All models ({sum(item.is_available for item in models)} of {len(every_model)} available "
                 "for this data)"):
    st.dataframe(pd.DataFrame([{
        "Model": item.spec.title, "Name": item.spec.name, "Task": item.spec.task, "Page": item.spec.page,
        "Available": item.is_available and item in models,
        "On this data": trained[item.spec.name].status if item.spec.name in trained else "not trained",
        "Why not available": _why_not(item),
    } for item in every_model]), hide_index=True)
    st.caption("Every model is trained once per data build in the background and shared by every page and "
               "session; switching models here never trains one.")
    model_status.retrain_button(key="explain_retrain_all", label="Retrain every model")
if not models:
    common.empty_state("No model can learn from this data: " + "; ".join(_why_not(item) for item in every_model),
                       title="No models for this data", icon=":material/model_training:")
    st.stop()

# Machine names as options: a bound picker puts the shown text in the URL, and ?model=churn_28d reads well.
name = st.selectbox("Model", list(by_name), key="explain_model", bind="query-params",
                    help="The models' names; the table above lists their titles and pages.")
chosen = by_name[name or next(iter(by_name))]
st.markdown(f"**{chosen.spec.title}** · {chosen.spec.task} · used on {chosen.spec.page}"
            + ("" if chosen.is_available else " · not available yet"))
if not chosen.is_available:
    common.empty_state(chosen.reason, title="This model is not available yet", icon=":material/construction:")
    st.stop()

report = model_status.artifact(chosen.spec.name, what=f"the model “{chosen.spec.title}”", key="explain_model_status")
if report is None:
    st.stop()
explanation, card, fairness = report.explanation, report.card, report.fairness

# ----------------------------------------------------------------------------- the card
st.subheader("Model card", anchor=False)
st.caption(explanation_panel.describe(explanation))
explanation_panel.metric_row(explanation)
details, calibration = st.columns(2)
with details:
    st.dataframe(pd.DataFrame([
        ("Predicts", card.target), ("Task", card.task), ("Data version", card.data_version),
        ("Training window", f"{card.training_start[:16]} to {card.training_end[:16]}"),
        ("Training rows", f"{card.train_rows:,}"),
        ("Validation window", f"{card.validation_start[:16]} to {card.validation_end[:16]}"),
        ("Validation rows", f"{card.validation_rows:,}"),
        ("SHAP unit", card.shap_unit), ("Additivity error", f"{card.additivity_max_error:.2g}"),
        ("Trained at (UTC)", card.trained_at),
    ], columns=["Field", "Value"]), hide_index=True)
    with st.popover("Parameters"):
        st.json(card.parameters)
with calibration:
    if explanation.task == "classification" and not explanation.calibration.empty:
        common.chart_card("Calibration", explanation_panel.shared(explanation, charts.calibration_figure),
                          explanation.calibration, file_name=f"{card.name}-calibration",
                          caption="Predicted against observed, later rows", key="explain_calibration")
    else:
        st.caption("Metrics: " + ", ".join(f"{METRIC_LABELS.get(key, key)} "
                                            f"{explanation_panel.format_metric(key, value)}"
                                            for key, value in card.metrics.items()))

# ----------------------------------------------------------------------------- SHAP summary
st.subheader("What drives the model", anchor=False)
importance, swarm = st.columns(2)
with importance:
    common.chart_card("What matters most", explanation_panel.shared(explanation, charts.shap_bar_figure),
                      charts.importance_table(explanation), file_name=f"{card.name}-shap-importance",
                      key="explain_shap_bar",
                      caption=f"Mean |SHAP value| per feature, {explanation.unit}, {charts.sample_text(explanation)}")
with swarm:
    common.chart_card("How each feature pushes", explanation_panel.shared(explanation, charts.shap_beeswarm_figure),
                      explanation.shap_values.rename(columns=explanation.feature_labels).reset_index(),
                      file_name=f"{card.name}-shap-values", key="explain_shap_beeswarm",
                      caption="One dot per row: right raises the output, red means a high value")

labels = explanation.feature_labels
feature_column, row_column = st.columns(2)
with feature_column:
    feature = st.selectbox("Dependence plot for", explanation.feature_ranking(), format_func=labels.get,
                           key="explain_feature", bind="query-params")
    if feature is not None:
        table, figure = explanation_panel.dependence(explanation, feature)
        colour_by = table.attrs.get("colour_by")
        common.chart_card(f"How {labels[feature].lower()} drives the prediction", figure, table,
                          file_name=f"{card.name}-dependence-{feature}", key="explain_dependence",
                          caption=(f"Colour: {labels[colour_by]}, the feature it interacts with most"
                                   if colour_by else None))
with row_column:
    row_label = chosen.spec.row_label
    row_ids = explanation.row_ids()
    row_id = st.selectbox(f"{row_label} to explain", row_ids, key="explain_row", bind="query-params",
                          help="Any explained validation row; type to search by id.")
    if row_id is not None:
        row = explain_row(explanation, row_id)
        common.chart_card(f"Why {row_label.lower()} {row.row_id} gets its prediction", charts.waterfall_figure(row),
                          charts.waterfall_table(row), file_name=f"{card.name}-row-{row.row_id}", key="explain_waterfall",
                          caption=f"From the base value {row.base_value:+.3f} to the output {row.raw_output:+.3f} "
                                  f"{row.unit}; actual outcome {row.actual:g}")

# ----------------------------------------------------------------------------- fairness
st.subheader("Fairness check", anchor=False)
st.caption(
    f"Metrics and base rates per group on the {fairness.rows:,} validation rows. A gap is flagged when it is larger "
    "than its threshold (" + ", ".join(f"{METRIC_LABELS.get(key, common.humanize(key))} {value:g}"
                                       for key, value in fairness.thresholds.items())
    + f") and than twice its standard error; groups under {fairness.min_rows} rows are not compared. "
    "A flag asks for a closer look; it is not a verdict."
)
for column, reason in fairness.missing.items():
    st.caption(f"{GROUP_COLUMNS.get(column, column)}: not checked, {reason}.")
flagged = fairness.flagged
if fairness.groups.empty:
    common.empty_state("This model's rows carry none of the group columns, so there is nothing to compare.",
                       title="No groups to compare", icon=":material/balance:")
elif flagged.empty:
    st.success("No gap beyond its threshold.", icon=":material/check_circle:")
else:
    st.warning("\n".join(
        f"- **{GROUP_COLUMNS.get(gap.column, gap.column)}**, "
        f"{METRIC_LABELS.get(gap.metric, common.humanize(gap.metric))}: "
        f"{gap.lowest_group} {gap.lowest:.3f} vs {gap.highest_group} {gap.highest:.3f} (gap {gap.gap:.3f})"
        for gap in flagged.itertuples()), icon=":material/balance:")
checked = [column for column in GROUP_COLUMNS if column in set(fairness.groups["column"])]
if checked:
    group_column = st.segmented_control("Compare groups by", checked, default=checked[0], key="explain_group",
                                        bind="query-params", format_func=GROUP_COLUMNS.get, required=True)
    group_column = group_column or checked[0]
    common.chart_card(f"By {GROUP_COLUMNS[group_column].lower()}",
                      charts.fairness_figure(fairness.groups, group_column, explanation.task),
                      charts.fairness_table(fairness.groups, group_column),
                      file_name=f"{card.name}-fairness-{group_column}", key="explain_fairness")
    st.dataframe(fairness.gaps, hide_index=True)
