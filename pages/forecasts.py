"""Forecasts: backtested forecasts per series with intervals, the leaderboard, drivers and the stock view."""

from dataclasses import replace
from datetime import datetime, timedelta

import streamlit as st

from analytics import models
from analytics.charts import explanations as explanation_charts
from analytics.charts import forecasts as charts
from analytics.errors import ShopLensError
from analytics.forecasting.day_explanation import explain_forecast_day, top_drivers_sentence
from analytics.forecasting.drivers import COUNTRIES, Promotion
from analytics.forecasting.models import DEFAULT_MODELS, FAST_MODELS, MODEL_TITLES
from analytics.forecasting.run import ForecastRequest, series_view
from analytics.forecasting.series import history_preview
from analytics.forecasting.stock import read_stock_csv, stock_table, stock_view
from analytics.models.jobs import forecast_components_params, forecast_global_params, forecast_params
from analytics.overview import filter_options
from dashboard import common, explanation_panel, model_status, pickers

# Choices: label -> engine value. Bound widgets put the label in the URL (?level=Category).
LEVELS = {"Total": "total", "Category": "category", "Product (top 10)": "product", "One product": "product",
          "Channel": "channel", "Region": "region"}
ONE_PRODUCT = "One product"
MEASURES = {"Units": "units", "Revenue": "revenue"}
HORIZONS = {"7 days": 7, "14 days": 14, "28 days": 28, "56 days": 56, "91 days": 91}
FOLDS = {"2 folds": 2, "3 folds": 3, "4 folds": 4, "5 folds": 5}
ARENAS = {"All models": DEFAULT_MODELS, "Fast models": FAST_MODELS}
SERVICE_LEVELS = {"90%": 0.90, "95%": 0.95, "98%": 0.98, "99%": 0.99}
SEGMENT_LABELS = {"series": "Series", "day": "Day", "day_of_week": "Day of week"}

warehouse = common.open_warehouse()
options = common.cached(filter_options)
filters = common.sidebar_filters(options)
common.page_header("Forecasts", warehouse.info, filters, period=False)

if filters is None:
    common.empty_state("The warehouse has no dated orders yet; rebuild it from data that has orders.")
    st.stop()

st.caption("Forecasts learn from all history up to the sidebar's *To* date (the *From* date does not apply), "
           "honouring the category, channel and device filters. Every model is backtested on the last folds of "
           "the history and its 80% and 95% intervals are calibrated on its own backtest errors; each series' "
           "champion is the most accurate model (lowest backtest MASE) among those whose intervals hold up.")

with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
    level_label = st.selectbox("Level", list(LEVELS), index=1, key="forecast_level", bind="query-params", width=170)
    measure_label = st.segmented_control("Forecast", list(MEASURES), default="Units", key="forecast_measure",
                                         bind="query-params", required=True)
    horizon_label = st.selectbox("Horizon", list(HORIZONS), index=2, key="forecast_horizon", bind="query-params", width=120)
    folds_label = st.selectbox("Backtest", list(FOLDS), index=1, key="forecast_folds", bind="query-params", width=110)
    country = st.selectbox("Holidays of", list(COUNTRIES), key="forecast_country", bind="query-params", width=110)
    arena_label = st.segmented_control("Arena", list(ARENAS), default="All models", key="forecast_arena",
                                       bind="query-params", required=True,
                                       help="All models: seasonal naive, AutoETS, AutoARIMA, MSTL, Prophet, global "
                                            "LightGBM and their ensemble. Fast models: seasonal naive, ETS and "
                                            "LightGBM, for many series.")

level = LEVELS.get(level_label or "Category", "category")
product_id = None
if level_label == ONE_PRODUCT:
    # A catalogue is too big for a selectbox: search by title; the product's id stays in the URL.
    product_id = pickers.product_picker("Product", "forecast_product", filters.categories,
                                        help="The product to forecast; its daily history is the series.")
    if product_id is None:
        common.empty_state("Type part of a product's title or id to pick the product to forecast.",
                           title="Pick a product", icon=":material/search:")
        st.stop()
measure = MEASURES.get(measure_label or "Units", "units")
horizon = HORIZONS.get(horizon_label or "28 days", 28)
symbol = common.currency_symbol() if measure == "revenue" else ""

with st.expander("Plan a promotion", icon=":material/sell:"):
    st.caption("A promotion entered here counts as known ahead, like one in the promotions table. Promotions "
               "seen only in past sales are never assumed for the future.")
    planned = st.toggle("Add a planned promotion (all products)", key="forecast_promotion_on")
    first_day = filters.end_date + timedelta(days=1)
    promotion_days = st.date_input("Days", value=(first_day, first_day + timedelta(days=2)), key="forecast_promotion_days",
                                   disabled=not planned, format="YYYY-MM-DD")
    discount = st.slider("Discount", 0.05, 0.6, 0.2, 0.05, key="forecast_promotion_discount", disabled=not planned,
                         format="percent")

