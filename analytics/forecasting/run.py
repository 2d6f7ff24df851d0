"""One forecast run end to end: series from the warehouse or a CSV, drivers, the arena, components.

`ForecastRequest` is frozen and hashable, so a page caches a run by data version + request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Callable

import duckdb
import numpy as np
import pandas as pd

from analytics.errors import ShopLensError
from analytics.filters import Filters
from analytics.forecasting.backtest import ArenaResult, Progress, run_arena
from analytics.forecasting.drivers import (
    DEFAULT_COUNTRY,
    PROMOTION_COLUMN,
    Promotion,
    drivers_for,
    holiday_frame,
    load_product_categories,
    load_promotions,
    promotion_regressor,
)
from analytics.forecasting.models import (
    DEFAULT_MODELS,
    FAST_MODELS,
    LARGE_RUN_SERIES,
    ForecastSettings,
    SeriesInput,
    fit_prophet,
)
from analytics.forecasting.series import DEFAULT_TOP_PRODUCTS, SeriesSet, load_series


@dataclass(frozen=True)
class ForecastRequest:
    """What a manager asks for.

    Attributes:
        level: "total", "category", "product", "channel" or "region".
        measure: "units" or "revenue".
        horizon: days to forecast, >= 1.
        folds: backtest folds, >= 1.
        country: holiday calendar (ISO code); None for none.
        models: the arena's models; None picks DEFAULT_MODELS for up to LARGE_RUN_SERIES series and
            FAST_MODELS beyond.
        series_ids: forecast only these series of the level; empty for all.
        top_n: products at the product level when `series_ids` is empty.
        planned_promotions: promotions entered on the page, known ahead like the promotions table's.
        filters: categories, channels, devices and the last day of history (`end_date`); None for all. Their
            `start_date` does not apply: a forecast learns from all history unless `history_start` says otherwise.
        history_start: the first day of history (`shoplens forecast --from`); None = the first order day.
    """

    level: str = "category"
    measure: str = "units"
    horizon: int = 28
    folds: int = 3
    country: str | None = DEFAULT_COUNTRY
    models: tuple[str, ...] | None = None
    series_ids: tuple[str, ...] = ()
    top_n: int = DEFAULT_TOP_PRODUCTS
    planned_promotions: tuple[Promotion, ...] = ()
    filters: Filters | None = None
    history_start: date | None = None


@dataclass(frozen=True)
class ForecastRun:
    """A finished run.

    Attributes:
        arena: backtest, leaderboard, champions and forecasts.
        series: the series as loaded (labels, level, measure, frequency).
        promotions: long `unique_id, ds, promotion_discount_rate` over history and horizon (planned only).
        holidays: Prophet `holiday, ds` frame used.
        drivers: CSV drivers (`unique_id, ds, ...`) or None.
    """

    arena: ArenaResult
    series: SeriesSet
    promotions: pd.DataFrame
    holidays: pd.DataFrame
    drivers: pd.DataFrame | None = field(default=None)

    def label(self, unique_id: str) -> str:
        """The series' label for people."""
        return self.series.labels.get(unique_id, unique_id)


def choose_models(series_count: int, models: tuple[str, ...] | None) -> tuple[str, ...]:
    """The requested models, or the default set for a run of this size (see ForecastRequest.models)."""
    if models:
        return models
    return DEFAULT_MODELS if series_count <= LARGE_RUN_SERIES else FAST_MODELS


def forecast_series(series: SeriesSet, *, horizon: int = 28, folds: int = 3, country: str | None = DEFAULT_COUNTRY,
                    models: tuple[str, ...] | None = None, promotions: tuple[Promotion, ...] = (),
                    product_categories: dict[str, str] | None = None, drivers: pd.DataFrame | None = None,
                    progress: Progress | None = None, n_jobs: int = 2) -> ForecastRun:
    """Run the arena on a SeriesSet (from the warehouse or a CSV).

    Args:
        series: the series.
        horizon, folds, country, models: see ForecastRequest.
        promotions: planned promotions (table and page); only these reach the promotion regressor.
        product_categories: product_id -> category, for category promotions at the product level.
        drivers: CSV drivers (see `drivers.read_driver_csv`), each used where known on every day.
        progress: see `run_arena`.
        n_jobs: worker processes.

    Returns:
        A ForecastRun.
    """
    if series.frame.empty:
        raise ShopLensError("there is nothing to forecast: no series has any data")
    non_negative = bool((series.frame["y"] >= 0).all())
    settings = ForecastSettings(horizon=horizon, folds=folds, freq=series.freq, season_length=series.season_length,
                                country=country if series.freq == "D" else None,
                                models=choose_models(len(series.ids), models), non_negative=non_negative)
    first, last = pd.Timestamp(series.frame["ds"].min()), series.last_ds
    all_ds = pd.date_range(first, periods=len(pd.date_range(first, last, freq=series.freq)) + horizon,
                           freq=series.freq)
    promotion_frame = (promotion_regressor(promotions, series.ids, all_ds, level=series.level,
                                           product_categories=product_categories)
                       if promotions and series.freq == "D" else pd.DataFrame())
    holidays = holiday_frame(settings.country, first.date(), all_ds[-1].date()) if settings.is_daily else pd.DataFrame()
    driver_lookup: Callable[[str, pd.DatetimeIndex], pd.DataFrame] | None = (
        (lambda unique_id, ds: drivers_for(drivers, unique_id, ds)) if drivers is not None else None)
    arena = run_arena(series.frame, settings, promotions=promotion_frame, drivers=driver_lookup, holidays=holidays,
                      progress=progress, n_jobs=n_jobs)
    return ForecastRun(arena, series, promotion_frame, holidays, drivers)


