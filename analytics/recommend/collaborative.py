"""Collaborative filtering on implicit feedback: ALS (the `implicit` library) and EASE (closed form, numpy).

ALS (Hu, Koren and Volinsky 2008) factorises the user × item matrix with
confidence 1 + alpha · weight. EASE (Steck 2019) learns an item × item matrix
B with a zero diagonal minimising ||X − XB||² + λ||B||²; its closed form is
P = (XᵀX + λI)⁻¹, B = −P / diag(P) column-wise, diag(B) = 0. A user's scores
are their row of X times B.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from analytics.errors import ShopLensError
from analytics.recommend.base import Recommender, mask_seen, row_blocks, top_k
from analytics.recommend.data import InteractionMatrix


class ALSRecommender(Recommender):
    """Implicit-feedback matrix factorisation with `implicit.cpu.als.AlternatingLeastSquares`.

    Args:
        factors: latent dimensions, >= 1.
        regularization: L2 penalty, >= 0.
        alpha: confidence per unit of weight, > 0.
        iterations: ALS sweeps, >= 1.
        threads: BLAS/OpenMP threads for fitting (1–2 keeps a shared machine responsive).
        random_state: seed for the initial factors.
    """

    def __init__(self, factors: int = 64, regularization: float = 0.05, alpha: float = 2.0, iterations: int = 15,
                 threads: int = 2, random_state: int = 42) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.threads = threads
        self.random_state = random_state

    def fit(self, interactions: InteractionMatrix) -> ALSRecommender:
        """Factorise the interactions.

        Returns:
            self, with `interactions_`, `user_factors_` (n_users, factors) and `item_factors_` (n_items, factors).
        """
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        if self.factors < 1 or self.iterations < 1:
            raise ShopLensError("ALS needs factors >= 1 and iterations >= 1")
        # implicit warns (and slows down) when BLAS runs its own threads inside ALS's.
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(factors=self.factors, regularization=self.regularization,
                                            alpha=self.alpha, iterations=self.iterations, num_threads=self.threads,
                                            random_state=self.random_state)
            model.fit(interactions.matrix.astype(np.float32).tocsr(), show_progress=False)
        self.interactions_ = interactions
        self.user_factors_ = np.asarray(model.user_factors)
        self.item_factors_ = np.asarray(model.item_factors)
        return self

    def score(self, rows: np.ndarray) -> np.ndarray:
        """User factors · item factors, shape (len(rows), n_items); unknown rows (-1) score 0."""
        self._check_fitted()
        rows = np.asarray(rows)
        scores = np.zeros((len(rows), self.item_factors_.shape[0]))
        known = rows >= 0
        scores[known] = self.user_factors_[rows[known]] @ self.item_factors_.T
        return scores

    def score_pairs(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """User factors · item factors for each (row, item) pair; unknown rows score 0."""
        self._check_fitted()
        rows, items = np.asarray(rows, dtype=np.int64), np.asarray(items, dtype=np.int64)
        scores = np.einsum("ij,ij->i", self.user_factors_[np.clip(rows, 0, None)], self.item_factors_[items])
        return np.where(rows >= 0, scores, 0.0).astype(np.float64)


def spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix by Cholesky (LAPACK potrf + potri).

    About half the work of a general (LU) inverse, and in float32 half again: this is most of
    EASE's fitting time. Falls back to a general inverse when the factorisation fails.
    """
    from scipy.linalg import lapack

    if matrix.shape[0] == 0:
        return matrix.copy()
    potrf, potri = (lapack.spotrf, lapack.spotri) if matrix.dtype == np.float32 else (lapack.dpotrf, lapack.dpotri)
    factor, info = potrf(matrix, lower=False, clean=False)
    if info == 0:
        inverse, info = potri(factor, lower=False)
    if info != 0:
        return np.linalg.inv(matrix)
    # potri fills the upper triangle only: mirror it into the lower one in place.
    for start in range(0, inverse.shape[0], 512):
        stop = min(start + 512, inverse.shape[0])
        inverse[start:stop, :start] = inverse[:start, start:stop].T
        block = inverse[start:stop, start:stop]
        block[np.tril_indices(stop - start, -1)] = block.T[np.tril_indices(stop - start, -1)]
    # LAPACK hands back Fortran order; the matrix is symmetric, so its transpose is the same values in
    # C order, for free. Sparse @ dense products ravel their dense operand, which copies a Fortran array
    # (144 MB per call at 6,000 items).
    return inverse.T if not inverse.flags.c_contiguous else inverse


