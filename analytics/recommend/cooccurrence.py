"""Item-to-item co-occurrence: "also viewed", "bought together", and a SAR-style user recommender.

Two items co-occur when they are in the same basket: a session's views, an
order's lines, or (for recommending to users) a user's whole history. With
n baskets, c(a) baskets holding a and c(a, b) holding both:

    support(a, b)    = c(a, b) / n
    confidence(a→b)  = c(a, b) / c(a)
    lift(a, b)       = c(a, b) · n / (c(a) · c(b))
    jaccard(a, b)    = c(a, b) / (c(a) + c(b) − c(a, b))

Only each item's `neighbours` most similar items are kept (top-k per row of the
item × item matrix), and the counts are computed a block of items at a time,
so memory grows with the baskets' size and the catalogue times k, never with
the catalogue squared. A user's score for item b is Σ_a affinity(user, a) ·
similarity(a, b) over the items a the user touched and the neighbours b of a,
as in Microsoft's SAR; affinity is the interaction weight, halved every
`half_life_days` when set.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from analytics.errors import ShopLensError
from analytics.recommend.base import Recommender, no_progress, row_blocks
from analytics.recommend.data import InteractionMatrix

SIMILARITIES = ("jaccard", "lift", "confidence", "count")
# Upper bound on the stored entries of one block of the count matrix (c(a, b) for a block of items a):
# 20M entries are about 250 MB while a block is multiplied, however large the catalogue.
BLOCK_ENTRIES = 20_000_000


def basket_matrix(baskets: pd.DataFrame, item_ids: pd.Index | None = None) -> InteractionMatrix:
    """Baskets (basket_id, product_id rows) as a binary basket × item matrix."""
    frame = baskets.rename(columns={"basket_id": "user_id"}).assign(weight=1.0)
    return InteractionMatrix.from_frame(frame[["user_id", "product_id", "weight"]], item_ids=item_ids)


def cooccurrence_counts(binary: sp.csr_matrix) -> sp.csr_matrix:
    """c(a, b) for every item pair: the full item × item count matrix (diagonal = c(a)).

    Quadratic in the catalogue in the worst case: for small data and tests; models use
    `neighbour_matrices`.
    """
    binary = binary.astype(np.float32)
    return (binary.T @ binary).tocsr()


def similarity_values(together: np.ndarray, count_a: np.ndarray, count_b: np.ndarray, baskets: int,
                      similarity: str) -> np.ndarray:
    """similarity(a, b) from c(a, b), c(a), c(b) and n (see the module docstring), float64."""
    together = np.asarray(together, dtype=np.float64)
    if similarity == "jaccard":
        return together / (count_a + count_b - together)
    if similarity == "lift":
        return together * baskets / (count_a * count_b)
    if similarity == "confidence":
        return together / count_a
    return together


def item_blocks(binary: sp.csr_matrix, max_entries: int = BLOCK_ENTRIES) -> list[slice]:
    """Consecutive item ranges whose count rows hold at most about `max_entries` entries together.

    Row a of the count matrix has at most Σ_{baskets ∋ a} |basket| entries, so blocks are cut on the
    running sum of that bound (an item whose bound alone exceeds it is a block of its own).
    """
    sizes = np.diff(binary.indptr).astype(np.float64)
    bound = np.asarray(binary.T @ sizes).ravel()
    blocks, start, total = [], 0, 0.0
    for item, value in enumerate(bound):
        if item > start and total + value > max_entries:
            blocks.append(slice(start, item))
            start, total = item, 0.0
        total += value
    if start < len(bound):
        blocks.append(slice(start, len(bound)))
    return blocks


def neighbour_matrices(binary: sp.csr_matrix, similarity: str = "jaccard", neighbours: int = 100,
                       min_count: int = 1, max_entries: int = BLOCK_ENTRIES, progress=no_progress,
                       ) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Each item's `neighbours` most similar other items, from a basket × item 0/1 matrix.

    Args:
        binary: baskets × items, stored entries 1.
        similarity: one of SIMILARITIES.
        neighbours: items kept per row, >= 1 (ties: lower column first).
        min_count: pairs together in fewer baskets are ignored, >= 1.
        max_entries: memory bound per block of rows (see `item_blocks`).
        progress: progress(step, done, total) after each block; raise in it to stop.

    Returns:
        (similarity, counts, item_counts): item × item CSR with the kept pairs' similarity and
        their c(a, b) (same positions, no diagonal), and c(a) per item.
    """
    binary = sp.csr_matrix(binary, dtype=np.float32)
    n_items = binary.shape[1]
    item_counts = np.asarray(binary.sum(axis=0)).ravel().astype(np.float64)
    columns_major = binary.tocsc()
    n_baskets = binary.shape[0]
    rows, columns, values, counts = [], [], [], []
    blocks = item_blocks(binary, max_entries)
    for done, block in enumerate(blocks):
        together = (columns_major[:, block].T @ binary).tocsr()
        for offset, (start, stop) in enumerate(zip(together.indptr[:-1], together.indptr[1:])):
            item = block.start + offset
            column, count = together.indices[start:stop], together.data[start:stop]
            eligible = (column != item) & (count >= min_count)
            column, count = column[eligible], count[eligible]
            value = similarity_values(count, item_counts[item], item_counts[column], n_baskets, similarity)
            chosen = _top_k_positions(value, column, neighbours)
            rows.append(np.full(len(chosen), item, dtype=np.int64))
            columns.append(column[chosen])
            values.append(value[chosen])
            counts.append(count[chosen])
        progress("counting co-occurrences", done + 1, len(blocks))
    if rows:
        row, column = np.concatenate(rows), np.concatenate(columns)
        value, count = np.concatenate(values), np.concatenate(counts)
    else:
        row = column = np.zeros(0, np.int64)
        value = count = np.zeros(0)
    shape = (n_items, n_items)
    return (sp.csr_matrix((value.astype(np.float32), (row, column)), shape=shape),
            sp.csr_matrix((count.astype(np.float32), (row, column)), shape=shape), item_counts)


