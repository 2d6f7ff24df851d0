"""Streamlit helpers every page shares: the warehouse, cached analyses, global filters, cards, numbers.

- `open_warehouse()` returns the warehouse's state and one shared read-only
  connection. The connection is cached per (path, file stamp), so a rebuild
  (which atomically replaces the file) is picked up on the next rerun.
- `cached(analysis, *args)` runs an engine function `analysis(con, *args)`
  once per build: results are cached on the warehouse's `data_version`.
- `sidebar_filters(options)` draws the global filters, bound to the URL query
  (`from`, `to`, `category`, `channel`, `device`) so any view can be shared as a link.
- `kpi_tile`, `chart_card`, `empty_state` draw the building blocks of a page.
- `format_*` turn numbers into short human text.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics import formatting
from analytics.output import safe_csv_bytes
from analytics.errors import ShopLensError
# Pages format through `common`; these names are re-exported for them.
from analytics.formatting import (  # noqa: F401
    format_change,
    format_count,
    format_day,
    format_period,
    format_ratio,
    humanize,
)
from analytics.settings import load_settings
from analytics.filters import (
    COMPARISONS,
    DATE_PRESETS,
    Filters,
    last_complete_day,
    matching_preset,
    preset_range,
)
from analytics.overview import FilterOptions, Kpi
from analytics.warehouse import (
    WarehouseInfo,
    WarehouseState,
    connect,
    default_warehouse_path,
    inspect_warehouse,
)

T = TypeVar("T")

DEFAULT_DAYS = 30
# Widget keys, which are also the URL query parameters.
FILTER_KEYS = ("from", "to", "category", "channel", "device")
COMPARISON_KEY = "compare_with"
RANGE_KEY = "date_range"
CUSTOM_RANGE = "Custom"
_DEFAULTS_KEY = "shoplens_default_dates"
# The comparison choices as shown (and carried in the URL) -> Filters.comparison.
COMPARISON_CHOICES = {label.capitalize(): name for name, label in COMPARISONS.items()}
CURRENCY_ENV = "SHOPLENS_CURRENCY"
PLOTLY_CONFIG = {
    "displaylogo": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


# --------------------------------------------------------------------------- warehouse


@dataclass(frozen=True)
class OpenWarehouse:
    """The warehouse as the app sees it.

    Attributes:
        info: what `inspect_warehouse` found; `info.message` says how to fix a problem.
        connection: a read-only DuckDB connection when ready, else None. Shared by all
            sessions: take a `.cursor()` per query (`analytics.queries.run_report` does).
    """

    info: WarehouseInfo
    connection: Any

    @property
    def ready(self) -> bool:
        return self.info.state is WarehouseState.READY and self.connection is not None


_open_lock = threading.Lock()
_open_connections: dict[str, Any] = {}


def open_warehouse(path: Path | None = None) -> OpenWarehouse:
    """Return the warehouse at `path` (default: `$SHOPLENS_WAREHOUSE` or `.shoplens/warehouse.duckdb`).

    Every page calls this first, so it also makes sure the page runs inside app.py's navigation.
    """
    _leave_legacy_pages_mode()
    path = path or default_warehouse_path()
    return _open_warehouse(str(path), _file_stamp(path))


def _leave_legacy_pages_mode() -> None:
    # Streamlit treats a `pages/` folder beside the entry script as a legacy
    # multipage app until some run calls st.navigation. If the first visitor
    # of a fresh server opens a deep link (/overview), Streamlit runs that page
    # file on its own, without app.py, and lists every file in pages/ in the
    # sidebar. Switch the server to app.py's navigation and run again.
    # (Renaming the folder, e.g. to `app_pages/`, would make this unnecessary.)
    # This leans on a Streamlit internal; if a release moves it, the deep-link
    # case degrades to the flash described above instead of failing.
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


@st.cache_resource(max_entries=16, show_spinner=False)
def _open_warehouse(path: str, stamp: tuple[int, int, int] | None) -> OpenWarehouse:
    # DuckDB shares one database instance per file path within a process: while
    # a connection to the old file is open, a new connect() sees the old data
    # even after a rebuild replaced the file. So close the stale connection
    # before inspecting and reopening. `stamp` is only part of the cache key.
    del stamp
    with _open_lock:
        stale = _open_connections.pop(path, None)
        if stale is not None:
            stale.close()
        info = inspect_warehouse(Path(path))
        if info.state is not WarehouseState.READY:
            return OpenWarehouse(info, None)
        try:
            connection = connect(Path(path))
        except ShopLensError:
            return OpenWarehouse(inspect_warehouse(Path(path)), None)
        _open_connections[path] = connection
        return OpenWarehouse(info, connection)


def ready_warehouse() -> OpenWarehouse:
    """The open warehouse, ready to query; raises with the reason when it is not (missing, old, being built).

    Raises:
        ShopLensError: the warehouse cannot serve queries; the message says why and what to do.
    """
    warehouse = open_warehouse()
    if not warehouse.ready:
        raise ShopLensError(warehouse.info.message)
    return warehouse


def cached(analysis: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `analysis(connection, *args, **kwargs)` once per warehouse build.

    Args:
        analysis: an engine function taking a connection first; its result must pickle.
        args, kwargs: hashable by Streamlit (dates, strings, numbers, tuples, dataclasses such as Filters).

    Returns:
        The result, from the cache when the same build was asked the same question before.
    """
    warehouse = ready_warehouse()
    name = f"{analysis.__module__}.{analysis.__qualname__}"
    return _cached_analysis(name, warehouse.info.data_version, args, kwargs,
                            _analysis=analysis, _connection=warehouse.connection)


