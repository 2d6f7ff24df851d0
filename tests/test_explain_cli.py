"""`shoplens explain`: the model list, a model's card with mean |SHAP|, one row, and usage errors."""

from __future__ import annotations

import json

import pytest

from analytics.cli import main
from analytics.explain import registry


def run(capsys, *arguments: str) -> tuple[int, str, str]:
    code = main(["explain", *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def cart_only(monkeypatch):
    # The other models train slowly and belong to other pages; the listing itself is what is tested.
    missing = registry.ModelSpec("ghost", "Ghost", "regression", "analytics.no_such_module:train", "Row", "None")
    monkeypatch.setattr(registry, "MODELS", (registry.MODELS[0], missing))


def test_list_says_which_models_are_available_and_trained(capsys, sample_warehouse, cart_only):
    code, out, _ = run(capsys, "--list", "--format", "json", "--warehouse", str(sample_warehouse))
    document = json.loads(out)

    assert code == 0
    models = {model["name"]: model for model in document["models"]}
    assert models["cart_conversion"]["is_available"] is True
    assert models["ghost"]["is_available"] is False
    assert "analytics.no_such_module cannot be imported" in models["ghost"]["reason"]

    code, out, _ = run(capsys, "--model", "cart_conversion", "--format", "json", "--warehouse", str(sample_warehouse))
    card = json.loads(out)
    assert code == 0
    assert card["name"] == "cart_conversion" and card["task"] == "classification"
    assert set(card["metrics"]) == {"roc_auc", "log_loss", "base_rate", "top_decile_lift"}
    assert card["metrics"]["roc_auc"] > 0.6
    assert "price_ratio" in list(card["mean_abs_shap"])[:3]
    assert card["training_end"] <= card["validation_start"]
    assert card["is_additive"] is True and card["shap_rows"] == 2_000

    # Now the listing knows the model was trained on this data version.
    _, out, _ = run(capsys, "--list", "--format", "json", "--warehouse", str(sample_warehouse))
    listed = {model["name"]: model for model in json.loads(out)["models"]}
    assert listed["cart_conversion"]["is_trained"] is True
    assert listed["cart_conversion"]["metrics"]["roc_auc"] == pytest.approx(card["metrics"]["roc_auc"])


def test_one_row_explanation_adds_up(capsys, sample_warehouse):
    from analytics.explain.cart_conversion import train_cart_model
    from analytics.warehouse import connect

    with connect(sample_warehouse) as con:
        cart_id = str(train_cart_model(con).explain_rows.index[0])
    code, out, _ = run(capsys, "--model", "cart_conversion", "--row", cart_id, "--format", "json",
                       "--warehouse", str(sample_warehouse), "--shap-rows", "100000")
    row = json.loads(out)

    assert code == 0 and row["row_id"] == cart_id and row["unit"] == "log-odds"
    total = row["base_value"] + sum(item["shap_value"] for item in row["contributions"])
    assert total == pytest.approx(row["raw_output"], abs=1e-6)
    assert {item["feature"] for item in row["contributions"]} >= {"price_ratio", "device"}

    code, out, _ = run(capsys, "--model", "cart_conversion", "--row", cart_id, "--warehouse", str(sample_warehouse),
                       "--shap-rows", "100000")
    assert code == 0 and f"row {cart_id}" in out


def test_usage_errors_say_how_to_fix(capsys, sample_warehouse):
    with pytest.raises(SystemExit) as exit_info:
        run(capsys, "--row", "5", "--warehouse", str(sample_warehouse))
    assert exit_info.value.code == 2 and "one of the arguments --list --model is required" in capsys.readouterr().err
    code, _, err = run(capsys, "--model", "nope", "--warehouse", str(sample_warehouse))
    assert code == 2 and "choose one of cart_conversion" in err
    code, _, err = run(capsys, "--model", "cart_conversion", "--row", "no-such-cart",
                       "--warehouse", str(sample_warehouse))
    assert code == 2 and "pick one of them" in err
