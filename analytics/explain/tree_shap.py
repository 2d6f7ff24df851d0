"""SHAP values for any `TrainedModel`: one explanation shape for classifiers, regressors and rankers.

`explain_trained` computes TreeSHAP values (path-dependent, exact for tree
ensembles; Lundberg et al. 2020) on the model's explain rows: with
shap.TreeExplainer, or for LightGBM models with LightGBM's own copy of the same
algorithm (`pred_contrib`, checked equal to shap's in the tests), which uses
every core and reads native categorical splits. It returns a frozen
`TrainedExplanation` that the shared panel, the Explanations page, the CLI and
the model cards all read. Units follow the task: log-odds for classification,
the target's unit for regression, the ranking score for rankers. For every
explained row the base value plus the row's SHAP values equals the model's raw
output (log-odds, prediction or score); the largest deviation is recorded as
`additivity_max_error` and checked against `additivity_tolerance`.

Supported models (`TrainedModel.model`):
- LightGBM (LGBMClassifier, LGBMRegressor, LGBMRanker, or a Booster), pandas
  "category" columns included;
- scikit-learn tree ensembles (HistGradientBoosting*, GradientBoosting*,
  RandomForest*, ...) on numeric columns;
- a scikit-learn Pipeline whose last step is one of those: the earlier steps
  transform the rows, and SHAP values of transformed columns (one-hot columns,
  say) are summed back onto the feature they came from, which keeps additivity;
- a wrapper exposing `encode(rows) -> matrix` and a fitted `booster_` (as
  `analytics.explain.model.ConversionClassifier` does).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shap
from threadpoolctl import threadpool_limits

from analytics.errors import ShopLensError
from analytics.explain.trained import TrainedModel

DEFAULT_MAX_ROWS = 2_000
# Absolute, in the output unit. TreeSHAP is exact; the slack only absorbs
# float32 thresholds and summation order (observed errors are ~1e-14).
ADDITIVITY_TOLERANCE = 1e-6
UNITS = {"classification": "log-odds", "regression": "target units", "ranking": "ranking score"}
# Rows per thread for LightGBM's TreeSHAP: below this a second thread costs more than it saves
# (the panel's 2,000-row sample stays on one thread, leaving the other core to other sessions).
ROWS_PER_SHAP_THREAD = 2_500


def shap_unit(task: str, target: str = "") -> str:
    """The unit SHAP values of a `task` model are in, for axis titles ("log-odds", ...)."""
    if task not in UNITS:
        raise ShopLensError(f"unknown model task {task!r}; use one of {', '.join(UNITS)}")
    return UNITS[task]


@dataclass(frozen=True)
class TrainedExplanation:
    """SHAP values of a TrainedModel's explain rows, with what the panel draws beside them.

    Every frame and series shares one index: the explain rows' index (it names the row:
    user_id, cart_id, a (user_id, product_id) pair, a date ...), sampled to at most
    `max_rows` rows in their original order.

    Attributes:
        name, title, task, target: copied from the TrainedModel.
        unit: the unit of SHAP values and of `raw_output` ("log-odds", "target units", "ranking score";
            "probability" for classifiers without a margin, such as random forests).
        feature_labels: feature -> label for people, in model column order.
        categorical_features: the features that are categories.
        base_value: the explainer's expected raw output (same unit).
        shap_values: explained rows x features, contributions in `unit`.
        feature_values: the explained rows' feature values (categories as text).
        segments: the explained rows' segment columns as text.
        raw_output: the model's raw output per row (log-odds, prediction or score), computed
            from the model, not from the SHAP values.
        predicted: for classifiers the probability (0..1, sigmoid of raw_output); else raw_output.
        actual: the explained rows' outcome (0/1, a number, a relevance).
        calibration: the TrainedModel's calibration table (classifiers), else empty.
        metrics: the TrainedModel's validation metrics.
        available_rows: explain rows before sampling; > shap_rows when sampled.
        additivity_max_error: max |base_value + sum(SHAP) - raw_output| over the explained rows (>= 0).
        additivity_tolerance: the largest error accepted as additive.
        shap_seconds: wall time of the SHAP computation.
    """

    name: str
    title: str
    task: str
    target: str
    unit: str
    feature_labels: dict[str, str]
    categorical_features: tuple[str, ...]
    base_value: float
    shap_values: pd.DataFrame
    feature_values: pd.DataFrame
    segments: pd.DataFrame
    raw_output: pd.Series
    predicted: pd.Series
    actual: pd.Series
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)
    metrics: dict[str, float] = field(default_factory=dict)
    available_rows: int = 0
    additivity_max_error: float = 0.0
    additivity_tolerance: float = ADDITIVITY_TOLERANCE
    shap_seconds: float = 0.0

    @property
    def shap_rows(self) -> int:
        """How many rows the SHAP values explain (the stated sample size)."""
        return len(self.shap_values)

    @property
    def is_sampled(self) -> bool:
        """Whether the SHAP values explain a sample of the explain rows rather than all of them."""
        return self.available_rows > self.shap_rows

    @property
    def is_additive(self) -> bool:
        """Whether base value + SHAP values reproduce the model output within the tolerance."""
        return self.additivity_max_error <= self.additivity_tolerance

    def mean_abs_shap(self) -> pd.Series:
        """Mean |SHAP| per feature, largest first: the global importance (in `unit`, >= 0)."""
        return self.shap_values.abs().mean().sort_values(ascending=False, kind="stable")

    def feature_ranking(self) -> list[str]:
        """Features from most to least important by mean |SHAP|."""
        return list(self.mean_abs_shap().index)

    def row_ids(self) -> list[str]:
        """The explained rows' ids as text (tuples joined with "/"), in row order."""
        return [row_key(value) for value in self.shap_values.index]


