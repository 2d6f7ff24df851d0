"""Customers: who comes back (Retention), who is best and who is slipping (Segments), what each is worth (Value)."""

import importlib.util
from datetime import timedelta

import streamlit as st

from analytics.charts import customers as chart_functions
from analytics.customers.retention import load_retention, matrix_table
from analytics.customers.rfm import SEGMENTS, RfmBins, load_rfm, load_rfm_migration
from analytics.models.jobs import clv_params
from analytics.overview import filter_options
from dashboard import access, common, explanation_panel, model_status

charts = common.CachedFigures(chart_functions)

PERIODS = {"Day": "day", "Week": "week", "Month": "month"}
ACTIVITIES = {"First event": "event", "First purchase": "purchase"}
RETURNS = {"Any event": "event", "A purchase": "purchase"}
BREAKDOWNS = {"No breakdown": "none", "Acquisition channel": "acquisition_channel", "First category": "first_category"}
RETENTION_KINDS = {"Unbounded": "retained_rate", "N-period": "active_rate"}
TIME_UNITS = {"Day": "day", "Week": "week", "Month": "month"}
HORIZONS = {"day": 365.0, "week": 52.0, "month": 12.0}
HAS_PREDICTIONS = importlib.util.find_spec("dashboard.customer_predictions") is not None

warehouse = common.open_warehouse()
options = common.cached(filter_options)
filters = common.sidebar_filters(options)
common.page_header("Customers", warehouse.info, filters, comparison=False)

if filters is None:
    common.empty_state("The warehouse has no dated sessions or orders yet; rebuild it from data with events "
                       "and orders.")
    st.stop()

tab_names = ["Retention", "Segments", "Value"] + (["Predictions"] if HAS_PREDICTIONS else [])
tabs = st.tabs(tab_names, key="customers_tab", bind="query-params")
retention_tab, segments_tab, value_tab = tabs[:3]
period_text = common.format_period(filters.start_date, filters.end_date)


def show_retention() -> None:
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        period_label = st.segmented_control("Cohorts by", list(PERIODS), default="Week", key="customers_period",
                                            bind="query-params", required=True)
        entry_label = st.selectbox("Cohort entry", list(ACTIVITIES), key="customers_entry", bind="query-params", width=170)
        return_label = st.selectbox("Comes back with", list(RETURNS), key="customers_return_on", bind="query-params",
                                    width=170)
        breakdown_label = st.selectbox("Break down by", list(BREAKDOWNS), key="customers_breakdown", bind="query-params",
                                       width=200)
    period = PERIODS.get(period_label or "Week", "week")
    retention = common.cached(load_retention, filters, period, ACTIVITIES.get(entry_label, "event"),
                              RETURNS.get(return_label, "event"), BREAKDOWNS.get(breakdown_label, "none"))
    if retention.is_empty:
        common.empty_state(f"No user entered a cohort {period_text} with these filters — widen the dates or "
                           "clear filters.", title="No cohorts for these filters")
        common.reset_button(key="customers_reset_filters_retention")
        return
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        kind_label = st.segmented_control("Retention", list(RETENTION_KINDS), default="Unbounded", key="customers_retention",
                                          bind="query-params", required=True,
                                          help="Unbounded: came back in that period or any later one. "
                                               "N-period: came back in exactly that period.")
        show = st.segmented_control("Show", ["Percent", "Count"], default="Percent", key="customers_show",
                                    bind="query-params", required=True)
        segments = retention.segments
        segment = segments[0]
        if len(segments) > 1:
            segment = st.selectbox(breakdown_label, segments, key="customers_segment", bind="query-params",
                                   width=220) or segments[0]
    rate_column = RETENTION_KINDS.get(kind_label or "Unbounded", "retained_rate")
    matrix = retention.segment_matrix(segment)
    average = retention.segment_average(segment)
    st.caption(
        f"{retention.users:,} users entered a {period} cohort {period_text} with their "
        f"{(entry_label or 'First event').lower()}; a user counts as back in a period with "
        f"{(return_label or 'Any event').lower()}. The data ends {common.format_day(retention.data_end_date)}; "
        "curves stop at each cohort's last complete period."
    )
    measure = "percent" if show != "Count" else "count"
    table_measure = rate_column if measure == "percent" else rate_column.replace("_rate", "_users")
    common.chart_card(
        f"{kind_label} retention by {period} cohort", charts.retention_heatmap(matrix, period, measure, rate_column),
        matrix_table(retention, table_measure, segment), file_name=f"retention-{period}-{table_measure}",
        key="customers_retention_heatmap", caption="Rows are cohorts (size in brackets); columns are periods since entry",
    )
    curves, ltv = st.columns(2)
    with curves:
        common.chart_card("Retention curves", charts.retention_curves_figure(matrix, average, period, rate_column),
                          average, file_name=f"retention-curves-{period}", key="customers_retention_curves",
                          caption="The newest cohorts, and all cohorts weighted by size (complete periods only)")
    with ltv:
        common.chart_card("Revenue per user (LTV curves)",
                          charts.ltv_curves_figure(matrix, average, period, currency_symbol=common.currency_symbol()),
                          matrix[["cohort", "period_number", "cohort_size", "revenue", "cumulative_revenue_per_user"]],
                          file_name=f"ltv-curves-{period}", key="customers_ltv_curves",
                          caption="Cumulative revenue per cohort member since entry")


