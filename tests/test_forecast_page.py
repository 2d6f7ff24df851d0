"""The Forecasts page in-process (AppTest) on the sample warehouse, with a short horizon and fast models."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = str(REPO_ROOT / "app.py")
PAGE = "pages/forecasts.py"
QUICK = {"level": "Total", "horizon": "7 days", "folds": "2 folds", "arena": "Fast models"}


def open_page(monkeypatch, warehouse: Path, query: dict) -> AppTest:
    monkeypatch.setenv("SHOPLENS_WAREHOUSE", str(warehouse))
    monkeypatch.delenv("SHOPLENS_CURRENCY", raising=False)
    app = AppTest.from_file(APP, default_timeout=240)
    for key, value in query.items():
        app.query_params[key] = value
    app.switch_page(PAGE).run()
    return app


def assert_no_error(app: AppTest) -> None:
    assert not app.exception, [exception.value for exception in app.exception]
    assert not app.error, [error.value for error in app.error]


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


@pytest.mark.slow
def test_run_shows_forecast_leaderboard_drivers_and_stock(monkeypatch, sample_warehouse):
    app = open_page(monkeypatch, sample_warehouse, QUICK)
    assert_no_error(app)
    assert app.title[0].value == "Forecasts"
    # Nothing is fitted until the manager presses Run.
    assert [info.proto.title for info in app.info] == ["Not run yet"]

    app.button(key="run_forecast").click().run()
    assert_no_error(app)
    shown = metrics(app)
    assert shown["Champion"] in {"Seasonal naive", "ETS (additive, fast)", "LightGBM (global)", "Ensemble (median)"}
    assert float(shown["Backtest MASE"]) >= 0
    assert shown["Next 7 days"].endswith("units")
    # Forecast, leaderboard, backtest and stock charts, then the global model's SHAP panel.
    assert len(app.get("plotly_chart")) >= 4
    assert app.selectbox(key="series").value == "Total"
    # What-if stock: no stock level, so no cover or risk yet.
    assert shown["Days of cover"] == "—" and float(shown["Reorder point"].replace(",", "")) > 0

    app.number_input(key="on_hand").set_value(1.0).run()
    assert_no_error(app)
    assert metrics(app)["Days of cover"] not in {"—"}
    assert any("chance of running out" in warning.value for warning in app.warning)

    app.toggle(key="components").set_value(True).run()
    assert_no_error(app)
    assert "download_components_chart" in {button.proto.id.split("-", 2)[-1] for button in
                                            app.get("download_button")}


def test_a_cached_run_is_shown_without_pressing_run_again(monkeypatch, sample_warehouse):
    app = open_page(monkeypatch, sample_warehouse, QUICK | {"horizon": "14 days", "level": "Channel"})
    app.button(key="run_forecast").click().run()
    assert_no_error(app)
    channels = app.selectbox(key="series").options
    assert "email" in channels
    # A new session asking the same question gets the stored run at once.
    again = open_page(monkeypatch, sample_warehouse, QUICK | {"horizon": "14 days", "level": "Channel"})
    assert_no_error(again)
    assert "Not run yet" not in [info.proto.title for info in again.info]
    assert metrics(again)["Next 14 days"] == metrics(app)["Next 14 days"]