@dataclass(frozen=True)
class RowExplanation:
    """Why the model gives one row its output: a waterfall from the base value.

    Attributes:
        row_id: the row's id as text.
        unit: as TrainedExplanation.unit.
        base_value: where every row starts (the expected raw output).
        raw_output: the row's raw output; base_value + contributions.shap_value.sum().
        predicted: probability for classifiers, else raw_output.
        actual: the row's outcome (NaN when unknown).
        contributions: one row per feature, largest |SHAP| first: feature, label, value (text),
            shap_value (in `unit`).
    """

    row_id: str
    unit: str
    base_value: float
    raw_output: float
    predicted: float
    actual: float
    contributions: pd.DataFrame


def row_key(value: Any) -> str:
    """An index value as the text people type to look a row up ("123", "7/42" for a pair)."""
    if isinstance(value, tuple):
        return "/".join(row_key(part) for part in value)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else value.isoformat()
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def explain_trained(trained: TrainedModel, max_rows: int = DEFAULT_MAX_ROWS, random_state: int = 0
                    ) -> TrainedExplanation:
    """TreeSHAP values of the trained model's explain rows (shap.TreeExplainer; LightGBM's own TreeSHAP for LightGBM).

    Args:
        trained: a TrainedModel; its model is only read.
        max_rows: explain at most this many rows (a seeded sample, original order kept), >= 1.
        random_state: seed for the sample.

    Returns:
        A TrainedExplanation; check `is_additive` (the panel and cards report it).

    Raises:
        ShopLensError: no rows to explain, missing feature columns, a multi-class model,
            or a model TreeExplainer cannot read.
    """
    started = time.perf_counter()
    if max_rows < 1:
        raise ShopLensError(f"max_rows is {max_rows}; explain at least 1 row")
    features = list(trained.feature_labels)
    missing = [name for name in features if name not in trained.explain_rows.columns]
    if missing:
        raise ShopLensError(
            f"the explain rows of model {trained.name!r} lack the feature columns {', '.join(missing)}; "
            "pass every feature named in feature_labels"
        )
    if trained.explain_rows.empty:
        raise ShopLensError(f"model {trained.name!r} has no explain rows; give it validation rows to explain")
    unit = shap_unit(trained.task)
    available = len(trained.explain_rows)
    positions = np.arange(available)
    if available > max_rows:
        positions = np.sort(np.random.default_rng(random_state).choice(available, size=max_rows, replace=False))
    rows = trained.explain_rows.iloc[positions][features]
    values, base_value, raw, is_probability = _tree_shap(trained.model, rows, features, trained.task)
    if is_probability:
        unit = "probability"
    index = rows.index
    shap_values = pd.DataFrame(values, columns=features, index=index)
    raw_output = pd.Series(raw, index=index, name="raw_output")
    is_margin = trained.task == "classification" and not is_probability
    predicted = 1 / (1 + np.exp(-raw_output)) if is_margin else raw_output.copy()
    error = float(np.max(np.abs(base_value + values.sum(axis=1) - raw), initial=0.0))
    feature_values = rows.copy()
    for name in features:
        if name in trained.categorical_features or not pd.api.types.is_numeric_dtype(feature_values[name]):
            feature_values[name] = feature_values[name].astype(object).where(feature_values[name].notna(), None)
            feature_values[name] = feature_values[name].map(lambda value: "missing" if value is None else str(value))
    segments = trained.segments.iloc[positions] if len(trained.segments) == available else pd.DataFrame(index=index)
    actual = trained.explain_actual.iloc[positions] if len(trained.explain_actual) == available else pd.Series(
        np.nan, index=index)
    return TrainedExplanation(
        name=trained.name,
        title=trained.title,
        task=trained.task,
        target=trained.target,
        unit=unit,
        feature_labels=dict(trained.feature_labels),
        categorical_features=tuple(trained.categorical_features),
        base_value=base_value,
        shap_values=shap_values,
        feature_values=feature_values,
        segments=segments.set_axis(index).astype(str),
        raw_output=raw_output,
        predicted=pd.Series(np.asarray(predicted, dtype=float), index=index, name="predicted"),
        actual=pd.Series(pd.to_numeric(actual, errors="coerce").to_numpy(dtype=float), index=index, name="actual"),
        calibration=trained.calibration.copy(),
        metrics=dict(trained.metrics),
        available_rows=available,
        additivity_max_error=error,
        shap_seconds=time.perf_counter() - started,
    )


