"""The forecasting models of the arena, each giving a point forecast with 80% and 95% intervals.

Local models (one fit per series): seasonal naive, statsforecast's AutoETS, a fast fixed ETS,
AutoARIMA and MSTL, and Prophet with holidays, festivals and regressors. The global LightGBM model
(one fit across all series) lives in `analytics.forecasting.global_model`.

Every model returns a frame with FORECAST_COLUMNS. Forecasts of a non-negative series (counts,
revenue) are never negative: Prophet is fitted on log1p(y) and transformed back with expm1, which is
positive by construction; the statsforecast models' forecasts and bounds are clipped at 0, because
their likelihoods are additive in y and a log transform breaks on the zero days of intermittent
series. Clipping a forecast to the feasible range can only lower its absolute error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.errors import ShopLensError

FORECAST_COLUMNS: tuple[str, ...] = ("ds", "yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95",
                                     "yhat_upper_95")
BOUND_COLUMNS: tuple[str, ...] = FORECAST_COLUMNS[2:]

SEASONAL_NAIVE = "seasonal_naive"
AUTO_ETS = "auto_ets"
ETS = "ets"
AUTO_ARIMA = "auto_arima"
MSTL = "mstl"
PROPHET = "prophet"
LIGHTGBM = "lightgbm_global"
ENSEMBLE = "ensemble"
LOCAL_MODELS: tuple[str, ...] = (SEASONAL_NAIVE, AUTO_ETS, ETS, AUTO_ARIMA, MSTL, PROPHET)
ALL_MODELS: tuple[str, ...] = (*LOCAL_MODELS, LIGHTGBM)
MODEL_TITLES: dict[str, str] = {
    SEASONAL_NAIVE: "Seasonal naive",
    AUTO_ETS: "AutoETS",
    ETS: "ETS (additive, fast)",
    AUTO_ARIMA: "AutoARIMA",
    MSTL: "MSTL",
    PROPHET: "Prophet",
    LIGHTGBM: "LightGBM (global)",
    ENSEMBLE: "Ensemble (median)",
}
# The full arena, for a few series (a category or channel level): every model.
DEFAULT_MODELS: tuple[str, ...] = (SEASONAL_NAIVE, AUTO_ETS, AUTO_ARIMA, MSTL, PROPHET, LIGHTGBM)
# Whole-catalogue runs: AutoARIMA (~0.3-0.5 s a fit on 2 years of days, approximated) and Prophet
# (~0.3 s) would take many minutes over 500 series x 4 fits, so the large-run arena keeps the models
# that fit in ~0.1 s.
# MSTL with a yearly season costs ~0.6 s a fit on 2 years of days, so it is left out too.
FAST_MODELS: tuple[str, ...] = (SEASONAL_NAIVE, ETS, LIGHTGBM)
LARGE_RUN_SERIES = 50
# The fast ETS fits the last 52 seasons (a year of days).
FAST_ETS_HISTORY = 52
# auto.arima approximates the likelihood in its order search beyond this many observations (as R does).
ARIMA_APPROXIMATION_LENGTH = 150
HOLIDAYS_PRIOR_SCALE = 1.0
# See learnable_holidays.
HOLIDAY_LEAD_IN_DAYS = 28
# Prophet's log-scale forecasts are capped at this multiple of the largest value in the history:
# a trend or holiday effect extrapolated on the log scale grows exponentially once transformed back.
PROPHET_CAP_RATIO = 2.0
# z-scores of the central 80% and 95% normal intervals.
Z_80, Z_95 = 1.2815515655446004, 1.959963984540054


@dataclass(frozen=True)
class ForecastSettings:
    """What to forecast and how to judge it.

    Attributes:
        horizon: steps to forecast (days for daily data), >= 1.
        folds: rolling-origin backtest folds, >= 1 (3 or more recommended).
        freq: "D", "W-..." or "MS".
        season_length: the seasonal period in steps (7 for days, 12 for months).
        country: holidays of this country (ISO code, e.g. "US", "CN"); None for none.
        models: the arena's models (names from ALL_MODELS); the ensemble is added when two or more
            non-naive models take part.
        non_negative: forecasts are kept >= 0 (counts, revenue).
    """

    horizon: int = 28
    folds: int = 3
    freq: str = "D"
    season_length: int = 7
    country: str | None = "US"
    models: tuple[str, ...] = DEFAULT_MODELS
    non_negative: bool = True

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ShopLensError(f"horizon {self.horizon} must be at least 1 step")
        if self.folds < 1:
            raise ShopLensError(f"folds {self.folds} must be at least 1")
        unknown = [model for model in self.models if model not in ALL_MODELS]
        if unknown:
            raise ShopLensError(f"model {', '.join(unknown)} is not known; choose from {', '.join(ALL_MODELS)}")
        if not self.models:
            raise ShopLensError("choose at least one model")

    @property
    def is_daily(self) -> bool:
        return self.freq == "D"

    def minimum_history(self) -> int:
        """Steps a series needs for the backtest: two seasons before the first fold, then the folds."""
        return 2 * self.season_length + self.folds * self.horizon


@dataclass(frozen=True)
class SeriesInput:
    """One series and what is known about its future, as a local model sees it.

    Attributes:
        unique_id: the series id.
        ds: the history's dates, regular, oldest first.
        y: the history's values, same length.
        future_ds: the dates to forecast.
        regressors: index = history and future dates; one column per regressor known on every day.
        holidays: Prophet `holiday, ds` frame (country holidays and festivals); empty for none.
    """

    unique_id: str
    ds: pd.DatetimeIndex
    y: np.ndarray
    future_ds: pd.DatetimeIndex
    regressors: pd.DataFrame = field(default_factory=pd.DataFrame)
    holidays: pd.DataFrame = field(default_factory=pd.DataFrame)

    def truncated(self, cutoff: pd.Timestamp, horizon: int) -> SeriesInput:
        """The series as known at `cutoff` (inclusive), forecasting the next `horizon` steps of its dates."""
        keep = self.ds <= cutoff
        all_ds = self.ds.append(self.future_ds)
        position = int(keep.sum())
        return SeriesInput(self.unique_id, self.ds[keep], self.y[keep], all_ds[position:position + horizon],
                           self.regressors, self.holidays)


def forecast_local(model: str, series: SeriesInput, settings: ForecastSettings) -> pd.DataFrame:
    """Fit one local model on one series and forecast `series.future_ds`.

    Args:
        model: a name from LOCAL_MODELS.
        series: the history and the dates to forecast.
        settings: season length, frequency, holidays and non-negativity.

    Returns:
        FORECAST_COLUMNS, one row per future date; bounds ordered lower_95 <= lower_80 <= yhat <= upper_80
        <= upper_95 and, for non-negative series, all >= 0.
    """
    if model == PROPHET:
        frame = prophet_forecast(series, settings)
    elif model in LOCAL_MODELS:
        frame = _statsforecast(model, series, settings)
    else:
        raise ShopLensError(f"{model!r} is not a local model; choose from {', '.join(LOCAL_MODELS)}")
    return finish(frame, settings.non_negative)


def finish(frame: pd.DataFrame, non_negative: bool) -> pd.DataFrame:
    """Order the bounds around the point forecast and clip at 0 for non-negative series."""
    values = np.column_stack([np.asarray(frame[column], dtype=float) for column in FORECAST_COLUMNS[1:]])
    values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    if non_negative:
        values = np.maximum(values, 0.0)
    yhat = values[:, 0]
    lower_80 = np.minimum(values[:, 1], yhat)
    upper_80 = np.maximum(values[:, 2], yhat)
    lower_95 = np.minimum(values[:, 3], lower_80)
    upper_95 = np.maximum(values[:, 4], upper_80)
    return pd.DataFrame({"ds": pd.DatetimeIndex(frame["ds"]), "yhat": yhat, "yhat_lower_80": lower_80,
                         "yhat_upper_80": upper_80, "yhat_lower_95": lower_95, "yhat_upper_95": upper_95})


def _statsforecast_model(model: str, season_length: int, length: int, is_daily: bool):
    from statsforecast import models as sf

    seasonal = season_length if length >= 2 * season_length and season_length > 1 else 1
    if model == SEASONAL_NAIVE:
        return sf.SeasonalNaive(season_length=season_length) if length >= season_length else sf.Naive()
    if model == AUTO_ETS:
        return sf.AutoETS(season_length=seasonal)
    if model == ETS:
        # Additive error and season, no trend: fits ~10x faster than AutoETS's full search.
        return sf.AutoETS(season_length=seasonal, model="ANA" if seasonal > 1 else "ANN")
    if model == AUTO_ARIMA:
        # R's forecast::auto.arima rule: on long or finely seasonal series, search the orders with the
        # conditional-sum-of-squares approximation (then refit the chosen one exactly). About ten times
        # faster on a year of daily sales, with the same accuracy over the sample's categories.
        return sf.AutoARIMA(season_length=seasonal, approximation=length > ARIMA_APPROXIMATION_LENGTH
                            or season_length > 12)
    if model == MSTL:
        seasons = [period for period in ((season_length, 365) if is_daily else (season_length,))
                   if period > 1 and length >= 2 * period]
        if not seasons:
            return sf.AutoETS(season_length=1, model="ANN")
        return sf.MSTL(season_length=seasons)
    raise ShopLensError(f"{model!r} is not a statsforecast model")


def _statsforecast(model: str, series: SeriesInput, settings: ForecastSettings) -> pd.DataFrame:
    y = series.y.astype(float)
    if model == ETS and len(y) > FAST_ETS_HISTORY * settings.season_length:
        # The fast ETS has no trend and a fixed season: the last 52 cycles are all it needs, at half the cost.
        y = y[-FAST_ETS_HISTORY * settings.season_length:]
    estimator = _statsforecast_model(model, settings.season_length, len(y), settings.is_daily)
    result = estimator.forecast(y=y, h=len(series.future_ds), level=[80, 95])
    return pd.DataFrame({
        "ds": series.future_ds, "yhat": result["mean"],
        "yhat_lower_80": result["lo-80"], "yhat_upper_80": result["hi-80"],
        "yhat_lower_95": result["lo-95"], "yhat_upper_95": result["hi-95"],
    })


def silence_prophet() -> None:
    """Prophet and cmdstanpy log every fit at INFO; a whole-catalogue run would print thousands of lines."""
    for name in ("prophet", "cmdstanpy", "prophet.plot"):
        logger = logging.getLogger(name)
        # cmdstanpy adds its own INFO handler unless the logger already has one, so give it one first.
        if not any(isinstance(handler, logging.NullHandler) for handler in logger.handlers):
            logger.addHandler(logging.NullHandler())
        logger.setLevel(logging.ERROR)
        logger.propagate = False
        for handler in logger.handlers:
            handler.setLevel(logging.ERROR)


def fit_prophet(series: SeriesInput, settings: ForecastSettings, *, uncertainty_samples: int = 200):
    """Fit Prophet on log1p(y) with the holidays, festivals and regressors; predict history and future.

    Args:
        series: history, future dates, regressors (each becomes an extra regressor when it varies
            in the history) and holidays (daily data only).
        settings: frequency and non-negativity (log1p only for non-negative series).
        uncertainty_samples: Prophet's simulation draws for the intervals.

    Returns:
        (model, prediction): the fitted Prophet and its `predict` frame over history and future, on the
        fitted scale (log1p(y) for non-negative series), with `trend`, `weekly`, `yearly`, `holidays`
        and one column per regressor where present.
    """
    from prophet import Prophet

    silence_prophet()

    holidays = (learnable_holidays(series.holidays, series.ds)
                if settings.is_daily and not series.holidays.empty else None)
    holidays = holidays if holidays is not None and not holidays.empty else None
    # holidays_prior_scale 1 (Prophet's default is 10): a festival seen once, e.g. a Christmas run-up
    # at the very start of the data, otherwise gets an effect that multiplies the forecast 50-fold.
    model = Prophet(holidays=holidays, interval_width=0.8, uncertainty_samples=uncertainty_samples,
                    holidays_prior_scale=HOLIDAYS_PRIOR_SCALE, daily_seasonality=False,
                    weekly_seasonality="auto" if settings.is_daily else False)
    target = np.log1p(np.maximum(series.y, 0.0)) if settings.non_negative else series.y.astype(float)
    history = pd.DataFrame({"ds": series.ds, "y": target})
    regressors = [column for column in series.regressors.columns
                  if series.regressors.loc[series.ds, column].nunique() > 1]
    for column in regressors:
        # Unstandardised, so a day without a promotion has no promotion effect (easier to read).
        model.add_regressor(column, standardize=False)
        history[column] = series.regressors.loc[series.ds, column].to_numpy(float)
    model.fit(history)
    everything = pd.DataFrame({"ds": series.ds.append(series.future_ds)})
    for column in regressors:
        everything[column] = series.regressors.loc[everything["ds"], column].to_numpy(float)
    return model, model.predict(everything)


def learnable_holidays(holidays: pd.DataFrame, ds: pd.DatetimeIndex,
                       lead_in_days: int = HOLIDAY_LEAD_IN_DAYS) -> pd.DataFrame:
    """The holidays whose effect the history can tell apart from the series' starting level.

    A holiday is kept when at least one of its days in the history has `lead_in_days` of history
    before it. A holiday seen only at the very start (the UCI data begins on 1 December, inside the
    Christmas run-up) would otherwise absorb the starting level, and on the log scale multiply the next
    December's forecast many times over.

    Args:
        holidays: Prophet `holiday, ds` frame.
        ds: the history's dates.
        lead_in_days: days of history a holiday day needs before it, >= 0.

    Returns:
        The rows of the kept holidays, every date (future ones included).
    """
    first, last = ds[0] + pd.Timedelta(days=lead_in_days), ds[-1]
    seen = holidays[(holidays["ds"] >= first) & (holidays["ds"] <= last)]["holiday"].unique()
    return holidays[holidays["holiday"].isin(seen)].reset_index(drop=True)


def prophet_forecast(series: SeriesInput, settings: ForecastSettings) -> pd.DataFrame:
    """Prophet's forecast for `series.future_ds`, back on the original scale.

    Prophet gives one interval per fit (80% here); the 95% bounds widen its half-widths by
    z_95 / z_80 on the fitted (log) scale, i.e. they assume Prophet's simulated errors are normal.
    """
    _, prediction = fit_prophet(series, settings)
    future = prediction.iloc[len(series.ds):]
    yhat = future["yhat"].to_numpy(float)
    lower_80, upper_80 = future["yhat_lower"].to_numpy(float), future["yhat_upper"].to_numpy(float)
    widen = Z_95 / Z_80
    lower_95, upper_95 = yhat - (yhat - lower_80) * widen, yhat + (upper_80 - yhat) * widen
    if settings.non_negative:
        cap = PROPHET_CAP_RATIO * float(np.max(series.y)) if len(series.y) else np.inf

        def back(values: np.ndarray) -> np.ndarray:
            return np.minimum(np.expm1(values), cap)
    else:
        def back(values: np.ndarray) -> np.ndarray:
            return values
    return pd.DataFrame({"ds": series.future_ds, "yhat": back(yhat), "yhat_lower_80": back(lower_80),
                         "yhat_upper_80": back(upper_80), "yhat_lower_95": back(lower_95),
                         "yhat_upper_95": back(upper_95)})

