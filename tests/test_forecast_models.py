"""The global LightGBM model (no leakage, TrainedModel), Prophet (non-negative, components) and the charts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.charts import forecasts as charts
from analytics.explain.trained import TrainedModel
from analytics.forecasting.drivers import holiday_frame
from analytics.forecasting.global_model import (
    FEATURES,
    GlobalForecaster,
    GlobalInput,
    feature_rows,
    series_calendar,
    train_global_model,
)
from analytics.forecasting.models import PROPHET, ForecastSettings, SeriesInput, forecast_local
from analytics.forecasting.run import forecast_series, prophet_components, series_view
from analytics.forecasting.series import SeriesSet

SETTINGS = ForecastSettings(horizon=7, folds=2, country="US", models=("seasonal_naive", "lightgbm_global"))


def weekly_frame(ids=("A", "B"), days=120, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2025-01-01", periods=days)
    parts = []
    for number, unique_id in enumerate(ids):
        mean = (number + 1) * 5 * np.array([1, 1, 1, 1, 2, 3, 0.5])[ds.dayofweek]
        parts.append(pd.DataFrame({"unique_id": unique_id, "ds": ds, "y": rng.poisson(mean).astype(float)}))
    return pd.concat(parts, ignore_index=True)


def test_features_use_nothing_after_the_origin():
    y = np.arange(60, dtype=float)
    calendar = series_calendar(pd.date_range("2025-01-01", periods=67), None, SETTINGS)
    before, _, _, _ = feature_rows(y, calendar, np.array([40]), SETTINGS, 7)
    changed = y.copy()
    changed[41:] = 1e6  # what happens after the origin must not move a single feature
    after, target, _, index = feature_rows(changed, calendar, np.array([40]), SETTINGS, 7)
    pd.testing.assert_frame_equal(before, after)
    assert list(index) == list(range(41, 48)) and (target > 1000).all()
    # Same weekday last week for step 1 (day 41) is day 34. The scale is the normal level: the mean of
    # days 13..40 (sum 742) without day 19, Martin Luther King Day 2025-01-20 -> 723 / 27.
    assert before["same_season_last_ratio"].iloc[0] == pytest.approx(34 / (723 / 27))
    # The plain 28-day mean (26.5) against that level, and one holiday-free last week.
    assert before["level_mean_ratio"].iloc[0] == pytest.approx(26.5 / (723 / 27))
    assert before["recent_event_share"].iloc[0] == 0


def test_global_forecaster_learns_a_weekly_shape_and_stays_non_negative():
    frame = weekly_frame()
    forecaster = GlobalForecaster(SETTINGS, n_estimators=60).fit(GlobalInput(frame, pd.DataFrame()))
    forecast = forecaster.predict()
    assert set(forecast["unique_id"]) == {"A", "B"} and len(forecast) == 14
    assert (forecast[["yhat", "yhat_lower_95", "yhat_lower_80"]].to_numpy() >= 0).all()
    a = forecast[forecast["unique_id"] == "A"].set_index("ds")["yhat"]
    # Saturdays (x3) should be forecast above Sundays (x0.5).
    assert a[a.index.dayofweek == 5].mean() > a[a.index.dayofweek == 6].mean()


def test_train_global_model_returns_a_regression_trained_model(sample_con):
    trained = train_global_model(sample_con, horizon=14)
    assert isinstance(trained, TrainedModel)
    assert trained.task == "regression" and trained.name == "forecast_global"
    assert list(trained.explain_rows.columns) == list(FEATURES) == list(trained.feature_labels)
    # 8 categories x the 14 held-out days, explained by a model that never saw them.
    assert len(trained.explain_rows) == trained.validation_rows == 8 * 14
    assert trained.validation_start > trained.training_end
    assert (trained.validation_end - trained.validation_start).days == 13
    assert set(trained.segments.columns) == {"series", "day", "day_of_week"}
    assert trained.segments.index.equals(trained.explain_rows.index)
    assert np.isfinite(trained.metrics["mase"]) and trained.metrics["wape"] >= 0
    assert len(trained.model.predict(trained.explain_rows)) == len(trained.explain_rows)


def test_prophet_is_non_negative_and_its_components_are_drawn():
    ds = pd.date_range("2025-01-01", periods=70)
    y = np.where(ds.dayofweek == 6, 0.0, 3.0) + (ds.dayofweek == 5) * 6
    settings = ForecastSettings(horizon=14, folds=1, country="US", models=(PROPHET,))
    series = SeriesInput("A", ds, y, pd.date_range(ds[-1], periods=15)[1:],
                         holidays=holiday_frame("US", ds[0].date(), ds[-1].date() + pd.Timedelta(days=14)))
    frame = forecast_local(PROPHET, series, settings)
    assert (frame.drop(columns="ds").to_numpy() >= 0).all()
    saturday = frame.loc[frame["ds"].dt.dayofweek == 5, "yhat"].mean()
    sunday = frame.loc[frame["ds"].dt.dayofweek == 6, "yhat"].mean()
    assert saturday > 5 > 1 > sunday  # the weekly shape 9 / 0 survives the log1p round trip

    run = forecast_series(SeriesSet(pd.DataFrame({"unique_id": "A", "ds": ds, "y": y}), "D", 7, "csv", "units", {}),
                          horizon=7, folds=2, country="US", models=("seasonal_naive", "ets"), n_jobs=1)
    components = prophet_components(run, "A")
    assert {"trend", "weekly", "holidays"} <= set(components.columns)
    assert components["is_forecast"].sum() == 7
    figure = charts.components_figure(components)
    weekly = next(trace for trace in figure.data if trace.type == "bar")
    assert list(weekly.x) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def test_figures_plot_exactly_the_run_numbers():
    frame = weekly_frame(ids=("A",), days=60)
    run = forecast_series(SeriesSet(frame, "D", 7, "csv", "units", {}), horizon=7, folds=2, country=None,
                          models=("seasonal_naive", "ets"), n_jobs=1)
    view = series_view(run, "A")
    figure = charts.forecast_figure(view.history, view.forecast)
    forecast_trace = next(trace for trace in figure.data if str(trace.name).startswith("Forecast"))
    assert list(forecast_trace.y) == pytest.approx(list(view.forecast["yhat"]))
    board = charts.leaderboard_figure(view.leaderboard)
    assert sorted(board.data[0].x) == pytest.approx(sorted(view.leaderboard["mase"].dropna()))
    champion_bar = list(board.data[0].marker.color).index(charts.CHAMPION_COLOR)
    assert board.data[0].y[champion_bar].startswith(charts.MODEL_TITLES[view.champion["model"]][:4])
    stock = charts.stock_figure(view.forecast, 3, 50.0, 20.0)
    assert list(stock.data[0].y) == pytest.approx(list(view.forecast["yhat"].cumsum()))
    assert len(charts.backtest_figure(view.backtest, view.history, view.champion["model"]).data) == 2 * 2 + 1 + 2


def test_holidays_seen_only_at_the_start_of_the_history_are_left_out():
    from analytics.forecasting.models import learnable_holidays

    holidays = pd.DataFrame({"holiday": ["Christmas run-up", "Christmas run-up", "Black Friday", "Future"],
                             "ds": pd.to_datetime(["2010-12-02", "2011-12-02", "2011-11-25", "2012-01-01"])})
    ds = pd.date_range("2010-12-01", "2011-11-30")
    kept = learnable_holidays(holidays, ds)
    # The run-up's only day in the history is its second day: no lead-in to tell it from the starting
    # level. Black Friday has months before it and keeps every date; a holiday never seen is dropped.
    assert list(kept["holiday"]) == ["Black Friday"]
    assert list(learnable_holidays(holidays, ds, lead_in_days=0)["holiday"]) == [
        "Christmas run-up", "Christmas run-up", "Black Friday"]


def test_the_global_model_card_shows_the_leaderboard_mase(sample_con):
    # One MASE definition: the card of the global model is the Forecasts leaderboard's lightgbm_global,
    # averaged over the series (each series' MASE the mean over folds, each fold scaled on its training part).
    from analytics.forecasting.models import LIGHTGBM, SEASONAL_NAIVE
    from analytics.forecasting.run import ForecastRequest, run_forecast

    trained = train_global_model(sample_con, horizon=14, folds=2)
    run = run_forecast(sample_con, ForecastRequest(level="category", horizon=14, folds=2,
                                                   models=(SEASONAL_NAIVE, LIGHTGBM)), n_jobs=1)
    board = run.arena.leaderboard[run.arena.leaderboard["model"] == LIGHTGBM]
    assert len(board) == 8
    assert trained.metrics["mase"] == pytest.approx(board["mase"].mean())
    assert trained.metrics["wape"] == pytest.approx(board["wape"].mean())
    assert trained.metrics["coverage_80"] == pytest.approx(np.average(board["coverage_80"], weights=board["days"]))
