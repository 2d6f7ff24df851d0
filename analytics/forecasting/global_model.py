"""The global LightGBM model: one gradient-boosted model across all series, forecasting directly.

For a forecast origin o (the last known day) and a step k = 1..h, one row describes the target day
t = o + k with what was known at o: recent levels, the same weekday (season) in the last cycles,
the value a year ago, the share of zero days and of event days, and the calendar of t (weekday,
month, country holiday, festival phase, planned promotion). The target is y_t divided by the
series' normal level (its mean over the last 28 days without holidays, festival peaks and tails or
planned promotions; the last cycle for weekly/monthly data), so one model learns shapes shared by
large and small series and is not misled by a level inflated by a festival that just ended.
Each horizon step is predicted directly, with no recursion, so nothing after o ever enters a row:
no leakage by construction.

Intervals are split-conformal: the model is first fitted on origins whose targets end one horizon
before the data does, its scaled errors on the last horizon give the interval quantiles, then it is
refitted on everything for the point forecast.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from analytics.errors import ShopLensError
from analytics.forecasting.drivers import CALENDAR_FEATURES, PROMOTION_COLUMN, calendar_features
from analytics.forecasting.models import FORECAST_COLUMNS, ForecastSettings, finish

FEATURE_LABELS: dict[str, str] = {
    "horizon_step": "Steps ahead",
    "day_of_week": "Day of week",
    "month": "Month",
    "is_country_holiday": "Public holiday",
    "is_festival_peak": "Sales festival day",
    "is_festival_run_up": "Sales festival run-up",
    "is_festival_tail": "Sales festival tail",
    "is_year_end_holiday": "Christmas or New Year",
    PROMOTION_COLUMN: "Planned promotion discount",
    "last_value_ratio": "Last day vs recent level",
    "recent_mean_ratio": "Last week vs recent level",
    "long_mean_ratio": "Last quarter vs recent level",
    "same_season_last_ratio": "Same weekday last week",
    "same_season_mean_ratio": "Same weekday, 4-week mean",
    "year_ago_ratio": "Same day a year ago",
    "zero_share": "Share of zero days",
    "level_mean_ratio": "Last 28 days incl. events vs normal level",
    "recent_event_share": "Share of event days last week",
    "log_scale": "Series size (log)",
}
FEATURES: tuple[str, ...] = tuple(FEATURE_LABELS)
CATEGORICAL_FEATURES: tuple[str, ...] = ("day_of_week", "month")
QUANTILES = {"yhat_lower_80": 0.10, "yhat_upper_80": 0.90, "yhat_lower_95": 0.025, "yhat_upper_95": 0.975}


@dataclass(frozen=True)
class GlobalInput:
    """The series a global model learns from.

    Attributes:
        series: long `unique_id, ds, y`, gap-free, sorted.
        promotions: long `unique_id, ds, promotion_discount_rate` over history and horizon; may be empty.
    """

    series: pd.DataFrame
    promotions: pd.DataFrame


def _windows(settings: ForecastSettings) -> tuple[int, int, int]:
    """(level window, recent window, long window) in steps."""
    if settings.is_daily:
        return 28, 7, 91
    return settings.season_length, 3, 2 * settings.season_length


def feature_rows(y: np.ndarray, calendar, origins: np.ndarray, settings: ForecastSettings,
                 horizon: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """`feature_arrays` as a DataFrame with FEATURES columns (see there)."""
    arrays, target, scale, target_index = feature_arrays(y, calendar, origins, settings, horizon)
    return pd.DataFrame(arrays), target, scale, target_index


def feature_arrays(y: np.ndarray, calendar, origins: np.ndarray, settings: ForecastSettings,
                   horizon: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Rows for every (origin, step) of one series.

    Args:
        y: the series' values, oldest first (length n).
        calendar: one row per step from the series' first date to n + horizon - 1, columns (a DataFrame
            or a dict of arrays) day_of_week, month, CALENDAR_FEATURES and PROMOTION_COLUMN.
        origins: indexes of the forecast origins (last known step), each >= 0.
        settings: season length and frequency.
        horizon: steps per origin.

    Returns:
        (features, target, scale, target_index): FEATURES name -> array; y[t] / scale (NaN beyond the data);
        the scale of each row; t. Only y[..origin] enters a row's features.
    """
    season = settings.season_length
    level_window, recent_window, long_window = _windows(settings)
    n = len(y)
    cumulative = np.concatenate([[0.0], np.cumsum(y)])
    zeros = np.concatenate([[0.0], np.cumsum(y == 0)])
    origin = np.repeat(origins, horizon)
    step = np.tile(np.arange(1, horizon + 1), len(origins))
    target_index = origin + step

    def window_mean(values: np.ndarray, width: int) -> np.ndarray:
        start = np.maximum(origin - width + 1, 0)
        return (values[origin + 1] - values[start]) / (origin + 1 - start)

    # Event days (holidays, festival peaks and tails, planned promotions) are left out of the level:
    # right after Black Friday the last 28 days' plain mean overstates what a normal day sells.
    event = ((np.asarray(calendar["is_country_holiday"], float)[:n] > 0)
             | (np.asarray(calendar["is_festival_peak"], float)[:n] > 0)
             | (np.asarray(calendar["is_festival_tail"], float)[:n] > 0)
             | (np.asarray(calendar["is_year_end_holiday"], float)[:n] > 0)
             | (np.asarray(calendar[PROMOTION_COLUMN], float)[:n] > 0))
    normal = (~event).astype(float)
    normal_sum = np.concatenate([[0.0], np.cumsum(y * normal)])
    normal_count = np.concatenate([[0.0], np.cumsum(normal)])
    start = np.maximum(origin - level_window + 1, 0)
    days = normal_count[origin + 1] - normal_count[start]
    baseline = np.divide(normal_sum[origin + 1] - normal_sum[start], days, out=np.zeros(len(origin)),
                         where=days > 0)
    plain = window_mean(cumulative, level_window)
    overall = cumulative[origin + 1] / (origin + 1)
    scale = np.where(baseline > 0, baseline, np.where(plain > 0, plain, np.where(overall > 0, overall, 1.0)))
    cycles = np.ceil(step / season).astype(int)
    same_season = target_index - season * cycles
    same_season_values = np.where(same_season >= 0, y[np.maximum(same_season, 0)], np.nan)
    lags = np.stack([same_season - season * back for back in range(4)])
    lag_values = np.where(lags >= 0, y[np.maximum(lags, 0)], np.nan)
    with np.errstate(invalid="ignore"):
        same_season_mean = np.nanmean(np.where(np.isnan(lag_values), np.nan, lag_values), axis=0)
    year = 364 if settings.is_daily else season
    year_ago = target_index - year
    year_ago_values = np.where((year_ago >= 0) & (year_ago <= origin), y[np.clip(year_ago, 0, n - 1)], np.nan)
    features = {
        "horizon_step": step.astype(float),
        "day_of_week": np.asarray(calendar["day_of_week"])[target_index],
        "month": np.asarray(calendar["month"])[target_index],
        **{column: np.asarray(calendar[column], float)[target_index] for column in CALENDAR_FEATURES},
        PROMOTION_COLUMN: np.asarray(calendar[PROMOTION_COLUMN], float)[target_index],
        "last_value_ratio": y[origin] / scale,
        "recent_mean_ratio": window_mean(cumulative, recent_window) / scale,
        "long_mean_ratio": window_mean(cumulative, long_window) / scale,
        "same_season_last_ratio": same_season_values / scale,
        "same_season_mean_ratio": same_season_mean / scale,
        "year_ago_ratio": year_ago_values / scale,
        "zero_share": window_mean(zeros, level_window),
        "level_mean_ratio": plain / scale,
        "recent_event_share": 1 - (normal_count[origin + 1] - normal_count[np.maximum(origin - recent_window + 1, 0)])
        / (origin + 1 - np.maximum(origin - recent_window + 1, 0)),
        "log_scale": np.log1p(scale),
    }
    target = np.where(target_index < n, y[np.minimum(target_index, n - 1)], np.nan) / scale
    return features, target, scale, target_index


