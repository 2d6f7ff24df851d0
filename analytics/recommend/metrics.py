"""Ranking metrics at K for top-K recommendations, plus catalogue coverage and novelty.

Per user, with the recommended list r (best first, at most K items), the set
of relevant (held-out) items T, and hit(i) = 1 when r[i] is in T:

    precision@K = Σ hit / K
    recall@K    = Σ hit / |T|
    hit rate@K  = 1 if any hit else 0
    DCG@K       = Σ_i hit(i) / log2(i + 2)          (i from 0; binary gains)
    NDCG@K      = DCG@K / IDCG@K, IDCG@K = Σ_{i < min(K, |T|)} 1 / log2(i + 2)
    AP@K        = Σ_i hit(i) · precision@(i+1) / min(K, |T|)   (MAP@K is its mean)
    AP (Recommenders) = the same sum / |T|   (Microsoft Recommenders' `map`, after Spark MLlib)

Each is averaged over the users that have at least one relevant item. Coverage
is the share of the catalogue recommended to anyone; novelty is the mean of
−log2(share of users who interacted with the item) over recommended items.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np

from analytics.errors import ShopLensError


def _check(k: int) -> None:
    if k < 1:
        raise ShopLensError(f"k = {k} must be at least 1")


def _hits(recommended: Sequence, relevant: set, k: int) -> np.ndarray:
    return np.array([item in relevant for item in list(recommended)[:k]], dtype=float)


def precision_at_k(recommended: Sequence, relevant: Iterable, k: int) -> float:
    """Share of the k slots holding a relevant item (empty slots count as misses), 0–1."""
    _check(k)
    return float(_hits(recommended, set(relevant), k).sum() / k)


def recall_at_k(recommended: Sequence, relevant: Iterable, k: int) -> float:
    """Share of the relevant items found in the top k, 0–1 (0 when nothing is relevant)."""
    _check(k)
    relevant = set(relevant)
    return float(_hits(recommended, relevant, k).sum() / len(relevant)) if relevant else 0.0


def hit_rate_at_k(recommended: Sequence, relevant: Iterable, k: int) -> float:
    """1 when any of the top k is relevant, else 0."""
    _check(k)
    return float(_hits(recommended, set(relevant), k).any())


def dcg_at_k(gains: Sequence[float], k: int) -> float:
    """Σ gain_i / log2(i + 2) over the first k gains (i from 0)."""
    _check(k)
    gains = np.asarray(list(gains)[:k], dtype=float)
    return float((gains / np.log2(np.arange(len(gains)) + 2)).sum())


def ndcg_at_k(recommended: Sequence, relevant: Iterable | Mapping, k: int) -> float:
    """NDCG@k, 0–1. `relevant` is a set (binary gains) or a mapping item -> graded gain."""
    _check(k)
    grades = dict(relevant) if isinstance(relevant, Mapping) else {item: 1.0 for item in relevant}
    if not grades:
        return 0.0
    gains = [grades.get(item, 0.0) for item in list(recommended)[:k]]
    ideal = dcg_at_k(sorted(grades.values(), reverse=True), k)
    return dcg_at_k(gains, k) / ideal if ideal > 0 else 0.0


def average_precision_at_k(recommended: Sequence, relevant: Iterable, k: int, normaliser: str = "min") -> float:
    """AP@k: mean precision at each hit; divided by min(k, |T|) ("min") or by |T| ("all", as Recommenders)."""
    _check(k)
    relevant = set(relevant)
    if not relevant:
        return 0.0
    hits = _hits(recommended, relevant, k)
    precisions = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    denominator = min(k, len(relevant)) if normaliser == "min" else len(relevant)
    return float((precisions * hits).sum() / denominator)


def coverage(recommendations: Mapping, catalogue_size: int) -> float:
    """Share of the catalogue recommended to at least one user, 0–1."""
    if catalogue_size < 1:
        raise ShopLensError("the catalogue is empty; coverage needs at least one item")
    items = {item for items in recommendations.values() for item in items}
    return len(items) / catalogue_size


def novelty(recommendations: Mapping, item_user_share: Mapping, floor: float = 1e-6) -> float:
    """Mean −log2(share of users who interacted with the item) over all recommended items, >= 0 bits."""
    values = [-np.log2(max(item_user_share.get(item, 0.0), floor))
              for items in recommendations.values() for item in items]
    return float(np.mean(values)) if values else 0.0


def evaluate_rankings(recommendations: Mapping, truth: Mapping, k: int) -> dict[str, float]:
    """Mean precision, recall, NDCG, MAP (both normalisations) and hit rate at k over users with truth.

    Args:
        recommendations: user -> recommended items, best first.
        truth: user -> relevant items (users with none are skipped).
        k: the cut-off.

    Returns:
        {"precision@k", "recall@k", "ndcg@k", "map@k", "map", "hit_rate@k", "users"}; "map" is the
        Recommenders normalisation (by |T|). Users with truth but no recommendations score 0.
    """
    _check(k)
    rows = []
    for user, relevant in truth.items():
        relevant = set(relevant)
        if not relevant:
            continue
        recommended = list(recommendations.get(user, ()))
        rows.append((precision_at_k(recommended, relevant, k), recall_at_k(recommended, relevant, k),
                     ndcg_at_k(recommended, relevant, k), average_precision_at_k(recommended, relevant, k),
                     average_precision_at_k(recommended, relevant, k, normaliser="all"),
                     hit_rate_at_k(recommended, relevant, k)))
    means = np.mean(rows, axis=0) if rows else np.zeros(6)
    names = [f"precision@{k}", f"recall@{k}", f"ndcg@{k}", f"map@{k}", "map", f"hit_rate@{k}"]
    return {**dict(zip(names, map(float, means))), "users": len(rows)}


def ndcg_of_arrays(items: np.ndarray, relevant: "sp.csr_matrix", k: int) -> np.ndarray:
    """NDCG@k per row of a top-K array against a sparse relevance matrix, binary gains.

    Args:
        items: (m, >= k) item columns per user, best first; -1 marks an empty slot.
        relevant: (m, n_items) CSR whose stored entries are the relevant items of each row.
        k: the cut-off.

    Returns:
        Shape (m,); rows without relevant items score 0 (callers leave them out of means).
    """
    import scipy.sparse as sp

    _check(k)
    relevant = sp.csr_matrix(relevant)
    items = np.asarray(items)[:, :k]
    n_relevant = np.diff(relevant.indptr)
    hits = np.zeros(items.shape)
    valid = items >= 0
    row_index = np.repeat(np.arange(items.shape[0]), items.shape[1]).reshape(items.shape)
    if valid.any():
        hits[valid] = np.asarray(relevant[row_index[valid], items[valid]]).ravel() != 0
    discounts = 1.0 / np.log2(np.arange(items.shape[1]) + 2)
    dcg = hits @ discounts
    ideal_discounts = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(k) + 2))])
    ideal = ideal_discounts[np.minimum(n_relevant, k)]
    return np.divide(dcg, ideal, out=np.zeros(len(dcg)), where=ideal > 0)
