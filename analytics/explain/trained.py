"""The one shape every model-backed page hands to the explanation layer.

Each analysis trains its model its own way (a cart classifier, a churn
classifier, a forecast regressor, a recommender ranker) and returns a
`TrainedModel`. The shared layer (`analytics.explain`) turns any of them into
SHAP values, a model card and the "Explain this chart" panel, so every page
explains its chart with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

Task = Literal["classification", "regression", "ranking"]


@dataclass(frozen=True)
class TrainedModel:
    """A fitted tree model, the rows behind a chart, and what a model card needs.

    Attributes:
        name: machine name, unique across the app, e.g. "cart_conversion", "churn_28d".
        title: the name people read, e.g. "Cart bought within 24 h".
        task: "classification" (binary; SHAP in log-odds), "regression" (SHAP in the
            target's unit) or "ranking" (SHAP in ranking-score units).
        target: what the model predicts, for people ("bought within 24 h", "units per day").
        model: the fitted estimator (LightGBM, scikit-learn HistGradientBoosting or a
            scikit-learn Pipeline/estimator wrapping one); never modified after fitting.
        feature_labels: feature column -> label for people, in the model's column order.
        categorical_features: the features that are categories.
        explain_rows: the validation rows to explain, model column order, at most a
            stated sample size (e.g. 2,000); categories as pandas "category" dtype.
        explain_actual: the outcome for `explain_rows` (0/1, a number or a relevance), same index.
        segments: columns people filter the explanation by (device, category, ...), same index.
        metrics: time-split validation metrics, name -> value: "roc_auc", "log_loss",
            "base_rate", "top_decile_lift" for classifiers; "mase", "wape" for regressors;
            "ndcg@10" and the like for rankers.
        calibration: for classifiers, one row per bin: bin, mean_predicted, observed_rate, rows;
            empty otherwise.
        data_version: the warehouse's data version the model was trained on.
        training_start, training_end: the time window of the training rows.
        validation_start, validation_end: the time window of the validation rows.
        train_rows, validation_rows: row counts of each part (before sampling for SHAP).
        parameters: the estimator's parameters, for the model card.
        fit_seconds: wall time of fitting and validating.
    """

    name: str
    title: str
    task: Task
    target: str
    model: Any
    feature_labels: dict[str, str]
    categorical_features: tuple[str, ...]
    explain_rows: pd.DataFrame
    explain_actual: pd.Series
    segments: pd.DataFrame
    metrics: dict[str, float]
    data_version: str
    training_start: pd.Timestamp
    training_end: pd.Timestamp
    validation_start: pd.Timestamp
    validation_end: pd.Timestamp
    train_rows: int
    validation_rows: int
    parameters: dict[str, Any] = field(default_factory=dict)
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)
    fit_seconds: float = 0.0
