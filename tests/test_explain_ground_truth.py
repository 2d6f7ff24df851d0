"""Ground truth: the sample generator plants effects; each model's planted driver must rank among its top
SHAP features. A harness: add a model by adding one PLANTED entry (its registry name, the driver, why)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from analytics.errors import ShopLensError
from analytics.explain.registry import find_model, load_trainer
from analytics.explain.tree_shap import explain_trained


@dataclass(frozen=True)
class Planted:
    """A planted effect: `driver` must be among the model's `top` features by mean |SHAP|."""

    driver: str
    why: str
    top: int = 3


PLANTED: dict[str, Planted] = {
    "cart_conversion": Planted(
        "price_ratio",
        "analytics/sample/effects.py: carts above 1.5x the category median list price are bought at half the rate",
    ),
    # Add a model here, e.g. "purchase_7d": Planted("<feature>", "<the effect the generator plants>").
}


@pytest.fixture(scope="module")
def explanations(sample_warehouse):
    import duckdb

    results = {}
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        for name in PLANTED:
            try:
                trainer = load_trainer(find_model(name))
            except ShopLensError as error:
                results[name] = error
                continue
            results[name] = explain_trained(trainer(con))
    return results


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PLANTED))
def test_the_planted_driver_ranks_among_the_top_shap_features(explanations, name):
    explanation = explanations[name]
    if isinstance(explanation, ShopLensError):
        pytest.skip(f"model {name} is not available here: {explanation}")
    planted = PLANTED[name]

    ranking = explanation.feature_ranking()
    assert planted.driver in ranking[: planted.top], f"{planted.why}; ranking: {ranking}"
    assert explanation.is_additive


@pytest.mark.slow
def test_the_cart_price_effect_has_the_planted_direction(explanations):
    explanation = explanations["cart_conversion"]
    # Expensive carts (over 1.5x the median) are pushed down, the rest up: the planted halving.
    expensive = explanation.feature_values["price_ratio"].astype(float) > 1.5
    price = explanation.shap_values["price_ratio"]
    assert price[expensive].mean() < 0 < price[~expensive].mean()