def run_forecast(con: duckdb.DuckDBPyConnection, request: ForecastRequest, *, progress: Progress | None = None,
                 drivers: pd.DataFrame | None = None, n_jobs: int = 2) -> ForecastRun:
    """Load the requested warehouse series and run the arena on them.

    Promotions come from the warehouse's `promotions` table plus `request.planned_promotions`.

    Raises:
        ShopLensError: unknown level, measure or series, or no series long enough.
    """
    product_ids = request.series_ids if request.level == "product" else ()
    series = load_series(con, request.level, request.measure, filters=request.filters, top_n=request.top_n,
                         product_ids=product_ids, start_date=request.history_start)
    if request.series_ids and request.level != "product":
        unknown = sorted(set(request.series_ids) - set(series.ids))
        if unknown:
            raise ShopLensError(f"series {', '.join(unknown)} is not in the data at level {request.level}; "
                                f"choose from {', '.join(series.ids)}")
        series = SeriesSet(series.frame[series.frame["unique_id"].isin(request.series_ids)].reset_index(drop=True),
                           series.freq, series.season_length, series.level, series.measure, series.labels)
    promotions = load_promotions(con) + tuple(request.planned_promotions)
    categories = load_product_categories(con) if request.level == "product" else None
    return forecast_series(series, horizon=request.horizon, folds=request.folds, country=request.country,
                           models=request.models, promotions=promotions, product_categories=categories,
                           drivers=drivers, progress=progress, n_jobs=n_jobs)


def prophet_components(run: ForecastRun, unique_id: str) -> pd.DataFrame:
    """Prophet's components for one series, fitted on all its history, as effects people read.

    Prophet is fitted on log1p(y), so its components add on the log scale and multiply demand: the
    trend is shown in units (expm1 of the trend) and every other component as a % effect on demand
    (exp(component) - 1), e.g. +0.25 = Saturdays sell 25% more than the trend alone.

    Returns:
        Columns `ds` (history and horizon), `is_forecast`, `trend` (units) and, where present, `weekly`,
        `yearly`, `holidays` and one column per regressor (e.g. promotion_discount_rate), as ratios.
    """
    history = run.arena.history
    rows = history[history["unique_id"] == unique_id]
    if rows.empty:
        raise ShopLensError(f"series {unique_id!r} is not in this run; choose from {', '.join(run.series.ids)}")
    settings = run.arena.settings
    ds = pd.DatetimeIndex(rows["ds"])
    future_ds = pd.date_range(ds[-1], periods=settings.horizon + 1, freq=settings.freq)[1:]
    all_ds = ds.append(future_ds)
    regressors = pd.DataFrame(index=all_ds)
    if not run.promotions.empty:
        own = run.promotions[run.promotions["unique_id"] == unique_id].set_index("ds")[PROMOTION_COLUMN]
        regressors[PROMOTION_COLUMN] = own.reindex(all_ds, fill_value=0.0).to_numpy(float)
    if run.drivers is not None:
        extra = drivers_for(run.drivers, unique_id, all_ds)
        for column in extra.columns:
            regressors[column] = extra[column].to_numpy(float)
    model, prediction = fit_prophet(SeriesInput(unique_id, ds, rows["y"].to_numpy(float), future_ds, regressors,
                                                run.holidays), settings)
    components = pd.DataFrame({"ds": prediction["ds"], "is_forecast": prediction["ds"] > ds[-1]})
    transform = settings.non_negative
    components["trend"] = np.expm1(prediction["trend"]) if transform else prediction["trend"]
    names = ["weekly", "yearly", "holidays", *model.extra_regressors]
    for name in names:
        if name in prediction.columns:
            values = prediction[name].to_numpy(float)
            components[name] = np.expm1(values) if transform else values
    return components


@dataclass(frozen=True)
class SeriesView:
    """Everything the page shows for one series of a run.

    Attributes:
        unique_id, label: the series and its label for people.
        history: `ds, y`.
        forecast: the champion's forecast after the data ends (FORECAST_COLUMNS and `model`).
        leaderboard: the series' leaderboard rows, best first.
        champion: the champion's row of `ArenaResult.champions` as a dict.
        backtest: the champion's backtest rows (`fold, cutoff, ds, y, yhat, bounds`).
    """

    unique_id: str
    label: str
    history: pd.DataFrame
    forecast: pd.DataFrame
    leaderboard: pd.DataFrame
    champion: dict
    backtest: pd.DataFrame


def series_view(run: ForecastRun, unique_id: str) -> SeriesView:
    """Slice a run down to one series.

    Raises:
        ShopLensError: the series was not forecast (unknown, or skipped as too short).
    """
    arena = run.arena
    champions = arena.champions[arena.champions["unique_id"] == unique_id]
    if champions.empty:
        reason = arena.skipped.get(unique_id, "it is not in this run")
        raise ShopLensError(f"series {unique_id!r} was not forecast: {reason}")
    champion = champions.iloc[0].to_dict()
    forecast = arena.champion_forecast()
    backtest = arena.backtest
    return SeriesView(
        unique_id=unique_id, label=run.label(unique_id),
        history=arena.history.loc[arena.history["unique_id"] == unique_id, ["ds", "y"]].reset_index(drop=True),
        forecast=forecast[forecast["unique_id"] == unique_id].reset_index(drop=True),
        leaderboard=arena.leaderboard[arena.leaderboard["unique_id"] == unique_id].reset_index(drop=True),
        champion=champion,
        backtest=backtest[(backtest["unique_id"] == unique_id) & (backtest["model"] == champion["model"])]
        .reset_index(drop=True),
    )
