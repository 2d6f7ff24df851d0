"""Fit a conversion model with a time-based split, measure it, and explain it with SHAP.

`explain_model` is the one entry point every model-backed page uses: it trains
on the earlier rows, validates on the later ones (ROC AUC, log loss,
calibration), and computes SHAP values with shap.TreeExplainer on a stated
sample of the validation rows. The result is a frozen `ModelExplanation` that
`dashboard/explanation_panel.py` draws and `analytics/charts/explanations.py`
turns into figures. SHAP values are in log-odds: for every explained row the
base value plus the row's SHAP values equals the model's log-odds output; the
result records the largest deviation (`additivity_max_error`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shap
from sklearn.metrics import log_loss, roc_auc_score

from analytics.errors import ShopLensError
from analytics.explain.model import ConversionClassifier

DEFAULT_TEST_SHARE = 0.2
DEFAULT_SHAP_ROWS = 2_000
CALIBRATION_BINS = 10
# Below this many rows per side a split says too little to show.
MIN_ROWS_PER_SIDE = 50
ADDITIVITY_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ModelExplanation:
    """A fitted model's validation metrics and SHAP explanation.

    Attributes:
        model_name: machine name, e.g. "cart_conversion".
        target: what a positive outcome is, for people ("bought within 24 h").
        feature_labels: feature -> label for people, in model column order.
        categorical_features: the features that are categories (coloured grey in a beeswarm).
        train_rows, test_rows: rows in the earlier (training) and later (validation) part.
        training_rows_available: rows before any sampling; > train_rows + test_rows when sampled.
        split_at: the time of the first validation row; every training row is earlier or equal.
        roc_auc: validation ROC AUC (0..1; 0.5 is chance).
        log_loss: validation log loss (>= 0; lower is better).
        base_rate: share of positive outcomes in the validation rows (0..1).
        calibration: one row per bin of predicted probability (equal-count bins): bin,
            mean_predicted, observed_rate (0..1), rows.
        base_value: the explainer's expected log-odds over the training rows.
        shap_values: explained rows x features, log-odds contributions.
        feature_values: the explained rows' feature values as the model saw them (categories as text).
        segments: the explained rows' segment columns (e.g. price_band, device), same index.
        predicted: the explained rows' predicted probability (0..1).
        actual: the explained rows' outcome (0/1).
        fit_seconds: wall time of fitting, metrics and SHAP together.
        additivity_max_error: max |base_value + sum(SHAP) - log-odds| over the explained rows.
        parameters: the estimator's parameters, for a model card.
    """

    model_name: str
    target: str
    feature_labels: dict[str, str]
    categorical_features: tuple[str, ...]
    train_rows: int
    test_rows: int
    training_rows_available: int
    split_at: pd.Timestamp
    roc_auc: float
    log_loss: float
    base_rate: float
    calibration: pd.DataFrame
    base_value: float
    shap_values: pd.DataFrame
    feature_values: pd.DataFrame
    segments: pd.DataFrame
    predicted: pd.Series
    actual: pd.Series
    fit_seconds: float
    additivity_max_error: float
    parameters: dict = field(default_factory=dict)

    @property
    def shap_rows(self) -> int:
        """How many validation rows the SHAP values explain (the stated sample size)."""
        return len(self.shap_values)

    @property
    def unit(self) -> str:
        """The unit of the SHAP values: always log-odds here (a binary classifier)."""
        return "log-odds"

    @property
    def task(self) -> str:
        """The model task, as in `TrainedModel.task`."""
        return "classification"

    def mean_abs_shap(self) -> pd.Series:
        """Mean |SHAP| per feature, largest first: the global importance (log-odds, >= 0)."""
        return self.shap_values.abs().mean().sort_values(ascending=False)

    def feature_ranking(self) -> list[str]:
        """Features from most to least important by mean |SHAP|."""
        return list(self.mean_abs_shap().index)


@dataclass(frozen=True)
class SegmentExplanation:
    """Why the model treats one segment as it does, against all explained rows.

    Attributes:
        column: the segment column, e.g. "price_band".
        value: the segment, e.g. "over 1.5x median".
        rows: explained rows in the segment.
        predicted_rate: mean predicted probability in the segment (0..1), NaN when empty.
        observed_rate: share of positive outcomes in the segment (0..1), NaN when empty.
        overall_predicted_rate, overall_observed_rate: the same over all explained rows.
        contributions: one row per feature, largest |difference| first: feature, label,
            segment_mean_shap, overall_mean_shap, difference (segment minus overall, log-odds;
            positive pushes the segment towards the outcome).
    """

    column: str
    value: str
    rows: int
    predicted_rate: float
    observed_rate: float
    overall_predicted_rate: float
    overall_observed_rate: float
    contributions: pd.DataFrame


def time_split(frame: pd.DataFrame, time_column: str, test_share: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows in time: the earliest (1 - test_share) for training, the rest for validation.

    Args:
        frame: the rows.
        time_column: when each row happened.
        test_share: share of rows for validation, strictly between 0 and 1.

    Returns:
        (train, test), each in time order; max(train time) <= min(test time).
    """
    if not 0 < test_share < 1:
        raise ShopLensError(f"the validation share is {test_share}; give a number between 0 and 1")
    ordered = frame.sort_values(time_column, kind="stable")
    cut = int(round(len(ordered) * (1 - test_share)))
    return ordered.iloc[:cut], ordered.iloc[cut:]