promotions = ()
if planned and isinstance(promotion_days, tuple) and len(promotion_days) == 2:
    promotions = (Promotion(promotion_days[0], promotion_days[1], float(discount), name="Planned on the page"),)

request = ForecastRequest(level=level, measure=measure, horizon=horizon,
                          folds=FOLDS.get(folds_label or "3 folds", 3), country=country,
                          models=ARENAS.get(arena_label or "All models", DEFAULT_MODELS),
                          planned_promotions=promotions, series_ids=(product_id,) if product_id else (),
                          # The start date does not apply (all history is used), so it is left out of the cache key.
                          filters=replace(filters, start_date=min(options.first_date or filters.start_date,
                                                                  filters.end_date)))

# The default request is trained in the background once per data build; any other is queued on "Run forecast".
params = forecast_params(request)
found = model_status.result("forecast", params, request_missing=False)
if isinstance(found, models.NotRequested):
    # The click queues the run in a callback, before the rerun it causes, so no rerun can lose it.
    model_status.request_button("Run forecast", "forecast", params, key="forecast_run_forecast", type="primary",
                                icon=":material/play_arrow:",
                                help="Backtests and forecasts in the background; the page shows the result when "
                                     "it is ready.")
elif isinstance(found, models.Pending):
    model_status.pending_box("forecast", params, what="this forecast")
    model_status.cancel_button("Stop", "forecast", params, key="forecast_stop", icon=":material/stop:",
                               help="Cancel this forecast run")
elif isinstance(found, models.Failed):
    common.empty_state(found.reason, title="Cannot forecast these series", icon=":material/timeline:")
    if found.status.is_default:
        model_status.retrain_button("forecast", params, key="forecast_run_again", label="Run forecast again")
    else:
        model_status.try_again_button("forecast", params, key="forecast_run_again", label="Run forecast again")
if not isinstance(found, models.Ready):
    if isinstance(found, models.NotRequested):
        common.empty_state(
            f"Press “Run forecast” to backtest the models on every {level_label.lower()} series and forecast "
            f"{horizon} days of {measure}. Runs are kept until the data is rebuilt.",
            title="Not run yet", icon=":material/play_circle:")
    # The history is one cached query, so the manager sees the data before any model is fitted.
    preview = common.cached(history_preview, level, measure, filters=request.filters)
    if preview.empty:
        common.empty_state("No sales match the sidebar filters; widen them to see the history.",
                           title="No history")
    else:
        shown = preview["unique_id"].nunique()
        common.chart_card(f"History: daily {measure} by {level_label.lower()}",
                          charts.history_preview_figure(preview, measure=measure, currency_symbol=symbol), preview,
                          file_name=f"history-{level}-{measure}", key="forecast_history_preview",
                          caption=f"The {shown} largest series, up to {filters.end_date:%d %b %Y}")
    st.stop()
run = found.artifact.run

ids = list(run.arena.champions["unique_id"])
if run.arena.skipped:
    st.caption(f":material/info: Not forecast ({len(run.arena.skipped)}): " + common.plain(
        "; ".join(f"{run.label(unique_id)}: {why}" for unique_id, why in list(run.arena.skipped.items())[:5])))
if product_id is not None:
    unique_id = product_id if product_id in ids else ids[0]
else:
    unique_id = st.selectbox("Series", ids, key="forecast_series", bind="query-params", format_func=run.label)
view = series_view(run, unique_id or ids[0])
champion = view.champion
champion_title = MODEL_TITLES.get(champion["model"], champion["model"])


def title_of(model: str) -> str:
    return MODEL_TITLES.get(model, model)


def amount(value: float) -> str:
    """A forecast total in the measure's unit: money with the currency symbol, units with the word."""
    if measure != "revenue":
        return f"{value:,.0f} {measure}"
    money = common.format_money(value, symbol)
    return money if symbol else f"{money} revenue"


