"""Calibrated intervals: split-conformal on the rolling-origin backtest residuals, for every model.

Each model's own intervals assume its error model is right; in the backtest they were not (LightGBM's
80% interval covered 14% of a monthly airline series, the sample's 64%). So every model's 80% and 95%
bounds are replaced by conformal ones built from its backtest errors on the same series:

- nonconformity score of a backtest day: s = |y - ŷ| / (level · √k), where k is the horizon step
  (1 = the day after the cutoff) and level is the series' mean |y| over the LEVEL_WINDOWS steps up to
  the fold's cutoff. Dividing by the level lets the interval follow the series when it grows or enters
  its busy season (errors of sales grow with their level); √k lets it widen with the horizon, as the
  error of a random walk does;
- q_p = the conformal quantile of the scores at p = 0.80 and 0.95: the ⌈(n + 1)·p⌉-th smallest of the
  n scores, which covers a new exchangeable score with probability ≥ p;
- interval on a day at step k after an origin with level L: ŷ ± q_p · L · √k (clipped at 0 for sales).

Scores are kept per series and model. Where a series has too few scores for a level (⌈(n + 1)·p⌉ > n:
fewer than 4 for 80%, 19 for 95%) the model's scores over every series are used (they are comparable,
being scaled), and if those are too few as well, the largest score.

What is calibrated on what, so coverage is always measured on days the calibration did not see:

- the forecast after the data ends: on the scores of every backtest fold;
- a backtest fold's days: on the scores of the other folds only (cross-conformal), so the leaderboard's
  coverage and interval score are out of sample. With one fold there is nothing else to calibrate it on,
  and that fold keeps the model's own intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.forecasting.models import FORECAST_COLUMNS, finish

# Nominal coverage of the two intervals, by the level in the bound columns' names.
NOMINAL: dict[int, float] = {80: 0.80, 95: 0.95}
# Steps of history the series' level is averaged over, per frequency: about two months of days or weeks
# (recent enough to follow a busy season), two years of months or quarters (one would be a single season).
LEVEL_WINDOWS: dict[str, int] = {"D": 56, "W": 8, "MS": 24, "QS": 8}
# Interval widths grow as step^HORIZON_GROWTH: √step, as the error of a random walk does. Growth estimated per
# series from 3 folds was too noisy: it narrowed the December intervals of Complete Journey (73% covered).
HORIZON_GROWTH = 0.5
# Coverage further than this from nominal (either way) earns a warning (see `coverage_warning`): the target.
WARNING_POINTS = 0.05
CALIBRATION_COLUMNS: tuple[str, ...] = ("unique_id", "model", "scores", "quantile_80", "quantile_95", "pooled")


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The split-conformal quantile: the ⌈(n + 1)·level⌉-th smallest of n scores.

    Args:
        scores: nonconformity scores (>= 0), any order; NaN are ignored.
        level: nominal coverage, 0 < level < 1.

    Returns:
        The quantile; inf when n is too small for the level (⌈(n + 1)·level⌉ > n), NaN when there are no scores.
    """
    values = np.sort(np.asarray(scores, dtype=float)[~np.isnan(np.asarray(scores, dtype=float))])
    if len(values) == 0:
        return float("nan")
    rank = math.ceil((len(values) + 1) * level - 1e-9)
    return float(values[rank - 1]) if rank <= len(values) else float("inf")


def level_window(freq: str) -> int:
    """LEVEL_WINDOWS for a pandas frequency ("D", "W-SUN", "MS", "QS-JAN", ...)."""
    for prefix, window in LEVEL_WINDOWS.items():
        if freq == prefix or freq.startswith(f"{prefix}-"):
            return window
    return LEVEL_WINDOWS["D"]


def series_level(y: np.ndarray, window: int) -> float:
    """Mean |y| over the last `window` values; the whole history's when that is 0; 1 when both are.

    Returns:
        > 0, in the series' unit.
    """
    values = np.abs(np.asarray(y, dtype=float))
    for part in (values[-window:], values):
        level = float(np.mean(part)) if len(part) else 0.0
        if level > 0:
            return level
    return 1.0