def calibration_table(actual: np.ndarray, predicted: np.ndarray, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Observed rate against mean predicted probability in equal-count bins.

    Args:
        actual: 0/1 outcomes.
        predicted: probabilities 0..1, same length.
        bins: how many bins at most (ties may merge some).

    Returns:
        bin (1..), mean_predicted, observed_rate, rows; bins by increasing prediction.
    """
    frame = pd.DataFrame({"actual": np.asarray(actual, dtype=float), "predicted": np.asarray(predicted, dtype=float)})
    ranks = frame["predicted"].rank(method="first")
    frame["bin"] = pd.qcut(ranks, q=min(bins, len(frame)), labels=False) + 1
    table = frame.groupby("bin").agg(
        mean_predicted=("predicted", "mean"), observed_rate=("actual", "mean"), rows=("actual", "size")
    )
    return table.reset_index()


def shap_explain(model: ConversionClassifier, rows: pd.DataFrame) -> tuple[np.ndarray, float, float]:
    """SHAP values of `rows` with shap.TreeExplainer (path-dependent, log-odds).

    Args:
        model: a fitted ConversionClassifier.
        rows: rows with its feature columns.

    Returns:
        (values rows x features, base value, max additivity error).
    """
    matrix = model.encode(rows)
    explainer = shap.TreeExplainer(model.booster_)
    values = np.asarray(explainer.shap_values(matrix, check_additivity=False), dtype=float)
    if values.ndim == 3:  # some shap versions return one slice per class
        values = values[..., -1]
    base_value = float(np.ravel(explainer.expected_value)[-1])
    error = float(np.max(np.abs(base_value + values.sum(axis=1) - model.decision_function(rows)), initial=0.0))
    return values, base_value, error


def explain_model(
    model: ConversionClassifier,
    frame: pd.DataFrame,
    *,
    model_name: str,
    target: str,
    label_column: str,
    time_column: str,
    feature_labels: dict[str, str],
    segment_columns: tuple[str, ...] = (),
    test_share: float = DEFAULT_TEST_SHARE,
    shap_rows: int = DEFAULT_SHAP_ROWS,
    random_state: int = 0,
) -> ModelExplanation:
    """Fit `model` on the earlier rows, validate on the later ones and explain it with SHAP.

    Args:
        model: an unfitted ConversionClassifier whose features are keys of `feature_labels`;
            it is fitted in place (pass a fresh one; `sklearn.base.clone` makes one).
        frame: one row per example, with the features, the label and the time.
        model_name, target: see ModelExplanation.
        label_column: the 0/1 outcome.
        time_column: when each row happened; the split is by this time.
        feature_labels: feature -> label, in the model's column order.
        segment_columns: columns kept beside the SHAP rows for segment explanations.
        test_share: share of the latest rows used for validation (0..1).
        shap_rows: validation rows to explain at most (a seeded random sample), >= 1.
        random_state: seed for the SHAP sample.

    Returns:
        A ModelExplanation.

    Raises:
        ShopLensError: too few rows, or one outcome only, on either side of the split.
    """
    started = time.perf_counter()
    train, test = time_split(frame, time_column, test_share)
    for side, rows in (("training", train), ("validation", test)):
        if len(rows) < MIN_ROWS_PER_SIDE or rows[label_column].nunique() < 2:
            raise ShopLensError(
                f"the {side} part has {len(rows)} rows with {rows[label_column].nunique()} outcome(s); "
                f"the model needs at least {MIN_ROWS_PER_SIDE} rows with both outcomes on each side of the "
                "time split: widen the dates or clear filters"
            )
    model.fit(train, train[label_column].astype(int))
    test_actual = test[label_column].astype(int).to_numpy()
    test_predicted = model.predict_proba(test)[:, 1]
    explained = test.sample(n=min(shap_rows, len(test)), random_state=random_state).sort_values(time_column)
    values, base_value, error = shap_explain(model, explained)
    features = list(feature_labels)
    index = pd.RangeIndex(len(explained))
    feature_values = explained[features].reset_index(drop=True)
    for name in model.categorical_features:
        feature_values[name] = feature_values[name].astype(str)
    return ModelExplanation(
        model_name=model_name,
        target=target,
        feature_labels=dict(feature_labels),
        categorical_features=tuple(model.categorical_features),
        train_rows=len(train),
        test_rows=len(test),
        training_rows_available=len(frame),
        split_at=pd.Timestamp(test[time_column].iloc[0]),
        roc_auc=float(roc_auc_score(test_actual, test_predicted)),
        log_loss=float(log_loss(test_actual, test_predicted, labels=[0, 1])),
        base_rate=float(test_actual.mean()),
        calibration=calibration_table(test_actual, test_predicted),
        base_value=base_value,
        shap_values=pd.DataFrame(values, columns=list(model.feature_names_in_), index=index)[features],
        feature_values=feature_values,
        segments=explained[list(segment_columns)].reset_index(drop=True).astype(str),
        predicted=pd.Series(model.predict_proba(explained)[:, 1], index=index, name="predicted"),
        actual=pd.Series(explained[label_column].astype(int).to_numpy(), index=index, name="actual"),
        fit_seconds=time.perf_counter() - started,
        additivity_max_error=error,
        parameters=model.get_params(),
    )


def explain_segment(explanation: ModelExplanation, column: str, value: str) -> SegmentExplanation:
    """Compare one segment's mean SHAP values with all explained rows'.

    Args:
        explanation: from `explain_model`.
        column: one of its segment columns.
        value: the segment's value in that column (as text).

    Returns:
        A SegmentExplanation; an empty segment has rows 0 and NaN rates and contributions.
    """
    if column not in explanation.segments.columns:
        raise ShopLensError(
            f"cannot explain the segment column {column!r}; choose one of {', '.join(explanation.segments.columns)}"
        )
    mask = (explanation.segments[column] == str(value)).to_numpy()
    segment_mean = explanation.shap_values[mask].mean() if mask.any() else explanation.shap_values.mean() * np.nan
    overall_mean = explanation.shap_values.mean()
    contributions = pd.DataFrame(
        {
            "feature": list(explanation.feature_labels),
            "label": list(explanation.feature_labels.values()),
            "segment_mean_shap": segment_mean.to_numpy(),
            "overall_mean_shap": overall_mean.to_numpy(),
        }
    )
    contributions["difference"] = contributions["segment_mean_shap"] - contributions["overall_mean_shap"]
    contributions = contributions.sort_values(
        "difference", key=lambda values: values.abs(), ascending=False, kind="stable"
    ).reset_index(drop=True)
    return SegmentExplanation(
        column=column,
        value=str(value),
        rows=int(mask.sum()),
        predicted_rate=float(explanation.predicted[mask].mean()) if mask.any() else float("nan"),
        observed_rate=float(explanation.actual[mask].mean()) if mask.any() else float("nan"),
        overall_predicted_rate=float(explanation.predicted.mean()),
        overall_observed_rate=float(explanation.actual.mean()),
        contributions=contributions,
    )
