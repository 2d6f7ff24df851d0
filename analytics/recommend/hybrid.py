"""The hybrid ranker: LightGBM LambdaRank over candidates from every other model, with a reason per item.

Two stages, as in production recommenders:

1. Candidates: the top `candidates_per_model` unseen items of each base model
   (popularity, co-occurrence, ALS, EASE, content, and, with baskets, "bought
   together" and "also viewed"), merged.
2. Ranking: a LambdaRank booster orders each user's candidates from features
   of the user, the item and the pair: every base model's score and its rank
   among the candidates (memorisation, the "wide" part of Wide & Deep), and
   content and user features such as the share of the user's history in the
   item's brand and category and the item's price against the user's usual
   price (generalisation, the "deep" part).

The ranker needs labels the base models have not seen: `fit` holds out part of
each user's interactions (the last `label_days` days, or a random
`label_share`), fits the base models on the rest, and learns to rank the
candidates by whether the held-out part contains them. The base models are
then refitted on everything for serving. Every recommendation's reason comes
from the booster's SHAP values (TreeSHAP, `pred_contrib`): the item-side
features that raised its score most, each turned into words with the history
item that drove it ("bought together with X; matches favourite brand Y").
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from analytics.errors import ShopLensError
from analytics.recommend.base import Recommender, mask_seen
from analytics.recommend.collaborative import ALSRecommender, EASERecommender
from analytics.recommend.content import ContentRecommender
from analytics.recommend.cooccurrence import CooccurrenceRecommender
from analytics.recommend.data import InteractionMatrix, item_text
from analytics.recommend.popularity import PopularityRecommender

Progress = Callable[[str, int, int], None]

MODEL_FEATURES: tuple[str, ...] = ("popularity", "trending", "cooccurrence", "als", "ease", "content",
                                   "bought_together", "viewed_together")
FEATURE_LABELS: dict[str, str] = {
    "popularity_score": "Popularity in the user's segment",
    "trending_score": "Recent popularity",
    "cooccurrence_score": "Co-occurs with the user's items",
    "cooccurrence_rank": "Co-occurrence rank",
    "als_score": "ALS taste match",
    "als_rank": "ALS rank",
    "ease_score": "EASE score",
    "ease_rank": "EASE rank",
    "content_score": "Text similarity to the user's items",
    "content_rank": "Text similarity rank",
    "bought_together_score": "Bought together with the user's items",
    "viewed_together_score": "Viewed together with the user's items",
    "item_users_log": "Item popularity (log users)",
    "user_items_log": "User's history length (log items)",
    "brand_share": "Share of the user's history in the item's brand",
    "category_share": "Share of the user's history in the item's category",
    "price_ratio": "Item price ÷ user's usual price",
}
RANKED_MODELS: tuple[str, ...] = ("cooccurrence", "als", "ease", "content")
MONOTONE: dict[str, int] = {
    **{f"{name}_score": 1 for name in ("cooccurrence", "als", "ease", "content", "bought_together", "viewed_together")},
    **{f"{name}_rank": -1 for name in RANKED_MODELS},
}


def _reason_templates() -> dict[str, str]:
    # feature -> reason kind; kinds are shown at most once per item.
    return {
        "bought_together_score": "bought_together", "viewed_together_score": "viewed_together",
        "cooccurrence_score": "cooccurrence", "cooccurrence_rank": "cooccurrence",
        "ease_score": "ease", "ease_rank": "ease", "als_score": "als", "als_rank": "als",
        "content_score": "content", "content_rank": "content",
        "popularity_score": "popularity", "trending_score": "trending", "item_users_log": "popularity",
        "brand_share": "brand", "category_share": "category", "price_ratio": "price",
    }


@dataclass(frozen=True)
class Recommendation:
    """One user's top-K, with reasons.

    Attributes:
        user_id: the user.
        items: one row per item, best first: rank (1..K), product_id, title, category, brand, score
            (ranker units), reason (text), plus `contributions` columns feature -> SHAP value.
        base_value: the ranker's expected score (SHAP base), same for every item.
        history: the user's most weighted past items: product_id, title, weight.
    """

    user_id: str
    items: pd.DataFrame
    base_value: float
    history: pd.DataFrame


class HybridRecommender(Recommender):
    """LambdaRank over the candidates of the base models, with SHAP reasons.

    Args:
        candidates_per_model: unseen items each base model proposes per user, >= 1.
        label_days: hold out interactions of the last this many days as ranking labels (needs times);
            None holds out a random `label_share` of each user's interactions instead.
        label_share: share of each user's interactions held out as labels when label_days is None.
        max_training_users: train the ranker on at most this many users (seeded sample), >= 10.
        n_estimators, learning_rate, num_leaves, min_child_samples: the LightGBM ranker's settings.
        ease_l2, als_factors, als_iterations, half_life_days: settings of the base models.
        threads: threads for ALS and LightGBM.
        random_state: seed for splits, samples and models.
    """

    def __init__(self, candidates_per_model: int = 30, label_days: int | None = None, label_share: float = 0.2,
                 max_training_users: int = 2_000, n_estimators: int = 200, learning_rate: float = 0.05,
                 num_leaves: int = 7, min_child_samples: int = 200, ease_l2: float = 500.0,
                 als_factors: int = 48, als_iterations: int = 10, half_life_days: float = 30.0,
                 threads: int = 2, random_state: int = 42) -> None:
        self.candidates_per_model = candidates_per_model
        self.label_days = label_days
        self.label_share = label_share
        self.max_training_users = max_training_users
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.ease_l2 = ease_l2
        self.als_factors = als_factors
        self.als_iterations = als_iterations
        self.half_life_days = half_life_days
        self.threads = threads
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting

    def fit(self, interactions: InteractionMatrix, products: pd.DataFrame | None = None,
            user_segments: pd.Series | None = None, order_baskets: InteractionMatrix | None = None,
            session_baskets: InteractionMatrix | None = None, progress: Progress | None = None,
            ) -> HybridRecommender:
        """Fit the base models, learn the ranker on held-out labels, refit the base models on everything.

        Args:
            interactions: users × items weights (the training data).
            products: indexed by product_id; optional columns title, category_path, category, brand,
                list_price, price_band. Without it the content model and brand/category features are off.
            user_segments: segment per user_id for segment popularity (optional).
            order_baskets, session_baskets: order × item and session × item matrices on the same items,
                for "bought together" and "also viewed" (optional).
            progress: called as progress(step_name, done, total) between steps.

        Returns:
            self, with `models_` (name -> fitted base model on all interactions), `ranker_` (LGBMRanker),
            `feature_names_`, `train_rows_`, `train_users_`, `fit_seconds_`, `step_seconds_`.
        """
        if self.candidates_per_model < 1:
            raise ShopLensError(f"candidates_per_model = {self.candidates_per_model} must be at least 1")
        if self.label_days is None and not 0 < self.label_share < 1:
            raise ShopLensError(f"label_share = {self.label_share} must be between 0 and 1")
        started = time.perf_counter()
        report = progress or (lambda step, done, total: None)
        total = 4
        self.products_ = products if products is not None else pd.DataFrame(index=interactions.item_ids)
        self.user_segments_ = user_segments
        self.item_table_ = _item_table(self.products_, interactions.item_ids)
        self.step_seconds_: dict[str, float] = {}

        report("splitting held-out labels", 0, total)
        history, labels = self._label_split(interactions)
        if self.label_days is not None and not _has_training_users(history, labels):
            # A short log (everything inside the label window): hold out a random share instead.
            history, labels = self._label_split(interactions, by_time=False)
        report("fitting base models on the history", 1, total)
        tick = time.perf_counter()
        base = self._fit_bases(history, order_baskets, session_baskets)
        self.step_seconds_["base_models_on_history"] = time.perf_counter() - tick

        report("training the ranker", 2, total)
        tick = time.perf_counter()
        label_rows = np.flatnonzero(np.diff(labels.indptr) > 0)
        has_history = np.diff(history.matrix.indptr) > 0
        label_rows = label_rows[has_history[label_rows]]
        rng = np.random.default_rng(self.random_state)
        if len(label_rows) > self.max_training_users:
            label_rows = np.sort(rng.choice(label_rows, self.max_training_users, replace=False))
        if len(label_rows) == 0:
            raise ShopLensError("no user has both earlier and held-out interactions, so the ranker has nothing "
                                "to learn from; use more history or a longer label window")
        frame = self._candidate_frame(base, history, label_rows)
        targets = labels[frame["row"].to_numpy(), frame["item"].to_numpy()]
        frame["label"] = (np.asarray(targets).ravel() > 0).astype(int)
        # A user whose candidates hold no held-out item teaches the ranker nothing.
        useful = frame.groupby("row")["label"].transform("max") > 0
        frame = frame[useful.to_numpy()]
        if frame.empty:
            raise ShopLensError("no candidate matched a held-out interaction; the data is too small for a ranker")
        self.feature_names_ = [column for column in FEATURE_LABELS if column in frame]
        self.ranker_ = self._fit_ranker(frame)
        self.train_rows_ = int(len(frame))
        self.train_users_ = int(frame["row"].nunique())
        self.step_seconds_["ranker"] = time.perf_counter() - tick

        report("refitting base models on all interactions", 3, total)
        tick = time.perf_counter()
        self.models_ = self._fit_bases(interactions, order_baskets, session_baskets)
        self.step_seconds_["base_models_on_all"] = time.perf_counter() - tick
        self.interactions_ = interactions
        self.fit_seconds_ = time.perf_counter() - started
        report("done", total, total)
        return self

    def _label_split(self, interactions: InteractionMatrix, by_time: bool = True
                     ) -> tuple[InteractionMatrix, sp.csr_matrix]:
        matrix = interactions.matrix.tocoo()
        if self.label_days is not None and by_time:
            if interactions.last_event_days is None:
                raise ShopLensError("label_days needs interaction times; pass event_time or use label_share")
            ages = interactions.last_event_days.tocoo()
            age = pd.Series(ages.data, index=pd.MultiIndex.from_arrays([ages.row, ages.col]))
            age = age.reindex(pd.MultiIndex.from_arrays([matrix.row, matrix.col])).to_numpy()
            # Stored ages are days + 1 (see InteractionMatrix).
            is_label = age - 1.0 < self.label_days
        else:
            rng = np.random.default_rng(self.random_state)
            is_label = rng.random(len(matrix.data)) < self.label_share
        history = sp.csr_matrix((matrix.data[~is_label], (matrix.row[~is_label], matrix.col[~is_label])),
                                shape=matrix.shape)
        labels = sp.csr_matrix((matrix.data[is_label], (matrix.row[is_label], matrix.col[is_label])),
                               shape=matrix.shape)
        ages = None
        if interactions.last_event_days is not None:
            ages = interactions.last_event_days.multiply(history > 0).tocsr()
        return InteractionMatrix(interactions.user_ids, interactions.item_ids, history, ages), labels

    def _fit_bases(self, interactions: InteractionMatrix, order_baskets: InteractionMatrix | None,
                   session_baskets: InteractionMatrix | None) -> dict[str, Recommender]:
        models: dict[str, Recommender] = {
            "popularity": PopularityRecommender().fit(interactions, self.user_segments_),
            "cooccurrence": CooccurrenceRecommender(similarity="jaccard").fit(interactions),
            "als": ALSRecommender(factors=self.als_factors, iterations=self.als_iterations, threads=self.threads,
                                  random_state=self.random_state).fit(interactions),
            "ease": EASERecommender(l2=self.ease_l2).fit(interactions),
        }
        if interactions.last_event_days is not None:
            models["trending"] = PopularityRecommender(half_life_days=self.half_life_days).fit(interactions)
        text = item_text(self.products_) if len(self.products_.columns) else None
        if text is not None and text.reindex(interactions.item_ids).fillna("").str.len().any():
            models["content"] = ContentRecommender().fit(interactions, text)
        if order_baskets is not None:
            models["bought_together"] = CooccurrenceRecommender(similarity="confidence").fit(
                interactions, order_baskets)
        if session_baskets is not None:
            models["viewed_together"] = CooccurrenceRecommender(similarity="confidence", min_count=2).fit(
                interactions, session_baskets)
        return models

    def _fit_ranker(self, frame: pd.DataFrame):
        from lightgbm import LGBMRanker

        # A higher base-model score may only raise an item (and a worse rank only lower it): with a few
        # thousand users the unconstrained ranker overfits the noise and loses to EASE alone.
        constraints = [MONOTONE.get(feature, 0) for feature in self.feature_names_]
        ranker = LGBMRanker(objective="lambdarank", n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                            num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
                            monotone_constraints=constraints,
                            subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
                            lambdarank_truncation_level=20, random_state=self.random_state,
                            n_jobs=1, verbose=-1)  # 1: LightGBM's threads spin and stall on a busy 2-core machine
        groups = frame.groupby("row", sort=False).size().to_numpy()
        ranker.fit(frame[self.feature_names_], frame["label"], group=groups)
        return ranker

    # ------------------------------------------------------------------ candidates and features

    def _candidate_frame(self, models: dict[str, Recommender], interactions: InteractionMatrix,
                         rows: np.ndarray) -> pd.DataFrame:
        """One row per (user row, candidate item) with every feature; rows grouped by user."""
        scores = {name: model.score(rows) for name, model in models.items()}
        n_items = interactions.shape[1]
        chosen = np.zeros((len(rows), n_items), dtype=bool)
        for name in ("popularity", "cooccurrence", "als", "ease", "content", "bought_together", "viewed_together"):
            if name not in scores:
                continue
            ranked = scores[name].copy()
            mask_seen(ranked, interactions.matrix, rows)
            if name in ("bought_together", "viewed_together", "cooccurrence", "content"):
                ranked[ranked <= 0] = -np.inf
            count = min(self.candidates_per_model, n_items)
            top = np.argpartition(-ranked, count - 1, axis=1)[:, :count] if count < n_items else \
                np.tile(np.arange(n_items), (len(rows), 1))
            finite = np.isfinite(np.take_along_axis(ranked, top, axis=1))
            position = np.repeat(np.arange(len(rows)), top.shape[1])
            chosen[position[finite.ravel()], top.ravel()[finite.ravel()]] = True
        user_position, item = np.nonzero(chosen)
        # Columns are collected first and the frame built once: inserting columns one by one is slow.
        columns: dict[str, np.ndarray] = {"row": rows[user_position], "item": item}
        for name, values in scores.items():
            columns[f"{name}_score"] = values[user_position, item]
        for name in RANKED_MODELS:
            if name in scores:
                columns[f"{name}_rank"] = _rank_within(columns[f"{name}_score"], user_position)
        columns["item_users_log"] = np.log1p(self._item_users(interactions)[item])
        user_items = np.diff(interactions.matrix.indptr)[rows]
        columns["user_items_log"] = np.log1p(user_items[user_position]).astype(float)
        self._attribute_features(columns, interactions, rows, user_position)
        return pd.DataFrame(columns)

    def _item_users(self, interactions: InteractionMatrix) -> np.ndarray:
        # Users per item, remembered for the last matrix asked about (serving asks about one matrix).
        cached = getattr(self, "_item_users_cache", None)
        if cached is None or cached[0] is not interactions.matrix:
            cached = (interactions.matrix, np.diff(interactions.matrix.tocsc().indptr))
            self._item_users_cache = cached
        return cached[1]

    def _attribute_features(self, frame: dict[str, np.ndarray], interactions: InteractionMatrix, rows: np.ndarray,
                            user_position: np.ndarray) -> None:
        table = self.item_table_
        history = interactions.matrix[rows]
        history = sp.diags(1.0 / np.maximum(np.asarray(history.sum(axis=1)).ravel(), 1e-12)) @ history
        items = frame["item"]
        for column, feature in (("brand", "brand_share"), ("category", "category_share")):
            codes = table.get(f"{column}_code")
            if codes is None:
                continue
            indicator = sp.csr_matrix((np.ones(len(codes)), (np.arange(len(codes)), codes)),
                                      shape=(len(codes), codes.max() + 1))
            shares = (history @ indicator).toarray()
            frame[feature] = shares[user_position, codes[items]]
        price = table.get("list_price")
        if price is not None:
            total = np.asarray(history @ (~np.isnan(price)).astype(float)).ravel()
            usual = np.divide(np.asarray(history @ np.nan_to_num(price, nan=0.0)).ravel(), total,
                              out=np.full(len(total), np.nan), where=total > 0)
            frame["price_ratio"] = price[items] / usual[user_position]

    # ------------------------------------------------------------------ serving

    def score(self, rows: np.ndarray) -> np.ndarray:
        """Ranker score for each user's candidates, shape (len(rows), n_items).

        Non-candidates get a score below every candidate, ordered by popularity, so lists can
        always be filled.
        """
        self._check_fitted()
        rows = np.asarray(rows)
        frame = self._candidate_frame(self.models_, self.interactions_, rows)
        popularity = self.models_["popularity"].popularity_
        floor = -1e6 + popularity / (popularity.max() + 1.0)
        scores = np.tile(floor, (len(rows), 1))
        if len(frame):
            position = pd.Index(rows).get_indexer(frame["row"])
            scores[position, frame["item"].to_numpy()] = self.ranker_.predict(frame[self.feature_names_])
        return scores

    def recommend_with_reasons(self, user_id: str, k: int = 10, item_filter: np.ndarray | None = None
                               ) -> Recommendation:
        """One user's top-k with scores, SHAP contributions and a reason per item.

        Args:
            user_id: a user in the training interactions (raise otherwise; new users get popularity
                from `PopularityRecommender`).
            k: items, >= 1.
            item_filter: optional boolean mask over items (e.g. chosen categories); others are left out.

        Returns:
            The Recommendation.
        """
        self._check_fitted()
        row = self.interactions_.rows_of([user_id])[0]
        if row < 0:
            raise ShopLensError(f"user {user_id!r} has no interactions in the training data; "
                                "pick a user who viewed, carted or bought something")
        frame = self._candidate_frame(self.models_, self.interactions_, np.array([row]))
        if item_filter is not None:
            frame = frame[item_filter[frame["item"].to_numpy()]]
        history = self._history(row)
        if frame.empty:
            return Recommendation(user_id, _empty_items(), 0.0, history)
        features = frame[self.feature_names_].to_numpy(dtype=np.float64)
        # One thread: for a hundred rows, OpenMP start-up costs more than it saves.
        scores = self.ranker_.booster_.predict(features, num_threads=1)
        top = np.argsort(-scores, kind="stable")[:k]
        # TreeSHAP only for the k shown items: the costly part of serving.
        contributions = self.ranker_.booster_.predict(features[top], pred_contrib=True, num_threads=1)
        chosen = frame.iloc[top].reset_index(drop=True).assign(score=contributions.sum(axis=1))
        shap = pd.DataFrame(contributions[:, :-1], columns=self.feature_names_)
        # Votes of the user's past items for the shown items, per model, computed once for all reasons.
        anchors: dict[str, Any] = {"items": chosen["item"].to_numpy()}
        price_ratio = chosen["price_ratio"].to_numpy() if "price_ratio" in chosen else np.full(len(chosen), np.nan)
        reasons = [self._reason(row, int(item), shap.iloc[position], {"price_ratio": price_ratio[position]}, anchors)
                   for position, item in enumerate(chosen["item"])]
        positions = chosen["item"].to_numpy()
        table = self.item_table_
        items = pd.DataFrame({
            "rank": np.arange(1, len(chosen) + 1),
            "product_id": self.interactions_.item_ids[positions],
            "title": table["title"][positions],
            "category": table["category"][positions],
            "brand": table["brand"][positions],
            "score": chosen["score"].to_numpy(),
            "reason": reasons,
        })
        items = pd.concat([items, shap.add_prefix("shap_")], axis=1)
        features_shown = chosen[self.feature_names_].add_prefix("value_").reset_index(drop=True)
        items = pd.concat([items, features_shown], axis=1)
        return Recommendation(user_id, items, float(contributions[0, -1]), history)

    def _history(self, row: int, limit: int = 10) -> pd.DataFrame:
        matrix = self.interactions_.matrix
        items = matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]
        weights = matrix.data[matrix.indptr[row]:matrix.indptr[row + 1]]
        order = np.argsort(-weights, kind="stable")[:limit]
        ids = self.interactions_.item_ids[items[order]]
        return pd.DataFrame({"product_id": ids, "title": self.item_table_["title"][items[order]],
                             "weight": weights[order].astype(float)})

    def _votes(self, row: int, name: str, items: np.ndarray) -> np.ndarray | None:
        """How much each of the user's past items votes for each of `items` under model `name` (past × items)."""
        model = self.models_.get(name)
        matrix = self.interactions_.matrix
        past = matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]
        weights = matrix.data[matrix.indptr[row]:matrix.indptr[row + 1]]
        if model is None or len(past) == 0:
            return None
        if isinstance(model, CooccurrenceRecommender):
            return model.similarity_[past][:, items].toarray() * weights[:, np.newaxis]
        if isinstance(model, EASERecommender):
            votes = np.zeros((len(past), len(items)))
            rows = np.minimum(np.searchsorted(model.items_, past), len(model.items_) - 1)
            columns = np.minimum(np.searchsorted(model.items_, items), len(model.items_) - 1)
            row_ok = model.items_[rows] == past
            column_ok = model.items_[columns] == items
            votes[np.ix_(row_ok, column_ok)] = model.weights_[np.ix_(rows[row_ok], columns[column_ok])]
            return votes
        if isinstance(model, ContentRecommender):
            return (model.item_vectors_[past] @ model.item_vectors_[items].T).toarray()
        return None

    def _anchor(self, row: int, item: int, name: str, cache: dict[str, Any]) -> str | None:
        """The user's past item that most drove `name`'s score for `item`, as a title."""
        items = cache["items"]
        if name not in cache:
            cache[name] = self._votes(row, name, items)
        block = cache[name]
        if block is None:
            return None
        matrix = self.interactions_.matrix
        past = matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]
        votes = block[:, int(np.flatnonzero(items == item)[0])]
        if not np.any(votes > 0):
            return None
        anchor = past[int(np.argmax(votes))]
        title = self.item_table_["title"][anchor]
        return title if isinstance(title, str) and title else str(self.interactions_.item_ids[anchor])

    def _reason(self, row: int, item: int, shap: pd.Series, values: dict[str, float],
                anchors: dict[str, Any]) -> str:
        kinds = _reason_templates()
        names = np.asarray(shap.index)
        contributions = shap.to_numpy(dtype=float)
        order = np.argsort(-contributions, kind="stable")
        candidates = [names[i] for i in order if contributions[i] > 0 and names[i] in kinds]
        if not candidates:
            candidates = [names[i] for i in order if names[i] in kinds][:1]
        phrases: list[str] = []
        used: set[str] = set()
        for feature in candidates:
            kind = kinds[feature]
            if kind in used:
                continue
            phrase = self._phrase(kind, row, item, values, anchors)
            if phrase:
                phrases.append(phrase)
                used.add(kind)
            if len(phrases) == 2:
                break
        return "; ".join(phrases) if phrases else "popular with shoppers like this one"

    def _phrase(self, kind: str, row: int, item: int, values: dict[str, float],
                anchors: dict[str, Any]) -> str | None:
        table = self.item_table_
        if kind in ("bought_together", "viewed_together", "cooccurrence", "ease", "content"):
            anchor = self._anchor(row, item, kind, anchors)
            if anchor is None:
                return None
            return {
                "bought_together": f"bought together with {anchor}",
                "viewed_together": f"viewed together with {anchor}",
                "cooccurrence": f"often chosen with {anchor}",
                "ease": f"shoppers who chose {anchor} also chose it",
                "content": f"similar to {anchor}",
            }[kind]
        if kind == "als":
            return "liked by shoppers with similar taste"
        if kind == "popularity":
            segment = None
            if self.user_segments_ is not None:
                segment = self.user_segments_.get(self.interactions_.user_ids[row])
            return f"a best seller in {segment}" if isinstance(segment, str) else "a best seller"
        if kind == "trending":
            return "popular right now"
        if kind == "brand":
            brand = table["brand"][item]
            return f"matches favourite brand {brand}" if isinstance(brand, str) and brand else None
        if kind == "category":
            category = table["category"][item]
            return f"in favourite category {category}" if isinstance(category, str) and category else None
        if kind == "price":
            ratio = values.get("price_ratio")
            if ratio is None or not np.isfinite(ratio):
                return None
            return "in the usual price range" if 0.67 <= ratio <= 1.5 else (
                "cheaper than usual picks" if ratio < 0.67 else "a step up from usual picks")
        return None


