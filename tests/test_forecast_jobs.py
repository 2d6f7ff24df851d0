"""The background `forecast` and `forecast_global` jobs carry what the Forecasts page shows.

The page loads a run from the model store (it never trains): the artifact must carry the calibrated
intervals, the coverage warnings, the champion's reason, every forecast day's explanation and the
panel of the run's own global model, whose card MASE is the run's leaderboard figure.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from analytics.filters import Filters
from analytics.forecasting.models import ENSEMBLE, LIGHTGBM, SEASONAL_NAIVE
from analytics.forecasting.run import ForecastRequest
from analytics.models.jobs import (
    FORECAST_FOLDS,
    ForecastArtifact,
    forecast_global_params,
    run_forecast,
)
from analytics.models.registry import JobContext

HORIZON = 7


def context(warehouse: Path, connection, steps: list) -> JobContext:
    def no_artifact(name, params):
        raise AssertionError(f"the forecast job needs no other job ({name})")

    return JobContext(connection, warehouse, "test-version", False,
                      lambda done, total, step: steps.append((done, total, step)), no_artifact)


@pytest.fixture(scope="module")
def artifact(sample_warehouse: Path) -> ForecastArtifact:
    request = ForecastRequest(level="category", measure="units", horizon=HORIZON, folds=2, country="US",
                              models=(SEASONAL_NAIVE, LIGHTGBM), planned_promotions=(),
                              filters=Filters(pd.Timestamp("2025-01-01").date(), pd.Timestamp("2025-12-31").date()))
    steps: list = []
    with duckdb.connect(str(sample_warehouse), read_only=True) as connection:
        result = run_forecast(context(sample_warehouse, connection, steps), {"request": request})
    assert steps, "the job reports progress"
    return result


def test_the_run_carries_intervals_warnings_reasons_and_one_mase(artifact):
    arena = artifact.run.arena
    champions, board = arena.champions, arena.leaderboard
    for column in ("mase", "msis", "coverage_80", "coverage_95", "coverage_warning", "reason"):
        assert column in champions.columns
    assert champions["reason"].str.len().gt(0).all()
    # The champion's MASE is its leaderboard row's, not another computation.
    merged = champions.merge(board, on=["unique_id", "model"], suffixes=("", "_board"))
    assert len(merged) == len(champions)
    np.testing.assert_allclose(merged["mase"], merged["mase_board"])
    # A warning is a sentence in the page's words, and only where coverage fell short.
    warned = board.dropna(subset=["coverage_warning"])
    assert all("intervals covered" in text and "in the backtest" in text for text in warned["coverage_warning"])
    forecast = arena.forecast
    assert {"yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"} <= set(forecast.columns)
    assert (forecast["yhat_lower_95"] <= forecast["yhat_lower_80"]).all()
    assert (forecast["yhat_upper_80"] <= forecast["yhat_upper_95"]).all()
    assert set(champions["model"]) <= {SEASONAL_NAIVE, LIGHTGBM, ENSEMBLE}


def test_every_forecast_day_of_every_series_is_explained(artifact):
    explained = artifact.day_explanations
    assert set(explained) == set(artifact.run.arena.champions["unique_id"])
    for days in explained.values():
        assert len(days.days) == HORIZON


def test_the_global_panel_is_the_runs_own_model_with_the_leaderboards_mase(artifact):
    report = artifact.global_report
    assert report is not None
    board = artifact.run.arena.leaderboard
    lightgbm = board[board["model"] == LIGHTGBM]
    # One definition: the card's MASE is the mean over the series of the leaderboard's lightgbm_global MASE.
    assert report.explanation.metrics["mase"] == pytest.approx(float(lightgbm["mase"].mean()))
    assert report.trained.name == "forecast_global"


def test_forecast_global_params_carry_the_folds():
    assert forecast_global_params()["folds"] == FORECAST_FOLDS
    assert forecast_global_params("total", "revenue", 14, None, 2) == {
        "level": "total", "measure": "revenue", "horizon": 14, "country": None, "folds": 2}
