"""The Forecasts page in-process (AppTest) on the sample warehouse, with a short horizon and fast models.

Runs other than the default are queued for the background worker by "Run forecast"; here
`tests.model_pages.settle` trains what the page queued, in this process, and runs the page again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.model_pages import open_page_with_models, settle
from tests.page_runner import assert_no_error

PAGE = "pages/forecasts.py"
QUICK = {"forecast_level": "Total", "forecast_horizon": "7 days", "forecast_folds": "2 folds", "forecast_arena": "Fast models"}


def run_page(monkeypatch, warehouse: Path, query: dict) -> AppTest:
    return open_page_with_models(monkeypatch, warehouse, PAGE, query, timeout_seconds=240)


def run_forecast(app: AppTest, warehouse: Path) -> AppTest:
    """Press "Run forecast": the run is queued, shown as pending, trained, and the page shows it."""
    app.button(key="forecast_run_forecast").click().run()
    assert_no_error(app)
    assert any(status.label == "Waiting to train this forecast…" for status in app.get("status")), "the queued run is shown as pending"
    return settle(app, warehouse)


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


@pytest.mark.slow
def test_run_shows_forecast_leaderboard_drivers_and_stock(monkeypatch, sample_warehouse):
    app = run_page(monkeypatch, sample_warehouse, QUICK)
    assert_no_error(app)
    assert app.title[0].value == "Forecasts"
    # Nothing is fitted until the manager presses Run.
    assert [info.proto.title for info in app.info] == ["Not run yet"]

    run_forecast(app, sample_warehouse)
    assert_no_error(app)
    shown = metrics(app)
    assert shown["Champion"] in {"Seasonal naive", "ETS (additive, fast)", "LightGBM (global)", "Ensemble (median)"}
    assert float(shown["Backtest MASE"]) >= 0
    assert shown["Next 7 days"].endswith("units")
    # Forecast, leaderboard, backtest and stock charts, then the global model's SHAP panel.
    assert len(app.get("plotly_chart")) >= 4
    assert app.selectbox(key="forecast_series").value == "Total"
    # What-if stock: no stock level, so no cover or risk yet.
    assert shown["Days of cover"] == "—" and float(shown["Reorder point"].replace(",", "")) > 0

    app.number_input(key="forecast_on_hand").set_value(1.0).run()
    assert_no_error(app)
    assert metrics(app)["Days of cover"] not in {"—"}
    assert any("chance of running out" in warning.value for warning in app.warning)

    # Prophet's components are fitted by the worker the first time someone asks for them.
    app.toggle(key="forecast_components").set_value(True).run()
    settle(app, sample_warehouse)
    assert_no_error(app)
    assert "download_forecast_components_chart" in {button.proto.id.split("-", 2)[-1] for button in
                                            app.get("download_button")}


def test_a_cached_run_is_shown_without_pressing_run_again(monkeypatch, sample_warehouse):
    app = run_page(monkeypatch, sample_warehouse, QUICK | {"forecast_horizon": "14 days", "forecast_level": "Channel"})
    run_forecast(app, sample_warehouse)
    assert_no_error(app)
    channels = app.selectbox(key="forecast_series").options
    assert "email" in channels
    # A new session asking the same question gets the stored run at once.
    again = run_page(monkeypatch, sample_warehouse, QUICK | {"forecast_horizon": "14 days", "forecast_level": "Channel"})
    assert_no_error(again)
    assert "Not run yet" not in [info.proto.title for info in again.info]
    assert metrics(again)["Next 14 days"] == metrics(app)["Next 14 days"]


def download_keys(app: AppTest) -> set[str]:
    return {button.proto.id.split("-", 2)[-1] for button in app.get("download_button")}


def test_history_shows_before_run_and_a_forecast_day_is_explained_after(monkeypatch, sample_warehouse):
    query = QUICK | {"forecast_horizon": "14 days"}
    app = run_page(monkeypatch, sample_warehouse, query)
    assert_no_error(app)
    # Before Run: the note and the level's daily history (no model fitted).
    assert [info.proto.title for info in app.info] == ["Not run yet"]
    assert "download_forecast_history_preview" in download_keys(app)
    assert len(app.get("plotly_chart")) == 1

    run_forecast(app, sample_warehouse)
    assert_no_error(app)
    # "Why this day?" defaults to the day with the highest LightGBM forecast and draws its waterfall.
    picker = app.selectbox(key="forecast_why_day")
    default_day = picker.value
    assert len(picker.options) == 14
    assert "download_forecast_why_day_chart" in download_keys(app)
    sentence = next(markdown.value for markdown in app.markdown if "mostly because of" in markdown.value)
    assert sentence.startswith("Total on ")
    # The default is the one the sentence is about; options are shown as "Thu 01 Jan 2026", values are ISO days.
    assert f"{pd.Timestamp(default_day):%a %d %b %Y}" in sentence
    first_day = pd.to_datetime(picker.options[0], format="%a %d %b %Y")
    picker.set_value(f"{first_day:%Y-%m-%d}").run()
    assert_no_error(app)
    assert app.selectbox(key="forecast_why_day").value == f"{first_day:%Y-%m-%d}"
    assert any(f"{first_day:%a %d %b %Y}" in markdown.value for markdown in app.markdown)
    # The explanation panel's segment picker opens on the series the page shows, not the first one.
    shown_series = app.selectbox(key="forecast_series").value
    segment = next(box for box in app.selectbox if box.key and box.key.startswith("forecast_segment_value"))
    assert app.selectbox(key="forecast_segment_by").value == "series" and segment.value == shown_series
    # A shared link to a day outside this horizon falls back to the default day instead of failing.
    again = run_page(monkeypatch, sample_warehouse, query | {"forecast_why_day": "1999-01-01"})
    assert_no_error(again)
    assert again.selectbox(key="forecast_why_day").value == default_day


def stored_run(warehouse: Path):
    """The artifact of the forecast run the worker finished last (the one the page just showed)."""
    from analytics.models.loading import current_data_version
    from analytics.models.store import ModelStore

    store = ModelStore(warehouse)
    version = current_data_version(warehouse)
    ready = [record for record in store.records(version) if record.name == "forecast" and record.status == "ready"]
    latest = max(ready, key=lambda record: record.finished_at or "")
    return store.read_artifact(version, latest.job_id)


def shown_text(app: AppTest) -> str:
    """Every caption, warning and Markdown text of the page, without Markdown escapes and zero-width spaces."""
    parts = [element.value for element in [*app.caption, *app.warning, *app.markdown]]
    return "\n".join(parts).replace("\\", "").replace("\u200b", "")


def test_reason_coverage_warnings_one_mase_and_the_currency(monkeypatch, sample_warehouse):
    query = QUICK | {"forecast_level": "Category", "forecast_horizon": "14 days", "forecast_measure": "Revenue"}
    app = run_page(monkeypatch, sample_warehouse, query)
    monkeypatch.setenv("SHOPLENS_CURRENCY", "€")
    run_forecast(app, sample_warehouse)
    assert_no_error(app)
    artifact = stored_run(sample_warehouse)
    arena = artifact.run.arena
    assert arena.settings.horizon == 14 and artifact.run.series.measure == "revenue"
    board = arena.leaderboard
    lightgbm = board[board["model"] == "lightgbm_global"]
    warnings_seen = 0
    for unique_id in app.selectbox(key="forecast_series").options:
        app.selectbox(key="forecast_series").set_value(unique_id).run()
        assert_no_error(app)
        champion = arena.champions.set_index("unique_id").loc[unique_id]
        shown = metrics(app)
        # One MASE: the tile is the champion's leaderboard row, and the panel's is the run's mean.
        row = board[(board["unique_id"] == unique_id) & (board["model"] == champion["model"])].iloc[0]
        assert shown["Backtest MASE"] == f"{row['mase']:.2f}"
        assert shown["MASE"] == f"{lightgbm['mase'].mean():.3f}"
        assert shown["95% interval coverage"].endswith("%")
        text = shown_text(app)
        # The champion's reason and every model's coverage warning for this series, as plain text.
        assert champion["reason"] in text
        for warning in board.loc[board["unique_id"] == unique_id, "coverage_warning"].dropna():
            assert warning in text
            warnings_seen += 1
        champion_warning = [item.value for item in app.warning if "intervals covered" in item.value]
        assert len(champion_warning) == (1 if isinstance(champion["coverage_warning"], str) else 0)
        # Revenue: money with the currency symbol, in the tile and on the forecast chart's axis.
        assert shown["Next 14 days"].startswith("€")
        forecast_chart = next(chart for chart in app.get("plotly_chart")
                              if chart.proto.id.split("-", 2)[-1] == "chart_forecast")
        assert json.loads(forecast_chart.proto.spec)["layout"]["yaxis"]["tickprefix"] == "€"
    # Over 2 folds of 14 days (28 days) some series' intervals are more than 5 points off nominal.
    assert warnings_seen > 0
    # Every forecast day can be explained.
    assert len(app.selectbox(key="forecast_why_day").options) == 14


def test_one_product_is_picked_by_title_search(monkeypatch, sample_warehouse):
    from analytics.lookup import find_products
    from analytics.warehouse import connect

    with connect(sample_warehouse) as con:
        product = find_products(con, "", (), 1).iloc[0]
    words = str(product["title"])
    app = run_page(monkeypatch, sample_warehouse, QUICK | {"forecast_level": "One product"})
    assert_no_error(app)
    app.text_input(key="forecast_product_search").set_value(words).run()
    assert_no_error(app)
    picker = app.selectbox(key="forecast_product")
    # Options are shown by title (an id only where titles repeat).
    assert any(str(product["title"]) in option for option in picker.options)
    picker.set_value(product["product_id"]).run()
    assert_no_error(app)
    run_forecast(app, sample_warehouse)
    assert_no_error(app)
    run = stored_run(sample_warehouse).run
    assert list(run.arena.champions["unique_id"]) == [product["product_id"]]
    assert app.query_params.get("forecast_product") in (product["product_id"], [product["product_id"]])
