"""The Customers page's Predictions tab: who is likely to buy this week, who is slipping away, and why.

`pages/customers.py` calls `render(filters)` inside its "Predictions" tab. The
purchase and churn models are trained once per data build by the background
worker (jobs `purchase_7d` and `churn_28d`); the tab and its "Explain this chart"
panel load the same stored reports. This module draws UI only.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analytics.charts import predictions as chart_functions
from analytics.explain.trained import TrainedModel
from analytics.features.predictive import (
    ACTIVE_DAYS,
    SEGMENT_LABELS,
    at_risk_customers,
    probability_by_segment,
    probability_distribution,
    score_customers,
)
from analytics.filters import Filters
from dashboard import access, common, explanation_panel, model_status

charts = common.CachedFigures(chart_functions)

# Segment choices: label -> column. The label is what the URL carries.
SEGMENTS = {label: column for column, label in SEGMENT_LABELS.items()}
# Which model the panel explains: label -> (job name, key).
EXPLAINED = {"Purchase in 7 days": ("purchase_7d", "purchase"), "Churn in 28 days": ("churn_28d", "churn")}
# The panel can also explain by the users' region and acquisition channel.
PANEL_SEGMENT_LABELS = {**SEGMENT_LABELS, "region": "Region", "acquisition_channel": "Acquisition channel"}
AT_RISK_ROWS = 200
AT_RISK_COLUMNS = {
    "user_id": st.column_config.TextColumn("Customer"),
    "churn_probability_28d": st.column_config.ProgressColumn("P(churn, 28 days)", format="percent",
                                                             min_value=0.0, max_value=1.0),
    "purchase_probability_7d": st.column_config.NumberColumn("P(purchase, 7 days)", format="percent"),
    "revenue_total": st.column_config.NumberColumn("Revenue so far", format="%.2f"),
    "orders_total": st.column_config.NumberColumn("Orders"),
    "days_since_last_event": st.column_config.NumberColumn("Days since last visit", format="%.1f"),
    "days_since_last_purchase": st.column_config.NumberColumn("Days since last order", format="%.1f"),
    "main_device": st.column_config.TextColumn("Usual device"),
    "main_channel": st.column_config.TextColumn("Usual channel"),
}


def render(filters: Filters) -> None:
    """Draw the Predictions tab for the sidebar's filters.

    Args:
        filters: the sidebar filters; users are scored as of the day after `end_date` and only those
            with a visit the filters select are shown.
    """
    # Both models are trained in the background once per data build; the page only loads them.
    reports = [model_status.artifact(name, what=what, key=f"predictions_{name}",
                                     failed_title="Not enough history for predictions")
               for name, what in (("purchase_7d", "the purchase model"), ("churn_28d", "the churn model"))]
    if any(report is None for report in reports):
        return
    purchase, churn = (report.trained for report in reports)
    scores = _cached_scores(filters, reports)
    if scores.empty:
        common.empty_state(
            f"No user with a visit these filters select was active in the {ACTIVE_DAYS} days before "
            f"{common.format_day(filters.end_date)} — move the end date or clear filters.",
            title="Nobody to score",
        )
        return

    as_of = pd.Timestamp(scores["as_of"].iloc[0])
    st.caption(
        f"Scored as of {as_of:%d %b %Y} (00:00 UTC): the {len(scores):,} users with a visit in the "
        f"{ACTIVE_DAYS} days before and in the chosen filters. P(purchase) is the chance of an order in the "
        f"next 7 days; P(churn) the chance of no visit at all in the next 28 days. Both models learned from "
        f"weekly snapshots of point-in-time features and are validated on a later snapshot."
    )
    _metrics(scores, purchase, churn)

    purchase_column, churn_column = st.columns(2)
    with purchase_column:
        distribution = probability_distribution(scores, "purchase_probability_7d")
        common.chart_card("How likely to buy in 7 days", charts.distribution_figure(distribution,
                          "purchase_probability_7d"), distribution, file_name="purchase-probability",
                          caption="Users per 5-point band of P(purchase)", key="predictions_purchase")
    with churn_column:
        distribution = probability_distribution(scores, "churn_probability_28d")
        common.chart_card("How likely to churn in 28 days", charts.distribution_figure(distribution,
                          "churn_probability_28d"), distribution, file_name="churn-probability",
                          caption="Users per 5-point band of P(churn)", key="predictions_churn")

    _at_risk(scores)

    purchase_calibration, churn_calibration = st.columns(2)
    with purchase_calibration:
        common.chart_card(f"Purchase model: AUC {purchase.metrics['roc_auc']:.3f}",
                          charts.calibration_figure(purchase.calibration, "purchase_probability_7d"),
                          purchase.calibration, file_name="purchase-calibration", key="predictions_purchase_cal",
                          caption=_validation_caption(purchase))
    with churn_calibration:
        common.chart_card(f"Churn model: AUC {churn.metrics['roc_auc']:.3f}",
                          charts.calibration_figure(churn.calibration, "churn_probability_28d"),
                          churn.calibration, file_name="churn-calibration", key="predictions_churn_cal",
                          caption=_validation_caption(churn))

    segment_label = st.segmented_control("Compare segments by", list(SEGMENTS), default="Usual device",
                                         key="predictions_by", bind="query-params", required=True)
    by = SEGMENTS.get(segment_label or "Usual device", "main_device")
    segments = probability_by_segment(scores, by)
    common.chart_card(f"Predictions by {(segment_label or 'segment').lower()}",
                      charts.segment_figure(segments, by), charts.segment_table(segments, by), file_name=f"predictions-by-{by}",
                      caption="Mean probabilities of the scored users", key="predictions_segments")
    # The panel draws its own two columns, so it gets the page's full width, directly under the chart.
    explained = st.segmented_control("Explain", list(EXPLAINED), default="Churn in 28 days",
                                     key="predictions_explain", bind="query-params", required=True)
    name, key = EXPLAINED.get(explained or "Churn in 28 days", EXPLAINED["Churn in 28 days"])
    explanation_panel.show_model(
        name, key=f"predictions_{key}", what=f"the {key} model", title=f"Why, according to the {key} model",
        segment_labels=PANEL_SEGMENT_LABELS, row_label="Customer",
    )


def _metrics(scores: pd.DataFrame, purchase: TrainedModel, churn: TrainedModel) -> None:
    with st.container(horizontal=True, gap="small"):
        st.metric("Users scored", common.format_count(len(scores)), border=True,
                  help=f"Users with a visit in the {ACTIVE_DAYS} days before the scoring day.")
        st.metric("Expected buyers, 7 days", common.format_count(scores["purchase_probability_7d"].sum()),
                  border=True, help="The sum of P(purchase): how many of them the model expects to order.")
        st.metric("Expected churners, 28 days", common.format_count(scores["churn_probability_28d"].sum()),
                  border=True, help="The sum of P(churn): how many the model expects not to come back.")
        st.metric("Purchase model AUC", f"{purchase.metrics['roc_auc']:.3f}", border=True,
                  help=f"On the later snapshot ({purchase.validation_rows:,} users): 0.5 is chance, 1 is perfect. "
                       f"Top-decile lift {purchase.metrics['top_decile_lift']:.1f}x.")
        st.metric("Churn model AUC", f"{churn.metrics['roc_auc']:.3f}", border=True,
                  help=f"On the later snapshot ({churn.validation_rows:,} users). "
                       f"Top-decile lift {churn.metrics['top_decile_lift']:.1f}x.")


def _at_risk(scores: pd.DataFrame) -> None:
    if not access.allowed("view_user_level"):  # the list names customers
        return
    at_risk = at_risk_customers(scores, limit=len(scores))
    with st.container(border=True):
        with st.container(horizontal=True, horizontal_alignment="distribute", vertical_alignment="top"):
            with st.container(gap=None):
                st.markdown("**Customers most at risk of churning**")
                st.caption(f"{len(at_risk):,} customers who ordered before, most likely to churn first; the "
                           f"first {min(AT_RISK_ROWS, len(at_risk)):,} are shown, the CSV has all.")
            common.export_button("CSV", at_risk, "customers-at-risk.csv", key="download_predictions_at_risk",
                                 what="customers with their churn and purchase probabilities", type="tertiary",
                                 icon=":material/download:", help="Download every customer's probabilities as CSV")
        st.dataframe(at_risk.head(AT_RISK_ROWS)[list(AT_RISK_COLUMNS)], hide_index=True, height=280,
                     column_config=AT_RISK_COLUMNS)


def _validation_caption(model: TrainedModel) -> str:
    return (f"Predicted against observed on the {model.validation_start:%d %b %Y} snapshot, "
            f"{model.validation_rows:,} users, 10 equal-size bins")


def _cached_scores(filters: Filters, reports: list[Any]) -> pd.DataFrame:
    warehouse = common.open_warehouse()
    purchase, churn = (report.trained for report in reports)
    # A retrain (same data version) makes new models: their training time is part of the key.
    trained_at = tuple(report.card.trained_at for report in reports)
    return _scores(warehouse.info.data_version, trained_at, filters, _connection=warehouse.connection,
                   _purchase=purchase, _churn=churn)


@st.cache_data(max_entries=32, show_spinner="Scoring customers…")
def _scores(data_version: str, trained_at: tuple[str, ...], filters: Filters, *, _connection: Any,
            _purchase: TrainedModel, _churn: TrainedModel) -> pd.DataFrame:
    # The data version, the models' training times and the filters are the whole key.
    return score_customers(_connection, filters=filters, purchase_model=_purchase, churn_model=_churn)
