"""Forecast accuracy metrics: plain functions on arrays, each with its range stated.

All take the actual values and the forecast for the same days (equal length, no NaN).
`mase` also needs the training history to scale by.
"""

from __future__ import annotations

import numpy as np

INTERVAL_LEVELS: tuple[int, ...] = (80, 95)


def seasonal_scale(history: np.ndarray, season_length: int) -> float:
    """Mean absolute seasonal-naive error in the history, the MASE denominator.

    Args:
        history: the training values, oldest first, length n.
        season_length: m, e.g. 7 for daily data with a weekly cycle, 12 for monthly data.

    Returns:
        mean |y_t - y_{t-m}| over t = m..n-1, >= 0. Falls back to m = 1 when the history is
        shorter than m + 1 or the seasonal error is 0; NaN when even that is undefined or 0
        (a constant history), so MASE is undefined rather than infinite.
    """
    history = np.asarray(history, dtype=float)
    for lag in (season_length, 1):
        if len(history) > lag:
            scale = float(np.mean(np.abs(history[lag:] - history[:-lag])))
            if scale > 0:
                return scale
    return float("nan")


def mase(actual: np.ndarray, forecast: np.ndarray, history: np.ndarray, season_length: int) -> float:
    """Mean absolute scaled error: MAE of the forecast over the in-sample seasonal-naive MAE.

    Returns:
        >= 0; 1 means as good as the seasonal naive forecast was in the history, below 1 better.
        NaN when the scale is undefined (see `seasonal_scale`).
    """
    scale = seasonal_scale(history, season_length)
    return float(np.mean(np.abs(np.asarray(actual, float) - np.asarray(forecast, float))) / scale)


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric mean absolute percentage error: mean of 2|y - ŷ| / (|y| + |ŷ|).

    Returns:
        Between 0 and 2 (not a percentage); a day where both are 0 counts as 0 error.
    """
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(2 * np.abs(actual - forecast), denominator, out=np.zeros_like(denominator),
                      where=denominator > 0)
    return float(np.mean(ratio))


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Weighted absolute percentage error: sum |y - ŷ| / sum |y|.

    Returns:
        >= 0 (0 is perfect); NaN when every actual is 0.
    """
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    total = np.sum(np.abs(actual))
    return float(np.sum(np.abs(actual - forecast)) / total) if total > 0 else float("nan")


def bias(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Relative bias: sum(ŷ - y) / sum |y|; positive means the forecast is too high.

    Returns:
        Any real number (0.1 = 10% too high overall); NaN when every actual is 0.
    """
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    total = np.sum(np.abs(actual))
    return float(np.sum(forecast - actual) / total) if total > 0 else float("nan")


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actual values inside [lower, upper], bounds included.

    Returns:
        Between 0 and 1; a well calibrated 80% interval covers about 0.8.
    """
    actual = np.asarray(actual, float)
    inside = (actual >= np.asarray(lower, float)) & (actual <= np.asarray(upper, float))
    return float(np.mean(inside)) if len(actual) else float("nan")


def interval_score(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float) -> float:
    """Mean interval (Winkler) score of a central interval: its width plus a penalty for every miss.

    For a (1 - α) interval [l, u] and actual y: (u - l) + (2/α)(l - y)·[y < l] + (2/α)(y - u)·[y > u]
    (Gneiting & Raftery 2007). Narrow intervals score low only if they also hold: an interval that
    misses pays 2/α (40 for 95%) times the distance it missed by.

    Args:
        actual, lower, upper: same length.
        level: nominal coverage 1 - α, e.g. 0.95.

    Returns:
        >= 0, in the series' unit (lower is better); NaN for no days.
    """
    actual, lower, upper = (np.asarray(values, float) for values in (actual, lower, upper))
    if not len(actual):
        return float("nan")
    alpha = 1 - level
    penalty = (2 / alpha) * (np.maximum(lower - actual, 0) + np.maximum(actual - upper, 0))
    return float(np.mean(upper - lower + penalty))


def msis(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, history: np.ndarray, season_length: int,
         level: float = 0.95) -> float:
    """Mean scaled interval score (the M4 competition's): `interval_score` ÷ the MASE scale.

    Returns:
        >= 0, comparable across series like MASE (lower is better); NaN when the scale is undefined.
    """
    return interval_score(actual, lower, upper, level) / seasonal_scale(history, season_length)
