"""'Why is next Saturday high?': SHAP of the global model's forecast days, and the history shown before Run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.charts import forecasts as charts
from analytics.errors import ShopLensError
from analytics.forecasting.backtest import run_arena
from analytics.forecasting.day_explanation import (
    explain_forecast_day,
    explain_forecast_days,
    horizon_feature_rows,
    top_drivers_sentence,
)
from analytics.forecasting.global_model import FEATURES, GlobalForecaster, GlobalInput, feature_arrays, series_calendar
from analytics.forecasting.models import LIGHTGBM, ForecastSettings
from analytics.forecasting.series import history_preview, load_series

HORIZON = 14
HISTORY_DAYS = 150  # ends 30 May 2025: no festival peak or holiday in its last 28 days
# No holiday calendar (and no festival peak near the data end): the scale (normal level) is then the plain
# mean of the last 28 days, checkable by hand.
SETTINGS = ForecastSettings(horizon=HORIZON, folds=1, country=None, models=("seasonal_naive", LIGHTGBM))
WEEKLY_SHAPE = np.array([1, 1, 1, 1, 2, 3, 0.5])  # Friday x2, Saturday x3, Sunday x0.5


def long_frame(days: int = HISTORY_DAYS + HORIZON, seed: int = 0) -> pd.DataFrame:
    """Two weekly-shaped Poisson series from 2025-01-01; the first HISTORY_DAYS are the history."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2025-01-01", periods=days)
    parts = []
    for number, unique_id in enumerate(("A", "B")):
        mean = (number + 1) * 6 * WEEKLY_SHAPE[ds.dayofweek]
        parts.append(pd.DataFrame({"unique_id": unique_id, "ds": ds, "y": rng.poisson(mean).astype(float)}))
    return pd.concat(parts, ignore_index=True)


FRAME = long_frame()
HISTORY = FRAME[FRAME["ds"] < pd.Timestamp("2025-01-01") + pd.Timedelta(days=HISTORY_DAYS)].reset_index(drop=True)
DATA_END = HISTORY["ds"].max()
# A planned promotion on the 3rd and 4th horizon days for series A only (known ahead).
PROMOTION_DAYS = pd.date_range(DATA_END + pd.Timedelta(days=3), periods=2)
ALL_DAYS = pd.date_range(HISTORY["ds"].min(), DATA_END + pd.Timedelta(days=HORIZON))
PROMOTIONS = pd.DataFrame({"unique_id": "A", "ds": ALL_DAYS,
                           "promotion_discount_rate": np.where(ALL_DAYS.isin(PROMOTION_DAYS), 0.3, 0.0)})


@pytest.fixture(scope="module")
def forecaster() -> GlobalForecaster:
    return GlobalForecaster(SETTINGS, n_estimators=40, max_training_rows=4_000).fit(GlobalInput(HISTORY, PROMOTIONS))


@pytest.fixture(scope="module")
def days_a(forecaster):
    return explain_forecast_days(forecaster, "A", unit="units")


def test_base_plus_shap_is_the_forecast_for_every_day(forecaster, days_a):
    forecast = forecaster.predict().query("unique_id == 'A'").set_index("ds")["yhat"]
    assert len(days_a.days) == HORIZON and days_a.days[0] == DATA_END + pd.Timedelta(days=1)
    for day in days_a.days:
        row = explain_forecast_day(days_a, day)
        # The waterfall ends where the model's own forecast (predict(), a separate code path) is.
        assert row.base_value + row.contributions["shap_value"].sum() == pytest.approx(row.raw_output, abs=1e-9)
        assert row.raw_output == pytest.approx(forecast[day], rel=1e-9)
    assert days_a.explanation.is_additive
    # The scale (normal level) is the mean of the last 28 history days: no holidays, no promotions in history.
    a = HISTORY[HISTORY["unique_id"] == "A"]["y"].to_numpy()
    assert days_a.scale == pytest.approx(a[-28:].mean())