with st.container(horizontal=True, gap="small"):
    st.metric("Champion", champion_title, border=True,
              help="Among the models whose interval score (MSIS) is within 25% of the best, the lowest backtest "
                   "MASE; the ensemble is kept unless a single model beats it by more than 5%.")
    # The one MASE: the leaderboard's row of this series and model (mean over folds).
    st.metric("Backtest MASE", f"{champion['mase']:.2f}", border=True,
              help="Mean absolute error ÷ the in-sample seasonal-naive error, mean over the backtest folds; below "
                   "1 beats last week's pattern. The same figure as the leaderboard's.")
    st.metric("WAPE", common.format_ratio(champion["wape"]), border=True,
              help="Absolute errors ÷ actual total, over the backtest days.")
    st.metric("80% interval coverage", common.format_ratio(champion["coverage_80"]), border=True,
              help="Share of backtest days inside the calibrated 80% interval, each fold calibrated on the other "
                   "folds' errors; near 80% means honest intervals.")
    st.metric("95% interval coverage", common.format_ratio(champion["coverage_95"]), border=True,
              help="Share of backtest days inside the calibrated 95% interval; near 95% means honest intervals.")
    st.metric(f"Next {horizon} days", amount(view.forecast["yhat"].sum()), border=True)

# User data (series names) and engine sentences are shown as typed, never as Markdown.
st.caption(common.plain(f"Why {champion_title}: {champion['reason']}."))
if isinstance(champion.get("coverage_warning"), str):
    st.warning(common.plain(f"{view.label}, {champion_title}: {champion['coverage_warning']}."),
               icon=":material/warning:")

common.chart_card(
    f"Forecast: {view.label}",
    charts.forecast_figure(view.history, view.forecast, measure=measure, currency_symbol=symbol),
    view.forecast, file_name=f"forecast-{unique_id}", key="forecast",
    caption=f"{champion_title}, daily {measure}, with calibrated 80% and 95% intervals",
)

if run.arena.global_model is not None and view.unique_id in run.arena.global_model.series_ids_:
    st.subheader("Why this day?", anchor=False)
    # Computed with the run by the worker, for every series the global model forecast.
    days = found.artifact.day_explanations.get(view.unique_id)
    if days is None:
        common.empty_state("This run has no explanation of its forecast days for this series.",
                           title="Cannot explain the forecast days", icon=":material/help:")
    else:
        day_options = [f"{day:%Y-%m-%d}" for day in days.days]
        highest = day_options.index(f"{days.highest_day:%Y-%m-%d}")
        chosen_day = st.selectbox("Forecast day", day_options, index=highest, key="forecast_why_day", bind="query-params",
                                  format_func=lambda text: f"{datetime.fromisoformat(text):%a %d %b %Y}",
                                  help="Days after the data ends; the default is the highest LightGBM forecast.",
                                  width=220)
        day_row = explain_forecast_day(days, chosen_day or day_options[highest])
        st.markdown(common.plain(top_drivers_sentence(day_row, view.label)))
        is_champion = champion["model"] == "lightgbm_global"
        common.chart_card(
            f"Why {view.label} gets {amount(day_row.raw_output)} on "
            f"{datetime.fromisoformat(day_row.row_id):%a %d %b}",
            explanation_charts.waterfall_figure(day_row), explanation_charts.waterfall_table(day_row),
            file_name=f"why-{unique_id}-{day_row.row_id}", key="forecast_why_day_chart",
            caption=(f"The global LightGBM model ({'the champion' if is_champion else 'one of the arena'}), "
                     f"SHAP in {measure}: from the base value {day_row.base_value:,.1f} to the forecast "
                     f"{day_row.raw_output:,.1f}. Features use only history up to {days.data_end:%d %b %Y}, "
                     "the calendar and planned promotions."),
        )

board, backtest = st.columns(2)
with board:
    runner_up = champion.get("runner_up")
    reason = (f"{champion_title} scored MASE {champion['mase']:.2f} over {int(view.leaderboard['folds'].max())} folds"
              + (f"; runner-up {title_of(runner_up)} {champion['runner_up_mase']:.2f}" if runner_up else ""))
    common.chart_card("Leaderboard", charts.leaderboard_figure(view.leaderboard), view.leaderboard,
                      file_name=f"leaderboard-{unique_id}", key="forecast_leaderboard", caption=reason)
    # Every model of this series whose intervals were more than 5 points off nominal in the backtest.
    warned = view.leaderboard.dropna(subset=["coverage_warning"])
    warned = warned[warned["model"] != champion["model"]]
    if not warned.empty:
        st.caption(common.plain("Coverage in the backtest: " + "; ".join(
            f"{title_of(row.model)}: {row.coverage_warning}" for row in warned.itertuples()) + "."))
with backtest:
    common.chart_card("Backtest of the champion", charts.backtest_figure(view.backtest, view.history,
                                                                         champion["model"]),
                      view.backtest, file_name=f"backtest-{unique_id}", key="forecast_backtest",
                      caption="Each fold forecast from its cutoff, against what happened")

