"""SHAP, calibration and segment figures plot exactly the explanation's numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.charts import explanations as charts
from analytics.explain.explanation import ModelExplanation, explain_segment


def hand_made() -> ModelExplanation:
    """Three rows, two features; mean |SHAP|: price 0.5, device 0.2."""
    shap_values = pd.DataFrame({"price": [-0.9, 0.3, 0.3], "device": [0.2, -0.2, 0.2]})
    return ModelExplanation(
        model_name="test", target="bought", feature_labels={"price": "Price", "device": "Device"},
        categorical_features=("device",), train_rows=10, test_rows=3, training_rows_available=13,
        split_at=pd.Timestamp("2025-01-02"), roc_auc=0.75, log_loss=0.6, base_rate=2 / 3,
        calibration=pd.DataFrame({"bin": [1, 2], "mean_predicted": [0.2, 0.7], "observed_rate": [0.0, 1.0],
                                  "rows": [1, 2]}),
        base_value=0.1, shap_values=shap_values,
        feature_values=pd.DataFrame({"price": [3.0, 1.0, 2.0], "device": ["mobile", "app", "app"]}),
        segments=pd.DataFrame({"device": ["mobile", "app", "app"]}),
        predicted=pd.Series([0.3, 0.6, 0.7]), actual=pd.Series([0, 1, 1]),
        fit_seconds=0.1, additivity_max_error=0.0,
    )


def test_bar_chart_is_mean_absolute_shap_most_important_first():
    figure = charts.shap_bar_figure(hand_made())

    (bars,) = figure.data
    assert list(bars.y) == ["Price", "Device"]
    assert list(bars.x) == pytest.approx([0.5, 0.2])
    assert list(charts.importance_table(hand_made())["feature"]) == ["price", "device"]


def test_beeswarm_has_one_dot_per_row_and_feature():
    figure = charts.shap_beeswarm_figure(hand_made())

    price, device = figure.data
    assert list(price.x) == [-0.9, 0.3, 0.3]
    assert list(device.x) == [0.2, -0.2, 0.2]
    # Rows sit around their feature's line (price on 0, device on 1), within the jitter.
    assert all(abs(y) <= 0.35 for y in price.y) and all(abs(y - 1) <= 0.35 for y in device.y)
    # Numeric colour is the rank of the value (3 is highest); categories are grey and named on hover.
    assert list(price.marker.color) == pytest.approx([1.0, 1 / 3, 2 / 3])
    assert device.marker.color == charts.CATEGORY_COLOR
    assert list(device.customdata) == ["mobile", "app", "app"]


def test_calibration_curve_plots_the_bins():
    figure = charts.calibration_figure(hand_made())

    diagonal, model = figure.data
    assert list(model.x) == [0.2, 0.7] and list(model.y) == [0.0, 1.0]
    assert list(diagonal.x) == [0, 1]


def test_segment_figure_plots_the_differences():
    segment = explain_segment(hand_made(), "device", "app")
    figure = charts.segment_figure(segment)

    (bars,) = figure.data
    # app rows: price mean 0.3 vs overall -0.1 -> +0.4; device mean 0.0 vs 0.0667 -> -0.0667.
    assert list(bars.y) == ["Price", "Device"]
    assert list(bars.x) == pytest.approx([0.4, -0.2 / 3])
    assert list(bars.marker.color) == [charts.POSITIVE_COLOR, charts.NEGATIVE_COLOR]
    assert segment.predicted_rate == pytest.approx(0.65)
