"""Item-to-item co-occurrence: "also viewed", "bought together", and a SAR-style user recommender.

Two items co-occur when they are in the same basket: a session's views, an
order's lines, or (for recommending to users) a user's whole history. With
n baskets, c(a) baskets holding a and c(a, b) holding both:

    support(a, b)    = c(a, b) / n
    confidence(a→b)  = c(a, b) / c(a)
    lift(a, b)       = c(a, b) · n / (c(a) · c(b))
    jaccard(a, b)    = c(a, b) / (c(a) + c(b) − c(a, b))

A user's score for item b is Σ_a affinity(user, a) · similarity(a, b) over the
items a the user touched, as in Microsoft's SAR; affinity is the interaction
weight, halved every `half_life_days` when set.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from analytics.errors import ShopLensError
from analytics.recommend.base import Recommender
from analytics.recommend.data import InteractionMatrix

SIMILARITIES = ("jaccard", "lift", "confidence", "count")


def basket_matrix(baskets: pd.DataFrame, item_ids: pd.Index | None = None) -> InteractionMatrix:
    """Baskets (basket_id, product_id rows) as a binary basket × item matrix."""
    frame = baskets.rename(columns={"basket_id": "user_id"}).assign(weight=1.0)
    return InteractionMatrix.from_frame(frame[["user_id", "product_id", "weight"]], item_ids=item_ids)


def cooccurrence_counts(binary: sp.csr_matrix) -> sp.csr_matrix:
    """c(a, b) for every item pair: the item × item count matrix (diagonal = c(a))."""
    binary = binary.astype(np.float32)
    return (binary.T @ binary).tocsr()


class CooccurrenceRecommender(Recommender):
    """Item-to-item co-occurrence with support, confidence and lift; scores users like SAR.

    Args:
        similarity: "jaccard" (SAR's default), "lift", "confidence" (a→b, row-normalised) or "count".
        min_count: pairs seen together in fewer baskets are ignored (noise), >= 1.
        half_life_days: time decay of a user's affinity to past items; None keeps the raw weights.
    """

    def __init__(self, similarity: str = "jaccard", min_count: int = 1, half_life_days: float | None = None) -> None:
        self.similarity = similarity
        self.min_count = min_count
        self.half_life_days = half_life_days

    def fit(self, interactions: InteractionMatrix, baskets: InteractionMatrix | None = None) -> CooccurrenceRecommender:
        """Count co-occurrences.

        Args:
            interactions: the users and their histories (scored by `score`).
            baskets: what counts as "together"; default each user's history is one basket.
                Its items must be `interactions.item_ids` (build it with `basket_matrix(..., item_ids=...)`).

        Returns:
            self, with `counts_` (item × item CSR, c(a, b)), `item_counts_` (c(a)), `baskets_` (n) and
            `similarity_` (item × item CSR, zero diagonal).
        """
        if self.similarity not in SIMILARITIES:
            raise ShopLensError(f"similarity {self.similarity!r} is unknown; use one of {', '.join(SIMILARITIES)}")
        if self.min_count < 1:
            raise ShopLensError(f"min_count = {self.min_count} must be at least 1")
        baskets = baskets or interactions
        if not baskets.item_ids.equals(interactions.item_ids):
            raise ShopLensError("the baskets' items differ from the interactions' items; "
                                "build the baskets with basket_matrix(baskets, item_ids=interactions.item_ids)")
        self.interactions_ = interactions
        counts = cooccurrence_counts(baskets.binary())
        self.item_counts_ = counts.diagonal().astype(np.float64)
        self.baskets_ = int(baskets.shape[0])
        if self.min_count > 1:
            counts.data[counts.data < self.min_count] = 0
            counts.eliminate_zeros()
        self.counts_ = counts
        self.similarity_ = self._similarity(counts)
        return self

    def _similarity(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        coo = counts.tocoo()
        off = coo.row != coo.col
        rows, columns, together = coo.row[off], coo.col[off], coo.data[off].astype(np.float64)
        count_a, count_b = self.item_counts_[rows], self.item_counts_[columns]
        if self.similarity == "jaccard":
            values = together / (count_a + count_b - together)
        elif self.similarity == "lift":
            values = together * self.baskets_ / (count_a * count_b)
        elif self.similarity == "confidence":
            values = together / count_a
        else:
            values = together
        return sp.csr_matrix((values.astype(np.float32), (rows, columns)), shape=counts.shape)

    def affinity(self, rows: np.ndarray) -> sp.csr_matrix:
        """The users' weights on their past items, decayed when `half_life_days` is set."""
        interactions = self.interactions_
        weights = interactions.matrix[rows]
        if self.half_life_days is not None and interactions.last_event_days is not None:
            ages = interactions.last_event_days[rows]
            decay = ages.copy()
            decay.data = np.power(0.5, (ages.data - 1.0) / self.half_life_days).astype(np.float32)
            weights = weights.multiply(decay).tocsr()
        return weights

    def score(self, rows: np.ndarray) -> np.ndarray:
        """Σ affinity × similarity per item, shape (len(rows), n_items); unknown rows (-1) score 0."""
        self._check_fitted()
        rows = np.asarray(rows)
        known = rows >= 0
        scores = np.zeros((len(rows), self.similarity_.shape[0]))
        if known.any():
            scores[known] = (self.affinity(rows[known]) @ self.similarity_).toarray()
        return scores

    def score_history(self, history: sp.csr_matrix) -> np.ndarray:
        """Scores for baskets not in the training data (e.g. a live session): history (n, n_items) · similarity."""
        self._check_fitted()
        return np.asarray((sp.csr_matrix(history) @ self.similarity_).toarray(), dtype=np.float64)

    def related(self, item: int, k: int = 10) -> pd.DataFrame:
        """The k items most often together with column `item`, by lift then count.

        Returns:
            product_id, together (baskets with both), support, confidence (item → other), lift,
            similarity; at most k rows, only items seen together at least `min_count` times.
        """
        self._check_fitted()
        row = self.counts_.getrow(item)
        others = row.indices[row.indices != item]
        together = row.toarray().ravel()[others].astype(np.float64)
        count_a = self.item_counts_[item]
        count_b = self.item_counts_[others]
        table = pd.DataFrame({
            "product_id": self.interactions_.item_ids[others],
            "together": together.astype(np.int64),
            "support": together / self.baskets_,
            "confidence": together / count_a if count_a else np.nan,
            "lift": together * self.baskets_ / (count_a * count_b),
            "similarity": self.similarity_.getrow(item).toarray().ravel()[others],
        })
        return table.sort_values(["together", "lift", "product_id"], ascending=[False, False, True]) \
            .head(k).reset_index(drop=True)


def association_table(baskets: pd.DataFrame, min_count: int = 1) -> pd.DataFrame:
    """Every ordered item pair seen together, with support, confidence and lift.

    Args:
        baskets: basket_id, product_id rows (duplicates ignored).
        min_count: keep pairs together in at least this many baskets.

    Returns:
        antecedent, consequent, together, support, confidence (antecedent → consequent), lift,
        sorted by lift then together, descending.
    """
    matrix = basket_matrix(baskets.drop_duplicates())
    counts = cooccurrence_counts(matrix.binary()).tocoo()
    n = matrix.shape[0]
    item_counts = np.asarray(matrix.binary().sum(axis=0)).ravel().astype(np.float64)
    off = (counts.row != counts.col) & (counts.data >= min_count)
    a, b, together = counts.row[off], counts.col[off], counts.data[off].astype(np.float64)
    table = pd.DataFrame({
        "antecedent": matrix.item_ids[a], "consequent": matrix.item_ids[b], "together": together.astype(np.int64),
        "support": together / n, "confidence": together / item_counts[a],
        "lift": together * n / (item_counts[a] * item_counts[b]),
    })
    return table.sort_values(["lift", "together", "antecedent", "consequent"],
                             ascending=[False, False, True, True]).reset_index(drop=True)
