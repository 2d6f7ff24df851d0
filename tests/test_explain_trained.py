"""SHAP for any TrainedModel: hand-computed values on a stump, additivity for every supported model kind,
units per task, the stated sample, one row's waterfall, dependence and the interaction it is coloured by."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeRegressor
from threadpoolctl import threadpool_limits

from analytics.errors import ShopLensError
from analytics.explain.model import ConversionClassifier
from analytics.explain.tree_shap import (
    dependence_table,
    explain_row,
    explain_trained,
    model_output,
    row_key,
    strongest_interaction,
)
from tests.explain_fixtures import interaction_frame, trained_model


def stump() -> tuple[DecisionTreeRegressor, pd.DataFrame]:
    """One split on x: rows with x = 0 have y 0 (2 rows), rows with x = 1 have y 3 (3 rows)."""
    rows = pd.DataFrame({"x": [0.0, 0.0, 1.0, 1.0, 1.0], "z": [5.0, 1.0, 2.0, 3.0, 4.0]},
                        index=pd.Index([10, 11, 12, 13, 14], name="user_id"))
    model = DecisionTreeRegressor(max_depth=1).fit(rows, [0, 0, 3, 3, 3])
    return model, rows


def test_shap_of_a_stump_by_hand():
    model, rows = stump()
    explanation = explain_trained(trained_model(model, rows, [0, 0, 3, 3, 3], task="regression"))

    # Base value = the training mean 9/5 = 1.8; a leaf at 3 gives x a SHAP of 3 - 1.8, a leaf at 0 gives -1.8.
    assert explanation.base_value == pytest.approx(1.8)
    assert explanation.shap_values["x"].tolist() == pytest.approx([-1.8, -1.8, 1.2, 1.2, 1.2])
    # z is never split on, so it contributes nothing.
    assert explanation.shap_values["z"].tolist() == pytest.approx([0.0] * 5)
    assert explanation.unit == "target units"
    assert explanation.row_ids() == ["10", "11", "12", "13", "14"]
    assert explanation.feature_ranking() == ["x", "z"]


def lightgbm_cases():
    frame = interaction_frame(1_500)
    signal = frame.attrs["signal"]
    rng = np.random.default_rng(1)
    noisy = (signal + rng.normal(size=len(frame))) > 0
    classifier = lgb.LGBMClassifier(n_estimators=40, verbose=-1, n_jobs=1).fit(frame, noisy)
    regressor = lgb.LGBMRegressor(n_estimators=40, verbose=-1, n_jobs=1).fit(frame, signal)
    relevance = np.clip(np.round(signal), 0, 3).astype(int)
    ranker = lgb.LGBMRanker(n_estimators=20, verbose=-1, min_child_samples=5, n_jobs=1).fit(
        frame, relevance, group=[50] * (len(frame) // 50))
    return frame, {"classification": classifier, "regression": regressor, "ranking": ranker}


@pytest.fixture(scope="module")
def lightgbm_models():
    return lightgbm_cases()


@pytest.mark.parametrize("task, unit", [("classification", "log-odds"), ("regression", "target units"),
                                        ("ranking", "ranking score")])
def test_lightgbm_with_categories_adds_up_in_the_unit_of_the_task(lightgbm_models, task, unit):
    frame, models = lightgbm_models
    rows = frame.iloc[:300]
    explanation = explain_trained(trained_model(models[task], rows, np.zeros(300), task=task,
                                                categorical=("colour",)))

    assert explanation.unit == unit
    assert explanation.is_additive and explanation.additivity_max_error < 1e-6
    # The output SHAP adds up to is the model's own raw output, computed independently.
    raw = models[task].predict(rows, raw_score=True)
    assert np.allclose(explanation.base_value + explanation.shap_values.sum(axis=1), raw, atol=1e-6)
    if task == "classification":
        assert np.allclose(explanation.predicted, models[task].predict_proba(rows)[:, 1], atol=1e-9)
    else:
        assert np.allclose(explanation.predicted, raw)
    # The planted driver (weight 2 plus the interaction) is the most important feature; noise is not.
    assert explanation.feature_ranking()[0] == "driver"
    assert explanation.feature_ranking()[-1] == "noise"
    assert set(explanation.feature_values["colour"]) <= {"red", "green", "blue"}


@pytest.fixture()
def one_thread():
    # Histogram boosting starts an OpenMP thread per core; on a busy machine one thread is far faster.
    with threadpool_limits(1):
        yield


@pytest.mark.parametrize("task", ["classification", "regression", "ranking"])
def test_lightgbm_values_equal_shap_tree_explainer(lightgbm_models, task):
    # Independent reference: shap.TreeExplainer on the same model and rows (the layer uses LightGBM's own TreeSHAP).
    import shap

    frame, models = lightgbm_models
    rows = frame.iloc[:200]
    explanation = explain_trained(trained_model(models[task], rows, np.zeros(200), task=task,
                                                categorical=("colour",)))
    explainer = shap.TreeExplainer(models[task])
    reference = np.asarray(explainer.shap_values(rows, check_additivity=False), dtype=float)
    if reference.ndim == 3:
        reference = reference[..., -1]
    assert np.allclose(explanation.shap_values.to_numpy(), reference, atol=1e-6)
    assert explanation.base_value == pytest.approx(float(np.ravel(explainer.expected_value)[-1]), abs=1e-6)


def test_scikit_learn_histogram_boosting_and_the_conversion_wrapper_add_up(one_thread):
    frame = interaction_frame(300).drop(columns="colour")
    signal = interaction_frame(300).attrs["signal"]
    regressor = HistGradientBoostingRegressor(max_iter=10).fit(frame, signal)
    explanation = explain_trained(trained_model(regressor, frame, signal, task="regression"))
    assert explanation.additivity_max_error < 1e-6
    assert np.allclose(explanation.raw_output, regressor.predict(frame))

    labelled = interaction_frame(300)
    labelled["colour"] = labelled["colour"].astype(str)
    wrapper = ConversionClassifier(numeric_features=("driver", "partner", "noise"), categorical_features=("colour",),
                                   min_samples_leaf=20, max_iter=10).fit(labelled, signal > 0)
    explanation = explain_trained(trained_model(wrapper, labelled, signal > 0, categorical=("colour",)))
    assert explanation.additivity_max_error < 1e-6
    assert np.allclose(explanation.raw_output, wrapper.decision_function(labelled))
    assert list(explanation.shap_values.columns) == ["driver", "partner", "noise", "colour"]


def test_a_one_hot_pipeline_is_summed_back_onto_its_features():
    frame = interaction_frame(600)
    frame["colour"] = frame["colour"].astype(str)
    label = frame.attrs["signal"] > 0.5
    pipeline = Pipeline([
        ("encode", ColumnTransformer([("colour", OneHotEncoder(), ["colour"])], remainder="passthrough")),
        ("model", GradientBoostingClassifier(n_estimators=30, random_state=0)),
    ]).fit(frame, label)
    explanation = explain_trained(trained_model(pipeline, frame, label, categorical=("colour",)))

    # Three one-hot columns become one "colour" column; the sum keeps the identity with the log-odds.
    assert list(explanation.shap_values.columns) == ["driver", "partner", "noise", "colour"]
    assert explanation.additivity_max_error < 1e-6
    assert np.allclose(explanation.raw_output, pipeline.decision_function(frame))


def test_a_forest_without_a_margin_is_explained_in_probability():
    frame = interaction_frame(400).drop(columns="colour")
    label = interaction_frame(400).attrs["signal"] > 0
    forest = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(frame, label)
    trained = trained_model(forest, frame, label)
    explanation = explain_trained(trained)

    assert explanation.unit == "probability"
    assert explanation.is_additive
    assert np.allclose(explanation.predicted, forest.predict_proba(frame)[:, 1])
    assert np.allclose(model_output(trained), forest.predict_proba(frame)[:, 1])


def test_large_data_is_explained_on_a_stated_seeded_sample(lightgbm_models):
    frame, models = lightgbm_models
    trained = trained_model(models["regression"], frame, frame.attrs["signal"], task="regression")
    explanation = explain_trained(trained, max_rows=100)
    again = explain_trained(trained, max_rows=100)

    assert (explanation.shap_rows, explanation.available_rows, explanation.is_sampled) == (100, 1_500, True)
    assert explanation.shap_values.index.equals(again.shap_values.index)  # same seed, same rows
    assert explanation.shap_values.index.is_monotonic_increasing  # original order kept
    assert explanation.actual.to_numpy() == pytest.approx(
        pd.Series(frame.attrs["signal"], index=frame.index).loc[explanation.shap_values.index].to_numpy())


def test_one_row_waterfall_sums_to_its_output_largest_first():
    model, rows = stump()
    explanation = explain_trained(trained_model(model, rows, [0, 0, 3, 3, 3], task="regression"))
    row = explain_row(explanation, 12)

    assert row.row_id == "12"
    assert row.raw_output == pytest.approx(3.0)  # the x = 1 leaf
    assert row.contributions["feature"].tolist() == ["x", "z"]
    assert row.contributions["value"].tolist() == ["1", "2"]
    assert row.base_value + row.contributions["shap_value"].sum() == pytest.approx(row.raw_output)
    with pytest.raises(ShopLensError, match="pick one of them"):
        explain_row(explanation, "99")


def test_dependence_is_coloured_by_the_planted_interaction(lightgbm_models):
    frame, models = lightgbm_models
    explanation = explain_trained(trained_model(models["regression"], frame, frame.attrs["signal"],
                                                task="regression", categorical=("colour",)))

    # driver's effect has slope 2 + partner: at a given driver value, partner spreads its SHAP values.
    assert strongest_interaction(explanation, "driver") == "partner"
    table = dependence_table(explanation, "driver")
    assert table.attrs == {"feature": "driver", "colour_by": "partner"}
    assert table["shap_value"].tolist() == explanation.shap_values["driver"].tolist()
    assert table["colour_value"].tolist() == explanation.feature_values["partner"].tolist()
    with pytest.raises(ShopLensError, match="choose one of"):
        dependence_table(explanation, "absent")


def test_refuses_rows_without_the_features_and_multiclass_models():
    model, rows = stump()
    with pytest.raises(ShopLensError, match="lack the feature columns z"):
        explain_trained(trained_model(model, rows, [0] * 5, task="regression").__class__(
            **{**trained_model(model, rows, [0] * 5, task="regression").__dict__,
               "explain_rows": rows.drop(columns="z")}))
    frame = interaction_frame(300).drop(columns="colour")
    three = lgb.LGBMClassifier(n_estimators=5, verbose=-1, n_jobs=1).fit(frame, np.arange(300) % 3)
    with pytest.raises(ShopLensError, match="more than two classes"):
        explain_trained(trained_model(three, frame, np.arange(300) % 3))


def test_row_keys_are_the_text_people_type():
    assert row_key(12) == "12" and row_key(12.0) == "12" and row_key(("u1", 7)) == "u1/7"
    assert row_key(pd.Timestamp("2025-03-04")) == "2025-03-04"


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5), st.floats(-3, 3)), min_size=20, max_size=60),
       st.integers(1, 4))
def test_additivity_holds_for_any_small_tree_ensemble(points, depth):
    # Reference identity: for any fitted tree model, base value + SHAP = prediction, row by row.
    # (Plain gradient boosting: no OpenMP threads, so the property stays fast on a busy machine.)
    frame = pd.DataFrame(points, columns=["a", "b", "target"])
    model = GradientBoostingRegressor(n_estimators=5, max_depth=depth, random_state=0).fit(
        frame[["a", "b"]], frame["target"])
    explanation = explain_trained(trained_model(model, frame[["a", "b"]], frame["target"], task="regression"))
    reconstructed = explanation.base_value + explanation.shap_values.sum(axis=1)
    assert np.allclose(reconstructed, model.predict(frame[["a", "b"]]), atol=1e-6)


def test_large_explanations_split_across_threads_give_the_same_values():
    import lightgbm as lgb
    import numpy as np

    from analytics.explain import tree_shap

    rng = np.random.default_rng(0)
    features = rng.normal(size=(3_000, 4))
    outcome = (features[:, 0] + rng.normal(size=3_000) > 0).astype(int)
    model = lgb.LGBMClassifier(n_estimators=20, num_leaves=7, verbose=-1).fit(features, outcome)
    booster = model.booster_

    whole = booster.predict(features, pred_contrib=True)
    # Three uneven chunks (1,000 rows each), each on its own copy of the model.
    assert np.array_equal(tree_shap._parallel_contributions(booster, features, 3), whole)
