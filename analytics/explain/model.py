"""A gradient-boosted conversion classifier on a DataFrame of numeric and categorical features.

It wraps scikit-learn's HistGradientBoostingClassifier, which shap's
TreeExplainer reads exactly. Categorical columns are coded as ordinal numbers
(their sorted values seen in `fit`; unseen or missing values become NaN, which
the trees route like any missing value) rather than with the booster's native
categorical splits, because TreeExplainer only understands threshold splits.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from analytics.errors import ShopLensError


class ConversionClassifier(ClassifierMixin, BaseEstimator):
    """Predicts a yes/no outcome (a cart converts, a user buys) from a DataFrame.

    Args:
        numeric_features: columns used as numbers.
        categorical_features: columns used as categories (strings or booleans).
        max_iter: boosting rounds, >= 1.
        learning_rate: shrinkage per round, > 0.
        max_leaf_nodes: leaves per tree, >= 2.
        min_samples_leaf: rows per leaf at least, >= 1; larger values smooth small segments.
        l2_regularization: L2 penalty on leaf values, >= 0.
        random_state: seed for the booster.

    Attributes (after fit):
        feature_names_in_: numeric then categorical feature names, the column order of `encode`.
        categories_: categorical feature -> the values seen in fit, in code order.
        classes_: array([0, 1]).
        booster_: the fitted HistGradientBoostingClassifier (read it, never refit it).
    """

    def __init__(
        self,
        numeric_features: Sequence[str] = (),
        categorical_features: Sequence[str] = (),
        max_iter: int = 100,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 8,
        min_samples_leaf: int = 100,
        l2_regularization: float = 1.0,
        random_state: int = 0,
    ) -> None:
        self.numeric_features = numeric_features
        self.categorical_features = categorical_features
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: Sequence[int] | np.ndarray) -> ConversionClassifier:
        """Learn the category codes and fit the booster.

        Args:
            X: one row per example with every feature column.
            y: 0/1 (or False/True) outcomes, one per row; both values must occur.

        Returns:
            self.
        """
        features = list(self.numeric_features) + list(self.categorical_features)
        if not features:
            raise ShopLensError("the model has no features; pass numeric_features or categorical_features")
        missing = [name for name in features if name not in X.columns]
        if missing:
            raise ShopLensError(f"the training rows lack the feature columns {', '.join(missing)}")
        target = np.asarray(y).astype(int)
        if len(np.unique(target)) < 2:
            raise ShopLensError("every training row has the same outcome; widen the dates so both outcomes occur")
        self.feature_names_in_ = np.array(features, dtype=object)
        self.n_features_in_ = len(features)
        self.categories_ = {
            name: sorted(X[name].dropna().astype(str).unique()) for name in self.categorical_features
        }
        # One OpenMP thread: these models are small (thousands of rows, a few features), and on a
        # machine shared with other work OpenMP's spinning threads made a 0.6 s fit take 36 s.
        with threadpool_limits(1, user_api="openmp"):
            self.booster_ = self._fit_booster(X, target)
        self.classes_ = self.booster_.classes_
        return self

    def _fit_booster(self, X: pd.DataFrame, target: np.ndarray) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            # Early stopping would hold out a random (not time-based) split; the caller validates in time.
            early_stopping=False,
            categorical_features=None,
            random_state=self.random_state,
        ).fit(_fill_empty_columns(self.encode(X)), target)

    def encode(self, X: pd.DataFrame) -> np.ndarray:
        """The feature matrix the booster sees: numeric columns as floats, categories as codes.

        Args:
            X: rows with every feature column.

        Returns:
            float64 array, rows x `feature_names_in_`; NaN for missing or unseen values.
        """
        check_is_fitted(self, "categories_")
        columns = [pd.to_numeric(X[name], errors="coerce").astype(float).to_numpy() for name in self.numeric_features]
        for name in self.categorical_features:
            codes = {value: float(code) for code, value in enumerate(self.categories_[name])}
            values = X[name].astype(object)
            columns.append(np.array([np.nan if pd.isna(value) else codes.get(str(value), np.nan) for value in values]))
        return np.column_stack(columns).astype(np.float64) if columns else np.empty((len(X), 0))

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Log-odds of a positive outcome, one per row."""
        check_is_fitted(self, "booster_")
        with threadpool_limits(1, user_api="openmp"):
            return self.booster_.decision_function(self.encode(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities, rows x [P(0), P(1)], each row summing to 1."""
        check_is_fitted(self, "booster_")
        with threadpool_limits(1, user_api="openmp"):
            return self.booster_.predict_proba(self.encode(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """0/1 predictions at a 0.5 threshold."""
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


def _fill_empty_columns(matrix: np.ndarray) -> np.ndarray:
    """`matrix` with every all-missing column set to 0, so the booster can bin it.

    Data without prices (a Taobao click log) or a short window leaves some features missing for every
    training row, and scikit-learn's binning raises on a column with no values at all. A constant
    column is never split on, so the fitted trees and their SHAP values ignore the feature, and
    missing values at prediction time follow the same (unsplit) path.
    """
    empty = np.isnan(matrix).all(axis=0) if len(matrix) else np.zeros(matrix.shape[1], dtype=bool)
    if not empty.any():
        return matrix
    filled = matrix.copy()
    filled[:, empty] = 0.0
    return filled