NO_PRICES = ("This data has no prices, so {what} cannot be computed. Import order lines with prices (a "
             "unit price per line) to see them; retention and predictions work without them.")


def show_segments() -> None:
    if not warehouse.info.supports("revenue"):
        common.empty_state(NO_PRICES.format(what="RFM's monetary score and the segments' revenue"),
                           title="Segments need prices", icon=":material/money_off:")
        return
    bins = st.segmented_control("Scores", [3, 4, 5], default=5, key="customers_bins", bind="query-params", required=True,
                                format_func=lambda count: {3: "Terciles", 4: "Quartiles", 5: "Quintiles"}[count])
    rfm = common.cached(load_rfm, filters, RfmBins(bins=int(bins or 5)))
    if rfm.is_empty:
        common.empty_state(f"No customer bought {period_text} with these filters — widen the dates or clear filters.",
                           title="No customers for these filters")
        common.reset_button(key="customers_reset_filters_segments")
        return
    segments = rfm.segments
    champions = rfm.segment_row("Champions")
    slipping = rfm.segment_row("At risk")["customers"] + rfm.segment_row("Can't lose them")["customers"]
    with st.container(horizontal=True, gap="small"):
        st.metric("Customers", common.format_count(len(rfm.customers)), border=True,
                  help=f"Customers with an order {period_text}")
        st.metric("Revenue", common.format_money(float(rfm.customers["revenue"].sum())), border=True)
        st.metric("Champions' revenue share", common.format_ratio(champions["revenue_share"]), border=True,
                  help=f"{int(champions['customers']):,} Champions")
        st.metric("Slipping away", common.format_count(int(slipping)), border=True,
                  help="At risk and Can't lose them: good customers who have not bought for a while")
    st.caption(f"Customers who bought {period_text}, scored 1–{rfm.bins.bins} on recency (to "
               f"{common.format_day(filters.end_date)}), orders and revenue; segments as in docs/customers.md.")
    share, migration_column = st.columns(2)
    with share:
        common.chart_card("Segments: share of customers and of revenue",
                          charts.segment_share_figure(segments, currency_symbol=common.currency_symbol()),
                          segments, file_name="rfm-segments", key="customers_rfm_segments")
    with migration_column:
        migration = common.cached(load_rfm_migration, filters, RfmBins(bins=int(bins or 5)))
        common.chart_card("Migration: segments at the start and at the end",
                          charts.migration_sankey(migration.flows), migration.flows, file_name="rfm-migration", key="customers_rfm_migration",
                          caption=f"Segments over all orders before {common.format_day(filters.start_date)} → over all "
                                  f"orders to {common.format_day(filters.end_date)}; \"New customer\" = first order "
                                  "in the period.")
    if not access.allowed("export_user_level"):  # the export names customers
        return
    with st.container(border=True):
        with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
            chosen = st.selectbox("Export a segment", list(SEGMENTS), key="customers_export_segment", bind="query-params",
                                  width=240)
            members = rfm.segment_customers(chosen or SEGMENTS[0])
            common.export_button(f"Download {len(members):,} customers (CSV)", members,
                                 f"rfm-{(chosen or SEGMENTS[0]).lower().replace(' ', '-')}.csv",
                                 key="customers_download_segment", what=f"customers of the RFM segment {chosen}",
                                 icon=":material/download:", disabled=members.empty)
        st.dataframe(members.head(200), hide_index=True, height=240)


