"""Why the global LightGBM model forecasts what it does on a day after the data ends ("why is next Saturday high?").

The shared explanation panel explains the global model's held-out validation days. This module
explains the forecast itself: for one series of a finished run it rebuilds the feature rows the
final global model predicted the horizon from (origin = the last day of the data, so lags come
from history only, the calendar, festivals and holidays of each target day, and planned promotions
only), computes TreeSHAP values with `analytics.explain.tree_shap`, and converts them from the
model's scaled target (sales ÷ the series' normal level) into the measure's own unit. Because the
scale is one number per series and origin, scaling keeps additivity: base value + contributions =
the LightGBM forecast for that day, in units (or revenue).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analytics.errors import ShopLensError
from analytics.explain.trained import TrainedModel
from analytics.explain.tree_shap import RowExplanation, TrainedExplanation, explain_row, explain_trained, row_key
from analytics.forecasting.drivers import PROMOTION_COLUMN
from analytics.forecasting.global_model import (
    CATEGORICAL_FEATURES,
    FEATURE_LABELS,
    FEATURES,
    GlobalForecaster,
    _categorical,
    feature_arrays,
)

VALUE_NAMES: dict[str, dict[str, str]] = {
    "day_of_week": {str(number): name for number, name in enumerate(
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))},
    "month": {str(number): name for number, name in enumerate(
        ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
         "November", "December"), start=1)},
    **{flag: {"1": "yes", "0": "no"} for flag in ("is_country_holiday", "is_festival_peak", "is_festival_run_up",
                                                  "is_festival_tail", "is_year_end_holiday")},
}


@dataclass(frozen=True)
class ForecastDayExplanation:
    """SHAP values of the global model's forecast for every horizon day of one series.

    Attributes:
        unique_id: the series.
        unit: the measure the contributions are in ("units", "revenue", "y" for a CSV).
        scale: the series' normal level at the data's end (> 0); the model predicts sales ÷ scale.
        data_end: the last day of history; every explained day is after it.
        explanation: TreeSHAP of the horizon rows in the model's scaled unit, indexed by day (`ds`).
        forecast: `ds, prediction` (the LightGBM forecast in `unit`, before clipping at 0), one row per
            horizon day, oldest first.
    """

    unique_id: str
    unit: str
    scale: float
    data_end: pd.Timestamp
    explanation: TrainedExplanation
    forecast: pd.DataFrame

    @property
    def days(self) -> list[pd.Timestamp]:
        """The explainable days, oldest first."""
        return list(pd.DatetimeIndex(self.forecast["ds"]))

    @property
    def highest_day(self) -> pd.Timestamp:
        """The horizon day with the highest LightGBM forecast (the first of ties)."""
        return pd.Timestamp(self.forecast["ds"].iloc[int(np.argmax(self.forecast["prediction"].to_numpy()))])


def horizon_feature_rows(forecaster: GlobalForecaster, unique_id: str) -> tuple[pd.DataFrame, float]:
    """The feature rows the fitted global model forecasts one series' horizon from.

    Only the series' history (up to its last day) and what is known ahead (calendar, festivals,
    holidays, planned promotions) enter the rows: they are built by the same `feature_arrays` the
    model was trained and forecast with, at origin = the last day of the data.

    Args:
        forecaster: a fitted GlobalForecaster (e.g. `ArenaResult.global_model`).
        unique_id: one of its series.

    Returns:
        (rows, scale): FEATURES columns (categories as pandas "category"), one row per horizon day,
        indexed by the day (`ds`); scale is the series' normal level the target is divided by (> 0).

    Raises:
        ShopLensError: the model is not fitted or the series is not among its series.
    """
    prepared = getattr(forecaster, "prepared_", None)
    if prepared is None:
        raise ShopLensError("fit the global model before explaining its forecast")
    if unique_id not in prepared:
        raise ShopLensError(f"series {unique_id!r} is not in the global model; choose one of "
                            f"{', '.join(list(prepared)[:10])}")
    settings = forecaster.settings
    ds, y, calendar = prepared[unique_id]
    origin = len(y) - 1
    features, _, scale, target_index = feature_arrays(y, calendar, np.array([origin]), settings, settings.horizon)
    days = pd.date_range(ds[0], periods=len(ds) + settings.horizon, freq=settings.freq)[target_index]
    rows = _categorical(pd.DataFrame(features)[list(FEATURES)])
    rows.index = pd.DatetimeIndex(days, name="ds")
    return rows, float(scale[0])


def explain_forecast_days(forecaster: GlobalForecaster, unique_id: str, *, unit: str = "units"
                          ) -> ForecastDayExplanation:
    """TreeSHAP values of the global model's forecast for each horizon day of one series.

    Args:
        forecaster: the fitted GlobalForecaster of a run (`run.arena.global_model`).
        unique_id: the series to explain.
        unit: the series' measure, for labels ("units", "revenue").

    Returns:
        A ForecastDayExplanation; its `explanation.is_additive` holds in the scaled unit.

    Raises:
        ShopLensError: no fitted model, or the series is not in it.
    """
    rows, scale = horizon_feature_rows(forecaster, unique_id)
    prepared_ds = forecaster.prepared_[unique_id][0]
    trained = TrainedModel(
        name="forecast_global_horizon",
        title="Global LightGBM forecaster, forecast days",
        task="regression",
        target="sales per day ÷ the series' normal level",
        model=forecaster.model_,
        feature_labels={feature: FEATURE_LABELS[feature] for feature in FEATURES},
        categorical_features=CATEGORICAL_FEATURES,
        explain_rows=rows,
        explain_actual=pd.Series(np.nan, index=rows.index, name="actual"),
        segments=pd.DataFrame(index=rows.index),
        metrics={},
        data_version="",
        training_start=pd.Timestamp(prepared_ds[0]),
        training_end=pd.Timestamp(prepared_ds[-1]),
        validation_start=pd.Timestamp(rows.index[0]),
        validation_end=pd.Timestamp(rows.index[-1]),
        train_rows=0,
        validation_rows=len(rows),
        parameters=forecaster.get_params(),
    )
    # A horizon is at most a few hundred rows: explain every one, no sampling.
    explanation = explain_trained(trained, max_rows=max(len(rows), 1))
    forecast = pd.DataFrame({"ds": rows.index, "prediction": explanation.raw_output.to_numpy(float) * scale})
    return ForecastDayExplanation(unique_id=unique_id, unit=unit, scale=scale,
                                  data_end=pd.Timestamp(prepared_ds[-1]), explanation=explanation,
                                  forecast=forecast.reset_index(drop=True))


def explain_forecast_day(days: ForecastDayExplanation, day) -> RowExplanation:
    """One forecast day's waterfall in the measure's unit: base value + contributions = that day's forecast.

    Args:
        days: from `explain_forecast_days`.
        day: a horizon day (date, Timestamp or "YYYY-MM-DD").

    Returns:
        A RowExplanation with `unit` = days.unit; base_value, raw_output, predicted and each
        contribution's shap_value are the scaled-unit values × days.scale. raw_output is the
        LightGBM forecast before clipping at 0.

    Raises:
        ShopLensError: the day is not in the horizon (names the first and last explainable days).
    """
    wanted = row_key(pd.Timestamp(day)) if not isinstance(day, str) else day
    if wanted not in days.explanation.row_ids():
        first, last = days.days[0], days.days[-1]
        raise ShopLensError(f"day {wanted} is not forecast; pick a day from {first:%Y-%m-%d} to {last:%Y-%m-%d}")
    row = explain_row(days.explanation, wanted)
    contributions = row.contributions.assign(shap_value=row.contributions["shap_value"] * days.scale)
    # The model codes weekday 0-6 and month 1-12; people read names.
    for feature, names in VALUE_NAMES.items():
        at = contributions["feature"] == feature
        contributions.loc[at, "value"] = contributions.loc[at, "value"].map(lambda value: names.get(value, value))
    at = contributions["feature"] == PROMOTION_COLUMN
    contributions.loc[at, "value"] = contributions.loc[at, "value"].map(_percent)
    return replace(row, unit=days.unit, base_value=row.base_value * days.scale,
                   raw_output=row.raw_output * days.scale, predicted=row.predicted * days.scale,
                   contributions=contributions)


def top_drivers_sentence(row: RowExplanation, label: str | None = None) -> str:
    """One sentence naming the two largest drivers of a forecast day, with their effect in its unit.

    Args:
        row: from `explain_forecast_day`.
        label: the series' name for people; None leaves it out.

    Returns:
        e.g. "Total on Sat 05 Dec 2026: the model forecasts 412 units, 88 above its base of 324, mostly
        because of Day of week = Saturday (+61 units) and Festival peak day = yes (+40 units)." Amounts
        have 0, 1 or 2 decimals for forecasts of 100+, 10+ or less.
    """
    day = pd.Timestamp(row.row_id)
    change = row.raw_output - row.base_value
    direction = "above" if change >= 0 else "below"
    # Whole numbers for big series; decimals where a product sells a unit or two a day.
    size = max(abs(row.raw_output), abs(row.base_value))
    decimals = 0 if size >= 100 else 1 if size >= 10 else 2
    top = row.contributions.head(2)
    drivers = " and ".join(f"{item.label} = {item.value} ({item.shap_value:+,.{decimals}f} {row.unit})"
                           for item in top.itertuples())
    subject = f"{label} on {day:%a %d %b %Y}" if label else f"{day:%a %d %b %Y}"
    return (f"{subject}: the model forecasts {row.raw_output:,.{decimals}f} {row.unit}, "
            f"{abs(change):,.{decimals}f} {direction} its base of {row.base_value:,.{decimals}f}, mostly because "
            f"of {drivers}.")


def _percent(value: str) -> str:
    try:
        return f"{float(value):.0%}"
    except ValueError:
        return value
