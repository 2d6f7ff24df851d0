"""Model cards: built from a TrainedModel and its explanation, recorded as JSON per data version, read back."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeRegressor

from analytics.explain.cards import cards_folder, json_ready, load_cards, model_card, save_card
from analytics.explain.tree_shap import explain_trained
from tests.explain_fixtures import trained_model


def stump_model():
    rows = pd.DataFrame({"x": [0.0, 0.0, 1.0, 1.0, 1.0], "z": [5.0, 1.0, 2.0, 3.0, 4.0]})
    model = DecisionTreeRegressor(max_depth=1).fit(rows, [0, 0, 3, 3, 3])
    return trained_model(model, rows, [0, 0, 3, 3, 3], task="regression", name="stump",
                         metrics={"mase": 0.5, "wape": float("nan")})


def test_card_states_windows_metrics_and_shap_importance():
    trained = stump_model()
    card = model_card(trained, explain_trained(trained))

    assert (card.name, card.task, card.data_version) == ("stump", "regression", "v-test")
    assert card.training_start == "2025-01-01T00:00:00" and card.validation_end == "2025-02-28T00:00:00"
    assert (card.train_rows, card.validation_rows) == (100, 5)
    # NaN metrics become null so the JSON stays valid.
    assert card.metrics == {"mase": 0.5, "wape": None}
    # Mean |SHAP| of x: (2 x 1.8 + 3 x 1.2) / 5 = 1.44; z is never split on.
    assert card.mean_abs_shap == pytest.approx({"x": 1.44, "z": 0.0})
    assert card.shap_unit == "target units" and card.is_additive and card.shap_rows == 5


def test_cards_are_recorded_per_data_version_and_read_back(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    trained = stump_model()
    card = model_card(trained, explain_trained(trained))
    path = save_card(card, warehouse)

    assert path == tmp_path / "models" / "v-test" / "stump.json"
    document = json.loads(path.read_text())
    assert document["mean_abs_shap"]["x"] == pytest.approx(1.44)
    assert load_cards(warehouse, "v-test") == {"stump": card}
    assert load_cards(warehouse, "another-version") == {}
    # A broken file is skipped, not fatal.
    (cards_folder(warehouse, "v-test") / "broken.json").write_text("{not json")
    assert list(load_cards(warehouse, "v-test")) == ["stump"]


def test_an_unwritable_folder_does_not_fail(tmp_path):
    blocker = tmp_path / "models"
    blocker.write_text("a file where the folder should be")
    trained = stump_model()
    assert save_card(model_card(trained), tmp_path / "warehouse.duckdb") is None


def test_json_ready_values():
    value = json_ready({"a": np.int64(3), "b": (1.5, np.nan), "c": pd.Timestamp("2025-01-02"), "d": np.bool_(True)})
    assert value == {"a": 3, "b": [1.5, None], "c": "2025-01-02T00:00:00", "d": True}
    assert json.dumps(value)
    assert not math.isnan(json_ready(np.float32(0.5)))