@st.cache_data(max_entries=256, show_spinner=False)
def _cached_analysis(name: str, data_version: str, args: tuple, kwargs: dict, *,
                     _analysis: Callable[..., Any], _connection: Any) -> Any:
    # `name` and `data_version` are the cache key together with the arguments;
    # underscore parameters are not hashed.
    return _analysis(_connection, *args, **kwargs)


class CachedFigures:
    """A chart module whose `*_figure` functions build each figure once per process and inputs.

    Building a plotly figure validates every property and was the largest part of the server's CPU per
    page view (py-spy on a browser session, issue 14); the same period and settings give the same
    figure, so it is built once and shared. Figures are never changed after they are built (pages only
    draw them), which is what makes sharing them safe. Other functions (tables) pass through.

        charts = common.CachedFigures(overview_charts)
        charts.daily_traffic_figure(overview.daily)   # built once for these rows
    """

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if not (name.endswith("_figure") and callable(value)):
            return value

        def figure(*args: Any, **kwargs: Any) -> go.Figure:
            from streamlit.runtime.caching.cache_errors import UnhashableParamError

            try:
                return _cached_figure(f"{value.__module__}.{value.__qualname__}", args, kwargs, _build=value)
            except UnhashableParamError:
                # An input Streamlit cannot hash (an opaque model object): build it as before.
                return value(*args, **kwargs)

        return figure


@st.cache_resource(max_entries=512, show_spinner=False)
def _cached_figure(name: str, args: tuple, kwargs: dict, *, _build: Callable[..., go.Figure]) -> go.Figure:
    # `name` stands for the function in the key; the function itself is not hashed (underscore).
    return _build(*args, **kwargs)


# --------------------------------------------------------------------------- filters


def default_dates(options: FilterOptions, complete_end: date | None = None) -> tuple[date, date] | None:
    """The last `DEFAULT_DAYS` complete days of the data, or None when the data has no dates.

    Args:
        options: the data's filter options (its first and last day).
        complete_end: the last complete day (`WarehouseInfo.complete_data_end`); a partial last day
            (an export cut at noon) would show as a collapse on every tile and trend, so the default
            ends the day before it. None: the data's last day.
    """
    if options.first_date is None or options.last_date is None:
        return None
    end = last_complete_day(options.first_date, options.last_date, complete_end)
    return max(options.first_date, end - timedelta(days=DEFAULT_DAYS - 1)), end