def series_calendar(ds: pd.DatetimeIndex, promotions: pd.Series | None, settings: ForecastSettings) -> pd.DataFrame:
    """The calendar columns `feature_rows` reads, for the given dates."""
    ds = pd.DatetimeIndex(ds)
    flags = (calendar_features(ds, settings.country) if settings.is_daily
             else pd.DataFrame(0.0, index=ds, columns=list(CALENDAR_FEATURES)))
    frame = flags.reset_index(drop=True)
    frame["day_of_week"] = ds.dayofweek.to_numpy() if settings.is_daily else 0
    frame["month"] = ds.month.to_numpy()
    frame[PROMOTION_COLUMN] = 0.0 if promotions is None else promotions.reindex(ds, fill_value=0.0).to_numpy(float)
    return frame


class GlobalForecaster:
    """One LightGBM model across series, forecasting each step ahead directly (scikit-learn style).

    Args:
        settings: horizon, season length, frequency, country.
        n_estimators, learning_rate, num_leaves, min_child_samples: LightGBM parameters.
        objective: LightGBM objective on the scaled target; "l1" aims at the median, which is what
            MASE and WAPE (absolute errors) reward.
        max_training_rows: rows sampled from all (origin, step) pairs, for speed.
        origin_stride: steps between training origins.
        random_state: seeds sampling and LightGBM.
        n_jobs: LightGBM threads. 1 by default: on a busy machine OpenMP threads spin-wait for each
            other and one fit took 25x longer with 2 threads than with 1; the arena's parallelism is
            across series (processes) instead.
        validate: also fit the model without the last horizon, for its own intervals and the explanation
            rows (`validation_`). The arena's backtest folds skip it when their intervals are calibrated on
            the other folds anyway: it halves their cost.
    """

    def __init__(self, settings: ForecastSettings, *, n_estimators: int = 200, learning_rate: float = 0.07,
                 num_leaves: int = 31, min_child_samples: int = 20, objective: str = "l1",
                 max_training_rows: int = 50_000, origin_stride: int = 3, random_state: int = 0,
                 n_jobs: int = 1, validate: bool = True) -> None:
        self.settings = settings
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.objective = objective
        self.max_training_rows = max_training_rows
        self.origin_stride = origin_stride
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.validate = validate

    def get_params(self) -> dict:
        return {name: getattr(self, name) for name in ("n_estimators", "learning_rate", "num_leaves",
                                                        "min_child_samples", "objective", "max_training_rows",
                                                        "origin_stride", "random_state")}

    def _estimator(self):
        from lightgbm import LGBMRegressor

        return LGBMRegressor(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                             num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
                             objective=self.objective, subsample=0.8, subsample_freq=1, colsample_bytree=0.9,
                             random_state=self.random_state, n_jobs=self.n_jobs, verbose=-1)

    def _prepare(self, data: GlobalInput) -> dict[str, tuple[pd.DatetimeIndex, np.ndarray, pd.DataFrame]]:
        horizon = self.settings.horizon
        # Every series shares the dates, so the calendar is built once and sliced per series.
        start = pd.Timestamp(data.series["ds"].min())
        end = pd.Timestamp(data.series["ds"].max())
        all_days = pd.date_range(start, periods=len(pd.date_range(start, end, freq=self.settings.freq)) + horizon,
                                 freq=self.settings.freq)
        shared = series_calendar(all_days, None, self.settings)
        shared = {column: shared[column].to_numpy() for column in shared.columns}
        promotions = (data.promotions.pivot_table(index="ds", columns="unique_id", values=PROMOTION_COLUMN,
                                                  aggfunc="max").reindex(all_days)
                      if not data.promotions.empty else pd.DataFrame(index=all_days))
        prepared = {}
        for unique_id, rows in data.series.groupby("unique_id", sort=True):
            ds = pd.DatetimeIndex(rows["ds"])
            offset = all_days.get_loc(ds[0])
            window = slice(offset, offset + len(ds) + horizon)
            calendar = {column: values[window] for column, values in shared.items()}
            if unique_id in promotions.columns:
                calendar[PROMOTION_COLUMN] = np.nan_to_num(promotions[unique_id].to_numpy(float)[window])
            prepared[str(unique_id)] = (ds, rows["y"].to_numpy(float), calendar)
        return prepared

    def _training_rows(self, prepared, last_origin_back: int):
        """Rows of origins whose whole horizon lies `last_origin_back` steps or more before each series' end."""
        horizon, season = self.settings.horizon, self.settings.season_length
        rng = np.random.default_rng(self.random_state)
        # Origins per series so that all series together give about max_training_rows rows: building
        # rows for every origin of 500 series and sampling afterwards cost more than the fits.
        per_series = max(2, int(np.ceil(self.max_training_rows / (max(len(prepared), 1) * horizon))))
        parts: dict[str, list[np.ndarray]] = {}
        targets = []
        for ds, y, calendar in prepared.values():
            last = len(y) - 1 - horizon - last_origin_back
            first = season - 1
            if last < first:
                continue
            origins = np.arange(last, first - 1, -self.origin_stride)
            if len(origins) > per_series:
                # The latest origin always, the rest drawn from the older ones.
                origins = np.concatenate([origins[:1], rng.choice(origins[1:], per_series - 1, replace=False)])
            features, target, _, _ = feature_arrays(y, calendar, origins, self.settings, horizon)
            for name, values in features.items():
                parts.setdefault(name, []).append(values)
            targets.append(target)
        if not targets:
            raise ShopLensError(
                f"no series is long enough for the global model: each needs "
                f"{self.settings.season_length + 1 + 2 * horizon} steps or more; shorten the horizon")
        features = pd.DataFrame({name: np.concatenate(values) for name, values in parts.items()})
        target = np.concatenate(targets)
        if len(features) > self.max_training_rows:
            keep = np.sort(rng.choice(len(features), self.max_training_rows, replace=False))
            features, target = features.iloc[keep].reset_index(drop=True), target[keep]
        return _categorical(features), target

    def _origin_rows(self, prepared, back: int):
        """One origin per series, `back` steps before its end: rows, targets, scales, ids, dates."""
        horizon = self.settings.horizon
        parts: dict[str, list[np.ndarray]] = {}
        targets, scales, ids, dates = [], [], [], []
        for unique_id, (ds, y, calendar) in prepared.items():
            origin = len(y) - 1 - back
            if origin < 0:
                continue
            features, target, scale, target_index = feature_arrays(y, calendar, np.array([origin]), self.settings,
                                                                   horizon)
            for name, values in features.items():
                parts.setdefault(name, []).append(values)
            targets.append(target)
            scales.append(scale)
            ids += [unique_id] * horizon
            dates.append(ds[origin] + pd.to_timedelta(target_index - origin, unit="D")
                         if self.settings.freq == "D" else
                         pd.date_range(ds[0], periods=len(ds) + horizon, freq=self.settings.freq)[target_index])
        features = pd.DataFrame({name: np.concatenate(values) for name, values in parts.items()})
        return (_categorical(features), np.concatenate(targets), np.concatenate(scales),
                np.asarray(ids, dtype=object), pd.DatetimeIndex(np.concatenate([np.asarray(d) for d in dates])))

    def fit(self, data: GlobalInput) -> GlobalForecaster:
        """Fit on every series: calibration model, interval quantiles, then the final model.

        Returns:
            self, with `model_` (final LGBMRegressor), `validation_model_` (fitted without the last
            horizon), `validation_` (rows of the last horizon: features, actual, prediction) and
            `residual_quantiles_` (bound column -> quantile of scaled errors); without `validate` the
            last three are None, None and NaN quantiles (the forecast's bounds then come out as 0 until
            calibrated).
        """
        prepared = self._prepare(data)
        self.series_ids_ = tuple(prepared)
        if self.validate:
            self._fit_validation(prepared)
        else:
            self.validation_model_, self.validation_ = None, None
            self.residual_quantiles_ = {column: float("nan") for column in QUANTILES}
        features, target = self._training_rows(prepared, last_origin_back=0)
        self.model_ = self._estimator().fit(features, target)
        self.prepared_ = prepared
        return self

    def _fit_validation(self, prepared) -> None:
        """The model without the last horizon, its scaled errors' quantiles on it, and the validation rows."""
        horizon = self.settings.horizon
        features, target = self._training_rows(prepared, last_origin_back=horizon)
        self.validation_model_ = self._estimator().fit(features, target)
        rows, actual, scale, ids, dates = self._origin_rows(prepared, back=horizon)
        predicted = self.validation_model_.predict(rows)
        errors = actual - predicted
        self.residual_quantiles_ = {column: float(np.nanquantile(errors, q)) for column, q in QUANTILES.items()}
        self.validation_ = {"rows": rows, "actual": actual * scale, "prediction": np.maximum(predicted, 0) * scale,
                            "scaled_actual": actual, "unique_id": ids, "ds": dates}

    def predict(self) -> pd.DataFrame:
        """Forecast the horizon after each series' end.

        Returns:
            `unique_id` plus FORECAST_COLUMNS, non-negative when the settings say so.
        """
        if not hasattr(self, "model_"):
            raise ShopLensError("fit the global model before predicting")
        rows, _, scale, ids, dates = self._origin_rows(self.prepared_, back=0)
        predicted = self.model_.predict(rows)
        frame = pd.DataFrame({"ds": dates, "yhat": predicted * scale})
        for column, quantile in self.residual_quantiles_.items():
            frame[column] = (predicted + quantile) * scale
        parts = []
        for unique_id, rows_of in frame.groupby(ids, sort=True):
            part = finish(rows_of.reset_index(drop=True), self.settings.non_negative)
            part.insert(0, "unique_id", unique_id)
            parts.append(part)
        return pd.concat(parts, ignore_index=True)[["unique_id", *FORECAST_COLUMNS]]


