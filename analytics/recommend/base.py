"""What every recommender shares: candidates per user, scores of chosen pairs, and top-K helpers.

Every model answers three questions, always for a batch of user rows and never
with a users × items array for all users at once:

- `candidates(rows, n)`: each user's n best unseen items, as (items, scores) arrays of shape
  (len(rows), n), -1 / -inf in empty slots;
- `score_pairs(rows, items)`: the model's score of given (user row, item) pairs, aligned;
- `score(rows)`: the dense (len(rows), n_items) scores, for small batches (one user on a page).

The defaults work block by block through `score`, so memory is bounded by
`BLOCK_CELLS`; models with a sparse or low-rank structure override them.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from analytics.errors import ShopLensError
from analytics.recommend.data import InteractionMatrix

# Cells of a dense (users × items) float64 score block: 4M cells = 32 MB, whatever the catalogue size.
BLOCK_CELLS = 4_000_000

Progress = Callable[[str, int, int], None]


def no_progress(step: str, done: int, total: int) -> None:
    """The progress callback used when none is given."""


class Recommender(BaseEstimator):
    """Base of the scikit-learn-style recommenders.

    Subclasses set `interactions_` (the fitted InteractionMatrix) in `fit` and implement
    `score(rows)`: a dense (len(rows), n_items) array, higher is better. Rows of -1 (users
    unknown to the model) must score without failing.
    """

    interactions_: InteractionMatrix

    def score(self, rows: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "interactions_"):
            raise ShopLensError(f"{type(self).__name__} is not fitted yet; call fit(interactions) first")

    @property
    def n_items_(self) -> int:
        return self.interactions_.shape[1]

    def candidates(self, rows: np.ndarray, n: int, exclude_seen: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Each user's n best items.

        Args:
            rows: row indices into `interactions_.user_ids`, shape (m,); -1 for unknown users.
            n: items per user, >= 1.
            exclude_seen: leave out the items the user already interacted with.

        Returns:
            (items, scores), each shape (m, min(n, n_items)); items are column indices, best first
            (ties: lower index first); slots without a candidate hold -1 and score -inf.
        """
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.int64)
        parts = []
        for block in row_blocks(len(rows), self.n_items_):
            scores = np.asarray(self.score(rows[block]), dtype=np.float64)
            if exclude_seen:
                mask_seen(scores, self.interactions_.matrix, rows[block])
            parts.append(top_k(scores, n))
        return _stack(parts, len(rows), min(n, self.n_items_))

    def score_pairs(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """The model's score for each (rows[i], items[i]) pair, shape (len(rows),)."""
        self._check_fitted()
        rows, items = np.asarray(rows, dtype=np.int64), np.asarray(items, dtype=np.int64)
        result = np.zeros(len(rows))
        unique, inverse = np.unique(rows, return_inverse=True)
        for block in row_blocks(len(unique), self.n_items_):
            dense = np.asarray(self.score(unique[block]), dtype=np.float64)
            chosen = np.flatnonzero((inverse >= block.start) & (inverse < block.stop))
            result[chosen] = dense[inverse[chosen] - block.start, items[chosen]]
        return result

    def votes(self, past: np.ndarray, weights: np.ndarray, items: np.ndarray) -> np.ndarray | None:
        """How much each of a user's past items votes for each of `items`, shape (len(past), len(items)).

        Item-to-item models (co-occurrence, EASE, content) say which past item drove a recommendation,
        for its reason; others return None.
        """
        return None

    def recommend(self, rows: np.ndarray, k: int = 10, exclude_seen: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Top-k items per user row: `candidates(rows, k, exclude_seen)` (see there)."""
        if k < 1:
            raise ShopLensError(f"k = {k} must be at least 1")
        return self.candidates(rows, k, exclude_seen)


def row_blocks(n_rows: int, n_items: int, cells: int = BLOCK_CELLS) -> Iterator[slice]:
    """Slices of at most `cells // n_items` rows (at least one) covering range(n_rows)."""
    size = max(1, cells // max(n_items, 1))
    for start in range(0, n_rows, size):
        yield slice(start, min(start + size, n_rows))


def _stack(parts: list[tuple[np.ndarray, np.ndarray]], n_rows: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    if not parts:
        return np.empty((n_rows, width), np.int64), np.empty((n_rows, width))
    return np.vstack([items for items, _ in parts]), np.vstack([scores for _, scores in parts])


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
    width = scores.shape[1]
    # Partition the scores themselves (the k largest end up last): no negated copy of a large block.
    part = np.argpartition(scores, width - k, axis=1)[:, width - k:] if k < width else \
        np.tile(np.arange(width), (scores.shape[0], 1))
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