class EASERecommender(Recommender):
    """Embarrassingly Shallow Autoencoder: a closed-form item × item model.

    With `dropout` p > 0 it is EDLAE (Steck 2020, "Autoencoders that don't overfit towards the
    identity"): the penalty of item i becomes λ + p / (1 − p) · (XᵀX)ᵢᵢ, the closed form of training
    on inputs with a share p of each user's items dropped, which regularises popular items more.

    Args:
        l2: the ridge penalty λ, > 0 (a few hundred suits catalogues of thousands of items).
        max_items: fit on the most popular items only (the inverse is cubic in items); others score 0.
        binary: fit on 0/1 interactions instead of the weights.
        dropout: 0 <= p < 1; 0 is plain EASE.
    """

    def __init__(self, l2: float = 500.0, max_items: int = 6_000, binary: bool = True, dropout: float = 0.0) -> None:
        self.l2 = l2
        self.max_items = max_items
        self.binary = binary
        self.dropout = dropout

    def fit(self, interactions: InteractionMatrix) -> EASERecommender:
        """Solve for B.

        Returns:
            self, with `interactions_`, `items_` (the column indices modelled) and `weights_`
            (len(items_) × len(items_) float32, zero diagonal).
        """
        if self.l2 <= 0:
            raise ShopLensError(f"EASE l2 = {self.l2} must be > 0")
        if not 0 <= self.dropout < 1:
            raise ShopLensError(f"EASE dropout = {self.dropout} must be at least 0 and below 1")
        matrix = interactions.binary() if self.binary else interactions.matrix
        counts = np.asarray((matrix > 0).sum(axis=0)).ravel()
        items = np.flatnonzero(counts > 0)
        if len(items) > self.max_items:
            items = np.sort(items[np.argsort(-counts[items], kind="stable")[:self.max_items]])
        sub = matrix[:, items].astype(np.float32)
        gram = (sub.T @ sub).toarray()
        diagonal = np.diag_indices_from(gram)
        gram[diagonal] += self.l2 + self.dropout / (1.0 - self.dropout) * gram[diagonal]
        inverse = spd_inverse(gram)
        del gram
        # B = -P / diag(P) column-wise with a zero diagonal, computed in place (the largest array of the fit).
        inverse /= -np.diag(inverse)[np.newaxis, :].copy()
        np.fill_diagonal(inverse, 0.0)
        self.interactions_ = interactions
        self.items_ = items
        self.weights_ = np.ascontiguousarray(inverse, dtype=np.float32)
        return self

    def _modelled_scores(self, rows: np.ndarray) -> np.ndarray:
        """Xᵤ · B over the modelled items only, shape (len(rows), len(items_)); unknown rows score 0."""
        rows = np.asarray(rows, dtype=np.int64)
        history = self.interactions_.matrix[np.clip(rows, 0, None)][:, self.items_]
        if self.binary:
            history.data[:] = 1.0
        scores = np.asarray(history @ self.weights_, dtype=np.float64)
        scores[rows < 0] = 0.0
        return scores

    def score(self, rows: np.ndarray) -> np.ndarray:
        """Xᵤ · B per user, shape (len(rows), n_items); items outside `items_` and unknown rows score 0."""
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.int64)
        scores = np.zeros((len(rows), self.n_items_))
        scores[:, self.items_] = self._modelled_scores(rows)
        return scores

    def candidates(self, rows: np.ndarray, n: int, exclude_seen: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The n best unseen items per user among the modelled items (the others are left to other models)."""
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.int64)
        width = min(n, len(self.items_))
        items = np.full((len(rows), width), -1, dtype=np.int64)
        scores = np.full((len(rows), width), -np.inf)
        if width == 0:
            return items, scores
        for block in row_blocks(len(rows), len(self.items_)):
            values = self._modelled_scores(rows[block])
            if exclude_seen:
                # The seen mask in the modelled items' coordinates, for this block's users only (serving one
                # user must not slice the whole interaction matrix).
                block_rows = rows[block]
                local = sp.csr_matrix(self.interactions_.matrix[np.clip(block_rows, 0, None)][:, self.items_])
                mask_seen(values, local, np.where(block_rows >= 0, np.arange(len(block_rows)), -1))
            chosen, best = top_k(values, width)
            items[block] = np.where(chosen >= 0, self.items_[np.clip(chosen, 0, None)], -1)
            scores[block] = best
        return items, scores

    def score_pairs(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Xᵤ · B[:, item] for each (row, item) pair; items outside `items_` and unknown rows score 0."""
        self._check_fitted()
        rows, items = np.asarray(rows, dtype=np.int64), np.asarray(items, dtype=np.int64)
        position = np.minimum(np.searchsorted(self.items_, items), max(len(self.items_) - 1, 0))
        modelled = (len(self.items_) > 0) & (self.items_[position] == items) if len(self.items_) else \
            np.zeros(len(items), bool)
        result = np.zeros(len(rows))
        unique, inverse = np.unique(rows, return_inverse=True)
        for block in row_blocks(len(unique), max(len(self.items_), 1)):
            chosen = np.flatnonzero((inverse >= block.start) & (inverse < block.stop) & modelled)
            values = self._modelled_scores(unique[block])
            result[chosen] = values[inverse[chosen] - block.start, position[chosen]]
        return result

    def votes(self, past: np.ndarray, weights: np.ndarray, items: np.ndarray) -> np.ndarray:
        """B[a, b] for each past item a and item b (0 outside the modelled items), shape (len(past), len(items))."""
        self._check_fitted()
        past, items = np.asarray(past, dtype=np.int64), np.asarray(items, dtype=np.int64)
        votes = np.zeros((len(past), len(items)))
        if len(self.items_) == 0:
            return votes
        rows = np.minimum(np.searchsorted(self.items_, past), len(self.items_) - 1)
        columns = np.minimum(np.searchsorted(self.items_, items), len(self.items_) - 1)
        row_ok, column_ok = self.items_[rows] == past, self.items_[columns] == items
        votes[np.ix_(row_ok, column_ok)] = self.weights_[np.ix_(rows[row_ok], columns[column_ok])]
        if not self.binary:
            votes *= np.asarray(weights, dtype=np.float64)[:, np.newaxis]
        return votes

    def score_history(self, history: sp.csr_matrix) -> np.ndarray:
        """Scores for histories not in the training data (e.g. a live session), shape (n, n_items)."""
        self._check_fitted()
        history = sp.csr_matrix(history)
        if self.binary:
            history = (history > 0).astype(np.float32)
        scores = np.zeros(history.shape)
        scores[:, self.items_] = np.asarray(history[:, self.items_] @ self.weights_)
        return scores

    def item_weights(self, item: int) -> np.ndarray:
        """B[a, item] for every column a (how much having a votes for `item`), shape (n_items,)."""
        column = np.zeros(self.interactions_.shape[1])
        position = np.searchsorted(self.items_, item)
        if position < len(self.items_) and self.items_[position] == item:
            column[self.items_] = self.weights_[:, position]
        return column