def test_highest_day_is_the_largest_forecast_and_is_the_default_to_explain(days_a):
    forecast = days_a.forecast.set_index("ds")["prediction"]
    assert forecast[days_a.highest_day] == forecast.max()


def test_feature_rows_use_no_information_after_the_data_end(forecaster):
    rows, scale = horizon_feature_rows(forecaster, "A")
    # Rebuild the same rows from a longer series whose sales after the data end are wildly changed:
    # the horizon's rows must not move (no hindsight).
    long_a = FRAME[FRAME["unique_id"] == "A"]
    calendar = series_calendar(pd.DatetimeIndex(long_a["ds"]).append(
        pd.date_range(long_a["ds"].max() + pd.Timedelta(days=1), periods=HORIZON)),
        PROMOTIONS.set_index("ds")["promotion_discount_rate"], SETTINGS)
    origin = np.array([HISTORY_DAYS - 1])
    for future_factor in (1.0, 100.0, 0.0):
        y = long_a["y"].to_numpy(float).copy()
        y[HISTORY_DAYS:] = y[HISTORY_DAYS:] * future_factor + 7
        features, _, other_scale, _ = feature_arrays(y, calendar, origin, SETTINGS, HORIZON)
        for name in FEATURES:
            np.testing.assert_allclose(np.asarray(rows[name], float), np.asarray(features[name], float),
                                       err_msg=f"{name} moved when sales after the data end changed")
        assert other_scale[0] == pytest.approx(scale)


def test_feature_rows_read_the_calendar_history_and_planned_promotions(forecaster):
    rows, scale = horizon_feature_rows(forecaster, "A")
    a = HISTORY[HISTORY["unique_id"] == "A"]["y"].to_numpy()
    # Day 1 of the horizon: last value is the data end's sales; same weekday last week is 7 days before day 1.
    assert rows["last_value_ratio"].iloc[0] == pytest.approx(a[-1] / scale)
    assert rows["same_season_last_ratio"].iloc[0] == pytest.approx(a[-7] / scale)
    # Day 8 looks back two weeks (day 8 - 14), still in history.
    assert rows["same_season_last_ratio"].iloc[7] == pytest.approx(a[-7] / scale)
    assert list(rows["day_of_week"].astype(int)) == list(rows.index.dayofweek)
    promoted = rows["promotion_discount_rate"]
    assert list(promoted[promoted > 0].index) == list(PROMOTION_DAYS) and promoted.max() == 0.3
    other, _ = horizon_feature_rows(forecaster, "B")
    assert (other["promotion_discount_rate"] == 0).all()


def test_the_waterfall_names_weekdays_and_the_sentence_names_the_top_two_drivers(days_a):
    saturday = next(day for day in days_a.days if day.dayofweek == 5)
    row = explain_forecast_day(days_a, saturday)
    weekday = row.contributions.set_index("feature").loc["day_of_week", "value"]
    assert weekday == "Saturday" and row.unit == "units"
    promoted = explain_forecast_day(days_a, PROMOTION_DAYS[0]).contributions.set_index("feature")
    assert promoted.loc["promotion_discount_rate", "value"] == "30%"
    assert promoted.loc["is_country_holiday", "value"] == "no"
    # Contributions are sorted by |SHAP|, largest first.
    assert list(row.contributions["shap_value"].abs()) == sorted(row.contributions["shap_value"].abs(), reverse=True)
    sentence = top_drivers_sentence(row, "Series A")
    top_two = row.contributions["label"].head(2)
    assert all(label in sentence for label in top_two)
    assert sentence.startswith(f"Series A on {saturday:%a %d %b %Y}")
    # Series A sells ~6-18 a day: between 10 and 100 the sentence gives one decimal.
    assert 10 <= row.raw_output < 100 and f"forecasts {row.raw_output:.1f} units" in sentence


