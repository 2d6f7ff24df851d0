"""Overview: how the shop did in the chosen period, against the period before."""

import streamlit as st

from analytics.charts import overview as chart_functions
from analytics.overview import filter_options, load_overview
from dashboard import access, common, privacy

charts = common.CachedFigures(chart_functions)

warehouse = common.open_warehouse()
options = common.cached(filter_options)
filters = common.sidebar_filters(options)
common.page_header("Overview", warehouse.info, filters)

if filters is None:
    common.empty_state("The warehouse has no dated sessions or orders yet; rebuild it from data that has them.")
    st.stop()

# Viewers get noisy tiles only: exact charts (or even an empty state) would undo the noise.
if not access.allowed("view_exact_counts"):
    privacy.overview_section(filters, with_revenue=warehouse.info.supports("revenue"))
    st.stop()

overview = common.cached(load_overview, filters, top_n=10)
period = common.format_period(filters.start_date, filters.end_date)

if overview.is_empty:
    common.empty_state(
        f"No sessions or orders between {common.format_day(filters.start_date)} and "
        f"{common.format_day(filters.end_date)} "
        "for these filters — widen the dates or clear filters.",
        title="No data for these filters",
    )
    common.reset_button()
    st.stop()

# Data without prices (a click log, a units-only export) has no revenue to show.
has_revenue = warehouse.info.supports("revenue")
if not has_revenue:
    st.info("This data has no prices, so revenue, average order value and the revenue rankings are hidden. "
            "Import order lines with prices to see them.", icon=":material/money_off:")

# Headline numbers, each with its daily trend and its change against the previous period.
compared_with = f"previous {filters.days} days" if filters.days > 1 else "previous day"
kpis = overview.kpis if has_revenue else tuple(kpi for kpi in overview.kpis if kpi.unit != "currency")
common.kpi_row(kpis, overview.daily, compared_with=compared_with)

currency = common.currency_symbol()
if has_revenue:
    traffic, revenue = st.columns(2)
    conversion, categories = st.columns(2)
else:
    traffic, conversion = st.columns(2)

with traffic:
    common.chart_card(
        "Sessions and orders", charts.daily_traffic_figure(overview.daily),
        overview.daily[["kpi_date", "sessions", "orders"]],
        file_name="daily-sessions-orders", caption=f"Per day, {period}",
    )
with conversion:
    common.chart_card(
        "Conversion rate", charts.daily_conversion_figure(overview.daily),
        overview.daily[["kpi_date", "sessions", "converted_sessions", "conversion_rate"]],
        file_name="daily-conversion-rate", caption="Share of sessions with a purchase, per day",
    )
if not has_revenue:
    st.stop()

with revenue:
    common.chart_card(
        "Revenue", charts.daily_revenue_figure(overview.daily, currency),
        overview.daily[["kpi_date", "revenue", "orders", "units"]],
        file_name="daily-revenue", caption=f"Per day, {period}, after discounts",
    )
with categories:
    common.chart_card(
        "Revenue by category", charts.top_categories_figure(overview.top_categories, currency),
        charts.top_categories_table(overview.top_categories),
        file_name="top-categories", caption="Labels show each category's share of revenue",
    )

common.chart_card(
    "Top products", charts.top_products_figure(overview.top_products, currency),
    overview.top_products[["product_id", "title", "category", "brand", "revenue", "orders", "units"]],
    file_name="top-products", caption=f"The {len(overview.top_products)} best sellers by revenue, {period}",
)
