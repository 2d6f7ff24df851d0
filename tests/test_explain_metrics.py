"""Model-card metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analytics.errors import ShopLensError
from analytics.explain.metrics import classification_metrics, mase, ndcg_at_k, top_decile_lift, wape


def test_top_decile_lift_by_hand():
    # 20 rows, 4 positives (rate 0.2). The top decile is the 2 highest scores: one positive -> 0.5 / 0.2 = 2.5.
    actual = np.array([1, 0] + [1, 1, 0, 0, 1] + [0] * 13)
    predicted = np.linspace(1, 0, 20)
    assert top_decile_lift(actual, predicted) == pytest.approx(2.5)
    assert math.isnan(top_decile_lift(np.zeros(5), np.arange(5)))


def test_classification_metrics_by_hand():
    actual = np.array([0, 0, 1, 1])
    probability = np.array([0.1, 0.6, 0.4, 0.9])
    metrics = classification_metrics(actual, probability)
    # Pairs (positive, negative): (0.4,0.1) ok, (0.4,0.6) wrong, (0.9,0.1) ok, (0.9,0.6) ok -> 3/4.
    assert metrics["roc_auc"] == pytest.approx(0.75)
    expected_log_loss = -np.mean(np.log([0.9, 0.4, 0.4, 0.9]))
    assert metrics["log_loss"] == pytest.approx(expected_log_loss)
    assert metrics["base_rate"] == 0.5
    # Top decile of 4 rows = 1 row (0.9, a positive): 1 / 0.5 = 2.
    assert metrics["top_decile_lift"] == pytest.approx(2.0)
    with pytest.raises(ShopLensError, match="one outcome only"):
        classification_metrics(np.ones(4), probability)


def test_wape_and_mase_by_hand():
    # |10-8| + |20-25| + |30-30| = 7 over 60.
    assert wape([10, 20, 30], [8, 25, 30]) == pytest.approx(7 / 60)
    # Naive one-step errors of the history 1, 3, 2, 6: 2, 1, 4 -> scale 7/3; MAE (1 + 1) / 2 = 1 -> 3/7.
    assert mase([5, 7], [4, 8], history=[1, 3, 2, 6]) == pytest.approx(3 / 7)
    with pytest.raises(ShopLensError, match="more than 7 training values"):
        mase([1], [1], history=[1, 2, 3], season_length=7)


def test_ndcg_textbook_example():
    # Relevance 3, 2, 3, 0, 1, 2 (Wikipedia's example): DCG@6 = 13.848..., ideal 3,3,2,2,1,0 -> IDCG 17.35...
    relevance = np.array([3, 2, 3, 0, 1, 2])
    discounts = 1 / np.log2(np.arange(2, 8))
    dcg = ((2 ** relevance - 1) * discounts).sum()
    ideal = ((2 ** np.array([3, 3, 2, 2, 1, 0]) - 1) * discounts).sum()
    assert ndcg_at_k(relevance, k=6) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(np.array([0, 0]), k=2) != ndcg_at_k(np.array([0, 0]), k=2)  # NaN: nothing relevant