def test_a_day_outside_the_horizon_is_refused_with_the_range(days_a, forecaster):
    with pytest.raises(ShopLensError, match="pick a day from"):
        explain_forecast_day(days_a, DATA_END)
    with pytest.raises(ShopLensError, match="not in the global model"):
        explain_forecast_days(forecaster, "Z")


def test_the_arena_keeps_the_global_model_that_made_its_forecast():
    arena = run_arena(HISTORY, SETTINGS, promotions=PROMOTIONS, n_jobs=1)
    assert arena.global_model is not None
    explained = explain_forecast_days(arena.global_model, "B")
    lightgbm = arena.forecast.query("model == @LIGHTGBM and unique_id == 'B'").set_index("ds")["yhat"]
    np.testing.assert_allclose(explained.forecast.set_index("ds")["prediction"].clip(lower=0),
                               lightgbm.loc[explained.forecast["ds"]], rtol=1e-9)


def test_history_preview_keeps_the_largest_series_first(tiny_con):
    everything = load_series(tiny_con, "category", "units").frame
    totals = everything.groupby("unique_id")["y"].sum().sort_values(ascending=False, kind="stable")
    preview = history_preview(tiny_con, "category", "units", max_series=2)
    assert list(preview["unique_id"].drop_duplicates()) == list(totals.index[:2])
    assert preview.groupby("unique_id")["y"].sum().to_dict() == pytest.approx(totals.iloc[:2].to_dict())
    total = history_preview(tiny_con, "total", "units")
    # The total series is the sum of the category series, day by day.
    assert total["y"].sum() == pytest.approx(everything["y"].sum())
    with pytest.raises(ShopLensError, match="max_series"):
        history_preview(tiny_con, "total", "units", max_series=0)


def test_history_preview_figure_draws_one_line_per_series():
    preview = HISTORY.assign(label=HISTORY["unique_id"].map({"A": "Apples", "B": "Bananas"}))
    figure = charts.history_preview_figure(preview)
    assert [trace.name for trace in figure.data] == ["Apples", "Bananas"]
    np.testing.assert_allclose(figure.data[1].y, HISTORY[HISTORY["unique_id"] == "B"]["y"])
    assert charts.history_preview_figure(preview.iloc[:0]).data == ()


@pytest.mark.parametrize("horizon", [7, 28, 91])
def test_every_forecast_day_of_every_series_is_explainable(horizon):
    # The page once offered 12 of 28 days: each horizon day must be a row, explained, and additive.
    history = long_frame(days=HISTORY_DAYS + 60)
    settings = ForecastSettings(horizon=horizon, folds=1, country="US", models=(LIGHTGBM,))
    fitted = GlobalForecaster(settings, n_estimators=20, max_training_rows=3_000).fit(GlobalInput(history,
                                                                                                  pd.DataFrame()))
    data_end = history["ds"].max()
    expected = list(pd.date_range(data_end + pd.Timedelta(days=1), periods=horizon))
    for unique_id in ("A", "B"):
        days = explain_forecast_days(fitted, unique_id)
        assert days.days == expected
        for day in expected:
            row = explain_forecast_day(days, day)
            assert row.base_value + row.contributions["shap_value"].sum() == pytest.approx(row.raw_output, abs=1e-6)


def test_monthly_forecast_months_are_all_explainable():
    ds = pd.date_range("2015-01-01", periods=96, freq="MS")
    y = 100 + 20 * np.sin(2 * np.pi * ds.month / 12) + np.arange(96)
    settings = ForecastSettings(horizon=12, folds=1, freq="MS", season_length=12, country=None, models=(LIGHTGBM,))
    fitted = GlobalForecaster(settings, n_estimators=20, min_child_samples=5).fit(
        GlobalInput(pd.DataFrame({"unique_id": "A", "ds": ds, "y": y}), pd.DataFrame()))
    days = explain_forecast_days(fitted, "A")
    assert days.days == list(pd.date_range("2023-01-01", periods=12, freq="MS"))
    assert explain_forecast_day(days, "2023-12-01").row_id == "2023-12-01"