st.subheader("Drivers", anchor=False)
if st.toggle("Show Prophet's components (trend, weekly, yearly, holidays, promotions)", key="forecast_components",
             bind="query-params"):
    # Fitting Prophet is training: the worker does it the first time anyone asks for this series.
    components = model_status.artifact("forecast_components", forecast_components_params(request, view.unique_id),
                                       what="Prophet's components", key="forecast_components_model",
                                       failed_title="No components")
    if components is not None:
        common.chart_card("What drives the forecast", charts.components_figure(components), components,
                          file_name=f"components-{unique_id}", key="forecast_components_chart",
                          caption="Prophet fitted on log(1 + demand): the trend in units, the rest as % effects")

st.subheader("Stock", anchor=False)
with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
    lead_time = st.number_input("Lead time (days)", 1, horizon, min(7, horizon), key="forecast_lead_time",
                                bind="query-params", width=150)
    service_label = st.segmented_control("Service level", list(SERVICE_LEVELS), default="95%",
                                         key="forecast_service_level", bind="query-params", required=True)
    on_hand = st.number_input("On hand (what-if)", 0.0, value=None, step=1.0, key="forecast_on_hand",
                              placeholder="units in stock", width=170)
stock_file = st.file_uploader("Import stock levels (CSV with unique_id, on_hand)", type="csv", key="forecast_stock_file")
service_level = SERVICE_LEVELS.get(service_label or "95%", 0.95)
lead_time = int(min(lead_time or 7, horizon))
try:
    levels = read_stock_csv(stock_file) if stock_file is not None else {}
except ShopLensError as error:
    st.warning(str(error), icon=":material/warning:")
    levels = {}
stock = stock_view(view.forecast, lead_time, service_level,
                   on_hand if on_hand is not None else levels.get(view.unique_id), view.unique_id)
with st.container(horizontal=True, gap="small"):
    st.metric(f"Demand over {lead_time} days", f"{stock.lead_time_demand:,.0f}", border=True)
    st.metric("Safety stock", f"{stock.safety_stock:,.0f}", border=True,
              help=f"z × σ of the lead-time demand, σ {stock.lead_time_sigma:,.1f} from the 95% intervals")
    st.metric("Reorder point", f"{stock.reorder_point:,.0f}", border=True,
              help="Order when the stock on hand falls to this.")
    st.metric("Days of cover", "—" if stock.on_hand is None else
              (f"> {horizon}" if stock.days_of_cover is None else f"{stock.days_of_cover:.1f}"), border=True)
    st.metric("Stock-out risk", "—" if stock.stockout_risk is None else common.format_ratio(stock.stockout_risk),
              border=True, help="Chance the lead-time demand exceeds the stock on hand.")
if stock.is_at_risk:
    st.warning(f"{view.label}: {common.format_ratio(stock.stockout_risk)} chance of running out within the lead "
               f"time; reorder now (reorder point {stock.reorder_point:,.0f}).", icon=":material/warning:")
common.chart_card("Stock against the forecast",
                  charts.stock_figure(view.forecast, lead_time, stock.reorder_point, stock.on_hand),
                  view.forecast[["ds", "yhat", "yhat_lower_95", "yhat_upper_95"]], file_name=f"stock-{unique_id}",
                  key="forecast_stock", caption="Cumulative forecast demand; without a stock level this is a what-if")
if levels:
    table = stock_table(run.arena.champion_forecast(), lead_time, service_level, levels)
    st.dataframe(table, hide_index=True)

if run.arena.settings.is_daily and "lightgbm_global" in run.arena.settings.models:
    report = getattr(found.artifact, "global_report", None)
    if report is None:  # a run stored before runs carried their global model's report
        explanation_panel.show_model("forecast_global",
                                     forecast_global_params(level, measure, horizon, country, request.folds),
                                     key="forecast", what="the global forecasting model",
                                     title="Why the global model forecasts what it does",
                                     segment_labels=SEGMENT_LABELS, row_label="Series and day")
    else:
        # This run's own model: its MASE tile is this run's leaderboard figure, averaged over the series.
        st.subheader("Why the global model forecasts what it does", anchor=False)
        every_series = run.arena.leaderboard
        lightgbm = every_series[every_series["model"] == "lightgbm_global"]
        this_series = lightgbm.loc[lightgbm["unique_id"] == view.unique_id, "mase"]
        st.caption(common.plain(
            f"MASE below is the leaderboard's LightGBM (global) MASE averaged over the {len(lightgbm)} series of "
            "this run" + (f"; for {view.label} it is {this_series.iloc[0]:.2f}." if len(this_series) else ".")))
        explanation_panel.trained_panel(report.explanation, key="forecast", segment_labels=SEGMENT_LABELS,
                                        row_label="Series and day", segment_default=("series", str(view.unique_id)))
