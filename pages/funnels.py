"""Funnels: where shoppers drop out between steps such as view, cart and purchase."""

from datetime import timedelta

import streamlit as st

from analytics.charts import funnels as chart_functions
from analytics.funnels import FunnelQuery, FunnelStep
from analytics.formatting import format_p_value
from analytics.funnels.comparison import conversion_verdict
from analytics.funnels.dropoff import dropped_users
from analytics.funnels.query import EVENT_TYPES, MAX_STEPS, MIN_STEPS, FunnelExclusion
from analytics.overview import filter_options
from dashboard import access, common, funnels_cache, privacy, saved_views

charts = common.CachedFigures(chart_functions)

DEFAULT_STEPS = ("view", "cart", "purchase")
ANY_CATEGORY = "Any category"
NO_EXCLUSION = "Nothing"
EXCLUDE_HELP = ("Disqualify attempts with this event after the first chosen step and at or before the second: "
                "such an attempt keeps the steps it reached but goes no further. Any order ignores the steps.")
WINDOWS = {"5m": timedelta(minutes=5), "30m": timedelta(minutes=30), "1h": timedelta(hours=1),
           "6h": timedelta(hours=6), "1d": timedelta(days=1), "7d": timedelta(days=7)}
# Widgets show these labels and the URL carries them (a bound widget's URL value is its shown text).
MODES = {"Ordered": "ordered", "Strict": "strict", "Any order": "unordered"}
COUNTS = {"Users": "users", "Sessions": "sessions", "Conversions": "conversions"}
COUNT_HELP = ("Sessions: every session is its own attempt. Conversions: every attempt counts; a first-step event "
              "starts one unless one is in progress (until it completes or its window passes).")
PERIODS = {"Hour": "hour", "Day": "day", "Week": "week"}
# An hourly trend over more days than this is a wall of points; a daily one says the same.
MAX_HOURLY_DAYS = 14
MODE_HELP = ("Ordered: other events may happen between steps. Strict: no other event may come between "
             "steps. Any order: doing any k of the steps within the window counts as reaching step k.")
BREAKDOWNS = {"None": None, "Device": "device", "Channel": "channel", "Category": "category",
              "New vs returning": "new_vs_returning"}



def _minutes(seconds: float) -> str:
    return "—" if seconds != seconds else f"{seconds / 60:,.1f} min"


warehouse = common.open_warehouse()
options = common.cached(filter_options)
filters = common.sidebar_filters(options)
common.page_header("Funnels", warehouse.info, filters)

if filters is None:
    common.empty_state("The warehouse has no dated events yet; rebuild it from data that has them.")
    st.stop()

