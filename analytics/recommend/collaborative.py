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
from analytics.recommend.base import Recommender
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
    # potri fills the upper triangle only.
    return np.triu(inverse) + np.triu(inverse, 1).T


class EASERecommender(Recommender):
    """Embarrassingly Shallow Autoencoder: a closed-form item × item model.

    Args:
        l2: the ridge penalty λ, > 0 (a few hundred suits catalogues of thousands of items).
        max_items: fit on the most popular items only (the inverse is cubic in items); others score 0.
        binary: fit on 0/1 interactions instead of the weights.
    """

    def __init__(self, l2: float = 500.0, max_items: int = 6_000, binary: bool = True) -> None:
        self.l2 = l2
        self.max_items = max_items
        self.binary = binary

    def fit(self, interactions: InteractionMatrix) -> EASERecommender:
        """Solve for B.

        Returns:
            self, with `interactions_`, `items_` (the column indices modelled) and `weights_`
            (len(items_) × len(items_) float32, zero diagonal).
        """
        if self.l2 <= 0:
            raise ShopLensError(f"EASE l2 = {self.l2} must be > 0")
        matrix = interactions.binary() if self.binary else interactions.matrix
        counts = np.asarray((matrix > 0).sum(axis=0)).ravel()
        items = np.flatnonzero(counts > 0)
        if len(items) > self.max_items:
            items = np.sort(items[np.argsort(-counts[items], kind="stable")[:self.max_items]])
        sub = matrix[:, items].astype(np.float32)
        gram = (sub.T @ sub).toarray()
        gram[np.diag_indices_from(gram)] += self.l2
        inverse = spd_inverse(gram)
        weights = -inverse / np.diag(inverse)[np.newaxis, :]
        np.fill_diagonal(weights, 0.0)
        self.interactions_ = interactions
        self.items_ = items
        self.weights_ = weights.astype(np.float32)
        return self

    def score(self, rows: np.ndarray) -> np.ndarray:
        """Xᵤ · B per user, shape (len(rows), n_items); items outside `items_` and unknown rows score 0."""
        self._check_fitted()
        rows = np.asarray(rows)
        scores = np.zeros((len(rows), self.interactions_.shape[1]))
        known = rows >= 0
        if known.any():
            matrix = self.interactions_.binary() if self.binary else self.interactions_.matrix
            history = matrix[rows[known]][:, self.items_]
            block = np.asarray(history @ self.weights_)
            scores[np.ix_(np.flatnonzero(known), self.items_)] = block
        return scores

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
