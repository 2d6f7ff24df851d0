"""The model registry: names, lazy trainers, and models whose module is missing or incomplete."""

from __future__ import annotations

import pytest

from analytics.errors import ShopLensError
from analytics.explain import registry
from analytics.explain.cart_conversion import train_cart_model


def test_the_app_models_are_registered_by_name():
    assert registry.model_names() == ["cart_conversion", "purchase_7d", "churn_28d", "recommender_ranker",
                                      "forecast_global"]
    assert registry.load_trainer(registry.find_model("cart_conversion")) is train_cart_model
    with pytest.raises(ShopLensError, match="choose one of cart_conversion, purchase_7d"):
        registry.find_model("nope")


def test_a_missing_module_or_function_is_not_available_with_the_reason():
    models = (
        registry.ModelSpec("ghost", "Ghost", "classification", "analytics.no_such_module:train", "Row", "None"),
        registry.ModelSpec("half", "Half", "regression", "analytics.explain.metrics:train_nothing", "Row", "None"),
        registry.MODELS[0],
    )
    listed = registry.availability(models)

    assert [item.is_available for item in listed] == [False, False, True]
    assert "analytics.no_such_module cannot be imported" in listed[0].reason
    assert "has no train_nothing()" in listed[1].reason
    assert listed[2].reason == ""


def returns_a_dict(con: object) -> dict:
    """A trainer that forgets the contract."""
    return {}


def test_a_trainer_must_return_a_trained_model(monkeypatch):
    monkeypatch.setattr(registry, "MODELS", (
        registry.ModelSpec("wrong", "Wrong", "regression", "tests.test_explain_registry:returns_a_dict", "Row",
                           "None"),))
    with pytest.raises(ShopLensError, match="returned dict, not a TrainedModel"):
        registry.train_and_record(None, "wrong")


def test_cards_are_found_by_name_or_alias():
    spec = registry.find_model("recommender_ranker")
    assert spec.card_of({"recommendation_ranker": "card"}) == "card"
    assert spec.card_of({"recommender_ranker": "mine", "recommendation_ranker": "alias"}) == "mine"
    assert registry.find_model("cart_conversion").card_of({"other": 1}) is None
