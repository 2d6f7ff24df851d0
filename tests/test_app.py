"""The Streamlit app in-process (streamlit.testing AppTest): pages, KPIs, URL filters, empty states."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from analytics.warehouse import WarehouseInfo, WarehouseState, build_warehouse, inspect_warehouse
from dashboard.navigation import PAGES, SECTIONS, available_pages, unavailable_pages
from dashboard import common
from tests.page_runner import shown
from tests.tiny_shop import EVENTS, TABLES, write_tiny_shop

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = str(REPO_ROOT / "app.py")

TINY_METRICS = {
    "Sessions": "5",
    "Users": "3",
    "Orders": "2",
    "Revenue": "130.00",
    "Conversion rate": "40.0%",
    "Avg. order value": "65.00",
}


def run_app(monkeypatch: pytest.MonkeyPatch, warehouse: Path, query: dict[str, str | list[str]] | None = None,
            page: str | None = None) -> AppTest:
    monkeypatch.setenv("SHOPLENS_WAREHOUSE", str(warehouse))
    monkeypatch.delenv("SHOPLENS_CURRENCY", raising=False)
    app = AppTest.from_file(APP, default_timeout=30)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.run()
    if page is not None:
        app.switch_page(page).run()
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def deltas(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.delta for metric in app.metric}


def assert_no_error(app: AppTest) -> None:
    assert not app.exception, [exception.value for exception in app.exception]
    assert not app.error, [error.value for error in app.error]


# --------------------------------------------------------------------------- the Overview


def test_overview_shows_the_six_kpis(monkeypatch, tiny_warehouse):
    app = run_app(monkeypatch, tiny_warehouse)

    assert_no_error(app)
    assert app.title[0].value == "Overview"
    assert metrics(app) == TINY_METRICS
    # The 3 days before have no data, so no change can be computed, and none is shown.
    assert set(deltas(app).values()) == {""}


def test_overview_has_five_charts_each_with_a_csv_download(monkeypatch, tiny_warehouse):
    app = run_app(monkeypatch, tiny_warehouse)

    assert len(app.get("plotly_chart")) == 5
    downloads = app.get("download_button")
    assert len(downloads) == 5
    assert {button.proto.label for button in downloads} == {"CSV"}


def test_caption_describes_the_data_and_period(monkeypatch, tiny_warehouse):
    app = run_app(monkeypatch, tiny_warehouse)

    caption = shown(app.caption[0].value)
    assert "1–3 Jan 2025, compared with the previous period (29–31 Dec 2024)" in caption
    assert "built" in caption and "UTC" in caption


def test_default_period_is_the_data_span_when_shorter_than_30_days(monkeypatch, tiny_warehouse):
    app = run_app(monkeypatch, tiny_warehouse)

    assert app.date_input(key="from").value == date(2025, 1, 1)
    assert app.date_input(key="to").value == date(2025, 1, 3)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"category": "Home"}, {"Sessions": "2", "Users": "2", "Orders": "1", "Revenue": "20.00",
                                "Conversion rate": "50.0%", "Avg. order value": "20.00"}),
        ({"channel": "email"}, {"Sessions": "1", "Users": "1", "Orders": "1", "Revenue": "40.00",
                                "Conversion rate": "100.0%", "Avg. order value": "40.00"}),
        ({"device": "desktop"}, {"Sessions": "3", "Users": "2", "Orders": "1", "Revenue": "90.00",
                                 "Conversion rate": "33.3%", "Avg. order value": "90.00"}),
        ({"from": "2025-01-02", "to": "2025-01-03"},
         {"Sessions": "4", "Users": "3", "Orders": "1", "Revenue": "40.00", "Conversion rate": "25.0%",
          "Avg. order value": "40.00"}),
        ({"category": ["Home", "Books"], "channel": "email"},
         {"Sessions": "1", "Users": "1", "Orders": "1", "Revenue": "40.00", "Conversion rate": "100.0%",
          "Avg. order value": "40.00"}),
    ],
)
def test_query_params_set_the_filters(monkeypatch, tiny_warehouse, query, expected):
    app = run_app(monkeypatch, tiny_warehouse, query)

    assert_no_error(app)
    assert metrics(app) == expected


def test_query_params_fill_the_sidebar(monkeypatch, tiny_warehouse):
    app = run_app(monkeypatch, tiny_warehouse, {"from": "2025-01-02", "category": "Home", "channel": "email"})

    assert app.date_input(key="from").value == date(2025, 1, 2)
    assert app.multiselect(key="category").value == ["Home"]
    assert app.multiselect(key="channel").value == ["email"]
    assert app.multiselect(key="device").value == []


def test_changes_against_the_previous_period(monkeypatch, tiny_warehouse):
    # 01-02..01-03 against 12-31..01-01 (hand-computed in test_overview_engine.py).
    app = run_app(monkeypatch, tiny_warehouse, {"from": "2025-01-02", "to": "2025-01-03"})

    assert deltas(app) == {
        "Sessions": "+300.0%", "Users": "+200.0%", "Orders": "0.0%", "Revenue": "-55.6%",
        "Conversion rate": "-75.0%", "Avg. order value": "-55.6%",
    }


def test_invalid_query_params_fall_back_to_defaults(monkeypatch, tiny_warehouse):
    app = run_app(monkeypatch, tiny_warehouse,
                  {"from": "not-a-date", "to": "2031-13-45", "category": "Nope", "device": ["toaster"]})

    assert_no_error(app)
    assert metrics(app) == TINY_METRICS


def test_dates_outside_the_data_fall_back_to_defaults(monkeypatch, tiny_warehouse):
    app = run_app(monkeypatch, tiny_warehouse, {"from": "1999-01-01", "to": "2099-01-01"})

    assert_no_error(app)
    assert metrics(app) == TINY_METRICS


def test_reversed_dates_are_swapped_with_a_note(monkeypatch, tiny_warehouse):
    app = run_app(monkeypatch, tiny_warehouse, {"from": "2025-01-03", "to": "2025-01-02"})

    assert_no_error(app)
    assert metrics(app)["Sessions"] == "4"
    assert any("swapped" in caption.value for caption in app.sidebar.caption)


def test_sidebar_widgets_filter_the_page(monkeypatch, tiny_warehouse):
    app = run_app(monkeypatch, tiny_warehouse)

    app.multiselect(key="channel").select("email").run()
    assert metrics(app)["Sessions"] == "1"

    app.multiselect(key="channel").unselect("email").run()
    app.date_input(key="from").set_value(date(2025, 1, 2)).run()
    assert_no_error(app)
    assert metrics(app)["Sessions"] == "4"


def test_reset_puts_the_filters_back(monkeypatch, tiny_warehouse):
    app = run_app(monkeypatch, tiny_warehouse, {"category": "Home", "from": "2025-01-02"})
    assert metrics(app)["Sessions"] == "2"

    app.button(key="reset_filters").click().run()

    assert_no_error(app)
    assert metrics(app) == TINY_METRICS
    assert app.button(key="reset_filters").disabled


def test_filters_without_data_show_an_empty_state(monkeypatch, tiny_warehouse):
    # On 3 Jan only U3 (social) visited.
    app = run_app(monkeypatch, tiny_warehouse, {"from": "2025-01-03", "to": "2025-01-03", "channel": "email"})

    assert_no_error(app)
    assert not app.metric
    assert not app.get("plotly_chart")
    assert shown(app.info[0].value) == (
        "No sessions or orders between 3 Jan 2025 and 3 Jan 2025 for these filters — "
        "widen the dates or clear filters."
    )

    app.button(key="reset_filters_main").click().run()
    assert metrics(app) == TINY_METRICS


def test_currency_symbol_is_configurable(monkeypatch, tiny_warehouse):
    monkeypatch.setenv("SHOPLENS_WAREHOUSE", str(tiny_warehouse))
    monkeypatch.setenv("SHOPLENS_CURRENCY", "¥")
    app = AppTest.from_file(APP, default_timeout=30).run()

    assert metrics(app)["Revenue"] == "¥130.00"
    assert metrics(app)["Avg. order value"] == "¥65.00"


# --------------------------------------------------------------------------- navigation


def test_every_listed_page_runs(monkeypatch, tiny_warehouse):
    info = inspect_warehouse(tiny_warehouse)
    listed = [page for pages in available_pages(info).values() for page in pages]
    assert listed, "the tiny shop should support at least the Overview"
    for page in listed:
        app = run_app(monkeypatch, tiny_warehouse, page=page.script)
        assert_no_error(app)


def test_pages_are_listed_only_when_their_analysis_is_supported():
    def info(*supported: str) -> WarehouseInfo:
        from analytics.capabilities import ANALYSES, Capability

        capabilities = {name: Capability(name, name in supported, "") for name in ANALYSES}
        return WarehouseInfo(Path("w.duckdb"), WarehouseState.READY, "", capabilities=capabilities)

    assert available_pages(info()) == {}
    overview_only = available_pages(info("overview"))
    assert list(overview_only) == ["Management"]
    assert [page.title for page in overview_only["Management"]] == ["Overview"]
    # Explanations needs any one of the analyses whose models it explains: orders-only data has customers.
    customers = available_pages(info("overview", "customers"))
    assert [page.title for page in customers["Data science"]] == ["Explanations"]


def test_page_registry_is_consistent():
    for page in PAGES:
        assert page.section in SECTIONS
        assert (REPO_ROOT / page.script).is_file(), page.script
        assert page.icon.startswith(":material/")
    from analytics.capabilities import ANALYSES

    assert {analysis for page in PAGES for analysis in page.analysis.split("|")} <= set(ANALYSES)
    assert len({page.url_path for page in PAGES}) == len(PAGES)


def test_data_without_any_supported_analysis_explains_itself(monkeypatch, tmp_path):
    target = tmp_path / "empty.duckdb"
    build_warehouse(write_tiny_shop(tmp_path / "source", {"events": EVENTS.iloc[0:0]}), target)

    app = run_app(monkeypatch, target)

    assert_no_error(app)
    assert app.info[0].value == "The data in the warehouse does not support any page yet."
    assert any("Overview" in markdown.value for markdown in app.markdown)


# --------------------------------------------------------------------------- warehouse problems


def test_missing_warehouse_explains_how_to_build_one(monkeypatch, tmp_path):
    target = tmp_path / "missing.duckdb"
    app = run_app(monkeypatch, target)

    assert_no_error(app)
    assert not app.metric
    assert app.info[0].value == inspect_warehouse(target).message
    assert "make run" in app.info[0].value
    assert app.title[0].value == "ShopLens"


def test_outdated_warehouse_asks_for_a_rebuild(monkeypatch, tmp_path):
    target = tmp_path / "old.duckdb"
    with duckdb.connect(str(target)) as con:
        con.execute("create table events as select 1 as event_id")

    app = run_app(monkeypatch, target)

    assert_no_error(app)
    assert not app.metric
    assert app.info[0].value == inspect_warehouse(target).message
    assert "not built by ShopLens" in app.info[0].value and "make run" in app.info[0].value


def test_warehouse_from_another_schema_version_asks_for_a_rebuild(monkeypatch, tmp_path):
    target = tmp_path / "other-version.duckdb"
    build_warehouse(write_tiny_shop(tmp_path / "source"), target)
    with duckdb.connect(str(target)) as con:
        con.execute("update meta_warehouse set schema_version = 0")

    app = run_app(monkeypatch, target)

    assert_no_error(app)
    assert "schema version 0" in app.info[0].value and "rebuild" in app.info[0].value


def test_unreadable_warehouse_says_so(monkeypatch, tmp_path):
    target = tmp_path / "garbage.duckdb"
    target.write_bytes(b"this is not a database" * 100)

    app = run_app(monkeypatch, target)

    assert_no_error(app)
    assert "cannot be read" in app.info[0].value


def test_a_rebuild_is_picked_up_without_restarting(monkeypatch, tmp_path):
    target = tmp_path / "warehouse.duckdb"
    build_warehouse(write_tiny_shop(tmp_path / "first"), target)
    assert metrics(run_app(monkeypatch, target))["Sessions"] == "5"

    # Rebuild in place without U3's two sessions.
    tables = dict(TABLES, events=EVENTS[EVENTS["user_id"] != "U3"])
    build_warehouse(write_tiny_shop(tmp_path / "second", tables), target)

    app = run_app(monkeypatch, target)
    assert_no_error(app)
    assert metrics(app)["Sessions"] == "3"


# --------------------------------------------------------------------------- helpers and rules


def test_number_formats():
    assert [common.format_count(v) for v in (None, 0, 5, 9_999, 12_345, 999_999, 1_234_567)] == [
        "—", "0", "5", "9,999", "12.3k", "1M", "1.23M"]
    assert common.format_money(65, "") == "65.00"
    assert common.format_money(1234.5, "") == "1,234" or common.format_money(1234.5, "") == "1,235"
    assert common.format_money(402_123, "¥") == "¥402k"
    assert common.format_money(-12.5, "$") == "-$12.50"
    assert common.format_money(None) == "—"
    assert [common.format_ratio(v) for v in (None, 0.4, 0.0312, 1.0)] == ["—", "40.0%", "3.12%", "100.0%"]
    assert [common.format_change(v) for v in (None, 0, 0.123, -0.04)] == ["—", "0.0%", "+12.3%", "-4.0%"]
    assert common.format_period(date(2024, 12, 1), date(2024, 12, 30)) == "1–30 Dec 2024"
    assert common.format_period(date(2024, 11, 28), date(2024, 12, 3)) == "28 Nov – 3 Dec 2024"
    assert common.format_period(date(2024, 12, 30), date(2025, 1, 2)) == "30 Dec 2024 – 2 Jan 2025"
    assert common.format_period(date(2025, 1, 1), date(2025, 1, 1)) == "1 Jan 2025"
    assert common.humanize("organic_search") == "Organic search"


def test_csv_downloads_keep_chinese_titles_for_spreadsheets():
    import pandas as pd

    data = common.to_csv(pd.DataFrame({"title": ["陶瓷 马克杯 Mug"], "revenue": [20.0]}))

    assert data.startswith("\ufeff".encode("utf-8"))
    assert "陶瓷 马克杯 Mug,20.0" in data.decode("utf-8-sig")


def test_pages_describe_the_ui_without_queries():
    forbidden = [re.compile(r"select .* from", re.IGNORECASE), re.compile(r"import duckdb"), re.compile(r"\.groupby\(")]
    for source in (REPO_ROOT / "pages").glob("*.py"):
        text = source.read_text(encoding="utf-8")
        for pattern in forbidden:
            assert not pattern.search(text), f"{source.name} matches {pattern.pattern}"


def test_data_without_prices_hides_revenue_and_says_why(monkeypatch, tmp_path):
    # A click log: events with purchases but no orders, so no prices to add up.
    source = write_tiny_shop(tmp_path / "src", {"events": EVENTS, "products": TABLES["products"]})
    target = tmp_path / "w.duckdb"
    build_warehouse(source, target)
    assert not inspect_warehouse(target).supports("revenue")

    app = run_app(monkeypatch, target)

    assert_no_error(app)
    assert set(metrics(app)) == {"Sessions", "Users", "Orders", "Conversion rate"}
    assert any("no prices" in box.value for box in app.info)
    # Traffic and conversion only; no revenue chart or revenue ranking.
    assert len(app.get("plotly_chart")) == 2


def test_pages_the_data_cannot_feed_are_named_with_the_reason(monkeypatch, tmp_path):
    # Orders without any events (a CDNOW-like export): no funnels, no cart drop-off.
    events = EVENTS[EVENTS.event_type == "view"].head(1)
    source = write_tiny_shop(tmp_path / "src", {**TABLES, "events": events})
    target = tmp_path / "w.duckdb"
    build_warehouse(source, target)

    app = run_app(monkeypatch, target)

    assert_no_error(app)
    note = app.sidebar.expander[0]
    unavailable = [page.title for page, _ in unavailable_pages(inspect_warehouse(target))]
    assert {"Funnels", "Cart drop-off", "Explanations"} <= set(unavailable)
    assert note.label == f"Not available with this data ({len(unavailable)})"
    text = " ".join(caption.value for caption in note.caption)
    assert "**Funnels**: needs view, cart and purchase events" in text
    assert "**Cart drop-off**: needs cart and purchase events" in text
