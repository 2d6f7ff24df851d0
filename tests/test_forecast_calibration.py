"""Conformal intervals on the backtest residuals: the quantile by hand, what is calibrated on what, and
coverage near nominal on simulated series with known noise."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics.forecasting.backtest import run_arena
from analytics.forecasting.calibration import (
    calibrate,
    conformal_quantile,
    coverage_warning,
    series_level,
)
from analytics.forecasting.models import ETS, SEASONAL_NAIVE, ForecastSettings


def test_conformal_quantile_by_hand():
    scores = [0.5, 0.1, 0.4, 0.2, 0.3]
    # n = 5. 80%: ⌈6 x 0.8⌉ = ⌈4.8⌉ = 5 -> the 5th smallest, 0.5. 50%: ⌈3.0⌉ = 3 -> 0.3.
    assert conformal_quantile(scores, 0.8) == 0.5
    assert conformal_quantile(scores, 0.5) == 0.3
    # 95%: ⌈5.7⌉ = 6 > 5 scores: no finite quantile can promise 95% with 5 scores.
    assert conformal_quantile(scores, 0.95) == math.inf
    # n = 19 is the least for 95%: ⌈20 x 0.95⌉ = 19 -> the largest.
    assert conformal_quantile(np.arange(19.0), 0.95) == 18.0
    assert math.isnan(conformal_quantile([], 0.8))
    assert conformal_quantile([0.3, np.nan, 0.1, 0.2], 0.5) == 0.2  # NaN ignored: n = 3, ⌈2.0⌉ = 2


def test_series_level_by_hand():
    # Mean |y| of the last 3 values: (4 + 0 + 8) / 3 = 4.
    assert series_level(np.array([100.0, 4, 0, 8]), 3) == pytest.approx(4.0)
    # The last 2 values are 0: fall back to the whole history's mean, (6 + 0 + 0) / 3 = 2.
    assert series_level(np.array([6.0, 0, 0]), 2) == pytest.approx(2.0)
    assert series_level(np.zeros(4), 2) == 1.0


def hand_example():
    """One series at a constant 4 for 6 days, one model, 2 folds of 2 days, the forecast of Jan 7-8.

    The level is 4 at every cutoff (mean |y| of everything so far), so a day's score is |y - ŷ| / (4·√k).
    Fold 1 (cutoff Jan 2) forecast 3, 6 for Jan 3-4: scores 1/4 = 0.25 and 2/(4·√2) = 0.35355.
    Fold 2 (cutoff Jan 4) forecast 4.8, 4 for Jan 5-6: scores 0.8/4 = 0.2 and 0.
    """
    ds = pd.date_range("2025-01-01", periods=6)
    history = pd.DataFrame({"unique_id": "A", "ds": ds, "y": 4.0})

    def rows(days, yhat, **extra):
        yhat = np.asarray(yhat, float)
        # The model's own intervals (±0.1) are deliberately too narrow: calibration must replace them.
        return pd.DataFrame({"unique_id": "A", "model": "m", **extra, "ds": days, "yhat": yhat,
                             "yhat_lower_80": yhat - 0.1, "yhat_upper_80": yhat + 0.1,
                             "yhat_lower_95": yhat - 0.1, "yhat_upper_95": yhat + 0.1})

    backtest = pd.concat([rows(ds[2:4], [3, 6], fold=1, cutoff=ds[1], y=4.0),
                          rows(ds[4:6], [4.8, 4], fold=2, cutoff=ds[3], y=4.0)], ignore_index=True)
    forecast = rows(pd.date_range("2025-01-07", periods=2), [5, 5])
    return history, backtest, forecast


def test_calibrated_bounds_by_hand():
    history, backtest, forecast = hand_example()
    result = calibrate(backtest, forecast, history, "D")

    # The forecast uses every fold's 4 scores [0, 0.2, 0.25, 0.35355]; 80%: ⌈5 x 0.8⌉ = 4th = 0.35355.
    # Jan 7 (k = 1): 5 ± 0.35355 x 4 x 1 = 5 ± 1.41421; Jan 8 (k = 2): 5 ± 0.35355 x 4 x √2 = 5 ± 2.
    future = result.forecast.set_index("ds")
    assert list(future["yhat_lower_80"]) == pytest.approx([5 - math.sqrt(2), 3.0])
    assert list(future["yhat_upper_80"]) == pytest.approx([5 + math.sqrt(2), 7.0])
    # 95% needs 19 scores; the model has 4 over every series too, so the largest one is used: the same bounds.
    assert list(future["yhat_upper_95"]) == pytest.approx([5 + math.sqrt(2), 7.0])
    calibration = result.calibration.iloc[0]
    assert calibration["scores"] == 4 and bool(calibration["pooled"])
    assert calibration["quantile_80"] == pytest.approx(2 / (4 * math.sqrt(2)))

    # Fold 1 is calibrated on fold 2's scores only, [0.2, 0]: too few for 80% (⌈3 x 0.8⌉ = 3 > 2), so the
    # largest, 0.2. Jan 3: 3 ± 0.2 x 4 = [2.2, 3.8]; Jan 4: 6 ± 0.2 x 4 x √2 = 6 ± 1.13137. Both miss the 4.
    fold_1 = result.backtest[result.backtest["fold"] == 1].set_index("ds")
    assert list(fold_1["yhat_lower_80"]) == pytest.approx([2.2, 6 - 0.8 * math.sqrt(2)])
    assert list(fold_1["yhat_upper_80"]) == pytest.approx([3.8, 6 + 0.8 * math.sqrt(2)])
    # Fold 2 on fold 1's [0.25, 0.35355]: the largest, 0.35355. Jan 5: 4.8 ± 1.41421; Jan 6: 4 ± 2 (both hold).
    fold_2 = result.backtest[result.backtest["fold"] == 2].set_index("ds")
    assert list(fold_2["yhat_lower_80"]) == pytest.approx([4.8 - math.sqrt(2), 2.0])
    assert list(fold_2["yhat_upper_80"]) == pytest.approx([4.8 + math.sqrt(2), 6.0])


def test_a_fold_is_never_calibrated_on_its_own_days():
    history, backtest, forecast = hand_example()
    before = calibrate(backtest, forecast, history, "D").backtest
    # Make fold 2's actuals wildly different: its own bounds must not move, fold 1's must.
    changed = backtest.assign(y=np.where(backtest["fold"] == 2, 40.0, backtest["y"]))
    after = calibrate(changed, forecast, history, "D").backtest
    bounds = ["yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"]
    assert np.allclose(before.loc[before["fold"] == 2, bounds], after.loc[after["fold"] == 2, bounds])
    assert not np.allclose(before.loc[before["fold"] == 1, bounds], after.loc[after["fold"] == 1, bounds])


def test_with_one_fold_the_backtest_keeps_the_models_own_intervals():
    history, backtest, forecast = hand_example()
    one_fold = backtest[backtest["fold"] == 1]
    result = calibrate(one_fold, forecast, history, "D")
    assert list(result.backtest["yhat_upper_80"]) == pytest.approx([3.1, 6.1])
    # The forecast is still calibrated, on fold 1's scores [0.25, 0.35355] (largest: 0.35355).
    assert list(result.forecast["yhat_upper_80"]) == pytest.approx([5 + math.sqrt(2), 7.0])


def test_intervals_follow_the_level_and_stay_non_negative():
    history, backtest, forecast = hand_example()
    # The same series and errors at 10 times the level: every bound 10 times as far from the forecast.
    scaled = calibrate(backtest.assign(**{column: backtest[column] * 10 for column in
                                          ("y", "yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95",
                                           "yhat_upper_95")}),
                       forecast.assign(yhat=50.0), history.assign(y=40.0), "D").forecast
    assert list(scaled["yhat_upper_80"] - scaled["yhat"]) == pytest.approx([10 * math.sqrt(2), 20.0])
    # A forecast near 0 keeps its lower bound at 0 (sales), not below.
    low = calibrate(backtest, forecast.assign(yhat=0.5), history, "D").forecast
    assert (low["yhat_lower_80"] == 0).all() and (low["yhat_lower_95"] == 0).all()


def test_coverage_warning_by_hand():
    # More than 5 points off nominal warns, either way: 64% is 16 points short of 80%.
    assert coverage_warning(0.64, 0.95, 84) == ("80% intervals covered 64% in the backtest (84 days): too narrow, "
                                                "expect more days outside them")
    assert coverage_warning(0.75, 0.91, 84) is None  # 5 and 4 points short: within the target
    assert coverage_warning(0.74, 0.89, 84) == ("80% intervals covered 74% and 95% intervals covered 89% in the "
                                                "backtest (84 days): too narrow, expect more days outside them")
    # 100% against 80% is 20 points too many: wider than needed. 100% against 95% is exactly 5: no warning.
    assert coverage_warning(1.0, 1.0, 84) == ("80% intervals covered 100% in the backtest (84 days): wider than "
                                              "needed, stock planned on them is more than the service level asks")
    assert coverage_warning(0.90, 0.85, 40) == ("80% intervals covered 90% and 95% intervals covered 85% in the "
                                                "backtest (40 days): the 95% intervals are too narrow and the 80% "
                                                "ones wider than needed")
    assert coverage_warning(float("nan"), float("nan"), 0) is None


def simulated_history(seed: int, series: int, days: int) -> pd.DataFrame:
    """Series with a weekly pattern and known normal noise (σ = 3), each at its own level."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2025-01-01", periods=days)
    weekly = np.array([0, 0, 1, 2, 4, 6, -3], float)
    parts = []
    for number in range(series):
        level = rng.uniform(20, 60)
        y = level + weekly[ds.dayofweek] + rng.normal(0, 3, days)
        parts.append(pd.DataFrame({"unique_id": f"S{number:02d}", "ds": ds, "y": y}))
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_coverage_on_unseen_days_is_near_nominal(seed):
    # Hide the last 14 days, calibrate on the backtest of the rest, count how often the hidden days
    # fall inside the calibrated intervals: 30 series x 14 days = 420 days, so chance alone moves the
    # coverage by about ±2 points (80%) and ±1 point (95%).
    horizon = 14
    everything = simulated_history(seed, 30, 140 + horizon)
    cut = everything["ds"].max() - pd.Timedelta(days=horizon)
    history, hidden = everything[everything["ds"] <= cut], everything[everything["ds"] > cut]
    result = run_arena(history, ForecastSettings(horizon=horizon, folds=4, models=(SEASONAL_NAIVE, ETS),
                                                 country=None), n_jobs=1)
    # Every model, not only the champion: seasonal naive's own 80% intervals held on about 87% of these days
    # (they assume its errors are wider than they are here); calibrated, they hold on about 80%.
    for model, forecast in result.forecast.groupby("model"):
        checked = forecast.merge(hidden, on=["unique_id", "ds"])
        assert len(checked) == 30 * horizon
        inside_80 = ((checked["y"] >= checked["yhat_lower_80"]) & (checked["y"] <= checked["yhat_upper_80"])).mean()
        inside_95 = ((checked["y"] >= checked["yhat_lower_95"]) & (checked["y"] <= checked["yhat_upper_95"])).mean()
        assert abs(inside_80 - 0.80) <= 0.06, model
        assert abs(inside_95 - 0.95) <= 0.04, model
    # The leaderboard's out-of-fold coverage tells the same story for the champions.
    champions = result.leaderboard[result.leaderboard["is_champion"]]
    assert abs(np.average(champions["coverage_80"], weights=champions["days"]) - 0.80) <= 0.06
