"""The conversion classifier, time-split validation and SHAP explanations: synthetic data with a
known driver, the additivity identity, hand-computed segment means, and the sample's planted effect."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from analytics.errors import ShopLensError
from analytics.explain.cart_conversion import explain_cart_conversion
from analytics.explain.explanation import (
    ModelExplanation,
    calibration_table,
    explain_model,
    explain_segment,
    time_split,
)
from analytics.explain.model import ConversionClassifier
from analytics.filters import Filters

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


def fitted_explanation(frame: pd.DataFrame | None = None, shap_rows: int = 500) -> ModelExplanation:
    model = ConversionClassifier(numeric_features=("driver", "noise"), categorical_features=("colour",))
    return explain_model(
        model, synthetic() if frame is None else frame, model_name="synthetic", target="positive",
        label_column="is_positive", time_column="happened_at", feature_labels=LABELS,
        segment_columns=("segment",), shap_rows=shap_rows,
    )


def test_the_real_driver_ranks_first_and_the_model_discriminates():
    explanation = fitted_explanation()

    assert explanation.feature_ranking()[0] == "driver"
    importance = explanation.mean_abs_shap()
    assert importance["driver"] > 5 * max(importance["noise"], importance["colour"])
    # With slope 3 on a standard normal, the Bayes AUC is about 0.89.
    assert 0.8 < explanation.roc_auc < 0.95
    # The driver pushes towards the outcome: SHAP rises with it.
    correlation = np.corrcoef(explanation.feature_values["driver"], explanation.shap_values["driver"])[0, 1]
    assert correlation > 0.9


def test_shap_values_add_up_to_the_model_output():
    explanation = fitted_explanation()

    assert explanation.additivity_max_error < 1e-6
    # Log-odds back to probabilities: sigmoid(base + sum of SHAP) is the predicted probability.
    reconstructed = 1 / (1 + np.exp(-(explanation.base_value + explanation.shap_values.sum(axis=1))))
    assert np.allclose(reconstructed, explanation.predicted, atol=1e-6)


def test_the_split_is_in_time_and_sizes_are_reported():
    explanation = fitted_explanation(shap_rows=300)
    train, test = time_split(synthetic(), "happened_at", 0.2)

    assert (explanation.train_rows, explanation.test_rows, explanation.shap_rows) == (3_200, 800, 300)
    assert train["happened_at"].max() < test["happened_at"].min()
    assert explanation.split_at == test["happened_at"].min()


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
        fitted_explanation(frame)


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


def test_planted_price_effect_ranks_among_the_top_features_on_the_sample(sample_con):
    # Planted: carts above 1.5x the category median list price are bought at half the rate.
    explanation = explain_cart_conversion(sample_con, Filters(date(2025, 1, 1), date(2025, 12, 31)))

    assert "price_ratio" in explanation.feature_ranking()[:3]
    assert explanation.roc_auc > 0.6
    assert explanation.additivity_max_error < 1e-6
    expensive = explanation.feature_values["price_ratio"] > 1.5
    price_shap = explanation.shap_values["price_ratio"]
    assert price_shap[expensive].mean() < 0 < price_shap[~expensive].mean()
    segment = explain_segment(explanation, "price_band", "over 1.5x median")
    assert segment.contributions["feature"].iloc[0] == "price_ratio"
