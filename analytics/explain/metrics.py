"""Validation metrics a model card states, as plain functions any trainer may call.

Classifiers: ROC AUC, log loss, base rate and lift in the top decile.
Regressors: MASE and WAPE. Rankers: NDCG at k. Every function takes arrays,
returns plain floats, and states its range.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score

from analytics.errors import ShopLensError


def top_decile_lift(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Outcome rate among the 10% highest predictions divided by the overall rate.

    Args:
        actual: 0/1 outcomes.
        predicted: scores or probabilities, same length; ties broken by position.

    Returns:
        >= 0; 1 means the top decile is no better than average; NaN when no outcome is positive.
    """
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    if len(actual) == 0 or actual.mean() == 0:
        return float("nan")
    top = max(1, int(np.ceil(len(actual) / 10)))
    order = np.argsort(-predicted, kind="stable")[:top]
    return float(actual[order].mean() / actual.mean())


def classification_metrics(actual: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """roc_auc (0..1, 0.5 chance), log_loss (>= 0), base_rate (0..1) and top_decile_lift (>= 0).

    Args:
        actual: 0/1 outcomes; both values must occur.
        probability: predicted P(1), same length, 0..1.
    """
    actual = np.asarray(actual, dtype=int)
    probability = np.asarray(probability, dtype=float)
    if len(np.unique(actual)) < 2:
        raise ShopLensError("the validation rows have one outcome only; widen the dates so both outcomes occur")
    return {
        "roc_auc": float(roc_auc_score(actual, probability)),
        "log_loss": float(log_loss(actual, probability, labels=[0, 1])),
        "base_rate": float(actual.mean()),
        "top_decile_lift": top_decile_lift(actual, probability),
    }


def wape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Weighted absolute percentage error: sum|actual - predicted| / sum|actual| (>= 0; NaN when actuals are 0)."""
    actual = np.asarray(actual, dtype=float)
    denominator = np.abs(actual).sum()
    if not denominator:
        return float("nan")
    return float(np.abs(actual - np.asarray(predicted, dtype=float)).sum() / denominator)


def mase(actual: np.ndarray, predicted: np.ndarray, history: np.ndarray, season_length: int = 1) -> float:
    """Mean absolute scaled error: MAE over the in-sample MAE of the seasonal naive forecast.

    Args:
        actual, predicted: validation values, same length.
        history: the training series in time order, longer than season_length.
        season_length: the naive forecast repeats the value this many steps back (1, 7, ...).

    Returns:
        >= 0; below 1 beats the naive forecast; NaN when the history is constant.
    """
    history = np.asarray(history, dtype=float)
    if len(history) <= season_length:
        raise ShopLensError(f"MASE needs more than {season_length} training values; the history has {len(history)}")
    scale = np.mean(np.abs(history[season_length:] - history[:-season_length]))
    error = np.mean(np.abs(np.asarray(actual, dtype=float) - np.asarray(predicted, dtype=float)))
    return float(error / scale) if scale else float("nan")


def ndcg_at_k(relevance_in_ranked_order: np.ndarray, k: int = 10) -> float:
    """NDCG@k of one ranked list: DCG (gain 2^rel - 1, discount log2(position + 1)) over the ideal DCG.

    Returns:
        0..1; NaN when nothing in the list is relevant.
    """
    relevance = np.asarray(relevance_in_ranked_order, dtype=float)
    discounts = 1 / np.log2(np.arange(2, k + 2))
    gains = (2 ** relevance[:k] - 1) @ discounts[: len(relevance[:k])]
    ideal = np.sort(relevance)[::-1][:k]
    best = (2 ** ideal - 1) @ discounts[: len(ideal)]
    return float(gains / best) if best else float("nan")