def show_value() -> None:
    if not warehouse.info.supports("revenue"):
        common.empty_state(NO_PRICES.format(what="lifetime value"), title="Lifetime value needs prices",
                           icon=":material/money_off:")
        return
    data_end = filters.end_date
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        unit_label = st.segmented_control("Time unit", list(TIME_UNITS), default="Week", key="customers_time_unit",
                                          bind="query-params", required=True)
        calibration_end = st.date_input(
            "Calibration ends", value=data_end, min_value=options.first_date, max_value=data_end,
            key="customers_calibration_end", bind="query-params", format="YYYY-MM-DD",
            help="The models learn from purchases up to this day; later purchases (up to the sidebar's To date) "
                 "test the predictions.")
        discount = st.number_input("Monthly discount rate", min_value=0.0, max_value=0.5, value=0.01, step=0.005,
                                   format="%.3f", key="customers_discount", bind="query-params", width=170)
    time_unit = TIME_UNITS.get(unit_label or "Week", "week")
    calibration_end = min(calibration_end or data_end, data_end)
    # Trained in the background: the defaults once per data build, other settings when first asked for.
    params = clv_params(filters, calibration_end, time_unit, HORIZONS[time_unit], 12, float(discount))
    clv = model_status.artifact("clv", params, what="the lifetime-value model", key="customers_clv_model",
                                failed_title="Not enough purchases for a CLV model")
    if clv is None:
        return
    predictions = clv.predictions
    totals = clv.totals
    with st.container(horizontal=True, gap="small"):
        st.metric("Customers", common.format_count(clv.customers), border=True,
                  help=f"{clv.spend_customers:,} of them bought again (the spend model learns from them)")
        st.metric("Expected purchases, next year", common.format_count(totals["expected_purchases"]),
                  border=True, help="BG/NBD: repeat purchase days expected in the next 12 months")
        st.metric("Share still active", common.format_ratio(totals["mean_probability_alive"]), border=True,
                  help="Mean P(alive): the chance each customer has not silently left")
        st.metric("12-month CLV", common.format_money(totals["clv"]), border=True,
                  help=f"Discounted at {discount:.1%} a month; each customer's 90% interval is in the table")
    scatter, holdout = st.columns(2)
    with scatter:
        if access.allowed("view_user_level"):  # each point, and each CSV row, is one customer
            common.chart_card("Worth against P(alive)",
                              charts.clv_alive_figure(predictions, currency_symbol=common.currency_symbol()),
                              predictions, file_name="clv-predictions", key="customers_clv_scatter",
                              caption="High and left: valuable customers slipping away")
        else:
            st.info(access.refusal("view_user_level"), title="Customer by customer: not with your role",
                    icon=":material/lock:")
    with holdout:
        common.chart_card("Predicted against actual purchases", charts.holdout_figure(clv.holdout, time_unit),
                          clv.holdout, file_name="clv-holdout", key="customers_clv_holdout",
                          caption=(f"Holdout "
                                   f"{common.format_period(calibration_end + timedelta(days=1), clv.holdout_end)}"
                                   if clv.holdout_end else "Move the calibration end earlier to test the model"))
    with st.expander("Model card: parameters and how to read them", icon=":material/info:"):
        st.markdown(
            f"**BG/NBD** (purchases while active, and dropping out): r = {clv.bgnbd['r']:.3f}, "
            f"α = {clv.bgnbd['alpha']:.3f} {time_unit}s, a = {clv.bgnbd['a']:.3f}, b = {clv.bgnbd['b']:.3f}. "
            f"An active customer buys on average r/α = {clv.bgnbd['r'] / clv.bgnbd['alpha']:.3f} times a {time_unit}; "
            f"after each repeat purchase they leave with probability a/(a+b) = "
            f"{clv.bgnbd['a'] / (clv.bgnbd['a'] + clv.bgnbd['b']):.1%}.\n\n"
            f"**Gamma-Gamma** (spend per purchase): p = {clv.gamma_gamma['p']:.3f}, q = {clv.gamma_gamma['q']:.3f}, "
            f"v = {clv.gamma_gamma['v']:.3f}; the population's mean spend is pv/(q−1) = "
            + (f"{clv.gamma_gamma['p'] * clv.gamma_gamma['v'] / (clv.gamma_gamma['q'] - 1):,.2f}."
               if clv.gamma_gamma["q"] > 1 else "undefined (q ≤ 1).")
            + f"\n\nMaximum likelihood via PyMC-Marketing; fitted on {clv.fit_customers:,} customers in "
            f"{clv.fit_seconds:.1f} s. Intervals come from parameter uncertainty only (Laplace approximation)."
        )
    # BG/NBD and Gamma-Gamma are closed forms, not trees: the panel explains a tree surrogate of their CLV,
    # whose fidelity is on its card.
    explanation_panel.show_model(
        "clv_surrogate", params, key="customers_clv", what="the lifetime-value explanation",
        title="Why customers are worth what they are", segment_labels={"buyer": "Buyer"}, row_label="Customer",
    )
    if not access.allowed("view_user_level"):  # the table names customers
        return
    top = predictions.head(200)
    with st.container(border=True):
        st.markdown("**Most valuable customers**")
        st.dataframe(top, hide_index=True, height=240,
                     column_config={"user_id": "Customer",
                                    "frequency": st.column_config.NumberColumn("Repeat purchases"),
                                    "recency": st.column_config.NumberColumn(f"Recency ({time_unit}s)", format="%.1f"),
                                    "T": st.column_config.NumberColumn(f"Age ({time_unit}s)", format="%.1f"),
                                    "monetary_value": st.column_config.NumberColumn("Mean repeat spend", format="%.2f"),
                                    "expected_purchases": st.column_config.NumberColumn("Expected purchases",
                                                                                        format="%.2f"),
                                    "expected_spend": st.column_config.NumberColumn("Expected spend", format="%.2f"),
                                    "probability_alive": st.column_config.ProgressColumn("P(alive)", format="percent"),
                                    "clv": st.column_config.NumberColumn("CLV", format="%.2f"),
                                    "clv_lower": st.column_config.NumberColumn("CLV low (5%)", format="%.2f"),
                                    "clv_upper": st.column_config.NumberColumn("CLV high (95%)", format="%.2f")})


with retention_tab:
    if retention_tab.open:
        show_retention()
with segments_tab:
    if segments_tab.open:
        show_segments()
with value_tab:
    if value_tab.open:
        show_value()
if HAS_PREDICTIONS:
    with tabs[3]:
        if tabs[3].open:
            # Built by the predictions work (purchase and churn probability); imported only when shown.
            from dashboard import customer_predictions

            customer_predictions.render(filters)
