"""Two periods of the same funnel, step by step: conversion with confidence intervals and a z-test.

For each step the conversion from the first step in the chosen period is compared with the same
conversion in another period (by default the equally long period just before). Each conversion
gets a Wilson score interval, and the difference a two-sided two-proportion z-test (pooled
standard error), the test a chi-squared test of the 2x2 table without continuity correction gives.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from analytics.filters import Filters
from analytics.funnels.query import FunnelQuery
from analytics.funnels.runner import count_funnel

if TYPE_CHECKING:  # pragma: no cover
    from analytics.funnels.store import EventStore

Z_95 = 1.959963984540054  # the 97.5th percentile of the standard normal


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion.

    Args:
        successes: 0..trials.
        trials: >= 0.
        z: the normal quantile; the default gives a 95 % interval.

    Returns:
        (low, high) within 0..1; (nan, nan) when trials is 0.
    """
    if trials == 0:
        return math.nan, math.nan
    share = successes / trials
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_test(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> tuple[float, float]:
    """Two-sided z-test that two proportions are equal, with the pooled standard error.

    Returns:
        (z, p_value); z > 0 when the first proportion is higher. (nan, nan) when either trial count is
        0 or both proportions are 0 or both 1 (nothing to test).
    """
    if trials_a == 0 or trials_b == 0:
        return math.nan, math.nan
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    variance = pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b)
    if variance == 0:
        return math.nan, math.nan
    z = (successes_a / trials_a - successes_b / trials_b) / math.sqrt(variance)
    return z, math.erfc(abs(z) / math.sqrt(2))


def compare_periods(con: duckdb.DuckDBPyConnection, query: FunnelQuery, filters: Filters,
                    other: Filters | None = None, store: EventStore | None = None) -> pd.DataFrame:
    """The funnel in `filters` against the funnel in `other` (default: the previous period).

    Args:
        con: a warehouse connection.
        query: the funnel; validated here.
        filters: the period (and slice) of interest.
        other: the period to compare with; the same slice over the previous equally long period by default.
        store: the build's events in memory, as for `run_funnel`.

    Returns:
        One row per step: step_number, step, `<count>` and `<count>_previous` (users or sessions
        reaching the step), conversion and conversion_previous (from the first step, 0..1, NaN
        without entrants), conversion_low/high and conversion_previous_low/high (95 % Wilson),
        difference (conversion - conversion_previous), z and p_value (two-proportion z-test; NaN
        for step 1 and where undefined).
    """
    other = other or filters.comparison_period()
    current = count_funnel(con, query, filters, store)
    previous = count_funnel(con, query, other, store)
    column = query.count_by
    rows = []
    entered, entered_previous = int(current[column].iloc[0]), int(previous[column].iloc[0])
    for (_, now), (_, before) in zip(current.iterrows(), previous.iterrows()):
        reached, reached_previous = int(now[column]), int(before[column])
        low, high = wilson_interval(reached, entered)
        low_previous, high_previous = wilson_interval(reached_previous, entered_previous)
        z, p_value = (math.nan, math.nan) if now["step_number"] == 1 else two_proportion_test(
            reached, entered, reached_previous, entered_previous)
        conversion = reached / entered if entered else math.nan
        conversion_previous = reached_previous / entered_previous if entered_previous else math.nan
        rows.append({
            "step_number": int(now["step_number"]), "step": now["step"],
            column: reached, f"{column}_previous": reached_previous,
            "conversion": conversion, "conversion_previous": conversion_previous,
            "conversion_low": low, "conversion_high": high,
            "conversion_previous_low": low_previous, "conversion_previous_high": high_previous,
            "difference": conversion - conversion_previous, "z": z, "p_value": p_value,
        })
    return pd.DataFrame(rows).astype({"conversion": float, "difference": float, "z": float, "p_value": float})


SIGNIFICANCE_LEVEL = 0.05


def conversion_verdict(difference: float, p_value: float, level: float = SIGNIFICANCE_LEVEL) -> str:
    """A change of conversion in words: "-6.3 pts, significant" or "+0.4 pts, not significant".

    Args:
        difference: conversion now minus conversion before, as a share (-0.063 is 6.3 points lower).
        p_value: the two-proportion test's p-value; NaN when the test is undefined.
        level: the significance level, 0..1.

    Returns:
        The change in percentage points (one decimal, signed like the other changes) and whether it is significant at
        `level`; "no earlier data" when there is nothing to compare with.
    """
    if difference != difference:
        return "no earlier data"
    points = f"{difference * 100:+.1f} pts"
    if p_value != p_value:
        return f"{points}, not tested"
    return f"{points}, {'significant' if p_value < level else 'not significant'}"
