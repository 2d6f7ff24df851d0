"""Ranking metrics against values worked out by hand, and properties against a brute-force reference."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.errors import ShopLensError
from analytics.recommend.metrics import (
    average_precision_at_k,
    coverage,
    dcg_at_k,
    evaluate_rankings,
    hit_rate_at_k,
    ndcg_at_k,
    novelty,
    precision_at_k,
    recall_at_k,
)


def test_textbook_dcg_and_ndcg_example():
    # The Wikipedia "Discounted cumulative gain" example: documents d1..d6 shown with graded relevances
    # 3, 2, 3, 0, 1, 2; two more documents, d7 (3) and d8 (2), are relevant but not shown.
    # DCG_6 = 3 + 2/log2(3) + 3/2 + 0 + 1/log2(6) + 2/log2(7) = 6.861 (rank 1's term 3/log2(2) = 3).
    # The ideal order of all judged documents is 3, 3, 3, 2, 2, 2, ...: IDCG_6 = 8.740, NDCG_6 = 0.785.
    gains = [3, 2, 3, 0, 1, 2]
    assert dcg_at_k(gains, 6) == pytest.approx(6.861, abs=1e-3)
    assert dcg_at_k([3, 3, 3, 2, 2, 2], 6) == pytest.approx(8.740, abs=1e-3)
    grades = {**{f"d{i}": gain for i, gain in enumerate(gains, start=1)}, "d7": 3, "d8": 2}
    assert ndcg_at_k([f"d{i}" for i in range(1, 7)], grades, 6) == pytest.approx(0.785, abs=1e-3)


def test_binary_metrics_by_hand():
    # Recommended a, b, c, d, e; relevant a, c, x. Hits at ranks 1 and 3.
    recommended, relevant = ["a", "b", "c", "d", "e"], {"a", "c", "x"}
    assert precision_at_k(recommended, relevant, 5) == pytest.approx(2 / 5)
    assert recall_at_k(recommended, relevant, 5) == pytest.approx(2 / 3)
    assert hit_rate_at_k(recommended, relevant, 5) == 1.0
    # DCG = 1 + 1/log2(4) = 1.5; IDCG over min(5, 3) = 3 hits = 1 + 1/log2(3) + 1/2.
    assert ndcg_at_k(recommended, relevant, 5) == pytest.approx(1.5 / (1 + 1 / math.log2(3) + 0.5))
    # AP: precision at hits 1/1 and 2/3, summed 5/3, divided by min(5, 3) = 3, or by |T| = 3.
    assert average_precision_at_k(recommended, relevant, 5) == pytest.approx(5 / 9)
    # With k = 2 only the first hit counts: 1 / min(2, 3) = 0.5 against 1 / 3 for Recommenders' MAP.
    assert average_precision_at_k(recommended, relevant, 2) == pytest.approx(0.5)
    assert average_precision_at_k(recommended, relevant, 2, normaliser="all") == pytest.approx(1 / 3)


def test_short_lists_count_empty_slots_as_misses():
    assert precision_at_k(["a"], {"a"}, 10) == pytest.approx(0.1)
    assert ndcg_at_k(["a"], {"a"}, 10) == pytest.approx(1.0)


def test_evaluate_rankings_averages_users_with_truth_only():
    recommendations = {"u1": ["a", "b"], "u2": ["c", "d"], "u3": ["e"]}
    truth = {"u1": {"a"}, "u2": {"x"}, "u3": set()}
    scores = evaluate_rankings(recommendations, truth, 2)
    # u1: precision 1/2, u2: 0; u3 has no truth and is skipped.
    assert scores["users"] == 2
    assert scores["precision@2"] == pytest.approx(0.25)
    assert scores["hit_rate@2"] == pytest.approx(0.5)


def test_coverage_and_novelty():
    recommendations = {"u1": ["a", "b"], "u2": ["b"]}
    assert coverage(recommendations, 4) == pytest.approx(2 / 4)
    # Shares 0.5 and 0.25: -log2 = 1 and 2 bits; b is recommended twice: (1 + 2 + 2) / 3.
    assert novelty(recommendations, {"a": 0.5, "b": 0.25}) == pytest.approx(5 / 3)


def test_k_must_be_positive():
    with pytest.raises(ShopLensError, match="k = 0"):
        precision_at_k(["a"], {"a"}, 0)


def _reference_ndcg(recommended, relevant, k):
    # Independent: enumerate every permutation-free ideal by sorting gains directly.
    gains = [1.0 if item in relevant else 0.0 for item in recommended[:k]]
    dcg = sum(gain / math.log2(position + 2) for position, gain in enumerate(gains))
    ideal = sum(1 / math.log2(position + 2) for position in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


@given(st.lists(st.integers(0, 15), unique=True, max_size=12), st.sets(st.integers(0, 15), max_size=8),
       st.integers(1, 12))
def test_metrics_match_a_brute_force_reference(recommended, relevant, k):
    hits = [item in relevant for item in recommended[:k]]
    assert precision_at_k(recommended, relevant, k) == pytest.approx(sum(hits) / k)
    assert ndcg_at_k(recommended, relevant, k) == pytest.approx(_reference_ndcg(recommended, relevant, k))
    assert 0.0 <= ndcg_at_k(recommended, relevant, k) <= 1.0 + 1e-12
    if relevant:
        assert recall_at_k(recommended, relevant, k) == pytest.approx(sum(hits) / len(relevant))
        # A list that puts every relevant item first is perfect.
        ideal = sorted(relevant) + [item for item in recommended if item not in relevant]
        assert ndcg_at_k(ideal, relevant, k) == pytest.approx(1.0)
