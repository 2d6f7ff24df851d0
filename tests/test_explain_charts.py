"""SHAP, calibration and segment figures plot exactly the explanation's numbers."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from analytics.charts import explanations as charts
from analytics.explain.explanation import explain_segment
from analytics.explain.tree_shap import TrainedExplanation


def hand_made() -> TrainedExplanation:
    """Three rows, two features; mean |SHAP|: price 0.5, device 0.2."""
    shap_values = pd.DataFrame({"price": [-0.9, 0.3, 0.3], "device": [0.2, -0.2, 0.2]})
    return TrainedExplanation(
        name="test", title="Test model", task="classification", target="bought", unit="log-odds",
        feature_labels={"price": "Price", "device": "Device"}, categorical_features=("device",),
        calibration=pd.DataFrame({"bin": [1, 2], "mean_predicted": [0.2, 0.7], "observed_rate": [0.0, 1.0],
                                  "rows": [1, 2]}),
        base_value=0.1, shap_values=shap_values,
        feature_values=pd.DataFrame({"price": [3.0, 1.0, 2.0], "device": ["mobile", "app", "app"]}),
        segments=pd.DataFrame({"device": ["mobile", "app", "app"]}),
        # base 0.1 + the row's SHAP values: 0.1 - 0.9 + 0.2, 0.1 + 0.3 - 0.2, 0.1 + 0.3 + 0.2.
        raw_output=pd.Series([-0.6, 0.2, 0.6]),
        predicted=pd.Series([0.3, 0.6, 0.7]), actual=pd.Series([0, 1, 1]),
        metrics={"roc_auc": 0.75, "log_loss": 0.6}, available_rows=3,
    )


def test_bar_chart_is_mean_absolute_shap_most_important_first():
    figure = charts.shap_bar_figure(hand_made())

    (bars,) = figure.data
    assert list(bars.y) == ["Price", "Device"]
    assert list(bars.x) == pytest.approx([0.5, 0.2])
    assert list(charts.importance_table(hand_made())["feature"]) == ["price", "device"]


def test_many_features_fold_into_one_other_bar_and_the_beeswarm_keeps_the_top():
    # Feature f<i> has |SHAP| i+1 on each of two rows, so mean |SHAP| is i+1: f4 is first, f0 last.
    shap_values = pd.DataFrame({f"f{i}": [i + 1.0, -(i + 1.0)] for i in range(5)})
    explanation = replace(
        hand_made(), feature_labels={f"f{i}": f"F{i}" for i in range(5)}, categorical_features=(),
        shap_values=shap_values, feature_values=pd.DataFrame({f"f{i}": [0.0, 1.0] for i in range(5)}),
        segments=pd.DataFrame(index=range(2)), predicted=pd.Series([0.5, 0.5]), actual=pd.Series([0, 1]),
    )

    (bars,) = charts.shap_bar_figure(explanation, max_features=3).data
    # Top two, then f2 + f1 + f0 = 3 + 2 + 1 = 6 in one bar.
    assert list(bars.y) == ["F4", "F3", "3 other features"]
    assert list(bars.x) == pytest.approx([5.0, 4.0, 6.0])
    swarm = charts.shap_beeswarm_figure(explanation, max_features=3)
    assert [trace.name for trace in swarm.data] == ["F4", "F3", "F2"]


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


def test_a_sampled_beeswarm_says_how_many_rows_it_draws():
    explanation = hand_made()
    sampled = charts.shap_beeswarm_figure(explanation, max_points=2)

    assert [len(trace.x) for trace in sampled.data] == [2, 2]
    assert sampled.layout.xaxis.title.text == "SHAP value (log-odds)<br>2 of the 3 rows explained"
    assert charts.shap_beeswarm_figure(explanation).layout.xaxis.title.text == "SHAP value (log-odds)<br>3 rows"


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


# --------------------------------------------------------------------------- TrainedExplanation figures


def trained_explanation():
    """A stump on x (leaves 0 and 3, training mean 1.8) and an unused z, over five users."""
    from sklearn.tree import DecisionTreeRegressor

    from analytics.explain.tree_shap import explain_trained
    from tests.explain_fixtures import trained_model

    rows = pd.DataFrame({"x": [0.0, 0.0, 1.0, 1.0, 1.0], "z": [5.0, 1.0, 2.0, 3.0, 4.0]},
                        index=pd.Index([10, 11, 12, 13, 14], name="user_id"))
    model = DecisionTreeRegressor(max_depth=1).fit(rows, [0, 0, 3, 3, 3])
    return explain_trained(trained_model(model, rows, [0, 0, 3, 3, 3], task="regression"))


def test_axes_name_the_unit_and_the_sample():
    explanation = trained_explanation()
    bar = charts.shap_bar_figure(explanation)

    assert bar.layout.xaxis.title.text == "Mean |SHAP value| (target units)<br>5 rows"
    assert list(bar.data[0].x) == pytest.approx([1.44, 0.0])  # (2 x 1.8 + 3 x 1.2) / 5
    assert "target units" in charts.shap_beeswarm_figure(explanation).layout.xaxis.title.text
    # The older cart explanation keeps log-odds.
    assert "log-odds" in charts.shap_bar_figure(hand_made()).layout.xaxis.title.text


def test_dependence_figure_plots_value_against_shap():
    from analytics.explain.tree_shap import dependence_table

    explanation = trained_explanation()
    table = dependence_table(explanation, "x", colour_by="z")
    (dots,) = charts.dependence_figure(explanation, table).data

    assert list(dots.x) == [0.0, 0.0, 1.0, 1.0, 1.0]
    assert list(dots.y) == pytest.approx([-1.8, -1.8, 1.2, 1.2, 1.2])
    # Coloured by z's rank: 5 is the highest of 5, 1 the lowest.
    assert list(dots.marker.color) == pytest.approx([1.0, 0.2, 0.4, 0.6, 0.8])


def test_waterfall_walks_from_the_base_value_to_the_output():
    from analytics.explain.tree_shap import explain_row

    row = explain_row(trained_explanation(), 12)
    (waterfall,) = charts.waterfall_figure(row).data

    assert list(waterfall.y) == ["Base value", "X = 1", "Z = 2", "Model output"]
    assert list(waterfall.x) == pytest.approx([1.8, 1.2, 0.0, 3.0])
    assert list(waterfall.measure) == ["absolute", "relative", "relative", "total"]
    # With one feature shown, the other is summed into one step; the last cumulative value is the output.
    steps = charts.waterfall_table(row, max_features=1)
    assert steps["step"].tolist() == ["X = 1", "1 other features"]
    assert steps["cumulative"].iloc[-1] == pytest.approx(3.0)


def test_fairness_figure_draws_each_group():
    groups = pd.DataFrame({"column": ["device", "device", "region"], "value": ["app", "web", "north"],
                           "rows": [10, 30, 40], "base_rate": [0.5, 0.2, 0.3], "mean_predicted": [0.4, 0.25, 0.3],
                           "roc_auc": [0.7, 0.8, 0.75]})
    observed, predicted, auc = charts.fairness_figure(groups, "device").data

    assert list(observed.x) == ["app (10)", "web (30)"]
    assert list(observed.y) == [0.5, 0.2] and list(predicted.y) == [0.4, 0.25] and list(auc.y) == [0.7, 0.8]