def sidebar_filters(options: FilterOptions) -> Filters | None:
    """Draw the global filters in the sidebar and return the chosen slice.

    The widgets are bound to the URL query (`?from=2025-01-01&to=2025-01-31&category=Home&channel=email`,
    repeated keys for several values), so a link reproduces the view; a value equal to its default is
    left out of the URL. Options are shown as stored in the data, because the URL carries the shown
    text and links must stay stable. Malformed, out-of-range or unknown values are dropped silently
    and the default used. Returns None when the data has no dates.
    """
    complete_end = open_warehouse().info.complete_data_end
    defaults = default_dates(options, complete_end)
    if defaults is None:
        return None
    first, last = options.first_date, options.last_date
    # Quick ranges end on the last complete day; the date pickers still reach a partial last day.
    ranges_end = last_complete_day(first, last, complete_end)
    st.session_state[_DEFAULTS_KEY] = defaults
    with st.sidebar:
        header = st.container(horizontal=True, vertical_alignment="center", horizontal_alignment="distribute")
        header.markdown("**Filters**", width="content")
        # The quick range shows which preset the dates match ("Custom" otherwise); choosing one sets the dates.
        current = (_date_state("from", defaults[0]), _date_state("to", defaults[1]))
        st.session_state[RANGE_KEY] = matching_preset(*current, first, ranges_end) or CUSTOM_RANGE
        st.selectbox("Dates", [*DATE_PRESETS, CUSTOM_RANGE], key=RANGE_KEY, on_change=_apply_preset,
                     args=(first, ranges_end), help="Quick ranges end on the last complete day of the data.")
        start = st.date_input("From", value=defaults[0], min_value=first, max_value=last,
                              key="from", bind="query-params", format="YYYY-MM-DD")
        end = st.date_input("To", value=defaults[1], min_value=first, max_value=last,
                            key="to", bind="query-params", format="YYYY-MM-DD")
        comparison = st.selectbox("Compare with", list(COMPARISON_CHOICES), key=COMPARISON_KEY, bind="query-params",
                                  help="What changes on the tiles and the funnel comparison are measured against.")
        categories = st.multiselect("Category", options.categories, key="category", bind="query-params",
                                    placeholder="All categories")
        channels = st.multiselect("Channel", options.channels, key="channel", bind="query-params",
                                  placeholder="All channels")
        devices = st.multiselect("Device", options.devices, key="device", bind="query-params",
                                 placeholder="All devices")
        start, end = start or defaults[0], end or defaults[1]
        comparison = COMPARISON_CHOICES.get(comparison or "", "previous_period")
        # Drawn last, into the header, so it knows whether anything differs from the defaults.
        is_default = ((start, end) == defaults and not (categories or channels or devices)
                      and comparison == "previous_period")
        header.button("Reset", key="reset_filters", type="tertiary", icon=":material/restart_alt:",
                      on_click=_reset_filters, args=(defaults,), disabled=is_default,
                      help="Back to the last 30 days of data, the previous period and every category, "
                           "channel and device.")
        if end < start:
            st.caption(":material/swap_horiz: *From* is after *To*, so the two dates were swapped.")
            start, end = end, start
        if ranges_end != last:
            st.caption(f":material/schedule: The data's last day, {format_day(last)}, is incomplete, so quick "
                       f"ranges end on {format_day(ranges_end)}.")
    return Filters(start, end, tuple(categories), tuple(channels), tuple(devices), comparison)


def _date_state(key: str, default: date) -> date:
    # Before its widget runs, a bound date is in the session (after the first run) or in the URL.
    value = st.session_state.get(key)
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(st.query_params.get(key, ""))
    except ValueError:
        return default


def _apply_preset(first: date, last: date) -> None:
    preset = st.session_state.get(RANGE_KEY)
    if preset in DATE_PRESETS:
        st.session_state["from"], st.session_state["to"] = preset_range(preset, first, last)


def _reset_filters(defaults: tuple[date, date]) -> None:
    # Bound widgets are reset through session state; Streamlit then updates the URL.
    start_key, end_key, *list_keys = FILTER_KEYS
    st.session_state[start_key], st.session_state[end_key] = defaults
    st.session_state[COMPARISON_KEY] = next(iter(COMPARISON_CHOICES))
    for key in list_keys:
        st.session_state[key] = []


def reset_button(label: str = "Clear filters", key: str = "reset_filters_main") -> None:
    """A button that puts the filters back to their defaults (for empty states)."""
    defaults = st.session_state.get(_DEFAULTS_KEY)
    if defaults is not None:
        st.button(label, key=key, icon=":material/restart_alt:", on_click=_reset_filters, args=(defaults,))


# --------------------------------------------------------------------------- page parts


def page_header(title: str, info: WarehouseInfo, filters: Filters | None = None, *, period: bool = True,
                comparison: bool = True) -> None:
    """Title plus one line on the data: sample or not, period, comparison and active filters, source and build.

    Args:
        title: the page's title.
        info: the warehouse, for the sample badge, build time and source.
        filters: the sidebar's filters; the period, what it is compared with and every active category,
            channel and device filter are shown, so a screenshot or a shared link says what it shows.
        period: whether the page uses the sidebar's dates (models learning from all history do not).
        comparison: whether the page compares with the comparison period.
    """
    st.title(title, anchor=False)
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        if info.is_sample:
            st.badge("Sample data", icon=":material/science:", color="orange")
        parts = []
        if filters is not None and period:
            compared = filters.comparison_period()
            parts.append(f"{format_period(filters.start_date, filters.end_date)}" + (
                f", compared with the {filters.comparison_label} "
                f"({format_period(compared.start_date, compared.end_date)})" if comparison else ""))
        if filters is not None:
            for noun, values in (("Category", filters.categories), ("Channel", filters.channels),
                                 ("Device", filters.devices)):
                if values:
                    parts.append(f"{noun}: {', '.join(values)}")
        if info.built_at is not None:
            built = f"built {format_day(info.built_at)} {info.built_at:%H:%M} UTC"
            parts.append(f"{built} from {Path(info.source).name or info.source}" if info.source else built)
        st.caption(plain(" · ".join(parts)), width="content")