def _column(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column in frame:
        return frame[column].to_numpy(dtype=object)
    return np.full(len(frame), None, dtype=object)


def _has_training_users(history: InteractionMatrix, labels: sp.csr_matrix) -> bool:
    """Whether some user has both history and held-out labels."""
    return bool(np.any((np.diff(history.matrix.indptr) > 0) & (np.diff(labels.indptr) > 0)))


def _rank_within(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Rank of each value within its group, 1 = highest, ties share the lowest rank (pandas' "min")."""
    if len(values) == 0:
        return np.zeros(0)
    order = np.lexsort((-values, groups))
    sorted_values, sorted_groups = values[order], groups[order]
    index = np.arange(len(values))
    new_group = np.r_[True, sorted_groups[1:] != sorted_groups[:-1]]
    new_run = new_group | np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    group_start = np.maximum.accumulate(np.where(new_group, index, 0))
    run_start = np.maximum.accumulate(np.where(new_run, index, 0))
    ranks = np.empty(len(values))
    ranks[order] = run_start - group_start + 1
    return ranks


def _item_table(products: pd.DataFrame, item_ids: pd.Index) -> dict[str, np.ndarray]:
    """Per-item arrays aligned to the matrix columns, so serving never reindexes frames."""
    aligned = products.reindex(item_ids)
    table: dict[str, np.ndarray] = {column: _column(aligned, column) for column in ("title", "category", "brand")}
    for column in ("brand", "category"):
        if column in aligned and aligned[column].notna().any():
            table[f"{column}_code"] = pd.factorize(aligned[column].fillna("unknown"))[0]
    if "list_price" in aligned and aligned["list_price"].notna().any():
        table["list_price"] = aligned["list_price"].to_numpy(float)
    return table


def _empty_items() -> pd.DataFrame:
    return pd.DataFrame(columns=["rank", "product_id", "title", "category", "brand", "score", "reason"])


# --------------------------------------------------------------------------- the warehouse ranker for the explanation layer


RANKER_HOLDOUT_DAYS = 28
RANKER_LABEL_DAYS = 28
SHAP_ROWS = 2_000


def train_ranker_model(con: Any, holdout_days: int = RANKER_HOLDOUT_DAYS, shap_rows: int = SHAP_ROWS,
                       random_state: int = 0) -> Any:
    """Train the hybrid ranker on the warehouse and return it as a `TrainedModel` (task "ranking").

    The interactions before the last `holdout_days` days train the ranker (its labels are that
    period's last `RANKER_LABEL_DAYS` days); the held-out days validate it: NDCG@10 of the hybrid
    and of the best single model on users active in both periods.

    Args:
        con: a warehouse connection (e.g. to the sample warehouse).
        holdout_days: validation window at the end of the data, >= 1.
        shap_rows: validation candidate rows to explain at most.
        random_state: seed.

    Returns:
        analytics.explain.trained.TrainedModel with the LGBMRanker as `model`.
    """
    from analytics.explain.trained import TrainedModel
    from analytics.recommend.evaluate import evaluate_warehouse

    started = time.perf_counter()
    result = evaluate_warehouse(con, k=10, holdout_days=holdout_days, models=("hybrid",),
                                keep_hybrid=True, random_state=random_state)
    hybrid: HybridRecommender = result.hybrid
    validation = result.validation_frame
    if validation is None or validation.empty:
        raise ShopLensError("the held-out days have no user with earlier history; use a warehouse with more days")
    rng = np.random.default_rng(random_state)
    rows = validation.index.to_numpy()
    if len(rows) > shap_rows:
        rows = np.sort(rng.choice(rows, shap_rows, replace=False))
    sample = validation.loc[rows]
    products = hybrid.products_.reindex(hybrid.interactions_.item_ids[sample["item"].to_numpy()])
    segments = pd.DataFrame({
        "category": _column(products, "category"),
        "price_band": _column(products, "price_band"),
    }, index=sample.index).fillna("unknown")
    row = result.models.set_index("model").loc["hybrid"]
    metrics = {name: float(row[name]) for name in ("ndcg@10", "precision@10", "recall@10", "map@10",
                                                   "hit_rate@10")}
    return TrainedModel(
        name="recommendation_ranker",
        title="Recommendation ranker",
        task="ranking",
        target="the user interacts with the item in the next days",
        model=hybrid.ranker_,
        feature_labels={name: FEATURE_LABELS[name] for name in hybrid.feature_names_},
        categorical_features=(),
        explain_rows=sample[hybrid.feature_names_],
        explain_actual=sample["label"].astype(int),
        segments=segments,
        metrics=metrics,
        data_version=_data_version(con),
        training_start=result.train_start,
        training_end=result.cut,
        validation_start=result.cut,
        validation_end=result.test_end,
        train_rows=hybrid.train_rows_,
        validation_rows=int(len(validation)),
        parameters=hybrid.get_params(),
        fit_seconds=time.perf_counter() - started,
    )


def _data_version(con: Any) -> str:
    from analytics.warehouse import data_version

    try:
        return str(data_version(con))
    except Exception:  # noqa: BLE001 - a warehouse without metadata still trains; the card shows no version
        return ""
