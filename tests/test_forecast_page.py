"""The Forecasts page in-process (AppTest) on the sample warehouse, with a short horizon and fast models.

Runs other than the default are queued for the background worker by "Run forecast"; here
`tests.model_pages.settle` trains what the page queued, in this process, and runs the page again.
"""

from __future__ import annotations

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
    # A shared link to a day outside this horizon falls back to the default day instead of failing.
    again = run_page(monkeypatch, sample_warehouse, query | {"forecast_why_day": "1999-01-01"})
    assert_no_error(again)
    assert again.selectbox(key="forecast_why_day").value == default_day