def origin_levels(history: pd.DataFrame, origins: pd.DataFrame, freq: str) -> pd.Series:
    """`series_level` of each (unique_id, cutoff) in `origins`, from the history up to and including the cutoff.

    Args:
        history: `unique_id, ds, y`.
        origins: `unique_id, cutoff`.
        freq: the series' frequency (picks the window).

    Returns:
        One level per row of `origins`, same index.
    """
    window = level_window(freq)
    by_series = {unique_id: (rows["ds"].to_numpy(), rows["y"].to_numpy(float))
                 for unique_id, rows in history.groupby("unique_id", sort=False)}
    cache: dict[tuple, float] = {}
    levels = []
    for unique_id, cutoff in zip(origins["unique_id"], origins["cutoff"]):
        key = (unique_id, cutoff)
        if key not in cache:
            ds, y = by_series[unique_id]
            cache[key] = series_level(y[ds <= np.datetime64(cutoff)], window)
        levels.append(cache[key])
    return pd.Series(levels, index=origins.index, dtype=float)


def _with_scale(frame: pd.DataFrame, history: pd.DataFrame, freq: str, keys: list[str]) -> pd.DataFrame:
    """Add `step` (1.. within each forecast), `scale` = the level at the origin × √step and, where the actual
    `y` is known, `score` = |y - ŷ| / scale."""
    frame = frame.sort_values([*keys, "ds"], kind="stable").reset_index(drop=True)
    frame["step"] = frame.groupby(keys, sort=False).cumcount() + 1
    levels = origin_levels(history, frame[["unique_id", "cutoff"]], freq).to_numpy()
    frame["scale"] = levels * frame["step"].to_numpy(float) ** HORIZON_GROWTH
    if "y" in frame.columns:
        frame["score"] = np.abs(frame["y"].to_numpy(float) - frame["yhat"].to_numpy(float)) / frame["scale"]
    return frame


