"""The baseline: most popular items overall, within the user's segment, and time-decayed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.errors import ShopLensError
from analytics.recommend.base import Recommender
from analytics.recommend.data import InteractionMatrix


class PopularityRecommender(Recommender):
    """Recommends what most users interacted with, optionally per segment and with recent interest counting more.

    Popularity of an item is the number of distinct users who interacted with it; with a half-life,
    each user counts 0.5 ** (age_days / half_life_days) instead of 1, age measured from the newest
    interaction in the data. With segments, a user's score is the item's popularity within the
    user's segment plus `overall_share` times its overall popularity (so small segments still rank).

    Args:
        half_life_days: days after which an interaction counts half; None counts every interaction fully.
        overall_share: weight of overall popularity added to segment popularity, >= 0.
    """

    def __init__(self, half_life_days: float | None = None, overall_share: float = 0.1) -> None:
        self.half_life_days = half_life_days
        self.overall_share = overall_share

    def fit(self, interactions: InteractionMatrix, user_segments: pd.Series | None = None) -> PopularityRecommender:
        """Count item popularity.

        Args:
            interactions: the training interactions.
            user_segments: segment per user_id (any index); users missing get "unknown". None: no segments.

        Returns:
            self, with `interactions_`, `popularity_` (n_items,) and, with segments,
            `segment_names_` and `segment_popularity_` (n_segments, n_items), `user_segment_` (n_users,).
        """
        if self.half_life_days is not None and self.half_life_days <= 0:
            raise ShopLensError(f"half_life_days = {self.half_life_days} must be > 0 or None")
        self.interactions_ = interactions
        weights = interactions.binary()
        if self.half_life_days is not None and interactions.last_event_days is not None:
            ages = interactions.last_event_days.copy()
            # Stored ages are days + 1 (see InteractionMatrix); undo before decaying.
            ages.data = np.power(0.5, (ages.data - 1.0) / self.half_life_days).astype(np.float32)
            weights = ages
        self.popularity_ = np.asarray(weights.sum(axis=0)).ravel().astype(np.float64)
        self.segment_names_ = None
        if user_segments is not None:
            segments = user_segments.reindex(interactions.user_ids).fillna("unknown").astype(str)
            codes, names = pd.factorize(segments)
            indicator = np.zeros((len(names), len(codes)), dtype=np.float32)
            indicator[codes, np.arange(len(codes))] = 1.0
            self.segment_names_ = pd.Index(names)
            self.segment_popularity_ = np.asarray(weights.T.dot(indicator.T)).T.astype(np.float64)
            self.user_segment_ = codes
        return self

    def score(self, rows: np.ndarray) -> np.ndarray:
        """Popularity score per item for each user row, shape (len(rows), n_items)."""
        self._check_fitted()
        rows = np.asarray(rows)
        base = np.tile(self.popularity_, (len(rows), 1))
        if self.segment_names_ is None:
            return base
        known = (rows >= 0) & (rows < len(self.user_segment_))
        segment = np.where(known, self.user_segment_[np.clip(rows, 0, len(self.user_segment_) - 1)], -1)
        scores = self.overall_share * base
        scores[known] += self.segment_popularity_[segment[known]]
        scores[~known] = base[~known]
        return scores

    def _segment_rows(self, rows: np.ndarray) -> np.ndarray:
        """Segment code per row, -1 for unknown users or when there are no segments."""
        if self.segment_names_ is None:
            return np.full(len(rows), -1)
        known = (rows >= 0) & (rows < len(self.user_segment_))
        return np.where(known, self.user_segment_[np.clip(rows, 0, max(len(self.user_segment_) - 1, 0))], -1)

    def _scores_of_segment(self, segment: int) -> np.ndarray:
        if segment < 0:
            return self.popularity_
        return self.segment_popularity_[segment] + self.overall_share * self.popularity_

    def score_pairs(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Popularity (in the user's segment when known) of each (row, item) pair."""
        self._check_fitted()
        rows, items = np.asarray(rows, dtype=np.int64), np.asarray(items, dtype=np.int64)
        scores = self.popularity_[items].copy()
        segments = self._segment_rows(rows)
        known = segments >= 0
        if known.any():
            scores[known] = (self.segment_popularity_[segments[known], items[known]]
                             + self.overall_share * self.popularity_[items[known]])
        return scores

    def candidates(self, rows: np.ndarray, n: int, exclude_seen: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The n most popular items per user (in their segment), skipping what they have seen."""
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.int64)
        n = min(n, self.n_items_)
        matrix = self.interactions_.matrix
        segments = self._segment_rows(rows)
        orders: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        items = np.full((len(rows), n), -1, dtype=np.int64)
        scores = np.full((len(rows), n), -np.inf)
        for position, (row, segment) in enumerate(zip(rows, segments)):
            if segment not in orders:
                values = self._scores_of_segment(int(segment))
                order = np.lexsort((np.arange(len(values)), -values))
                orders[segment] = (order, values[order])
            order, values = orders[segment]
            seen = matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]] if exclude_seen and row >= 0 else ()
            # The first n + |seen| items of the ranking always hold n unseen ones (when there are n).
            head = order[:n + len(seen)]
            keep = ~np.isin(head, seen)
            chosen = head[keep][:n]
            items[position, :len(chosen)] = chosen
            scores[position, :len(chosen)] = values[:n + len(seen)][keep][:n]
        return items, scores

    def top_items(self, k: int = 10) -> pd.DataFrame:
        """The k most popular items overall: product_id, popularity (users, decayed when set)."""
        self._check_fitted()
        order = np.argsort(-self.popularity_, kind="stable")[:k]
        return pd.DataFrame({"product_id": self.interactions_.item_ids[order], "popularity": self.popularity_[order]})