def _categorical(features: pd.DataFrame) -> pd.DataFrame:
    features = features.copy()
    features["day_of_week"] = pd.Categorical(features["day_of_week"].astype(int), categories=range(7))
    features["month"] = pd.Categorical(features["month"].astype(int), categories=range(1, 13))
    return features


def train_global_model(con: duckdb.DuckDBPyConnection, level: str = "category", measure: str = "units",
                       horizon: int = 28, country: str | None = "US", folds: int = 3):
    """Fit the global LightGBM forecaster on warehouse series and return it as a TrainedModel.

    The model is run through the forecast arena on its own (`run_arena` with lightgbm_global only), so its
    card's MASE and WAPE are exactly the Forecasts leaderboard's for lightgbm_global with the same level,
    measure, horizon, folds and country: each series' rolling-origin backtest MASE (mean over folds, each
    scaled on its own training part) and WAPE, averaged over the series. The explanation rows are the last
    `horizon` days of every series, predicted by the model fitted without them (a time split), so SHAP
    answers "why is that Saturday high?" for days it never saw.

    Args:
        con: a warehouse connection (the sample warehouse works with the defaults).
        level: series level ("total", "category", "product", "channel", "region").
        measure: "units" or "revenue".
        horizon: days forecast per origin, >= 1.
        country: holidays of this country.
        folds: backtest folds, >= 1, as on the Forecasts page.

    Returns:
        A TrainedModel, task "regression", target "<measure> per day ÷ the series' normal level"; metrics
        `mase` and `wape` as above, `coverage_80` and `coverage_95` (calibrated intervals, pooled over every
        series' backtest days).

    Raises:
        ShopLensError: no series long enough.
    """
    from analytics.forecasting.backtest import run_arena
    from analytics.forecasting.drivers import load_product_categories, load_promotions, promotion_regressor
    from analytics.forecasting.models import LIGHTGBM
    from analytics.forecasting.series import load_series
    from analytics.warehouse import data_version

    started = time.perf_counter()
    series = load_series(con, level, measure)
    if series.frame.empty:
        raise ShopLensError("the warehouse has no orders to forecast; build it from data with orders")
    settings = ForecastSettings(horizon=horizon, folds=folds, country=country, models=(LIGHTGBM,))
    ds = pd.date_range(series.frame["ds"].min(), series.last_ds + pd.Timedelta(days=horizon), freq="D")
    promotions = promotion_regressor(load_promotions(con), series.ids, ds, level=level,
                                     product_categories=load_product_categories(con) if level == "product" else None)
    arena = run_arena(series.frame, settings, promotions=promotions, n_jobs=1)
    return global_trained_model(arena, series.frame, level=level, measure=measure,
                                data_version=data_version(con), started=started)


