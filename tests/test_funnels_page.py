"""The Funnels page in-process (AppTest) on the tiny warehouse, and its figures against the engine.

Tiny-shop journeys are in tests/test_funnel_engine.py: over Jan 1-3 three users view, two of them cart
and buy within an hour.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.charts import funnels as charts
from analytics.filters import Filters
from analytics.funnels import FunnelQuery, compare_periods, parse_steps, run_funnel

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = str(REPO_ROOT / "app.py")
PAGE = "pages/funnels.py"


def open_page(monkeypatch: pytest.MonkeyPatch, warehouse: Path, query: dict[str, str] | None = None) -> AppTest:
    monkeypatch.setenv("SHOPLENS_WAREHOUSE", str(warehouse))
    app = AppTest.from_file(APP, default_timeout=60)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    # Open the page directly, as a deep link would, so its own URL parameters are read.
    app.switch_page(PAGE).run()
    assert not app.exception, [exception.value for exception in app.exception]
    assert not app.error, [error.value for error in app.error]
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def test_default_funnel_counts_users(monkeypatch, tiny_warehouse) -> None:
    app = open_page(monkeypatch, tiny_warehouse)
    assert app.title[0].value == "Funnels"
    values = metrics(app)
    assert values["Entered (users)"] == "3"
    assert values["Completed"] == "2"
    assert values["Conversion"] == "66.7%"
    assert values["Median time to convert"] == "2.5 min"  # 120 s and 180 s
    # Funnel, trend and time to convert, each with its CSV.
    assert len(app.get("plotly_chart")) == 3
    assert len(app.get("download_button")) == 3


def test_the_url_sets_the_funnel(monkeypatch, tiny_warehouse) -> None:
    app = open_page(monkeypatch, tiny_warehouse,
                    {"funnel_steps": "2", "funnel_step1": "view", "funnel_step2": "purchase", "funnel_mode": "Strict", "funnel_count": "Sessions"})
    values = metrics(app)
    # Five sessions view; a cart comes between view and purchase in both buying sessions.
    assert values["Entered (sessions)"] == "5"
    assert values["Completed"] == "0"


def test_breakdown_adds_a_chart(monkeypatch, tiny_warehouse) -> None:
    app = open_page(monkeypatch, tiny_warehouse, {"funnel_by": "Device"})
    assert len(app.get("plotly_chart")) == 4
    assert len(app.get("download_button")) == 4


def test_comparison_is_drawn_when_asked(monkeypatch, tiny_warehouse) -> None:
    app = open_page(monkeypatch, tiny_warehouse, {"from": "2025-01-02", "to": "2025-01-03"})
    assert len(app.get("plotly_chart")) == 3
    app.toggle(key="funnel_compare").set_value(True).run()
    assert not app.exception
    assert len(app.get("plotly_chart")) == 4
    assert len(app.get("download_button")) == 4


def test_dropped_users_download_on_request(monkeypatch, tiny_warehouse) -> None:
    app = open_page(monkeypatch, tiny_warehouse)
    assert len(app.get("download_button")) == 3
    app.selectbox(key="funnel_dropped_before").set_value("cart").run()
    assert not app.exception
    buttons = app.get("download_button")
    assert len(buttons) == 4
    assert "1 user (CSV)" in [button.proto.label for button in buttons]  # U3 viewed and never carted


def test_changing_a_step_recomputes(monkeypatch, tiny_warehouse) -> None:
    app = open_page(monkeypatch, tiny_warehouse)
    app.selectbox(key="funnel_step1").set_value("search").run()
    # search -> cart -> purchase: only U2 searched (12:00), then carted (12:02) and bought (12:04).
    assert metrics(app)["Entered (users)"] == "1"
    assert metrics(app)["Completed"] == "1"


def test_an_empty_period_explains_itself(monkeypatch, tiny_warehouse) -> None:
    app = open_page(monkeypatch, tiny_warehouse, {"funnel_steps": "2", "funnel_step1": "purchase", "funnel_step2": "view",
                                                  "from": "2025-01-03", "to": "2025-01-03"})
    assert app.info and "Nobody did “purchase”" in app.info[0].value


def test_figures_plot_the_engine_numbers(tiny_con) -> None:
    result = run_funnel(tiny_con, FunnelQuery(parse_steps("view,cart,purchase"), timedelta(hours=1),
                                              breakdown="device"), Filters(date(2025, 1, 1), date(2025, 1, 3)))
    funnel = charts.funnel_figure(result.steps)
    assert list(funnel.data[0].x) == [3, 2, 2]
    assert list(funnel.data[0].y) == ["view", "cart", "purchase"]
    by_device = charts.breakdown_figure(result.breakdown)
    assert [trace.name for trace in by_device.data] == ["desktop", "mobile"]
    # Horizontal bars for the steps after the first (step 1 is 100% for every value; its count is in the labels).
    assert list(by_device.data[0].y) == ["cart", "purchase"]
    assert list(by_device.data[0].x) == pytest.approx([0.5, 0.5])
    trend = charts.trend_figure(result.trend)
    assert list(trend.data[0].y) == [1.0, 0.5, 0.0]
    timing = charts.time_to_convert_figure(result.time_to_convert, 150.0, 174.0)
    assert sum(timing.data[0].y) == 2
    assert [shape.x0 for shape in timing.layout.shapes] == [2.5, 2.9]
    assert charts.funnel_figure(result.steps.assign(users=0)).layout.annotations[0].text == charts.NOBODY
    comparison = compare_periods(tiny_con, FunnelQuery(parse_steps("view,cart,purchase"), timedelta(hours=1)),
                                 Filters(date(2025, 1, 2), date(2025, 1, 3)))
    bars = charts.comparison_figure(comparison)
    assert [trace.name for trace in bars.data] == ["Previous period", "This period"]
    assert list(bars.data[1].y) == pytest.approx([1, 1 / 3, 1 / 3])
    below = comparison["conversion"] - comparison["conversion_low"]
    assert list(bars.data[1].error_y.arrayminus) == pytest.approx(list(below))


def test_an_exclusion_from_the_url(monkeypatch, tiny_warehouse) -> None:
    app = open_page(monkeypatch, tiny_warehouse, {"funnel_steps": "2", "funnel_step1": "view", "funnel_step2": "purchase",
                                                  "funnel_exclude": "cart", "funnel_exclude_category": "Books",
                                                  "funnel_exclude_from": "1", "funnel_exclude_to": "2"})
    # U2 carted a book between viewing and buying; U1 (a phone) still converts.
    assert metrics(app)["Completed"] == "1"
    app.selectbox(key="funnel_exclude_category").set_value("Any category").run()
    assert metrics(app)["Completed"] == "0"
    app.selectbox(key="funnel_exclude").set_value("Nothing").run()
    assert metrics(app)["Completed"] == "2"


def test_counting_conversions(monkeypatch, tiny_warehouse) -> None:
    app = open_page(monkeypatch, tiny_warehouse, {"funnel_count": "Conversions", "funnel_window": "30m"})
    values = metrics(app)
    # Five attempts (U1 two, U2 one, U3 two), two of them converted.
    assert values["Entered (attempts)"] == "5"
    assert values["Completed"] == "2"
    assert values["Conversion"] == "40.0%"


def test_an_hourly_trend_on_a_short_period_and_a_daily_one_on_a_long_period(monkeypatch, sample_warehouse) -> None:
    week = open_page(monkeypatch, sample_warehouse, {"funnel_period": "Hour", "from": "2025-12-01",
                                                     "to": "2025-12-07"})
    # open_page fails on any exception or error box.
    assert not any("hourly trend needs" in caption.value for caption in week.caption)

    month = open_page(monkeypatch, sample_warehouse, {"funnel_period": "Hour", "from": "2025-12-01",
                                                      "to": "2025-12-31"})
    assert any("hourly trend needs a period of at most 14 days, and this one has 31" in caption.value
               for caption in month.caption)


def test_downloading_users_is_written_to_the_audit_log(monkeypatch, tmp_path) -> None:
    import shutil

    from analytics import audit
    from analytics.warehouse import build_warehouse
    from tests.tiny_shop import write_tiny_shop

    warehouse = tmp_path / "warehouse.duckdb"
    build_warehouse(write_tiny_shop(tmp_path / "source"), warehouse)
    app = open_page(monkeypatch, warehouse)
    app.selectbox(key="funnel_dropped_before").set_value("cart").run()
    button = next(button for button in app.get("download_button") if button.proto.label == "1 user (CSV)")
    button.click().run()

    (entry,) = audit.read(warehouse=warehouse, event="export").to_dict("records")
    # Open access: the local admin exported U3, who viewed and never carted.
    assert entry["details"] == {"what": "users who dropped before step 2 (cart)", "file": "dropped-before-step-2.csv",
                                "rows": 1}
    assert entry["user"]
    shutil.rmtree(tmp_path / "source")


def test_a_saved_funnel_reopens_with_all_its_settings(monkeypatch, tmp_path) -> None:
    from analytics.saved_views import list_views
    from analytics.warehouse import build_warehouse
    from tests.tiny_shop import write_tiny_shop

    warehouse = tmp_path / "warehouse.duckdb"
    build_warehouse(write_tiny_shop(tmp_path / "source"), warehouse)
    app = open_page(monkeypatch, warehouse, {"funnel_by": "Device", "funnel_window": "30m"})
    app.text_input(key="saved_views:funnels:name").set_value("Mobile checkout").run()
    app.button(key="saved_views:funnels:save").click().run()
    (view,) = list_views(warehouse, "funnels")
    assert view.name == "Mobile checkout"
    assert (view.parameters["funnel_by"], view.parameters["funnel_window"], view.parameters["funnel_steps"]) == (
        "Device", "30m", 3)

    # Change the funnel, then open the saved one: every setting comes back, defaults included.
    app.selectbox(key="funnel_by").set_value("Channel").run()
    app.selectbox(key="funnel_window").set_value("1d").run()
    app.selectbox(key="saved_views:funnels:open").set_value("Mobile checkout").run()
    assert app.selectbox(key="funnel_by").value == "Device"
    assert app.selectbox(key="funnel_window").value == "30m"
    assert not app.exception