def model_output(trained: TrainedModel) -> pd.Series:
    """The model's output for every explain row (no sampling, no SHAP).

    Returns:
        For classifiers the probability (0..1), else the raw output (prediction or score);
        indexed like `trained.explain_rows`.
    """
    features = list(trained.feature_labels)
    rows = trained.explain_rows[features]
    if rows.empty:
        return pd.Series(dtype=float, index=rows.index, name="predicted")
    with threadpool_limits(1, user_api="openmp"):
        estimator, matrix, _ = _estimator_and_matrix(trained.model, rows, features)
        raw, is_probability = _raw_output(estimator, matrix, trained.task)
    raw = np.asarray(raw, dtype=float).ravel()
    output = 1 / (1 + np.exp(-raw)) if trained.task == "classification" and not is_probability else raw
    return pd.Series(output, index=rows.index, name="predicted")


def explain_row(explanation: TrainedExplanation, row_id: Any) -> RowExplanation:
    """One explained row's waterfall: its feature values and SHAP values, largest first.

    Args:
        explanation: from `explain_trained`.
        row_id: the row's index value or its text (see `row_key`).

    Returns:
        A RowExplanation.

    Raises:
        ShopLensError: the row is not among the explained rows (names a few that are).
    """
    keys = explanation.row_ids()
    wanted = row_key(row_id)
    if wanted not in keys:
        examples = ", ".join(keys[:5])
        raise ShopLensError(
            f"row {wanted!r} is not among the {len(keys):,} explained rows of model {explanation.name!r}; "
            f"pick one of them (for example {examples})"
        )
    position = keys.index(wanted)
    values = explanation.shap_values.iloc[position]
    raw_values = explanation.feature_values.iloc[position]
    contributions = pd.DataFrame(
        {
            "feature": list(explanation.feature_labels),
            "label": list(explanation.feature_labels.values()),
            "value": [_value_text(raw_values[name]) for name in explanation.feature_labels],
            "shap_value": values[list(explanation.feature_labels)].to_numpy(dtype=float),
        }
    )
    contributions = contributions.sort_values(
        "shap_value", key=lambda column: column.abs(), ascending=False, kind="stable"
    ).reset_index(drop=True)
    return RowExplanation(
        row_id=wanted,
        unit=explanation.unit,
        base_value=explanation.base_value,
        raw_output=float(explanation.raw_output.iloc[position]),
        predicted=float(explanation.predicted.iloc[position]),
        actual=float(explanation.actual.iloc[position]),
        contributions=contributions,
    )


def dependence_table(explanation: TrainedExplanation, feature: str, colour_by: str | None = None) -> pd.DataFrame:
    """A feature's value against its SHAP value per explained row, for a dependence plot.

    Args:
        explanation: from `explain_trained`.
        feature: one of its features.
        colour_by: another feature to colour by; None picks `strongest_interaction`.

    Returns:
        row_id, value (the feature's value), shap_value (in `unit`), colour_value (the
        colouring feature's value), one row per explained row; attrs["colour_by"] names it.
    """
    _check_feature(explanation, feature)
    if colour_by is None:
        colour_by = strongest_interaction(explanation, feature)
    elif colour_by != feature:
        _check_feature(explanation, colour_by)
    table = pd.DataFrame(
        {
            "row_id": explanation.row_ids(),
            "value": explanation.feature_values[feature].to_numpy(),
            "shap_value": explanation.shap_values[feature].to_numpy(dtype=float),
            "colour_value": explanation.feature_values[colour_by].to_numpy() if colour_by else np.nan,
        }
    )
    table.attrs["feature"] = feature
    table.attrs["colour_by"] = colour_by
    return table


