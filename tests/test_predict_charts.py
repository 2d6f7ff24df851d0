"""The prediction figures, inspected without a browser."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.charts import predictions as charts
from analytics.features.predictive import probability_by_segment, probability_distribution

SCORES = pd.DataFrame({
    "user_id": ["a", "b", "c", "d"],
    "purchase_probability_7d": [0.01, 0.02, 0.30, 0.90],
    "churn_probability_28d": [0.9, 0.7, 0.2, 0.1],
    "main_device": ["mobile", "mobile", "app", None],
    "main_channel": ["email"] * 4,
    "customer_status": ["customer", "visitor", "visitor", "customer"],
})


def test_distribution_bars_hold_the_counts():
    distribution = probability_distribution(SCORES, "purchase_probability_7d", bins=10)
    figure = charts.distribution_figure(distribution, "purchase_probability_7d")
    # 0.01 and 0.02 in the first band, 0.30 in the fourth, 0.90 in the tenth.
    assert list(figure.data[0].y) == [2, 0, 0, 1, 0, 0, 0, 0, 0, 1]
    assert figure.data[0].x[0] == pytest.approx(0.05)
    assert figure.layout.xaxis.tickformat == ".0%"


def test_empty_distribution_says_so():
    distribution = probability_distribution(SCORES.iloc[:0], "churn_probability_28d")
    figure = charts.distribution_figure(distribution, "churn_probability_28d")
    assert not figure.data and "No recently active users" in figure.layout.annotations[0].text


def test_calibration_has_the_diagonal_and_the_model():
    calibration = pd.DataFrame({"bin": [1, 2], "mean_predicted": [0.1, 0.4], "observed_rate": [0.15, 0.3],
                                "rows": [5, 5]})
    figure = charts.calibration_figure(calibration, "churn_probability_28d")
    diagonal, model = figure.data
    assert list(diagonal.x) == list(diagonal.y)
    assert list(model.y) == [0.15, 0.3]
    # The axes stop a little past the largest value (0.4 x 1.05).
    assert figure.layout.xaxis.range[1] == pytest.approx(0.42)


def test_segments_by_device_with_unknown():
    segments = probability_by_segment(SCORES, "main_device")
    # mobile: a and b -> purchase (0.01 + 0.02) / 2, churn (0.9 + 0.7) / 2; app: c; unknown: d.
    assert segments["main_device"].tolist() == ["mobile", "app", "unknown"]
    assert segments["users"].tolist() == [2, 1, 1]
    assert segments["purchase_probability_7d"].tolist() == pytest.approx([0.015, 0.30, 0.90])
    assert segments["churn_probability_28d"].tolist() == pytest.approx([0.8, 0.2, 0.1])
    figure = charts.segment_figure(segments, "main_device")
    assert [trace.name for trace in figure.data] == ["P(purchase in 7 days)", "P(churn in 28 days)"]
    assert list(figure.data[1].x) == pytest.approx([0.8, 0.2, 0.1])
