"""What every recommender shares: scoring users and turning scores into a top-K list."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from analytics.errors import ShopLensError
from analytics.recommend.data import InteractionMatrix


class Recommender(BaseEstimator):
    """Mixin for the scikit-learn-style recommenders.

    Subclasses set `interactions_` (the fitted InteractionMatrix) in `fit` and implement
    `score(rows)`: a dense (len(rows), n_items) array, higher is better.
    """

    interactions_: InteractionMatrix

    def score(self, rows: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "interactions_"):
            raise ShopLensError(f"{type(self).__name__} is not fitted yet; call fit(interactions) first")

    def recommend(self, rows: np.ndarray, k: int = 10, exclude_seen: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Top-k items per user row.

        Args:
            rows: row indices into `interactions_.user_ids`, shape (n,).
            k: items per user, >= 1.
            exclude_seen: drop the items the user already interacted with.

        Returns:
            (items, scores), each shape (n, k'), k' = min(k, n_items); items are column indices, best first;
            slots without a candidate (everything seen) hold -1 and score -inf.
        """
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.int64)
        scores = np.asarray(self.score(rows), dtype=np.float64)
        if exclude_seen:
            mask_seen(scores, self.interactions_.matrix, rows)
        return top_k(scores, k)


def mask_seen(scores: np.ndarray, matrix: sp.csr_matrix, rows: np.ndarray) -> None:
    """Set the scores of items each user has interacted with to -inf, in place."""
    for position, row in enumerate(rows):
        if 0 <= row < matrix.shape[0]:
            scores[position, matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]] = -np.inf


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices of the k highest scores per row, best first (ties: lower index first).

    Returns:
        (items, scores); slots whose score is -inf hold item -1.
    """
    if k < 1:
        raise ShopLensError(f"k = {k} must be at least 1")
    k = min(k, scores.shape[1])
    if k == 0:
        return np.empty((scores.shape[0], 0), np.int64), np.empty((scores.shape[0], 0))
    # Stable order: argsort on (-score, index) via a stable sort of the negated scores.
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else \
        np.tile(np.arange(scores.shape[1]), (scores.shape[0], 1))
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    items = np.take_along_axis(part, order, axis=1)
    best = np.take_along_axis(part_scores, order, axis=1)
    items = np.where(np.isneginf(best), -1, items)
    return items, best


def normalise_rows(scores: np.ndarray) -> np.ndarray:
    """Scale each row to [0, 1] by its maximum (rows of zeros stay zero)."""
    top = np.max(np.where(np.isfinite(scores), scores, 0), axis=1, keepdims=True)
    return np.divide(scores, top, out=np.zeros_like(scores, dtype=np.float64), where=top > 0)
