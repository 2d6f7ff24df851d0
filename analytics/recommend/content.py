"""Content-based recommendations: TF-IDF over character n-grams of title, category, brand and price band.

Character n-grams (not words) work for Chinese titles, which have no spaces,
and for English ones alike. An item is its sparse TF-IDF vector (L2-normalised);
"similar products" are the items with the highest cosine to it, computed exactly
on the sparse vectors. To score users against a whole catalogue, items are also
projected onto `components` latent dimensions (truncated SVD of the TF-IDF
matrix, i.e. latent semantic analysis): a user is the weighted mean of their
items' projections and scores are dot products, so scoring is a small dense
product instead of a sparse one touching every n-gram. Small catalogues (fewer
n-grams than components) keep the exact TF-IDF vectors. Items nobody has touched
yet (cold start) score as well as any other, which is what this model is for.
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
        min_df: drop n-grams in fewer distinct texts, >= 1.
        max_features: keep at most this many n-grams (by frequency).
        components: latent dimensions used to score users, >= 1.
        random_state: seed of the randomized SVD.
    """

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), min_df: int = 2, max_features: int = 50_000,
                 components: int = 64, random_state: int = 0) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.components = components
        self.random_state = random_state

    def fit(self, interactions: InteractionMatrix, item_text: pd.Series,
            reuse: ContentRecommender | None = None) -> ContentRecommender:
        """Vectorise the item texts.

        Args:
            interactions: the users and their histories; its item_ids are the items scored.
            item_text: text per product_id (see `data.item_text`); items without text get an empty vector.
            reuse: a fitted ContentRecommender with the same parameters on the same items; its text
                vectors are taken over (they do not depend on interactions), saving the vectorising.

        Returns:
            self, with `interactions_`, `vectorizer_`, `item_vectors_` (n_items × n-grams CSR, rows
            L2-normalised), its transpose `item_vectors_t_`, and `item_embeddings_` (n_items ×
            components, rows L2-normalised) for scoring users.
        """
        if reuse is not None and reuse.get_params() == self.get_params() \
                and reuse.interactions_.item_ids.equals(interactions.item_ids):
            self.vectorizer_ = reuse.vectorizer_
            self.item_vectors_ = reuse.item_vectors_
            self.item_vectors_t_ = reuse.item_vectors_t_
            self.item_embeddings_ = reuse.item_embeddings_
            self.interactions_ = interactions
            return self
        text = item_text.reindex(interactions.item_ids).fillna("").astype(str).str.lower()
        if not text.str.len().any():
            raise ShopLensError("no item has a title, category or brand; content recommendations need the catalogue")
        # Many items share a text (a catalogue of variants): vectorise each distinct text once.
        codes, distinct = pd.factorize(text)
        min_df = self.min_df if len(distinct) >= 10 * self.min_df else 1
        self.vectorizer_ = TfidfVectorizer(analyzer="char_wb", ngram_range=self.ngram_range, min_df=min_df,
                                           max_features=self.max_features, sublinear_tf=True, dtype=np.float32)
        vectors = normalize(self.vectorizer_.fit_transform(np.asarray(distinct, dtype=object))).tocsr()
        self.item_vectors_ = vectors[codes].tocsr()
        # Kept transposed in CSR too: `similar` multiplies by it for every request.
        self.item_vectors_t_ = self.item_vectors_.T.tocsr()
        self.item_embeddings_ = self._embed(vectors)[codes]
        self.interactions_ = interactions
        return self

    def _embed(self, vectors: sp.csr_matrix) -> np.ndarray:
        if vectors.shape[1] <= self.components or vectors.shape[0] <= self.components:
            return vectors.toarray().astype(np.float32)
        from sklearn.decomposition import TruncatedSVD

        svd = TruncatedSVD(self.components, algorithm="randomized", n_iter=4, random_state=self.random_state)
        return normalize(svd.fit_transform(vectors)).astype(np.float32)

    def profiles(self, rows: np.ndarray) -> np.ndarray:
        """User profiles: weight-normalised means of their items' embeddings, shape (len(rows), components)."""
        rows = np.asarray(rows, dtype=np.int64)
        history = self.interactions_.matrix[np.clip(rows, 0, None)]
        history = sp.diags((rows >= 0).astype(np.float32)) @ history
        return np.asarray(normalize(history, norm="l1") @ self.item_embeddings_)

    def score(self, rows: np.ndarray) -> np.ndarray:
        """Profile · item embedding per item, shape (len(rows), n_items); unknown rows score 0."""
        self._check_fitted()
        return (self.profiles(rows) @ self.item_embeddings_.T).astype(np.float64)

    def score_pairs(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Profile · item embedding for each (row, item) pair."""
        self._check_fitted()
        rows, items = np.asarray(rows, dtype=np.int64), np.asarray(items, dtype=np.int64)
        unique, inverse = np.unique(rows, return_inverse=True)
        profiles = self.profiles(unique)
        return np.einsum("ij,ij->i", profiles[inverse], self.item_embeddings_[items]).astype(np.float64)

    def votes(self, past: np.ndarray, weights: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Exact text cosine of each past item to each of `items`, shape (len(past), len(items))."""
        self._check_fitted()
        return (self.item_vectors_[past] @ self.item_vectors_[items].T).toarray().astype(np.float64)

    def similar(self, item: int, k: int = 10) -> pd.DataFrame:
        """The k items whose text is most like column `item`'s: product_id, similarity (exact cosine, 0–1)."""
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