# The funnel definition. Every widget is bound to the URL, so a link reproduces the funnel.
with st.container(border=True):
    # A wrapping row, so every control keeps its natural width (option labels are never cut).
    with st.container(horizontal=True, gap="small", wrap=True):
        step_count = st.number_input("Steps", min_value=MIN_STEPS, max_value=MAX_STEPS, value=len(DEFAULT_STEPS),
                                     key="funnel_steps", bind="query-params", width=110)
        window_name = st.selectbox("Window", list(WINDOWS), index=2, key="funnel_window", bind="query-params",
                                   help="How long after the first step the last one may happen.", width=130)
        mode = st.segmented_control("Order", list(MODES), default="Ordered", required=True, key="funnel_mode",
                                    bind="query-params", help=MODE_HELP, width="content")
        count_by = st.segmented_control("Count", list(COUNTS), default="Users", required=True, key="funnel_count",
                                        bind="query-params", help=COUNT_HELP, width="content")
        breakdown = st.selectbox("Breakdown", list(BREAKDOWNS), key="funnel_by", bind="query-params",
                                 help="Compute the funnel separately within each value.", width=200)
        period_name = PERIODS[st.segmented_control("Trend by", list(PERIODS), default="Day", required=True,
                                                   key="funnel_period", bind="query-params", width="content")]
    steps = []
    with st.container(horizontal=True, gap="small"):
        for number in range(1, int(step_count) + 1):
            default = DEFAULT_STEPS[number - 1] if number <= len(DEFAULT_STEPS) else "purchase"
            with st.container(gap=None, width=180):
                event_type = st.selectbox(f"Step {number}", EVENT_TYPES, index=EVENT_TYPES.index(default),
                                          key=f"funnel_step{number}", bind="query-params")
                category = st.selectbox(f"Step {number} category", (ANY_CATEGORY, *options.categories),
                                        key=f"funnel_step{number}_category", bind="query-params",
                                        label_visibility="collapsed")
            steps.append(FunnelStep(event_type, category=None if category == ANY_CATEGORY else category))
    exclusions = ()
    with st.container(horizontal=True, gap="small", vertical_alignment="bottom"):
        excluded_type = st.selectbox("Exclude", (NO_EXCLUSION, *EVENT_TYPES), key="funnel_exclude", bind="query-params",
                                     width=180, help=EXCLUDE_HELP)
        if excluded_type != NO_EXCLUSION:
            excluded_category = st.selectbox("Excluded category", (ANY_CATEGORY, *options.categories),
                                             key="funnel_exclude_category", bind="query-params", width=180)
            from_step = st.selectbox("After step", range(1, len(steps)), key="funnel_exclude_from", bind="query-params",
                                     width=110)
            to_step = st.selectbox("Until step", range(from_step + 1, len(steps) + 1), key="funnel_exclude_to",
                                   bind="query-params", width=110)
            exclusions = (FunnelExclusion(excluded_type, from_step, to_step,
                                          category=None if excluded_category == ANY_CATEGORY else excluded_category),)

# Every setting the page may draw, so an opened funnel replaces all of them (defaults included).
SETTINGS = ("funnel_steps", "funnel_window", "funnel_mode", "funnel_count", "funnel_by", "funnel_period",
            "funnel_exclude", "funnel_exclude_category", "funnel_exclude_from", "funnel_exclude_to", "funnel_compare",
            *(f"funnel_step{number}{part}" for number in range(1, MAX_STEPS + 1) for part in ("", "_category")))
saved_views.saved_views_bar("funnels", SETTINGS, noun="funnel")

query = FunnelQuery(tuple(steps), WINDOWS[window_name], mode=MODES[mode], count_by=COUNTS[count_by],
                    breakdown=BREAKDOWNS[breakdown], exclusions=exclusions)
# Viewers get noisy step counts only (differential privacy); the rest of the page shows exact figures.
if not access.allowed("view_exact_counts"):
    privacy.funnel_section(query, filters, store=funnels_cache.event_store())
    st.stop()
# From the build's events held in memory (loaded once per build): each change of the funnel is a
# compiled pass over them rather than a query of the warehouse.
if period_name == "hour" and filters.days > MAX_HOURLY_DAYS:
    st.caption(f":material/info: The trend is by day: an hourly trend needs a period of at most {MAX_HOURLY_DAYS} "
               f"days, and this one has {filters.days}.")
    period_name = "day"
result = funnels_cache.funnel(query, filters, period_name)
counted = result.count_column
# With conversions counted, each step's number is of attempts that reached it.
counted_noun = "attempts" if counted == "conversions" else counted

if result.is_empty:
    common.empty_state(
        f"Nobody did “{query.labels[0]}” between {common.format_day(filters.start_date)} and "
        f"{common.format_day(filters.end_date)} for these filters — choose another first step, widen the dates "
        "or clear filters.",
        title="No one entered this funnel",
    )
    common.reset_button()
    st.stop()

steps_table = result.steps
last = steps_table.iloc[-1]
# The same funnel over the comparison period (two more passes, cached): the tiles' changes and verdict.
comparison = funnels_cache.comparison(query, filters)
before = comparison.iloc[-1]
compared = filters.comparison_period()
compared_text = f"{filters.comparison_label}, {common.format_period(compared.start_date, compared.end_date)}"


def _change(now: float, previous: float) -> str | None:
    return common.format_change(now / previous - 1) if previous else None