# Characters Markdown gives a meaning to; each is shown as typed when escaped with a backslash.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$=])")
# Streamlit's :icon: and :colour[...] directives ignore backslashes, and "http://" or "www." start a link.
# A colon followed by a space ("Channel: web") starts neither, so it stays as typed.
_DIRECTIVE_OR_LINK = re.compile(r"(:(?=\S)|www(?=\\\.))", re.IGNORECASE)
_ZERO_WIDTH_SPACE = "\u200b"


def plain(text: object) -> str:
    """`text` made safe for Streamlit's Markdown: shown as typed, never as markup, links or icons.

    Product titles, categories and file names come from users' data; rendered as Markdown, a title such
    as `![](http://host/beacon.png)` would make every browser fetch an image. Markdown characters are
    escaped; after each colon that touches the next word (and in "www.") goes a zero-width space, which stops Streamlit's directives
    and automatic links and is invisible.
    """
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
    return _DIRECTIVE_OR_LINK.sub(lambda match: match.group(0) + _ZERO_WIDTH_SPACE, escaped)


KPI_MIN_WIDTH = 130
# Labels that fit a narrow tile; the full label is in the tooltip.
SHORT_LABELS = {"average_order_value": "Avg. order value"}


def kpi_tile(kpi: Kpi, trend: pd.Series | None = None, *, compared_with: str = "previous period") -> None:
    """A bordered st.metric: the value, its change against the previous period, an optional sparkline."""
    change = kpi.change_ratio
    points = None if trend is None else [float(value) for value in trend.dropna()]
    st.metric(
        SHORT_LABELS.get(kpi.name, kpi.label),
        format_value(kpi.value, kpi.unit),
        # No earlier data means no change to show, rather than a grey "—" badge.
        delta=format_change(change) if change is not None and change == change else None,
        delta_color="normal" if change else "off",
        delta_arrow="auto" if change else "off",
        help=f"{kpi.label} in the {compared_with}: {format_value(kpi.previous_value, kpi.unit)}",
        border=True,
        height="stretch",
        chart_data=points if points and len(points) > 1 else None,
        chart_type="area",
    )


def kpi_row(kpis: Sequence[Kpi], trends: pd.DataFrame | None = None, *, compared_with: str) -> None:
    """KPI tiles: one row on wide screens, two balanced rows (3 + 3) on narrow ones, one column on phones.

    Args:
        kpis: the tiles, in order.
        trends: optional frame with a column named after each KPI, drawn as its sparkline.
        compared_with: what the change is against, e.g. "previous 30 days".
    """
    middle = (len(kpis) + 1) // 2
    with st.grid(2, min_column_width=KPI_MIN_WIDTH * middle, gap="small") as halves:
        for half in (kpis[:middle], kpis[middle:]):
            with halves.cell(), st.grid(middle, min_column_width=KPI_MIN_WIDTH, gap="small"):
                for kpi in half:
                    trend = trends[kpi.name] if trends is not None and kpi.name in trends else None
                    kpi_tile(kpi, trend, compared_with=compared_with)


def chart_card(title: str, figure: go.Figure, data: pd.DataFrame, *, file_name: str,
               caption: str | None = None, key: str | None = None) -> None:
    """A bordered card: a title, a CSV download of exactly the numbers plotted, and the chart."""
    key = key or file_name
    with st.container(border=True, height="stretch"):
        with st.container(horizontal=True, vertical_alignment="top", horizontal_alignment="distribute",
                          wrap=False):
            with st.container(gap=None):
                st.markdown(f"**{plain(title)}**")
                if caption:
                    st.caption(plain(caption))
            # A callable: the CSV is written when someone downloads it, not on every rerun of the page.
            st.download_button(
                "CSV", data=lambda: to_csv(data), file_name=f"{file_name}.csv", mime="text/csv",
                key=f"download_{key}", type="tertiary", icon=":material/download:", on_click="ignore",
                help=f"Download the numbers behind “{title}” as CSV",
            )
        st.plotly_chart(figure, theme=None, config=PLOTLY_CONFIG, key=f"chart_{key}", alt=title)


