"""Forecast metrics against hand computation and an independent reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.forecasting import metrics


def test_mase_by_hand():
    # History 1,2,3,4,5,6 with season 2: seasonal errors |3-1|,|4-2|,|5-3|,|6-4| = 2 each -> scale 2.
    # Forecast errors |7-6|,|8-10| = 1, 2 -> MAE 1.5 -> MASE 0.75.
    assert metrics.mase([7, 8], [6, 10], [1, 2, 3, 4, 5, 6], 2) == pytest.approx(0.75)


def test_mase_falls_back_to_lag_one_and_then_nan():
    # Seasonal lag 7 is longer than the 3-day history: lag 1 errors 1, 1 -> scale 1; MAE 2.
    assert metrics.mase([5], [3], [1, 2, 3], 7) == pytest.approx(2.0)
    # A constant history has no scale at all: MASE is undefined, not infinite.
    assert math.isnan(metrics.mase([5], [3], [4, 4, 4, 4], 2))


def test_smape_wape_bias_coverage_by_hand():
    actual, forecast = [10, 0, 5], [8, 0, 10]
    # sMAPE: 2*2/18, 0 (both zero), 2*5/15 -> mean of 0.2222, 0, 0.6667 = 0.2963.
    assert metrics.smape(actual, forecast) == pytest.approx((4 / 18 + 10 / 15) / 3)
    # WAPE: (2 + 0 + 5) / 15; bias: (-2 + 0 + 5) / 15.
    assert metrics.wape(actual, forecast) == pytest.approx(7 / 15)
    assert metrics.bias(actual, forecast) == pytest.approx(3 / 15)
    # Coverage: 10 in [9, 11], 0 in [0, 1] (bound included), 5 not in [6, 12] -> 2 of 3.
    assert metrics.coverage(actual, [9, 0, 6], [11, 1, 12]) == pytest.approx(2 / 3)


def test_wape_and_bias_are_undefined_without_any_actual():
    assert math.isnan(metrics.wape([0, 0], [1, 2]))
    assert math.isnan(metrics.bias([0, 0], [1, 2]))


values = st.lists(st.floats(0, 1e4, allow_nan=False, allow_subnormal=False), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_metrics_match_a_loop_reference(data):
    actual = data.draw(values)
    forecast = data.draw(st.lists(st.floats(0, 1e4, allow_nan=False, allow_subnormal=False),
                                  min_size=len(actual), max_size=len(actual)))
    history = data.draw(st.lists(st.floats(0, 1e4, allow_nan=False, allow_subnormal=False), min_size=9, max_size=40))
    # Reference: plain loops, written from the definitions.
    terms = [0.0 if a == f == 0 else 2 * abs(a - f) / (abs(a) + abs(f)) for a, f in zip(actual, forecast)]
    assert metrics.smape(actual, forecast) == pytest.approx(sum(terms) / len(terms))
    scale = sum(abs(history[i] - history[i - 7]) for i in range(7, len(history))) / (len(history) - 7)
    if scale > 0:
        mae = sum(abs(a - f) for a, f in zip(actual, forecast)) / len(actual)
        assert metrics.mase(actual, forecast, history, 7) == pytest.approx(mae / scale)
    total = sum(abs(a) for a in actual)
    if total > 0:
        errors = sum(abs(a - f) for a, f in zip(actual, forecast))
        assert metrics.wape(actual, forecast) == pytest.approx(errors / total)
    assert 0 <= metrics.smape(actual, forecast) <= 2
    assert np.isfinite(metrics.coverage(actual, forecast, forecast))
