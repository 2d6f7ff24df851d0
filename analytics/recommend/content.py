"""Content-based recommendations: TF-IDF over character n-grams of title, category, brand and price band.

Character n-grams (not words) work for Chinese titles, which have no spaces,
and for English ones alike. An item is its TF-IDF vector (L2-normalised); a
user is the weighted mean of the vectors of the items they interacted with;
scores are cosine-like dot products. Items nobody has touched yet (cold start)
score as well as any other, which is what this model is for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from analytics.errors import ShopLensError
from analytics.recommend.base import Recommender
from analytics.recommend.data import InteractionMatrix


class ContentRecommender(Recommender):
    """TF-IDF item profiles and user profiles built from them.

    Args:
        ngram_range: character n-gram lengths (within word boundaries), e.g. (1, 3).
        min_df: drop n-grams in fewer items, >= 1.
        max_features: keep at most this many n-grams (by frequency).
    """

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), min_df: int = 2, max_features: int = 50_000) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features

    def fit(self, interactions: InteractionMatrix, item_text: pd.Series) -> ContentRecommender:
        """Vectorise the item texts.

        Args:
            interactions: the users and their histories; its item_ids are the items scored.
            item_text: text per product_id (see `data.item_text`); items without text get an empty vector.

        Returns:
            self, with `interactions_`, `vectorizer_`, `item_vectors_` (n_items × n-grams CSR, rows
            L2-normalised) and its transpose `item_vectors_t_`.
        """
        text = item_text.reindex(interactions.item_ids).fillna("").astype(str).str.lower()
        if not text.str.len().any():
            raise ShopLensError("no item has a title, category or brand; content recommendations need the catalogue")
        min_df = self.min_df if len(text) >= 10 * self.min_df else 1
        self.vectorizer_ = TfidfVectorizer(analyzer="char_wb", ngram_range=self.ngram_range, min_df=min_df,
                                           max_features=self.max_features, sublinear_tf=True, dtype=np.float32)
        self.item_vectors_ = normalize(self.vectorizer_.fit_transform(text.to_numpy())).tocsr()
        # Kept transposed in CSR too: scoring multiplies by it for every request.
        self.item_vectors_t_ = self.item_vectors_.T.tocsr()
        self.interactions_ = interactions
        return self

    def profiles(self, rows: np.ndarray) -> sp.csr_matrix:
        """User profiles: weight-normalised sums of their items' vectors, shape (len(rows), n-grams)."""
        rows = np.asarray(rows)
        history = self.interactions_.matrix[np.clip(rows, 0, None)]
        history = sp.diags((rows >= 0).astype(np.float32)) @ history
        return normalize(history, norm="l1") @ self.item_vectors_

    def score(self, rows: np.ndarray) -> np.ndarray:
        """Profile · item vector per item, shape (len(rows), n_items), 0–1."""
        self._check_fitted()
        return np.asarray((self.profiles(rows) @ self.item_vectors_t_).toarray(), dtype=np.float64)

    def similar(self, item: int, k: int = 10) -> pd.DataFrame:
        """The k items whose text is most like column `item`'s: product_id, similarity (cosine, 0–1)."""
        self._check_fitted()
        similarity = np.asarray((self.item_vectors_ @ self.item_vectors_[item].T).toarray()).ravel()
        similarity[item] = -np.inf
        order = np.argsort(-similarity, kind="stable")[:k]
        order = order[np.isfinite(similarity[order])]
        return pd.DataFrame({"product_id": self.interactions_.item_ids[order], "similarity": similarity[order]})

    def score_text(self, texts: list[str]) -> np.ndarray:
        """Cosine similarity of free texts (e.g. a new product's title) to every item, shape (len(texts), n_items)."""
        self._check_fitted()
        vectors = normalize(self.vectorizer_.transform([text.lower() for text in texts]))
        return np.asarray((vectors @ self.item_vectors_t_).toarray(), dtype=np.float64)
