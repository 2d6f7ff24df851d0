"""The conversion classifier, time-split validation and segment explanations: synthetic data with a
known driver, hand-computed calibration bins and segment means. (The sample's planted cart effects
are checked through the registry in test_explain_ground_truth.py.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from analytics.errors import ShopLensError
from analytics.explain.explanation import calibration_table, explain_segment, time_split
from analytics.explain.model import ConversionClassifier
from analytics.explain.tree_shap import TrainedExplanation, explain_trained
from tests.explain_fixtures import trained_model

LABELS = {"driver": "Driver", "noise": "Noise", "colour": "Colour"}


def synthetic(rows: int = 4_000, seed: int = 1) -> pd.DataFrame:
    """Outcome depends on `driver` only (logistic, slope 3); `noise` and `colour` are irrelevant."""
    rng = np.random.default_rng(seed)
    driver = rng.normal(size=rows)
    probability = 1 / (1 + np.exp(-3 * driver))
    return pd.DataFrame(
        {
            "driver": driver,
            "noise": rng.normal(size=rows),
            "colour": rng.choice(["red", "green", "blue"], size=rows),
            "happened_at": pd.date_range("2025-01-01", periods=rows, freq="min"),
            "is_positive": (rng.random(rows) < probability).astype(int),
            "segment": np.where(driver > 1, "high", "rest"),
        }
    )


def fitted_explanation(shap_rows: int = 500) -> TrainedExplanation:
    """The classifier fitted on the earlier 80% of `synthetic()`, explaining the later rows."""
    train, test = time_split(synthetic(), "happened_at", 0.2)
    model = ConversionClassifier(numeric_features=("driver", "noise"), categorical_features=("colour",))
    model.fit(train, train["is_positive"])
    trained = trained_model(model, test[list(LABELS)].reset_index(drop=True), test["is_positive"].to_numpy(),
                            categorical=("colour",), segments=test[["segment"]].reset_index(drop=True))
    return explain_trained(trained, max_rows=shap_rows)


def test_the_real_driver_ranks_first_and_shap_adds_up_to_the_log_odds():
    explanation = fitted_explanation()

    assert explanation.feature_ranking()[0] == "driver"
    importance = explanation.mean_abs_shap()
    assert importance["driver"] > 5 * max(importance["noise"], importance["colour"])
    # The driver pushes towards the outcome: SHAP rises with it.
    correlation = np.corrcoef(explanation.feature_values["driver"], explanation.shap_values["driver"])[0, 1]
    assert correlation > 0.9
    assert explanation.unit == "log-odds" and explanation.additivity_max_error < 1e-6
    reconstructed = 1 / (1 + np.exp(-(explanation.base_value + explanation.shap_values.sum(axis=1))))
    assert np.allclose(reconstructed, explanation.predicted, atol=1e-6)


def test_the_split_is_in_time():
    train, test = time_split(synthetic(), "happened_at", 0.2)

    assert (len(train), len(test)) == (3_200, 800)
    assert train["happened_at"].max() < test["happened_at"].min()
    with pytest.raises(ShopLensError, match="between 0 and 1"):
        time_split(synthetic(), "happened_at", 1.0)


def test_calibration_bins_by_hand():
    actual = np.array([0, 0, 1, 0, 1, 1])
    predicted = np.array([0.1, 0.2, 0.3, 0.4, 0.8, 0.9])
    table = calibration_table(actual, predicted, bins=3)

    assert table["rows"].tolist() == [2, 2, 2]
    assert table["mean_predicted"].tolist() == pytest.approx([0.15, 0.35, 0.85])
    assert table["observed_rate"].tolist() == pytest.approx([0.0, 0.5, 1.0])


def test_segment_explanation_is_the_difference_of_mean_shap_values():
    explanation = fitted_explanation()
    segment = explain_segment(explanation, "segment", "high")
    mask = explanation.segments["segment"] == "high"

    driver = segment.contributions.set_index("feature").loc["driver"]
    assert segment.rows == mask.sum() > 0
    assert driver["segment_mean_shap"] == pytest.approx(explanation.shap_values.loc[mask, "driver"].mean())
    assert driver["difference"] == pytest.approx(
        explanation.shap_values.loc[mask, "driver"].mean() - explanation.shap_values["driver"].mean()
    )
    assert segment.contributions["feature"].iloc[0] == "driver"
    assert segment.observed_rate == pytest.approx(explanation.actual[mask].mean())
    empty = explain_segment(explanation, "segment", "absent")
    assert empty.rows == 0 and np.isnan(empty.predicted_rate)


def test_one_outcome_only_is_refused_with_a_fix():
    frame = synthetic().assign(is_positive=1)
    with pytest.raises(ShopLensError, match="widen the dates"):
        ConversionClassifier(numeric_features=("driver",)).fit(frame, frame["is_positive"])


def test_estimator_follows_the_scikit_learn_contract():
    model = ConversionClassifier(numeric_features=("driver",), categorical_features=("colour",), max_iter=20)
    frame = synthetic(500)

    with pytest.raises(NotFittedError):
        model.predict_proba(frame)
    assert clone(model).get_params() == model.get_params()
    assert model.fit(frame, frame["is_positive"]) is model
    assert model.categories_ == {"colour": ["blue", "green", "red"]}
    probabilities = model.predict_proba(frame)
    assert probabilities.shape == (500, 2) and np.allclose(probabilities.sum(axis=1), 1)
    # An unseen category is treated as missing, not as an error.
    unseen = frame.head(3).assign(colour="purple")
    assert np.isnan(model.encode(unseen)[:, 1]).all()