def empty_state(message: str, *, title: str = "Nothing to show", icon: str = ":material/search_off:") -> None:
    """A calm info box saying why the page is empty and what to do; the message is shown as plain text.

    Messages often quote data (a step's category, a shopper's id, an engine error naming a value), so
    they are never read as Markdown.
    """
    st.info(plain(message), title=title, icon=icon)


def warehouse_problem(info: WarehouseInfo) -> None:
    """The page shown instead of the app when the warehouse cannot serve it."""
    titles = {
        WarehouseState.MISSING: "No data yet",
        WarehouseState.OUTDATED: "The warehouse needs a rebuild",
        WarehouseState.UNREADABLE: "The warehouse cannot be read",
    }
    st.title("ShopLens", anchor=False)
    st.caption("E-commerce analytics for merchandisers, managers and data scientists.")
    st.info(info.message, title=titles.get(info.state, "The warehouse is not ready"), icon=":material/database:")
    st.markdown("To try ShopLens with the generated sample shop, run this in the project folder:")
    st.code("make run", language="bash")
    st.markdown("To load your own export (Shopify, GA4, Taobao, REES46 and more), run "
                "`shoplens import FILE --preset NAME`; for a folder of canonical files, `shoplens build FOLDER`.")


def unavailable_pages_note(missing: Sequence[tuple[Any, str]]) -> None:
    """A collapsed sidebar note naming the pages this data cannot feed, and why."""
    with st.sidebar.expander(f"Not available with this data ({len(missing)})", icon=":material/block:"):
        for page, reason in missing:
            st.caption(f"**{page.title}**: {reason}.")


def no_supported_analyses(info: WarehouseInfo) -> None:
    """The page shown when the warehouse is ready but its data feeds no page."""
    st.title("ShopLens", anchor=False)
    st.info("The data in the warehouse does not support any page yet.", title="Nothing to show",
            icon=":material/database:")
    for capability in info.capabilities.values():
        st.markdown(f"- **{humanize(capability.analysis)}**: {capability.reason}")


def signed_in_name() -> str:
    """Who is using the app: the signed-in e-mail, or the local admin's when sign-in is off ("" when unknown)."""
    from dashboard.access import current_user

    try:
        return current_user().email
    except ShopLensError:
        return ""


def export_button(label: str, data: pd.DataFrame | Callable[[], pd.DataFrame], file_name: str, *, key: str,
                  what: str, **kwargs: Any) -> None:
    """A CSV download of people-level rows (user ids, carts, customers) that is written to the audit log.

    Args:
        label: the button's text.
        data: the rows, or a function returning them (computed when the page draws the button).
        file_name: the CSV's name.
        key: the button's key.
        what: what the rows are, for the audit log ("users who dropped before step 3").
        kwargs: passed to `st.download_button` (help, icon, type, disabled, ...).
    """
    frame = data() if callable(data) else data
    # Who and where are worked out now and passed on: the callback runs before the next script run,
    # outside the page's navigation.
    st.download_button(label, data=lambda: to_csv(frame), file_name=file_name, mime="text/csv", key=key,
                       on_click=_record_export,
                       args=(what, file_name, len(frame), signed_in_name() or "unknown", open_warehouse().info.path),
                       **kwargs)


def _record_export(what: str, file_name: str, rows: int, user: str, warehouse: Path) -> None:
    from analytics import audit

    audit.record("export", user, {"what": what, "file": file_name, "rows": rows}, warehouse=warehouse)


# --------------------------------------------------------------------------- numbers


def currency_symbol() -> str:
    """The symbol to put before money: `$SHOPLENS_CURRENCY`, else the warehouse's settings; none by default."""
    try:
        return load_settings(default_warehouse_path()).currency
    except ShopLensError:
        return os.environ.get(CURRENCY_ENV, "").strip()


def format_money(value: float | None, symbol: str | None = None) -> str:
    """Money as `analytics.formatting.format_money`, with the configured currency symbol by default."""
    return formatting.format_money(value, currency_symbol() if symbol is None else symbol)


def format_value(value: float | None, unit: str) -> str:
    """A KPI value by its unit, money with the configured currency symbol."""
    return formatting.format_value(value, unit, currency_symbol())


def to_csv(data: pd.DataFrame) -> bytes:
    """CSV bytes for a download: a BOM so spreadsheet apps read Chinese titles, and no cell a spreadsheet runs.

    Cells that begin like a formula (`=`, `+`, `-`, `@`, tab, carriage return) come from imported titles and
    ids; `analytics.output.safe_csv_bytes` neutralises them, numbers stay numbers.
    """
    return safe_csv_bytes(data)
