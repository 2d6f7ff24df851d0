"""Backtest folds, leakage, non-negativity and the champion rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.errors import ShopLensError
from analytics.forecasting import backtest as backtest_module
from analytics.forecasting.backtest import fold_windows, run_arena
from analytics.forecasting.champion import pick_champions
from analytics.forecasting.models import (
    ENSEMBLE,
    ETS,
    FORECAST_COLUMNS,
    LIGHTGBM,
    SEASONAL_NAIVE,
    ForecastSettings,
    SeriesInput,
    forecast_local,
)


def weekly_series(unique_id: str, days: int, start: str = "2025-01-01", level: float = 10.0) -> pd.DataFrame:
    ds = pd.date_range(start, periods=days)
    pattern = np.array([1, 1, 1, 1, 2, 3, 0.5]) * level
    return pd.DataFrame({"unique_id": unique_id, "ds": ds, "y": pattern[ds.dayofweek]})


def test_fold_boundaries_by_hand():
    folds = fold_windows(pd.Timestamp("2025-03-31"), horizon=7, folds=3, freq="D")
    # The last window ends on the data's last day; each window is 7 days; cutoffs 7 days apart.
    assert [(f.cutoff.date().isoformat(), f.first_ds.date().isoformat(), f.last_ds.date().isoformat())
            for f in folds] == [("2025-03-10", "2025-03-11", "2025-03-17"),
                                ("2025-03-17", "2025-03-18", "2025-03-24"),
                                ("2025-03-24", "2025-03-25", "2025-03-31")]


def test_no_model_sees_data_after_its_cutoff(monkeypatch):
    seen: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    original = backtest_module.forecast_local

    def spy(model, series, settings):
        seen.append((series.ds.max(), series.future_ds.min()))
        return original(model, series, settings)

    monkeypatch.setattr(backtest_module, "forecast_local", spy)
    history = weekly_series("A", 70)
    settings = ForecastSettings(horizon=7, folds=3, models=(SEASONAL_NAIVE,), country=None)
    result = run_arena(history, settings, n_jobs=1)
    # Three folds plus the final forecast; every fit ends the day before its first forecast day.
    assert len(seen) == 4
    assert all(future == last + pd.Timedelta(days=1) for last, future in seen)
    folds = fold_windows(history["ds"].max(), 7, 3, "D")
    assert [last for last, _ in seen[:3]] == [fold.cutoff for fold in folds]
    # The backtest rows of fold f lie strictly after its cutoff and at most 7 days later.
    for fold in folds:
        rows = result.backtest[result.backtest["fold"] == fold.number]
        assert rows["ds"].min() == fold.first_ds and rows["ds"].max() == fold.last_ds


def test_seasonal_naive_on_a_pure_weekly_pattern_is_perfect():
    history = weekly_series("A", 70)
    result = run_arena(history, ForecastSettings(horizon=7, folds=2, models=(SEASONAL_NAIVE, ETS), country=None),
                       n_jobs=1)
    naive = result.leaderboard.set_index("model").loc[SEASONAL_NAIVE]
    # Repeating last week on a series that repeats every week makes no error at all.
    assert naive["mase"] == pytest.approx(0.0) and naive["wape"] == pytest.approx(0.0)
    assert naive["coverage_95"] == pytest.approx(1.0)
    forecast = result.champion_forecast()
    expected = weekly_series("A", 77)["y"].to_numpy()[-7:]
    assert forecast["yhat"].to_numpy() == pytest.approx(expected)


def test_short_series_are_skipped_with_the_reason():
    history = pd.concat([weekly_series("long", 70), weekly_series("short", 20, start="2025-02-20")])
    result = run_arena(history, ForecastSettings(horizon=7, folds=3, models=(SEASONAL_NAIVE,), country=None),
                       n_jobs=1)
    assert set(result.champions["unique_id"]) == {"long"}
    assert "needs 35" in result.skipped["short"]  # 2 x 7 + 3 x 7
    with pytest.raises(ShopLensError, match="lower --horizon"):
        run_arena(weekly_series("short", 20), ForecastSettings(horizon=7, folds=3, models=(SEASONAL_NAIVE,)), n_jobs=1)


def test_champion_prefers_the_ensemble_within_the_margin():
    leaderboard = pd.DataFrame({
        "unique_id": ["A"] * 3 + ["B"] * 3,
        "model": [ETS, ENSEMBLE, SEASONAL_NAIVE] * 2,
        # A: ETS 0.97 is within 5% of the ensemble's 1.00 -> ensemble. B: ETS 0.80 is clearly better.
        "mase": [0.97, 1.00, 1.30, 0.80, 1.00, 1.30],
        "wape": [0.5] * 6, "smape": [0.5] * 6, "bias": [0.0] * 6, "coverage_80": [0.8] * 6,
        "coverage_95": [0.95] * 6, "rank": [1, 2, 3, 1, 2, 3],
        "msis": [5.0] * 6, "coverage_warning": [None] * 6, "days": [21] * 6,
    })
    champions = pick_champions(leaderboard).set_index("unique_id")
    assert champions.loc["A", "model"] == ENSEMBLE and champions.loc["A", "runner_up"] == ETS
    assert champions.loc["A", "reason"].startswith("kept the ensemble")
    assert champions.loc["B", "model"] == ETS
    assert champions.loc["B", "reason"] == "lowest backtest MASE (0.80)"
    assert pick_champions(leaderboard, ensemble_margin=0).set_index("unique_id").loc["A", "model"] == ETS


def test_a_model_whose_intervals_miss_cannot_be_champion():
    # The case: LightGBM has the best MASE, but its intervals missed most days, so its interval
    # score is far above the best; ETS's is the best (4.0), and 1.25 x 4.0 = 5.0 is the eligibility bar.
    leaderboard = pd.DataFrame({
        "unique_id": ["A"] * 3,
        "model": [LIGHTGBM, ETS, SEASONAL_NAIVE],
        "mase": [0.60, 0.80, 1.00], "msis": [12.0, 4.0, 5.0],
        "wape": [0.3] * 3, "smape": [0.3] * 3, "bias": [0.0] * 3,
        "coverage_80": [0.14, 0.8, 0.8], "coverage_95": [0.17, 0.95, 0.95],
        "coverage_warning": ["80% intervals covered 14% ...", None, None], "days": [36] * 3, "rank": [1, 2, 3],
    })
    champion = pick_champions(leaderboard).iloc[0]
    assert champion["model"] == ETS and champion["runner_up"] == LIGHTGBM
    assert "lightgbm_global (MASE 0.60, MSIS 12.00)" in champion["reason"]
    # Seasonal naive's 5.0 is exactly at the bar (eligible), but ETS is more accurate.
    assert pick_champions(leaderboard, interval_margin=0.0).iloc[0]["model"] == ETS
    # Ignoring the intervals, accuracy alone picks LightGBM.
    assert pick_champions(leaderboard, interval_margin=float("inf")).iloc[0]["model"] == LIGHTGBM
    # At MSIS 12.0 <= 3 x 4.0, a margin of 200% lets LightGBM in again.
    assert pick_champions(leaderboard, interval_margin=2.0).iloc[0]["model"] == LIGHTGBM


counts = st.lists(st.integers(0, 50), min_size=30, max_size=60)


@settings(max_examples=25, deadline=None)
@given(counts, st.sampled_from([SEASONAL_NAIVE, ETS]))
def test_forecasts_of_counts_are_never_negative(values, model):
    y = np.asarray(values, float)
    ds = pd.date_range("2025-01-01", periods=len(y))
    series = SeriesInput("A", ds, y, pd.date_range(ds[-1], periods=15)[1:])
    frame = forecast_local(model, series, ForecastSettings(horizon=14, models=(model,), country=None))
    bounds = frame[list(FORECAST_COLUMNS[1:])].to_numpy()
    assert (bounds >= 0).all()
    # Intervals nest around the point forecast.
    assert (frame["yhat_lower_95"] <= frame["yhat_lower_80"]).all()
    assert (frame["yhat_lower_80"] <= frame["yhat"]).all() and (frame["yhat"] <= frame["yhat_upper_80"]).all()
    assert (frame["yhat_upper_80"] <= frame["yhat_upper_95"]).all()


def test_unknown_model_and_bad_settings_are_refused():
    with pytest.raises(ShopLensError, match="not known"):
        ForecastSettings(models=("magic",))
    with pytest.raises(ShopLensError, match="horizon"):
        ForecastSettings(horizon=0)


def test_raising_from_progress_cancels_the_run():
    history = pd.concat([weekly_series(name, 42) for name in "ABCDE"])
    calls = []

    class Cancelled(Exception):
        pass

    def progress(done: int, total: int, what: str) -> None:
        calls.append((done, total, what))
        raise Cancelled

    with pytest.raises(Cancelled):
        run_arena(history, ForecastSettings(horizon=7, folds=2, models=(SEASONAL_NAIVE,), country=None),
                  progress=progress, n_jobs=1)
    # Progress is reported per series, and nothing runs after the cancel.
    assert calls == [(1, 5, "A")]


def test_leaderboard_scores_match_the_metric_functions():
    from analytics.forecasting import metrics

    rng = np.random.default_rng(3)
    ds = pd.date_range("2025-01-01", periods=56)
    history = pd.concat([pd.DataFrame({"unique_id": name, "ds": ds, "y": rng.poisson(4, 56).astype(float)})
                         for name in ("A", "B")])
    result = run_arena(history, ForecastSettings(horizon=7, folds=3, models=(SEASONAL_NAIVE, ETS), country=None),
                       n_jobs=1)
    row = result.leaderboard.set_index(["unique_id", "model"]).loc[("B", ETS)]
    rows = result.backtest[(result.backtest["unique_id"] == "B") & (result.backtest["model"] == ETS)]
    series = history[history["unique_id"] == "B"]
    # Reference: each fold's MASE scaled on that fold's own training part, then the mean over folds.
    expected_mase = np.mean([metrics.mase(part["y"], part["yhat"], series.loc[series["ds"] <= cutoff, "y"], 7)
                             for cutoff, part in rows.groupby("cutoff")])
    assert row["mase"] == pytest.approx(expected_mase)
    assert row["wape"] == pytest.approx(metrics.wape(rows["y"], rows["yhat"]))
    assert row["bias"] == pytest.approx(metrics.bias(rows["y"], rows["yhat"]))
    assert row["coverage_80"] == pytest.approx(metrics.coverage(rows["y"], rows["yhat_lower_80"],
                                                                rows["yhat_upper_80"]))
    assert row["smape"] == pytest.approx(np.mean([metrics.smape(part["y"], part["yhat"])
                                                  for _, part in rows.groupby("fold")]))
    assert row["folds"] == 3
    # MSIS: each fold's 95% interval score over that fold's MASE scale, then the mean over folds.
    expected_msis = np.mean([metrics.msis(part["y"], part["yhat_lower_95"], part["yhat_upper_95"],
                                          series.loc[series["ds"] <= cutoff, "y"], 7)
                             for cutoff, part in rows.groupby("cutoff")])
    assert row["msis"] == pytest.approx(expected_msis)
    assert row["days"] == 21