def _top_k_positions(values: np.ndarray, columns: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest values (ties: lower column first), in no particular order.

    Linear in the length (a partition, not a sort): a popular item co-occurs with tens of thousands.
    """
    if len(values) <= k:
        return np.arange(len(values))
    threshold = np.partition(values, len(values) - k)[len(values) - k]
    above = np.flatnonzero(values > threshold)
    ties = np.flatnonzero(values == threshold)
    ties = ties[np.argsort(columns[ties], kind="stable")][:k - len(above)]
    return np.concatenate([above, ties])


class CooccurrenceRecommender(Recommender):
    """Item-to-item co-occurrence with support, confidence and lift; scores users like SAR.

    Args:
        similarity: "jaccard" (SAR's default), "lift", "confidence" (a→b, row-normalised) or "count".
        min_count: pairs seen together in fewer baskets are ignored (noise), >= 1.
        half_life_days: time decay of a user's affinity to past items; None keeps the raw weights.
        neighbours: most similar items kept per item, >= 1.
    """

    def __init__(self, similarity: str = "jaccard", min_count: int = 1, half_life_days: float | None = None,
                 neighbours: int = 100) -> None:
        self.similarity = similarity
        self.min_count = min_count
        self.half_life_days = half_life_days
        self.neighbours = neighbours

    def fit(self, interactions: InteractionMatrix, baskets: InteractionMatrix | None = None,
            progress=no_progress) -> CooccurrenceRecommender:
        """Count co-occurrences and keep each item's nearest neighbours.

        Args:
            interactions: the users and their histories (scored by `score`).
            baskets: what counts as "together"; default each user's history is one basket.
                Its items must be `interactions.item_ids` (build it with `basket_matrix(..., item_ids=...)`).
            progress: progress(step, done, total) per block of items; raise in it to stop.

        Returns:
            self, with `similarity_` (item × item CSR, at most `neighbours` per row, no diagonal),
            `counts_` (c(a, b) at the same positions), `item_counts_` (c(a)) and `baskets_` (n).
        """
        if self.similarity not in SIMILARITIES:
            raise ShopLensError(f"similarity {self.similarity!r} is unknown; use one of {', '.join(SIMILARITIES)}")
        if self.min_count < 1:
            raise ShopLensError(f"min_count = {self.min_count} must be at least 1")
        if self.neighbours < 1:
            raise ShopLensError(f"neighbours = {self.neighbours} must be at least 1")
        baskets = baskets or interactions
        if not baskets.item_ids.equals(interactions.item_ids):
            raise ShopLensError("the baskets' items differ from the interactions' items; "
                                "build the baskets with basket_matrix(baskets, item_ids=interactions.item_ids)")
        self.interactions_ = interactions
        self.similarity_, self.counts_, self.item_counts_ = neighbour_matrices(
            baskets.binary(), self.similarity, self.neighbours, self.min_count, progress=progress)
        self.baskets_ = int(baskets.shape[0])
        return self

    def affinity(self, rows: np.ndarray) -> sp.csr_matrix:
        """The users' weights on their past items, decayed when `half_life_days` is set (unknown rows: empty)."""
        interactions = self.interactions_
        rows = np.asarray(rows, dtype=np.int64)
        known = sp.diags((rows >= 0).astype(np.float32))
        weights = known @ interactions.matrix[np.clip(rows, 0, None)]
        if self.half_life_days is not None and interactions.last_event_days is not None:
            decay = interactions.last_event_days[np.clip(rows, 0, None)].copy()
            decay.data = np.power(0.5, (decay.data - 1.0) / self.half_life_days).astype(np.float32)
            weights = weights.multiply(decay)
        return sp.csr_matrix(weights)

    def sparse_scores(self, rows: np.ndarray) -> sp.csr_matrix:
        """Σ affinity × similarity as a sparse (len(rows), n_items) matrix: items no neighbour reaches are absent."""
        self._check_fitted()
        return (self.affinity(rows) @ self.similarity_).tocsr()

    def score(self, rows: np.ndarray) -> np.ndarray:
        """Σ affinity × similarity per item, shape (len(rows), n_items); unknown rows (-1) score 0."""
        return self.sparse_scores(rows).toarray().astype(np.float64)

    def score_pairs(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Σ affinity × similarity for each (row, item) pair (0 where no neighbour reaches the item)."""
        self._check_fitted()
        rows, items = np.asarray(rows, dtype=np.int64), np.asarray(items, dtype=np.int64)
        result = np.zeros(len(rows))
        unique, inverse = np.unique(rows, return_inverse=True)
        for block in row_blocks(len(unique), 1, cells=256):
            chosen = np.flatnonzero((inverse >= block.start) & (inverse < block.stop))
            scores = self.sparse_scores(unique[block])
            # Sorted columns let the lookup below bisect each row instead of scanning it.
            scores.sort_indices()
            result[chosen] = np.asarray(scores[inverse[chosen] - block.start, items[chosen]]).ravel()
        return result

    def candidates(self, rows: np.ndarray, n: int, exclude_seen: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The n best unseen items per user among the neighbours of their items, best first.

        Only items some neighbour list reaches are candidates (others hold -1 / -inf); ties go to the
        lower column. Works on the sparse scores, so the cost follows the neighbours reached, not the
        catalogue.
        """
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.int64)
        n = min(n, self.n_items_)
        items = np.full((len(rows), n), -1, dtype=np.int64)
        scores = np.full((len(rows), n), -np.inf)
        matrix = self.interactions_.matrix
        for block in row_blocks(len(rows), 1, cells=256):
            reached = self.sparse_scores(rows[block])
            for offset, row in enumerate(rows[block]):
                start, stop = reached.indptr[offset], reached.indptr[offset + 1]
                columns, values = reached.indices[start:stop], reached.data[start:stop]
                if exclude_seen and row >= 0:
                    unseen = ~np.isin(columns, matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]])
                    columns, values = columns[unseen], values[unseen]
                chosen = _top_k_positions(values, columns, n)
                order = chosen[np.lexsort((columns[chosen], -values[chosen]))]
                items[block.start + offset, :len(order)] = columns[order]
                scores[block.start + offset, :len(order)] = values[order]
        return items, scores

    def score_history(self, history: sp.csr_matrix) -> np.ndarray:
        """Scores for baskets not in the training data (e.g. a live session): history (n, n_items) · similarity."""
        self._check_fitted()
        return np.asarray((sp.csr_matrix(history) @ self.similarity_).toarray(), dtype=np.float64)

    def votes(self, past: np.ndarray, weights: np.ndarray, items: np.ndarray) -> np.ndarray:
        """How much each past item votes for each of `items`: weight × similarity, shape (len(past), len(items))."""
        self._check_fitted()
        return self.similarity_[past][:, items].toarray() * np.asarray(weights, dtype=np.float64)[:, np.newaxis]

    def related(self, item: int, k: int = 10) -> pd.DataFrame:
        """The k items most often together with column `item`, by count then lift.

        Only the item's `neighbours` most similar items are kept by `fit`; with "confidence" or
        "count" similarity those are exactly the ones most often together.

        Returns:
            product_id, together (baskets with both), support, confidence (item → other), lift,
            similarity; at most k rows, only items seen together at least `min_count` times.
        """
        self._check_fitted()
        start, stop = self.counts_.indptr[item], self.counts_.indptr[item + 1]
        others = self.counts_.indices[start:stop]
        together = self.counts_.data[start:stop].astype(np.float64)
        count_a = self.item_counts_[item]
        count_b = self.item_counts_[others]
        table = pd.DataFrame({
            "product_id": self.interactions_.item_ids[others],
            "together": together.astype(np.int64),
            "support": together / self.baskets_,
            "confidence": together / count_a if count_a else np.nan,
            "lift": together * self.baskets_ / (count_a * count_b),
            "similarity": self.similarity_.data[start:stop].astype(np.float64),
        })
        return table.sort_values(["together", "lift", "product_id"], ascending=[False, False, True]) \
            .head(k).reset_index(drop=True)


def association_table(baskets: pd.DataFrame, min_count: int = 1) -> pd.DataFrame:
    """Every ordered item pair seen together, with support, confidence and lift.

    Lists every pair, so it suits small data (a category, a sample); models keep neighbours only.

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
