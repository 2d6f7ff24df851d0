"""Cart drop-off: how long carts wait to be bought, which are abandoned, and why."""

from dataclasses import replace

import streamlit as st

from analytics.cart_dropoff import load_cart_dropoff, load_winback_segment
from analytics.charts import cart_dropoff as chart_functions
from analytics.models.jobs import cart_params
from analytics.overview import filter_options
from dashboard import access, common, explanation_panel

charts = common.CachedFigures(chart_functions)

# Window choices: label -> hours. The label is what the URL carries (?within=24h).
WINDOWS = {"1h": 1.0, "6h": 6.0, "12h": 12.0, "24h": 24.0, "48h": 48.0, "72h": 72.0, "7d": 168.0}
# Breakdown choices: label -> engine name. Bound widgets put the shown label in the URL (?by=Device).
BREAKDOWNS = {
    "Price band": "price_band",
    "Category": "category",
    "Device": "device",
    "Hour of day": "hour",
    "New vs returning": "is_returning",
}
SEGMENT_LABELS = {"price_band": "Price band", "category": "Category", "device": "Device",
                  "is_returning": "Returning visitor"}

warehouse = common.open_warehouse()
options = common.cached(filter_options)
filters = common.sidebar_filters(options)
common.page_header("Cart drop-off", warehouse.info, filters, comparison=False)

if filters is None:
    common.empty_state("The warehouse has no dated events yet; rebuild it from data that has carts and purchases.")
    st.stop()

with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
    window = st.segmented_control("Abandoned if not bought within", list(WINDOWS), default="24h",
                                  key="cart_within", bind="query-params", required=True)
    by_label = st.selectbox("Break down by", list(BREAKDOWNS), key="cart_by", bind="query-params", width=240)
by = BREAKDOWNS.get(by_label or "Price band", "price_band")
within_hours = WINDOWS.get(window or "24h", 24.0)
dropoff = common.cached(load_cart_dropoff, filters, within_hours)
period = common.format_period(filters.start_date, filters.end_date)

if dropoff.is_empty:
    common.empty_state(
        f"No products were carted between {common.format_day(filters.start_date)} and "
        f"{common.format_day(filters.end_date)} for these filters — widen the dates or clear filters.",
        title="No carts for these filters",
    )
    common.reset_button()
    st.stop()

st.caption(
    f"Carts added {period}. A cart counts as abandoned when the same user has not bought the product "
    f"{window} after carting it; carts younger than {window} when the data ends "
    f"({dropoff.data_end_at:%d %b %Y %H:%M} UTC) are still open and left out of the rates."
)
with st.container(horizontal=True, gap="small"):
    st.metric("Carts", common.format_count(dropoff.carts), border=True)
    st.metric(f"Bought within {window}", common.format_count(dropoff.bought_within), border=True)
    st.metric("Abandonment rate", common.format_ratio(dropoff.abandonment_rate), border=True,
              help=f"{dropoff.abandoned:,} abandoned of {dropoff.decided:,} carts whose {window} window closed. "
                   f"Kaplan–Meier estimate: {common.format_ratio(dropoff.km_abandonment_rate)}.")
    st.metric("Still open", common.format_count(dropoff.open), border=True,
              help="Carts whose window had not closed when the data ends (censored, not abandoned).")
    st.metric("Recovered", common.format_ratio(dropoff.recovered_rate), border=True,
              help=f"{dropoff.recovered:,} abandoned carts were bought after the {window} window.")
if dropoff.why_no_rate:
    st.caption(f":material/info: {common.plain(dropoff.why_no_rate)}")

curve, breakdown = st.columns(2)
with curve:
    common.chart_card(
        "Carts not yet bought", charts.survival_figure(dropoff.survival, within_hours), dropoff.survival,
        file_name="cart-survival", caption="Kaplan–Meier estimate by time since add-to-cart, with 95% band; censored carts stay in",
    )
with breakdown:
    table = dropoff.breakdowns[by]
    common.chart_card(
        f"Abandonment by {by_label.lower()}", charts.breakdown_figure(table, by), charts.breakdown_table(table, by),
        file_name=f"cart-abandonment-by-{by}", key="cart_breakdown",
        caption=f"Share of the carts whose {window} window closed that were not bought within it, with 95% intervals",
    )

# The win-back list names shoppers: analysts and admins only.
if access.allowed("export_user_level"):
    with st.container(border=True):
        winback = common.cached(load_winback_segment, filters, within_hours)
        with st.container(horizontal=True, horizontal_alignment="distribute", vertical_alignment="top"):
            with st.container(gap=None):
                st.markdown(f"**Win-back list: carted, not bought within {window}**")
                st.caption(f"{len(winback):,} carts; those bought later after all are marked recovered.")
            common.export_button("CSV", winback, "cart-winback.csv", key="cart_download_winback",
                                 what=f"abandoned carts not bought within {window}", type="tertiary",
                                 icon=":material/download:",
                                 help="Download every abandoned cart (user, product, price, device, channel) as CSV")
        st.dataframe(winback.head(200), hide_index=True, height=240)

use_history = st.toggle("Learn from all history up to the end date", value=True, key="cart_model_history",
                        help="More carts give a steadier model; off learns from the chosen dates only.")
training_filters = replace(filters, start_date=options.first_date) if use_history else filters
# Trained in the background once per data build for the defaults (all history, 24 h); other settings queue a job.
explanation_panel.show_model("cart_conversion", cart_params(training_filters, within_hours), key="cart",
                             what="the cart model", title=f"Why carts are bought within {window}",
                             segment_labels=SEGMENT_LABELS, row_label="Cart")