with st.container(horizontal=True, gap="small"):
    entered_before = comparison[f"{counted}_previous"].iloc[0]
    st.metric(f"Entered ({counted_noun})", common.format_count(steps_table[counted].iloc[0]), border=True,
              delta=_change(steps_table[counted].iloc[0], entered_before),
              help=f"{common.format_count(entered_before)} in the {compared_text}.")
    st.metric("Completed", common.format_count(last[counted]), border=True,
              delta=_change(last[counted], before[f"{counted}_previous"]),
              help=f"{common.format_count(before[f'{counted}_previous'])} in the {compared_text}.")
    verdict = conversion_verdict(before["difference"], before["p_value"])
    st.metric("Conversion", common.format_ratio(last["conversion_from_start"]), border=True,
              delta=verdict if before["difference"] == before["difference"] else None,
              # Only a significant change is coloured; an insignificant one is grey, whatever its sign.
              delta_color="normal" if verdict.endswith(", significant") else "off",
              help=f"Share of those who did the first step that reached the last within the window. In the "
                   f"{compared_text}: {common.format_ratio(before['conversion_previous'])}; two-proportion "
                   f"z-test {format_p_value(before['p_value'])}.")
    st.metric("Median time to convert", _minutes(last["median_seconds_to_convert"]), border=True,
              help=f"p90: {_minutes(last['p90_seconds_to_convert'])}, from the first step to the last.")

period = common.format_period(filters.start_date, filters.end_date)
funnel_column, breakdown_column = st.columns(2) if query.breakdown else (st.container(), None)
with funnel_column:
    common.chart_card(
        "Funnel", charts.funnel_figure(steps_table, counted),
        steps_table[["step_number", "step", counted, "conversion_from_start", "conversion_from_previous", "dropped"]],
        file_name="funnel-steps", caption=f"{counted_noun.capitalize()} reaching at least each step, {period}",
    )
# The win-back list: who reached a step but not the next, and the products they left.
if access.allowed("export_user_level"):
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        dropped_before = st.selectbox("Users who dropped before", query.labels[1:], index=None, key="funnel_dropped_before",
                                      placeholder="Choose a step", width=260,
                                      help="Users who reached the step before it but not this one, with their "
                                           "events and products at the step they reached.")
        if dropped_before is not None:
            step_number = query.labels.index(dropped_before) + 1
            dropped = common.cached(dropped_users, query, filters, step_number)
            noun = "user" if len(dropped) == 1 else "users"
            common.export_button(f"{common.format_count(len(dropped))} {noun} (CSV)", dropped,
                                 f"dropped-before-step-{step_number}.csv", key="funnel_download_dropped",
                                 what=f"users who dropped before step {step_number} ({dropped_before})",
                                 icon=":material/download:")

if breakdown_column is not None and result.breakdown is not None:
    with breakdown_column:
        common.chart_card(
            f"By {breakdown.lower()}", charts.breakdown_figure(result.breakdown, counted),
            charts.breakdown_table(result.breakdown, counted), file_name=f"funnel-by-{query.breakdown}",
            caption="Conversion from the first step, the funnel computed within each value",
        )

# Comparing costs two more funnels, so it is asked for rather than always drawn.
if st.toggle("Compare step by step", key="funnel_compare", bind="query-params",
             help="The same funnel over the comparison period chosen in the sidebar, with 95% intervals and a "
                  "two-proportion z-test for each step's conversion."):
    common.chart_card(
        f"Against the {filters.comparison_label}",
        charts.comparison_figure(comparison, period, common.format_period(compared.start_date, compared.end_date)),
        comparison, file_name="funnel-comparison",
        caption="Conversion from the first step, with 95% Wilson intervals; hover for the p-value",
    )

trend_column, timing_column = st.columns(2)
with trend_column:
    common.chart_card(
        "Conversion trend", charts.trend_figure(result.trend, period_name), result.trend, file_name="funnel-trend",
        caption=f"Share of those entering each {period_name} who reached the last step",
    )
with timing_column:
    common.chart_card(
        "Time to convert",
        charts.time_to_convert_figure(result.time_to_convert, last["median_seconds_to_convert"],
                                      last["p90_seconds_to_convert"]),
        result.time_to_convert, file_name="funnel-time-to-convert",
        caption="From the first step to the last, for those who completed the funnel",
    )
