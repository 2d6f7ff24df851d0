"""Rolling-origin backtest of every model on every series, and the forecast after the data ends.

Folds: with horizon h and F folds, fold f (1..F) forecasts the h steps after the cutoff
`last - (F - f + 1) * h` from the data up to and including that cutoff; the last fold's window ends
on the data's last step. Windows do not overlap and no model sees a step after its cutoff.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from analytics.errors import ShopLensError
from analytics.forecasting import metrics
from analytics.forecasting.calibration import calibrate, coverage_warning
from analytics.forecasting.champion import pick_champions
from analytics.forecasting.global_model import GlobalForecaster, GlobalInput
from analytics.forecasting.models import (
    ENSEMBLE,
    FORECAST_COLUMNS,
    LIGHTGBM,
    LOCAL_MODELS,
    SEASONAL_NAIVE,
    ForecastSettings,
    SeriesInput,
    forecast_local,
)

Progress = Callable[[int, int, str], None]
LEADERBOARD_COLUMNS: tuple[str, ...] = ("unique_id", "model", "mase", "msis", "smape", "wape", "bias", "coverage_80",
                                        "coverage_95", "coverage_warning", "days", "folds", "rank", "is_champion")
# Below this many series a process pool costs more (worker start-up, imports) than it saves.
PARALLEL_MIN_SERIES = 8



@dataclass(frozen=True)
class Fold:
    """One backtest window: train on steps <= cutoff, score on the `horizon` steps after it."""

    number: int
    cutoff: pd.Timestamp
    first_ds: pd.Timestamp
    last_ds: pd.Timestamp


def fold_windows(last_ds: pd.Timestamp, horizon: int, folds: int, freq: str) -> tuple[Fold, ...]:
    """The rolling-origin windows ending at `last_ds` (see the module docstring).

    Returns:
        `folds` Folds, oldest first; fold f's cutoff is `last_ds - (folds - f + 1) * horizon` steps.
    """
    steps = pd.date_range(end=last_ds, periods=folds * horizon + 1, freq=freq)
    return tuple(Fold(number + 1, steps[number * horizon], steps[number * horizon + 1], steps[(number + 1) * horizon])
                 for number in range(folds))


@dataclass(frozen=True)
class ArenaResult:
    """The backtest, leaderboard, champions and forecasts of a run.

    Attributes:
        settings: what was run.
        history: `unique_id, ds, y` as forecast.
        backtest: `unique_id, fold, cutoff, model, y` and FORECAST_COLUMNS: every model's fold forecasts, each
            fold's intervals calibrated on the other folds (see `analytics.forecasting.calibration`).
        leaderboard: LEADERBOARD_COLUMNS, one row per series and model: metrics over all folds (MASE, MSIS and
            sMAPE averaged over folds; WAPE, bias and coverage pooled over the `days` fold days), the coverage
            warning (None when the intervals held), rank 1 = lowest MASE.
        champions: `unique_id, model, reason` and the champion's metrics (`mase, msis, smape, wape, bias,
            coverage_80, coverage_95, coverage_warning, days`), `runner_up, runner_up_mase`, one row per series.
        forecast: `unique_id, model` and FORECAST_COLUMNS, every model's forecast after the data ends, with
            conformal intervals calibrated on every backtest fold.
        uncalibrated_forecast: the same rows with the models' own intervals, for comparison.
        calibration: `analytics.forecasting.calibration.CALIBRATION_COLUMNS`, per series and model.
        skipped: unique_id -> why the series was not forecast (too short).
        seconds: wall time of the run.
        global_model: the fitted GlobalForecaster behind the LightGBM forecast (fitted on all history),
            kept so a forecast day can be explained; None when the arena had no LightGBM model.
    """

    settings: ForecastSettings
    history: pd.DataFrame
    backtest: pd.DataFrame
    leaderboard: pd.DataFrame
    champions: pd.DataFrame
    forecast: pd.DataFrame
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    global_model: GlobalForecaster | None = None
    uncalibrated_forecast: pd.DataFrame = field(default_factory=pd.DataFrame)
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)

    def champion_forecast(self) -> pd.DataFrame:
        """Each series' champion's forecast: `unique_id, ds, yhat, bounds, model`."""
        chosen = self.champions[["unique_id", "model"]]
        return self.forecast.merge(chosen, on=["unique_id", "model"]).sort_values(["unique_id", "ds"],
                                                                                   ignore_index=True)


def local_series_run(series: SeriesInput, folds: tuple[Fold, ...], settings: ForecastSettings,
                     models: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every local model on one series: each fold, then the forecast after the end.

    A model that fails on a series (too short, numerical trouble) is left out for that series.

    Returns:
        (backtest rows, forecast rows) with `unique_id, model` (and `fold, cutoff` for the backtest).
    """
    backtest, forecast = [], []
    for model in models:
        try:
            for fold in folds:
                frame = forecast_local(model, series.truncated(fold.cutoff, settings.horizon), settings)
                backtest.append(frame.assign(unique_id=series.unique_id, model=model, fold=fold.number,
                                             cutoff=fold.cutoff))
            frame = forecast_local(model, series, settings)
            forecast.append(frame.assign(unique_id=series.unique_id, model=model))
        except Exception:  # noqa: BLE001 — one model failing on one series must not stop the arena
            backtest = [frame for frame in backtest if frame["model"].iloc[0] != model]
    return (pd.concat(backtest, ignore_index=True) if backtest else pd.DataFrame(),
            pd.concat(forecast, ignore_index=True) if forecast else pd.DataFrame())


def run_arena(history: pd.DataFrame, settings: ForecastSettings, *, promotions: pd.DataFrame | None = None,
              drivers: Callable[[str, pd.DatetimeIndex], pd.DataFrame] | None = None,
              holidays: pd.DataFrame | None = None, progress: Progress | None = None,
              n_jobs: int = 2) -> ArenaResult:
    """Backtest the arena's models on every series, pick each series' champion and forecast.

    Args:
        history: `unique_id, ds, y`, gap-free per series, every series ending on the same step.
        settings: horizon, folds, models, frequency, country.
        promotions: long `unique_id, ds, promotion_discount_rate` of planned promotions over history
            and horizon (see `drivers.promotion_regressor`); None for none.
        drivers: (unique_id, dates) -> known regressors per date (CSV drivers), for Prophet.
        holidays: Prophet `holiday, ds` frame (see `drivers.holiday_frame`); None for none.
        progress: called as progress(done, total, what) after the global model and after each series.
            Raising from it (Ctrl-C, a Streamlit rerun) cancels the run; pending series are dropped.
        n_jobs: worker processes for the local models (2 = both cores).

    Returns:
        An ArenaResult.

    Raises:
        ShopLensError: no series, or no series long enough for the backtest.
    """
    started = time.perf_counter()
    if history.empty:
        raise ShopLensError("there is nothing to forecast: no series has any data")
    last_ds = pd.Timestamp(history["ds"].max())
    folds = fold_windows(last_ds, settings.horizon, settings.folds, settings.freq)
    lengths = history.groupby("unique_id")["ds"].size()
    needed = settings.minimum_history()
    skipped = {str(unique_id): f"{length} steps of history; a {settings.folds}-fold backtest of "
                               f"{settings.horizon} steps needs {needed}"
               for unique_id, length in lengths.items() if length < needed}
    history = history[~history["unique_id"].isin(skipped)].reset_index(drop=True)
    if history.empty:
        raise ShopLensError(f"every series is shorter than the {needed} steps a {settings.folds}-fold backtest of "
                            f"{settings.horizon} steps needs; lower --horizon or --folds")
    future_ds = pd.date_range(last_ds, periods=settings.horizon + 1, freq=settings.freq)[1:]
    promotions = promotions if promotions is not None else pd.DataFrame()
    local_models = tuple(model for model in settings.models if model in LOCAL_MODELS)
    ids = tuple(history["unique_id"].unique())
    total = len(ids) + (1 if LIGHTGBM in settings.models else 0)
    done = 0
    backtests, forecasts = [], []
    global_model = None

    inputs = (_series_input(unique_id, rows, future_ds, promotions, drivers, holidays)
              for unique_id, rows in history.groupby("unique_id", sort=False))
    tasks = ([("global", (history, promotions))] if LIGHTGBM in settings.models else []) + (
        [("local", series) for series in inputs] if local_models else [])
    stream = _map_tasks(tasks, folds, settings, local_models, n_jobs, parallel=len(ids) >= PARALLEL_MIN_SERIES)
    try:
        for backtest, forecast, what, fitted in stream:
            global_model = fitted if fitted is not None else global_model
            backtests.append(backtest)
            forecasts.append(forecast)
            done += 1
            if progress:
                progress(done, total, what)
    finally:
        # On a cancel (Ctrl-C, a Streamlit rerun raised from `progress`) drop the pending tasks now;
        # joblib warns about the cancelled ones, which is what a cancel means.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            stream.close()

    backtest = pd.concat([frame for frame in backtests if not frame.empty], ignore_index=True)
    forecast = pd.concat([frame for frame in forecasts if not frame.empty], ignore_index=True)
    backtest, forecast = _add_ensemble(backtest, forecast, settings)
    backtest = backtest.merge(history, on=["unique_id", "ds"], how="left")
    uncalibrated = forecast[["unique_id", "model", *FORECAST_COLUMNS]].sort_values(["unique_id", "model", "ds"],
                                                                                  ignore_index=True)
    calibrated = calibrate(backtest, forecast, history, settings.freq, settings.non_negative)
    backtest, forecast = calibrated.backtest, calibrated.forecast
    leaderboard = score(backtest, history, folds, settings.season_length)
    champions = pick_champions(leaderboard)
    leaderboard = leaderboard.merge(champions[["unique_id", "model"]].assign(is_champion=True),
                                    on=["unique_id", "model"], how="left")
    leaderboard["is_champion"] = leaderboard["is_champion"].astype("boolean").fillna(False).astype(bool)
    return ArenaResult(
        settings=settings, history=history,
        backtest=backtest[["unique_id", "fold", "cutoff", "model", "y", *FORECAST_COLUMNS]],
        leaderboard=leaderboard[list(LEADERBOARD_COLUMNS)],
        champions=champions,
        forecast=forecast[["unique_id", "model", *FORECAST_COLUMNS]].sort_values(["unique_id", "model", "ds"],
                                                                                 ignore_index=True),
        skipped=skipped, seconds=time.perf_counter() - started, global_model=global_model,
        uncalibrated_forecast=uncalibrated, calibration=calibrated.calibration,
    )


def _series_input(unique_id, rows, future_ds, promotions, drivers, holidays) -> SeriesInput:
    ds = pd.DatetimeIndex(rows["ds"])
    all_ds = ds.append(future_ds)
    regressors = pd.DataFrame(index=all_ds)
    if not promotions.empty:
        own = promotions[promotions["unique_id"] == unique_id].set_index("ds")["promotion_discount_rate"]
        regressors["promotion_discount_rate"] = own.reindex(all_ds, fill_value=0.0).to_numpy(float)
    if drivers is not None:
        extra = drivers(unique_id, all_ds)
        for column in extra.columns:
            regressors[column] = extra[column].to_numpy(float)
    return SeriesInput(str(unique_id), ds, rows["y"].to_numpy(float), future_ds, regressors,
                       holidays if holidays is not None else pd.DataFrame())


def _run_task(kind: str, payload, folds, settings, models):
    """One unit of work: the global model over every series, or the local models on one series.

    Returns:
        (backtest, forecast, what, fitted): `fitted` is the final GlobalForecaster for the global task
        (kept to explain forecast days), None for a local one.
    """
    if kind == "global":
        history, promotions = payload
        backtest, forecast, forecaster = _global_run(history, promotions, folds, settings)
        return backtest, forecast, "LightGBM (global)", forecaster
    backtest, forecast = local_series_run(payload, folds, settings, models)
    return backtest, forecast, payload.unique_id, None


def _map_tasks(tasks, folds, settings, models, n_jobs: int, parallel: bool):
    """Yield (backtest, forecast, what, fitted) per task as each finishes, in worker processes when worth it.

    The global model is the first task, so in parallel it fits on one worker while the other works
    through the series (LightGBM runs one thread, see GlobalForecaster).
    """
    if not parallel or n_jobs <= 1:
        for kind, payload in tasks:
            yield _run_task(kind, payload, folds, settings, models)
        return
    from joblib import Parallel, delayed

    results = Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=1)(
        delayed(_run_task)(kind, payload, folds, settings, models) for kind, payload in tasks)
    try:
        yield from results
    finally:
        # Closing the generator (cancel, error) tells joblib to drop the pending tasks.
        results.close()


def _global_run(history, promotions, folds, settings) -> tuple[pd.DataFrame, pd.DataFrame, GlobalForecaster]:
    backtest = []
    # With 2+ folds each fold's intervals are calibrated on the other folds, so the model's own intervals
    # (a second LightGBM fit per fold) are needed only for a single fold.
    validate = len(folds) == 1
    for fold in folds:
        known = history[history["ds"] <= fold.cutoff]
        forecaster = GlobalForecaster(settings, validate=validate).fit(GlobalInput(known, promotions))
        backtest.append(forecaster.predict().assign(model=LIGHTGBM, fold=fold.number, cutoff=fold.cutoff))
    forecaster = GlobalForecaster(settings).fit(GlobalInput(history, promotions))
    return pd.concat(backtest, ignore_index=True), forecaster.predict().assign(model=LIGHTGBM), forecaster


def _add_ensemble(backtest, forecast, settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add the median of the non-naive models wherever two or more of them forecast a series."""
    values = list(FORECAST_COLUMNS[1:])

    def combine(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        members = frame[frame["model"] != SEASONAL_NAIVE]
        if members.empty:
            return frame
        grouped = members.groupby([*keys, "ds"], sort=False)
        combined = grouped[values].median()
        combined = combined[grouped["model"].nunique() >= 2].reset_index()
        return pd.concat([frame, combined.assign(model=ENSEMBLE)], ignore_index=True)

    return combine(backtest, ["unique_id", "fold", "cutoff"]), combine(forecast, ["unique_id"])


def fold_scales(history: pd.DataFrame, folds: tuple[Fold, ...], season_length: int) -> pd.DataFrame:
    """The MASE denominator of every series and fold: `metrics.seasonal_scale` of the data up to the cutoff.

    Returns:
        Columns unique_id, fold, scale (NaN where undefined).
    """
    rows = []
    for unique_id, series in history.groupby("unique_id", sort=False):
        ds, y = series["ds"].to_numpy(), series["y"].to_numpy(float)
        for fold in folds:
            training = y[ds <= fold.cutoff.to_datetime64()]
            rows.append((unique_id, fold.number, metrics.seasonal_scale(training, season_length)))
    return pd.DataFrame(rows, columns=["unique_id", "fold", "scale"])


def score(backtest: pd.DataFrame, history: pd.DataFrame, folds: tuple[Fold, ...], season_length: int) -> pd.DataFrame:
    """Metrics per series and model over the folds (see ArenaResult.leaderboard).

    The same definitions as `analytics.forecasting.metrics`, computed for every series, model and fold
    at once: per-fold MASE, MSIS (95% interval) and sMAPE averaged over folds; WAPE, bias and coverage
    pooled over fold days; `coverage_warning` from `calibration.coverage_warning` over those days.
    """
    alpha = 1 - 0.95
    lower_95, upper_95 = backtest["yhat_lower_95"].to_numpy(float), backtest["yhat_upper_95"].to_numpy(float)
    actual, forecast = backtest["y"].to_numpy(float), backtest["yhat"].to_numpy(float)
    denominator = np.abs(actual) + np.abs(forecast)
    terms = pd.DataFrame({
        "unique_id": backtest["unique_id"], "model": backtest["model"], "fold": backtest["fold"],
        "absolute_error": np.abs(actual - forecast),
        "smape_term": np.divide(2 * np.abs(actual - forecast), denominator, out=np.zeros_like(denominator),
                                where=denominator > 0),
        "signed_error": forecast - actual,
        "absolute_actual": np.abs(actual),
        "interval_score": upper_95 - lower_95 + (2 / alpha) * (np.maximum(lower_95 - actual, 0)
                                                                + np.maximum(actual - upper_95, 0)),
        "inside_80": (actual >= backtest["yhat_lower_80"].to_numpy(float))
        & (actual <= backtest["yhat_upper_80"].to_numpy(float)),
        "inside_95": (actual >= backtest["yhat_lower_95"].to_numpy(float))
        & (actual <= backtest["yhat_upper_95"].to_numpy(float)),
    })
    per_fold = terms.groupby(["unique_id", "model", "fold"], sort=False).agg(
        mae=("absolute_error", "mean"), smape=("smape_term", "mean"),
        interval_score=("interval_score", "mean")).reset_index()
    per_fold = per_fold.merge(fold_scales(history, folds, season_length), on=["unique_id", "fold"], how="left")
    per_fold["mase"] = per_fold["mae"] / per_fold["scale"]
    per_fold["msis"] = per_fold["interval_score"] / per_fold["scale"]
    by_model = per_fold.groupby(["unique_id", "model"], sort=False).agg(
        mase=("mase", "mean"), msis=("msis", "mean"), smape=("smape", "mean"), folds=("fold", "nunique"))
    pooled = terms.groupby(["unique_id", "model"], sort=False).agg(
        absolute_error=("absolute_error", "sum"), signed_error=("signed_error", "sum"),
        absolute_actual=("absolute_actual", "sum"), coverage_80=("inside_80", "mean"),
        coverage_95=("inside_95", "mean"), days=("inside_80", "size"))
    total = pooled["absolute_actual"].where(pooled["absolute_actual"] > 0)
    leaderboard = by_model.join(pooled).assign(wape=pooled["absolute_error"] / total,
                                               bias=pooled["signed_error"] / total).reset_index()
    leaderboard["folds"] = leaderboard["folds"].astype(int)
    leaderboard["days"] = leaderboard["days"].astype(int)
    leaderboard["coverage_warning"] = [coverage_warning(row.coverage_80, row.coverage_95, row.days)
                                       for row in leaderboard.itertuples()]
    leaderboard = leaderboard[["unique_id", "model", "mase", "msis", "smape", "wape", "bias", "coverage_80",
                               "coverage_95", "coverage_warning", "days", "folds"]].sort_values(
        ["unique_id", "model"], ignore_index=True)
    leaderboard["rank"] = (leaderboard.sort_values(["unique_id", "mase", "wape", "model"], na_position="last")
                           .groupby("unique_id").cumcount() + 1)
    return leaderboard.sort_values(["unique_id", "rank"], ignore_index=True)