def _quantiles(scores: pd.DataFrame, level: float) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per (unique_id, model): the conformal quantile with the fallbacks of the module docstring.

    Returns:
        (quantile, number of own scores, pooled) indexed by (unique_id, model).
    """
    own = scores.groupby(["unique_id", "model"], sort=False)["score"].agg(
        lambda values: conformal_quantile(values.to_numpy(), level))
    counts = scores.groupby(["unique_id", "model"], sort=False)["score"].count()
    pooled_by_model = scores.groupby("model", sort=False)["score"].agg(
        lambda values: conformal_quantile(values.to_numpy(), level))
    largest_by_model = scores.groupby("model", sort=False)["score"].max()
    models = own.index.get_level_values("model")
    pooled = pooled_by_model.reindex(models).to_numpy()
    fallback = np.where(np.isfinite(pooled), pooled, largest_by_model.reindex(models).to_numpy())
    is_pooled = ~np.isfinite(own.to_numpy())
    quantile = pd.Series(np.where(is_pooled, fallback, own.to_numpy()), index=own.index)
    return quantile, counts, pd.Series(is_pooled, index=own.index)


def _apply(frame: pd.DataFrame, quantiles: dict[int, pd.Series], non_negative: bool) -> pd.DataFrame:
    """Replace the bounds of `frame` (with `scale`) by ŷ ± q · scale where a quantile is known."""
    frame = frame.copy()
    index = pd.MultiIndex.from_frame(frame[["unique_id", "model"]])
    known = np.ones(len(frame), dtype=bool)
    for level, quantile in quantiles.items():
        q = quantile.reindex(index).to_numpy(float)
        known &= np.isfinite(q)
        half = q * frame["scale"].to_numpy(float)
        frame[f"new_lower_{level}"] = frame["yhat"].to_numpy(float) - half
        frame[f"new_upper_{level}"] = frame["yhat"].to_numpy(float) + half
    for level in quantiles:
        for side in ("lower", "upper"):
            column = f"yhat_{side}_{level}"
            frame[column] = np.where(known, frame.pop(f"new_{side}_{level}"), frame[column])
    ordered = finish(frame[list(FORECAST_COLUMNS)], non_negative)
    for column in FORECAST_COLUMNS[1:]:
        frame[column] = ordered[column].to_numpy()
    return frame


@dataclass(frozen=True)
class Calibrated:
    """The arena's frames with conformal intervals.

    Attributes:
        backtest: the backtest rows, each fold's bounds calibrated on the other folds.
        forecast: the forecast rows, bounds calibrated on every fold.
        calibration: CALIBRATION_COLUMNS, one row per series and model: how many backtest scores it had, the
            quantiles q_80 and q_95 of the forecast's intervals (in levels × √step), and whether they came
            from the model's scores over every series (too few of its own).
    """

    backtest: pd.DataFrame
    forecast: pd.DataFrame
    calibration: pd.DataFrame


def calibrate(backtest: pd.DataFrame, forecast: pd.DataFrame, history: pd.DataFrame, freq: str,
              non_negative: bool = True) -> Calibrated:
    """Conformal 80% and 95% intervals for every model's backtest and forecast (see the module docstring).

    Args:
        backtest: `unique_id, model, fold, cutoff, y` and FORECAST_COLUMNS (y = the actual value).
        forecast: `unique_id, model` and FORECAST_COLUMNS, the horizon after the data's last step.
        history: `unique_id, ds, y`, every step the arena saw.
        freq: the series' pandas frequency.
        non_negative: clip the bounds at 0 (sales).

    Returns:
        A Calibrated; frames keep their columns (plus none), rows sorted by series, model, fold and ds.
    """
    columns_backtest, columns_forecast = list(backtest.columns), list(forecast.columns)
    last_ds = history.groupby("unique_id")["ds"].max().rename("cutoff").reset_index()
    scored = _with_scale(backtest, history, freq, ["unique_id", "model", "fold"])
    future = _with_scale(forecast.merge(last_ds, on="unique_id", how="left"), history, freq, ["unique_id", "model"])

    every_fold = {level: _quantiles(scored, nominal) for level, nominal in NOMINAL.items()}
    calibrated_forecast = _apply(future, {level: found[0] for level, found in every_fold.items()}, non_negative)

    parts = []
    for fold, rows in scored.groupby("fold", sort=True):
        others = scored[scored["fold"] != fold]
        if others.empty:
            parts.append(rows)
            continue
        quantiles = {level: _quantiles(others, nominal)[0] for level, nominal in NOMINAL.items()}
        parts.append(_apply(rows, quantiles, non_negative))
    calibrated_backtest = pd.concat(parts, ignore_index=True) if parts else scored

    quantile_80, counts, pooled_80 = every_fold[80]
    quantile_95, _, pooled_95 = every_fold[95]
    calibration = pd.DataFrame({"scores": counts, "quantile_80": quantile_80, "quantile_95": quantile_95,
                                "pooled": pooled_80 | pooled_95}).reset_index()
    calibration["scores"] = calibration["scores"].astype(int)
    return Calibrated(
        backtest=calibrated_backtest[columns_backtest].sort_values(["unique_id", "model", "fold", "ds"],
                                                                   ignore_index=True),
        forecast=calibrated_forecast[columns_forecast].sort_values(["unique_id", "model", "ds"], ignore_index=True),
        calibration=calibration[list(CALIBRATION_COLUMNS)].sort_values(["unique_id", "model"], ignore_index=True),
    )


def coverage_warning(coverage_80: float, coverage_95: float, days: int) -> str | None:
    """A sentence for people when the intervals held more than WARNING_POINTS off nominal in the backtest.

    The bar is the issue's target (within 5 points of nominal), in both directions: intervals that held
    less often than they promise are too narrow (stock planned on them runs out more often than the service
    level says); intervals that held much more often are too wide (more stock than needed; common on
    intermittent series, whose many zero days sit on the lower bound). Over few backtest days chance alone
    moves coverage by a few points (±8.7 points is two standard errors for 80% over 84 days), so the
    sentence gives the number of days.

    Args:
        coverage_80, coverage_95: shares of backtest days inside the 80% and 95% intervals (NaN = unknown).
        days: backtest days they were measured on.

    Returns:
        e.g. "80% intervals covered 64% in the backtest (84 days): too narrow, expect more days outside them";
        None when both levels are within WARNING_POINTS of nominal (or unknown).
    """
    off = {level: observed - NOMINAL[level] for level, observed in ((80, coverage_80), (95, coverage_95))
           if observed is not None and observed == observed and abs(observed - NOMINAL[level]) > WARNING_POINTS + 1e-9}
    if not off:
        return None
    covered = " and ".join(f"{level}% intervals covered {NOMINAL[level] + gap:.0%}" for level, gap in off.items())
    narrow = [level for level, gap in off.items() if gap < 0]
    if narrow and len(narrow) == len(off):
        verdict = "too narrow, expect more days outside them"
    elif not narrow:
        verdict = "wider than needed, stock planned on them is more than the service level asks"
    else:
        verdict = (f"the {narrow[0]}% intervals are too narrow and the "
                   f"{next(level for level in off if level not in narrow)}% ones wider than needed")
    return f"{covered} in the backtest ({days} days): {verdict}"