def strongest_interaction(explanation: TrainedExplanation, feature: str, bins: int = 10) -> str | None:
    """The other feature that best explains the spread of `feature`'s SHAP values at a given value.

    Like shap's `approximate_interactions`: the rows are sorted by the feature and cut into
    `bins` equal-count groups; within each, the |correlation| between another feature's
    (rank-coded) value and the SHAP value is summed. The largest sum wins.

    Returns:
        A feature name, or None when the model has one feature only.
    """
    _check_feature(explanation, feature)
    others = [name for name in explanation.feature_labels if name != feature]
    if not others:
        return None
    order = np.argsort(_codes(explanation.feature_values[feature]), kind="stable")
    shap_sorted = explanation.shap_values[feature].to_numpy(dtype=float)[order]
    groups = np.array_split(np.arange(len(order)), max(1, min(bins, len(order) // 10 or 1)))
    scores = {}
    for other in others:
        codes = _codes(explanation.feature_values[other])[order]
        total = 0.0
        for group in groups:
            x, y = codes[group], shap_sorted[group]
            keep = ~np.isnan(x)
            if keep.sum() > 2 and np.std(x[keep]) > 0 and np.std(y[keep]) > 0:
                total += abs(float(np.corrcoef(x[keep], y[keep])[0, 1]))
        scores[other] = total
    return max(others, key=lambda name: scores[name])


def _check_feature(explanation: TrainedExplanation, feature: str) -> None:
    if feature not in explanation.feature_labels:
        choices = ", ".join(explanation.feature_labels)
        raise ShopLensError(f"model {explanation.name!r} has no feature {feature!r}; choose one of {choices}")


def _codes(values: pd.Series) -> np.ndarray:
    """Numbers as floats; text as the rank of its value (so correlation sees an order)."""
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().sum() >= values.notna().sum() * 0.9 and numbers.notna().any():
        return numbers.to_numpy(dtype=float)
    return values.astype(str).rank(method="dense").to_numpy(dtype=float)


def _value_text(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return "missing" if np.isnan(value) else f"{value:.4g}"
    return str(value)


# --------------------------------------------------------------------------- model adapters


def _tree_shap(model: Any, rows: pd.DataFrame, features: list[str], task: str
               ) -> tuple[np.ndarray, float, np.ndarray, bool]:
    """(SHAP values rows x features, base value, raw output per row, whether the output is a probability)."""
    # One OpenMP thread for the model's own predictions: a few thousand rows need no more, and
    # spinning OpenMP threads slow a shared machine (and every other Streamlit session) badly.
    with threadpool_limits(1, user_api="openmp"):
        estimator, matrix, groups = _estimator_and_matrix(model, rows, features)
        raw, is_probability = _raw_output(estimator, matrix, task)
    values, base_value = _shap_matrix(estimator, matrix, task)
    if groups is not None:
        # Sum transformed columns back onto their source feature; sums keep additivity.
        values = np.column_stack([values[:, columns].sum(axis=1) for columns in groups])
    if values.shape != (len(rows), len(features)):
        raise ShopLensError(
            f"the model explains {values.shape[1]} columns but {len(features)} features are named; "
            "list every model input in feature_labels, in the model's column order"
        )
    return values, base_value, np.asarray(raw, dtype=float).ravel(), is_probability


def _estimator_and_matrix(model: Any, rows: pd.DataFrame, features: list[str]) -> tuple[Any, Any, list | None]:
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        transformed = model[:-1].transform(rows)
        estimator = model.steps[-1][1]
        if hasattr(transformed, "toarray"):
            transformed = transformed.toarray()
        width = transformed.shape[1]
        if width == len(features):
            return estimator, transformed, None
        try:
            names = [str(name) for name in model[:-1].get_feature_names_out(features)]
        except Exception as error:  # noqa: BLE001 - any failure means the columns cannot be traced
            raise ShopLensError(
                f"the pipeline turns {len(features)} features into {width} columns and cannot name them "
                f"({error}); make its steps support get_feature_names_out"
            ) from None
        return estimator, transformed, _group_columns(names, features)
    if hasattr(model, "encode") and hasattr(model, "booster_"):
        return model.booster_, model.encode(rows), None
    return model, rows, None


def _group_columns(names: list[str], features: list[str]) -> list[list[int]]:
    """Column positions per feature, matching "feature", "prefix__feature" or "...feature_value"."""
    groups: list[list[int]] = [[] for _ in features]
    for position, name in enumerate(names):
        bare = name.split("__", 1)[-1]
        # The longest matching feature wins ("price" vs "price_ratio").
        matches = [index for index, feature in enumerate(features)
                   if bare == feature or bare.startswith(f"{feature}_")]
        if not matches:
            raise ShopLensError(
                f"the pipeline column {name!r} comes from no named feature; name its source in feature_labels"
            )
        groups[max(matches, key=lambda index: len(features[index]))].append(position)
    return groups


def _raw_output(estimator: Any, matrix: Any, task: str) -> tuple[np.ndarray, bool]:
    """The model output SHAP adds up to (log-odds, prediction or ranking score), and whether it is a
    probability (classifiers without a margin, such as random forests, are explained in probability)."""
    if _is_lightgbm(estimator):
        return np.asarray(estimator.predict(matrix, raw_score=True), dtype=float), False
    if task == "classification":
        if not hasattr(estimator, "decision_function"):
            probabilities = np.asarray(estimator.predict_proba(matrix), dtype=float)
            if probabilities.shape[1] > 2:
                raise ShopLensError(
                    "the model predicts more than two classes; the explanation layer takes binary ones")
            return probabilities[:, -1], True
        output = np.asarray(estimator.decision_function(matrix), dtype=float)
        if output.ndim > 1:
            raise ShopLensError("the model predicts more than two classes; the explanation layer takes binary ones")
        return output, False
    return np.asarray(estimator.predict(matrix), dtype=float), False


def _shap_matrix(estimator: Any, matrix: Any, task: str) -> tuple[np.ndarray, float]:
    """(TreeSHAP values rows x columns, base value) in the unit of the model's raw output."""
    if _is_lightgbm(estimator):
        return _lightgbm_shap(estimator, matrix)
    try:
        explainer = shap.TreeExplainer(estimator)
        values = explainer.shap_values(matrix, check_additivity=False)
        expected = np.ravel(explainer.expected_value)
    except Exception as error:  # noqa: BLE001 - shap raises many types for models it cannot read
        raise ShopLensError(
            f"shap.TreeExplainer cannot read this {type(estimator).__name__} ({error}); use a LightGBM or "
            "scikit-learn tree model on numeric or coded columns"
        ) from None
    if isinstance(values, list):  # older shap: one array per class
        values = values[-1]
    values = np.asarray(values, dtype=float)
    if values.ndim == 3:
        if values.shape[2] > 2:
            raise ShopLensError("the model predicts more than two classes; the explanation layer takes binary ones")
        values = values[..., -1]
    return values, float(expected[-1])


def _parallel_contributions(booster: Any, matrix: Any, threads: int) -> np.ndarray:
    """`booster.predict(matrix, pred_contrib=True)` on `threads` row chunks at once.

    LightGBM computes contributions on one thread whatever `num_threads` says, and one Booster serialises
    concurrent predictions, so each thread gets its own copy of the model (parsed from its text, a few
    milliseconds): 10,000 rows take about 0.65x the time on 2 cores. The result is identical.
    """
    import lightgbm as lgb

    text = booster.model_to_string()
    copies = [booster] + [lgb.Booster(model_str=text) for _ in range(threads - 1)]
    bounds = np.linspace(0, matrix.shape[0], threads + 1).astype(int)
    chunks = [matrix.iloc[start:stop] if hasattr(matrix, "iloc") else matrix[start:stop]
              for start, stop in zip(bounds[:-1], bounds[1:])]
    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(lambda job: job[0].predict(job[1], pred_contrib=True), zip(copies, chunks)))
    return np.vstack([np.asarray(part, dtype=float) for part in parts])


def _lightgbm_shap(estimator: Any, matrix: Any) -> tuple[np.ndarray, float]:
    # LightGBM ships the same TreeSHAP algorithm (Lundberg et al.) as shap.TreeExplainer; the tests
    # check both agree to 1e-6. Its copy runs on every core (shap's holds the GIL on one) and reads
    # native categorical splits, so it is the faster exact path for LightGBM models.
    booster = getattr(estimator, "booster_", estimator)
    threads = max(1, min(os.cpu_count() or 1, matrix.shape[0] // ROWS_PER_SHAP_THREAD))
    if threads == 1:
        contributions = np.asarray(booster.predict(matrix, pred_contrib=True), dtype=float)
    else:
        contributions = _parallel_contributions(booster, matrix, threads)
    width = matrix.shape[1] + 1
    if contributions.ndim != 2 or contributions.shape[1] != width:
        raise ShopLensError("the model predicts more than two classes; the explanation layer takes binary ones")
    base_value = float(contributions[0, -1]) if len(contributions) else 0.0
    return contributions[:, :-1], base_value


def _is_lightgbm(estimator: Any) -> bool:
    return type(estimator).__module__.split(".")[0] == "lightgbm"