def global_trained_model(arena, history: pd.DataFrame, *, level: str, measure: str, data_version: str,
                         started: float | None = None):
    """The global LightGBM model of a finished arena as a TrainedModel (SHAP, card, fairness).

    Used by `train_global_model` and by the Forecasts page's run, so the panel beside a run explains
    that run's own model and its card's MASE is that run's leaderboard figure: the mean over the
    series of the leaderboard's `lightgbm_global` MASE (each series' rolling-origin MASE, mean over
    folds).

    Args:
        arena: an `ArenaResult` whose models include lightgbm_global.
        history: the arena's `unique_id, ds, y` history (for the training window).
        level, measure: for the title and target.
        data_version: the warehouse's data version ("" for a CSV).
        started: `time.perf_counter()` when training began (fit seconds), None for the arena's own seconds.

    Returns:
        A TrainedModel named "forecast_global".

    Raises:
        ShopLensError: the arena has no global model.
    """
    from analytics.explain.trained import TrainedModel
    from analytics.forecasting.models import LIGHTGBM

    forecaster = arena.global_model
    if forecaster is None:
        raise ShopLensError("this forecast run has no global LightGBM model to explain; include lightgbm_global")
    board = arena.leaderboard[arena.leaderboard["model"] == LIGHTGBM]
    validation = forecaster.validation_
    rows = validation["rows"][list(FEATURES)]
    segments = pd.DataFrame({
        "series": validation["unique_id"].astype(str),
        "day": validation["ds"].strftime("%a %d %b %Y"),
        "day_of_week": validation["ds"].day_name(),
    })
    training_ds = history["ds"]
    days = board["days"].to_numpy(float)
    return TrainedModel(
        name="forecast_global",
        title=f"Daily {measure} by {level} (global LightGBM forecaster)",
        task="regression",
        target=f"{measure} per day ÷ the series' normal level before the forecast origin",
        model=forecaster.validation_model_,
        feature_labels={feature: FEATURE_LABELS[feature] for feature in FEATURES},
        categorical_features=CATEGORICAL_FEATURES,
        explain_rows=rows,
        explain_actual=pd.Series(validation["scaled_actual"], index=rows.index, name="actual"),
        segments=segments.set_index(rows.index),
        metrics={"mase": float(board["mase"].mean()), "wape": float(board["wape"].mean()),
                 "coverage_80": float(np.average(board["coverage_80"], weights=days)),
                 "coverage_95": float(np.average(board["coverage_95"], weights=days))},
        data_version=data_version,
        training_start=pd.Timestamp(training_ds.min()),
        training_end=pd.Timestamp(validation["ds"].min() - pd.Timedelta(days=1)),
        validation_start=pd.Timestamp(validation["ds"].min()),
        validation_end=pd.Timestamp(validation["ds"].max()),
        train_rows=int(len(history)),
        validation_rows=int(len(rows)),
        parameters=forecaster.get_params(),
        fit_seconds=(time.perf_counter() - started) if started is not None else float(arena.seconds),
    )
