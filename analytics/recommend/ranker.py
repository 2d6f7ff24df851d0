"""The hybrid ranker: LightGBM LambdaRank over candidates from every other model, with a reason per item.

Two stages, as in production recommenders:

1. Candidates: the top unseen items of each base model (popularity, trending,
   co-occurrence, ALS, EASE, content, and, with baskets, "bought together" and
   "also viewed"), merged (`features.candidate_pairs`).
2. Ranking: a LambdaRank booster orders each user's candidates from features
   of the user, the item and the pair (`features.feature_frame`): every base
   model's score and rank (memorisation, the "wide" part of Wide & Deep), and
   content and user features such as the share of the user's history in the
   item's brand and category (generalisation, the "deep" part).

The ranker needs labels the base models have not seen (`splits.HeldOut`): the
base models learn a user's earlier history, the ranker learns which candidates
are among the items the user touched for the first time afterwards. Part of
those users is kept aside to compare the ranker with each base model on the
same task (`validation_`); `champion_` is the model that serves
(`champion.pick_champion`). The base models are then refitted on everything.

Every recommendation's reason comes from the booster's SHAP values (TreeSHAP,
`pred_contrib`): the features that raised the item most become `reasons.Evidence`,
with the user's past item behind each item-to-item signal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from analytics.errors import ShopLensError
from analytics.recommend.base import Progress, Recommender, no_progress
from analytics.recommend.champion import HYBRID, pick_champion
from analytics.recommend.collaborative import ALSRecommender, EASERecommender
from analytics.recommend.content import ContentRecommender
from analytics.recommend.cooccurrence import CooccurrenceRecommender
from analytics.recommend.data import InteractionMatrix, item_text
from analytics.recommend.features import (
    FEATURE_LABELS,
    MONOTONE,
    REASON_KINDS,
    ItemTable,
    candidate_pairs,
    feature_frame,
    item_statistics,
)
from analytics.recommend.metrics import ndcg_of_arrays
from analytics.recommend.popularity import PopularityRecommender
from analytics.recommend.reasons import ANCHORED_KINDS, Evidence, reason_text
from analytics.recommend.splits import HeldOut, held_out_at_random, held_out_by_time

# Base models a single-model champion may be, in the order ties are broken.
SERVING_MODELS: tuple[str, ...] = ("ease", "cooccurrence", "trending", "popularity", "als", "content")
# Users scored per batch when ranking many users: bounds the candidate frame (about 200 rows per user).
RANKING_BATCH_USERS = 1_000


@dataclass(frozen=True)
class Recommendation:
    """One user's top-K, with reasons.

    Attributes:
        user_id: the user.
        items: one row per item, best first: rank (1..K), product_id, title, category, brand, score,
            reason (text), then `value_<feature>` (the ranker's inputs) and, when the hybrid serves,
            `shap_<feature>` (SHAP value per feature; base_value + Σ shap = score).
        base_value: the ranker's expected score (SHAP base); NaN when a single model serves.
        history: the user's most weighted past items: product_id, title, weight.
        model: the model that served the list ("hybrid" or a base model's name).
    """

    user_id: str
    items: pd.DataFrame
    base_value: float
    history: pd.DataFrame
    model: str = HYBRID


class HybridRecommender(Recommender):
    """LambdaRank over the candidates of the base models, with SHAP reasons.

    Args:
        candidates_per_model: unseen items each base model proposes per user, >= 1.
        ease_candidates: unseen items EASE proposes (the strongest single model on real baskets), >= 1.
        label_days: hold out the items users first touched in the last this many days as ranking
            labels (needs times); None holds out a random `label_share` of each user's interactions.
        label_share: share of the interactions held out as labels when label_days is None.
        max_training_users: learn from at most this many users with labels (seeded sample), >= 10.
        validation_share: share of those users kept aside to pick the champion, 0–0.5.
        objective: LightGBM's ranking objective: "rank_xendcg" (default; on held-aside users of MovieLens and
            Complete Journey it ranked at least as well as "lambdarank", with less variance) or "lambdarank".
        n_estimators, learning_rate, num_leaves, min_child_samples: the LightGBM ranker's settings.
        ease_l2, ease_dropout, ease_items, als_factors, als_iterations, half_life_days, neighbours: base-model
            settings.
        threads: threads for ALS.
        random_state: seed for splits, samples and models.
    """

    def __init__(self, candidates_per_model: int = 30, ease_candidates: int = 50, label_days: int | None = None,
                 label_share: float = 0.2, max_training_users: int = 3_000, validation_share: float = 0.25,
                 objective: str = "rank_xendcg", n_estimators: int = 200, learning_rate: float = 0.05,
                 num_leaves: int = 7,
                 min_child_samples: int = 200, ease_l2: float = 500.0, ease_dropout: float = 0.0,
                 ease_items: int = 6_000,
                 als_factors: int = 48, als_iterations: int = 10, half_life_days: float = 14.0,
                 neighbours: int = 100, threads: int = 2, random_state: int = 42) -> None:
        self.candidates_per_model = candidates_per_model
        self.ease_candidates = ease_candidates
        self.label_days = label_days
        self.label_share = label_share
        self.max_training_users = max_training_users
        self.validation_share = validation_share
        self.objective = objective
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.ease_l2 = ease_l2
        self.ease_dropout = ease_dropout
        self.ease_items = ease_items
        self.als_factors = als_factors
        self.als_iterations = als_iterations
        self.half_life_days = half_life_days
        self.neighbours = neighbours
        self.threads = threads
        self.random_state = random_state

    # ------------------------------------------------------------------ base models

    def base_model_factories(self, interactions: InteractionMatrix, products: pd.DataFrame | None = None,
                             user_segments: pd.Series | None = None, order_baskets: InteractionMatrix | None = None,
                             session_baskets: InteractionMatrix | None = None,
                             reuse: dict[str, Recommender] | None = None) -> dict[str, Callable[[], Recommender]]:
        """name -> a function fitting that base model on `interactions`, with the hybrid's settings.

        Args:
            interactions: what the models learn from.
            products, user_segments, order_baskets, session_baskets: as for `fit`.
            reuse: fitted models whose interaction-free parts may be taken over (the content vectors).

        Returns:
            popularity (per segment when segments are given), cooccurrence, als, ease, and when the data
            allows trending (needs times), content (needs a catalogue), bought_together, viewed_together.
        """
        reuse = reuse or {}
        products = products if products is not None else pd.DataFrame(index=interactions.item_ids)
        factories: dict[str, Callable[[], Recommender]] = {
            "popularity": lambda: PopularityRecommender().fit(interactions, user_segments),
            "cooccurrence": lambda: CooccurrenceRecommender(similarity="jaccard", neighbours=self.neighbours)
            .fit(interactions),
            "als": lambda: ALSRecommender(factors=self.als_factors, iterations=self.als_iterations,
                                          threads=self.threads, random_state=self.random_state).fit(interactions),
            "ease": lambda: EASERecommender(l2=self.ease_l2, max_items=self.ease_items,
                                            dropout=self.ease_dropout).fit(interactions),
        }
        if interactions.last_event_days is not None:
            factories["trending"] = lambda: PopularityRecommender(half_life_days=self.half_life_days).fit(interactions)
        text = item_text(products) if len(products.columns) else None
        if text is not None and text.reindex(interactions.item_ids).fillna("").str.len().any():
            factories["content"] = lambda: ContentRecommender().fit(interactions, text, reuse=reuse.get("content"))
        if order_baskets is not None:
            factories["bought_together"] = lambda: CooccurrenceRecommender(
                similarity="confidence", neighbours=self.neighbours).fit(interactions, order_baskets)
        if session_baskets is not None:
            factories["viewed_together"] = lambda: CooccurrenceRecommender(
                similarity="confidence", min_count=2, neighbours=self.neighbours).fit(interactions, session_baskets)
        return factories

    def _per_model(self) -> dict[str, int]:
        counts = {name: self.candidates_per_model for name in
                  ("popularity", "trending", "cooccurrence", "als", "content", "bought_together", "viewed_together")}
        counts["ease"] = self.ease_candidates
        return counts

    # ------------------------------------------------------------------ fitting

    def fit(self, interactions: InteractionMatrix, products: pd.DataFrame | None = None,
            user_segments: pd.Series | None = None, order_baskets: InteractionMatrix | None = None,
            session_baskets: InteractionMatrix | None = None, progress: Progress | None = None,
            held_out: HeldOut | None = None, fitted_models: dict[str, Recommender] | None = None,
            ) -> HybridRecommender:
        """Fit the base models on the history, learn the ranker on the labels, pick the champion.

        Args:
            interactions: users × items weights (the training data).
            products: indexed by product_id; optional columns title, category_path, category, brand,
                list_price, price_band. Without it the content model and attribute features are off.
            user_segments: segment per user_id for segment popularity (optional).
            order_baskets, session_baskets: order × item and session × item matrices on the same items,
                for "bought together" and "also viewed" (optional).
            progress: called as progress(step, done, total) between steps; an exception raised in it
                (e.g. a Stop button) stops the fit and propagates.
            held_out: the labels to learn from (e.g. `splits.warehouse_held_out`, exact); default: the
                last `label_days` days by first touch, or a random `label_share`.
            fitted_models: base models already fitted on `interactions` with the hybrid's settings
                (e.g. by an evaluation), used for serving instead of fitting them again.

        Returns:
            self, with `models_` (name -> base model on all interactions), `ranker_` (LGBMRanker),
            `feature_names_`, `validation_` (model, ndcg@10, users on the held-aside users),
            `champion_`, `train_rows_`, `train_users_`, `label_method_`, `fit_seconds_`, `step_seconds_`.
        """
        if self.candidates_per_model < 1 or self.ease_candidates < 1:
            raise ShopLensError("candidates_per_model and ease_candidates must be at least 1")
        if not 0 <= self.validation_share <= 0.5:
            raise ShopLensError(f"validation_share = {self.validation_share} must be between 0 and 0.5")
        report = progress or no_progress
        started = time.perf_counter()
        self.products_ = products if products is not None else pd.DataFrame(index=interactions.item_ids)
        self.user_segments_ = user_segments
        self.item_table_ = ItemTable.build(self.products_, interactions.item_ids)
        self.step_seconds_: dict[str, float] = {}
        sides = (self.products_, user_segments, order_baskets, session_baskets)
        history_factories = list(self.base_model_factories(interactions, *sides))
        refits = [name for name in history_factories if name not in (fitted_models or {})]
        total = 1 + len(history_factories) + 3 + len(refits)
        step = 0

        report("holding out labels", step, total)
        held_out = held_out or self._held_out(interactions)
        self.label_method_ = held_out.method
        step += 1
        tick = time.perf_counter()
        base = {}
        history_factories = self.base_model_factories(held_out.history, *sides, reuse=fitted_models)
        for name, fit in history_factories.items():
            report(f"fitting {name} on the earlier history", step, total)
            base[name] = fit()
            step += 1
        self.step_seconds_["base_models_on_history"] = time.perf_counter() - tick

        report("building candidates", step, total)
        tick = time.perf_counter()
        training_rows, validation_rows = self._label_users(held_out)
        statistics = item_statistics(held_out.history)
        rows = np.concatenate([training_rows, validation_rows])
        positions, items = candidate_pairs(base, rows, self._per_model())
        frame = feature_frame(base, held_out.history, rows, positions, items, self.item_table_, statistics)
        frame["label"] = (np.asarray(held_out.labels[frame["row"].to_numpy(), frame["item"].to_numpy()]).ravel()
                          > 0).astype(int)
        self.feature_names_ = [name for name in FEATURE_LABELS if name in frame]
        is_validation = np.isin(frame["row"].to_numpy(), validation_rows)
        self.step_seconds_["candidates"] = time.perf_counter() - tick
        step += 1

        report("training the ranker", step, total)
        tick = time.perf_counter()
        self.validation_ = None
        if len(validation_rows):
            ranker = self._fit_ranker(frame[~is_validation])
            self.validation_ = self._validate(base, ranker, frame[is_validation], validation_rows, held_out)
        step += 1
        report("training the ranker on every labelled user", step, total)
        self.ranker_ = self._fit_ranker(frame)
        useful = frame.groupby("row")["label"].transform("max").to_numpy() > 0
        self.train_rows_ = int(useful.sum())
        self.train_users_ = int(frame.loc[useful, "row"].nunique())
        self.champion_ = HYBRID if self.validation_ is None else pick_champion(
            dict(zip(self.validation_["model"], self.validation_["ndcg@10"])), len(validation_rows))
        self.step_seconds_["ranker"] = time.perf_counter() - tick
        step += 1

        tick = time.perf_counter()
        models = dict(fitted_models or {})
        for name, fit in self.base_model_factories(interactions, *sides, reuse={**base, **models}).items():
            if name in models:
                continue
            report(f"fitting {name} on all interactions", step, total)
            models[name] = fit()
            step += 1
        self.models_ = {name: models[name] for name in history_factories if name in models}
        self.step_seconds_["base_models_on_all"] = time.perf_counter() - tick
        self.interactions_ = interactions
        self.statistics_ = item_statistics(interactions)
        self.fit_seconds_ = time.perf_counter() - started
        report("done", total, total)
        return self

    def _held_out(self, interactions: InteractionMatrix) -> HeldOut:
        if self.label_days is not None and interactions.first_event_days is not None:
            held_out = held_out_by_time(interactions, self.label_days)
            if held_out.has_training_users():
                return held_out
            # A short log (everything inside the label window): hold out a random share instead.
        return held_out_at_random(interactions, self.label_share, self.random_state)

    def _label_users(self, held_out: HeldOut) -> tuple[np.ndarray, np.ndarray]:
        """(training rows, validation rows): users with both history and labels, seeded sample and split."""
        rows = np.flatnonzero((np.diff(held_out.labels.indptr) > 0) & (np.diff(held_out.history.matrix.indptr) > 0))
        if len(rows) == 0:
            raise ShopLensError("no user has both earlier and held-out interactions, so the ranker has nothing "
                                "to learn from; use more history or a longer label window")
        rng = np.random.default_rng(self.random_state)
        if len(rows) > self.max_training_users:
            rows = np.sort(rng.choice(rows, self.max_training_users, replace=False))
        n_validation = int(round(len(rows) * self.validation_share)) if len(rows) >= 20 else 0
        validation = np.sort(rng.choice(rows, n_validation, replace=False)) if n_validation else rows[:0]
        return np.setdiff1d(rows, validation), validation

    def _fit_ranker(self, frame: pd.DataFrame):
        from lightgbm import LGBMRanker

        # A user whose candidates hold no label teaches the ranker nothing.
        frame = frame[frame.groupby("row")["label"].transform("max").to_numpy() > 0]
        if frame.empty:
            raise ShopLensError("no candidate matched a held-out interaction; the data is too small for a ranker")
        # A higher base-model score may only raise an item (and a worse rank only lower it): with a few
        # thousand users the unconstrained ranker overfits the noise and loses to EASE alone.
        constraints = [MONOTONE.get(feature, 0) for feature in self.feature_names_]
        ranker = LGBMRanker(objective=self.objective, n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                            num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
                            monotone_constraints=constraints,
                            subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
                            lambdarank_truncation_level=20, random_state=self.random_state,
                            n_jobs=1, verbose=-1)  # 1: LightGBM's threads spin and stall on a busy 2-core machine
        groups = frame.groupby("row", sort=False).size().to_numpy()
        ranker.fit(frame[self.feature_names_], frame["label"], group=groups)
        return ranker

    def _validate(self, base: dict[str, Recommender], ranker: Any, frame: pd.DataFrame, rows: np.ndarray,
                  held_out: HeldOut) -> pd.DataFrame:
        """NDCG@10 of the ranker and of each base model on the held-aside users (all their labels count)."""
        labels = held_out.labels[rows]
        table = []
        scores = ranker.predict(frame[self.feature_names_]) if len(frame) else np.zeros(0)
        ranked = _top_per_row(frame["row"].to_numpy(), frame["item"].to_numpy(), scores, rows, 10)
        table.append((HYBRID, float(ndcg_of_arrays(ranked, labels, 10).mean())))
        for name in SERVING_MODELS:
            if name in base:
                items, _ = base[name].candidates(rows, 10)
                table.append((name, float(ndcg_of_arrays(items, labels, 10).mean())))
        return pd.DataFrame(table, columns=["model", "ndcg@10"]).assign(users=len(rows))

    # ------------------------------------------------------------------ ranking

    def candidate_frame(self, rows: np.ndarray) -> pd.DataFrame:
        """The serving models' candidates and features for user rows (see `features.feature_frame`)."""
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.int64)
        positions, items = candidate_pairs(self.models_, rows, self._per_model())
        return feature_frame(self.models_, self.interactions_, rows, positions, items, self.item_table_,
                             self.statistics_)

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise ShopLensError("HybridRecommender is not fitted yet; call fit(interactions) first")

    def candidates(self, rows: np.ndarray, n: int, exclude_seen: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Each user's n best unseen items by the ranker, filled up with popular items when candidates run out.

        Returns:
            (items, scores), each shape (len(rows), n'); scores of the fill-up items are below every
            ranked candidate.
        """
        self._check_fitted()
        if not exclude_seen:
            raise ShopLensError("the hybrid only ranks unseen items; use exclude_seen=True")
        rows = np.asarray(rows, dtype=np.int64)
        n = min(n, self.n_items_)
        items = np.full((len(rows), n), -1, dtype=np.int64)
        scores = np.full((len(rows), n), -np.inf)
        for start in range(0, len(rows), RANKING_BATCH_USERS):
            batch = rows[start:start + RANKING_BATCH_USERS]
            frame = self.candidate_frame(batch)
            predicted = self.ranker_.predict(frame[self.feature_names_]) if len(frame) else np.zeros(0)
            chosen = _top_per_row(frame["row"].to_numpy(), frame["item"].to_numpy(), predicted, batch, n,
                                  with_scores=True)
            items[start:start + len(batch)], scores[start:start + len(batch)] = chosen
        self._fill_with_popular(rows, items, scores)
        return items, scores

    def _fill_with_popular(self, rows: np.ndarray, items: np.ndarray, scores: np.ndarray) -> None:
        short = np.flatnonzero((items < 0).any(axis=1))
        if len(short) == 0:
            return
        popular, _ = self.models_["popularity"].candidates(rows[short], items.shape[1] * 2)
        floor = np.nanmin(np.where(np.isfinite(scores), scores, np.nan)) if np.isfinite(scores).any() else 0.0
        for position, extra in zip(short, popular):
            have = items[position][items[position] >= 0]
            fill = [item for item in extra if item >= 0 and item not in set(have)][:items.shape[1] - len(have)]
            items[position, len(have):len(have) + len(fill)] = fill
            scores[position, len(have):len(have) + len(fill)] = floor - 1.0 - np.arange(len(fill))

    def score(self, rows: np.ndarray) -> np.ndarray:
        """Ranker score for each user's candidates, shape (len(rows), n_items).

        Non-candidates get a score below every candidate, ordered by popularity, so lists can
        always be filled. Dense: for a few users at a time.
        """
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.int64)
        frame = self.candidate_frame(rows)
        popularity = self.models_["popularity"].popularity_
        floor = -1e6 + popularity / (popularity.max() + 1.0)
        scores = np.tile(floor, (len(rows), 1))
        if len(frame):
            position = pd.Index(rows).get_indexer(frame["row"])
            scores[position, frame["item"].to_numpy()] = self.ranker_.predict(frame[self.feature_names_])
        return scores

    def score_pairs(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:  # pragma: no cover - not a base model
        raise ShopLensError("the hybrid scores its own candidates only; use candidates(rows, n)")

    # ------------------------------------------------------------------ serving with reasons

    def recommend_with_reasons(self, user_id: str, k: int = 10, item_filter: np.ndarray | None = None,
                               model: str | None = None) -> Recommendation:
        """One user's top-k with scores and a reason per item, from the champion (or `model`).

        Args:
            user_id: a user in the training interactions (raise otherwise; new users get popularity
                from `PopularityRecommender`).
            k: items, >= 1.
            item_filter: optional boolean mask over items (e.g. chosen categories); others are left out.
            model: "hybrid" or a base model's name; default `champion_`.

        Returns:
            The Recommendation.
        """
        self._check_fitted()
        model = model or self.champion_
        if model != HYBRID and model not in self.models_:
            raise ShopLensError(f"model {model!r} is not fitted; use one of hybrid, {', '.join(self.models_)}")
        row = self.interactions_.rows_of([user_id])[0]
        if row < 0:
            raise ShopLensError(f"user {user_id!r} has no interactions in the training data; "
                                "pick a user who viewed, carted or bought something")
        history = self._history(row)
        if model == HYBRID:
            frame = self.candidate_frame(np.array([row]))
        else:
            frame = self._single_model_frame(row, model, k, item_filter)
        if item_filter is not None:
            frame = frame[item_filter[frame["item"].to_numpy()]]
        if frame.empty:
            return Recommendation(user_id, _empty_items(), float("nan"), history, model)
        features = frame[self.feature_names_].to_numpy(dtype=np.float64)
        if model == HYBRID:
            # One thread: for a hundred rows, OpenMP start-up costs more than it saves.
            scores = self.ranker_.booster_.predict(features, num_threads=1)
            top = np.lexsort((frame["item"].to_numpy(), -scores))[:k]
            # TreeSHAP only for the k shown items: the costly part of serving.
            contributions = self.ranker_.booster_.predict(features[top], pred_contrib=True, num_threads=1)
            shap = pd.DataFrame(contributions[:, :-1], columns=self.feature_names_)
            chosen = frame.iloc[top].reset_index(drop=True).assign(score=contributions.sum(axis=1))
            base_value = float(contributions[0, -1])
            strengths = shap
        else:
            chosen = frame.sort_values(["model_score", "item"], ascending=[False, True], kind="stable") \
                .head(k).reset_index(drop=True).rename(columns={"model_score": "score"})
            shap, base_value = None, float("nan")
            strengths = _single_model_strengths(chosen, model, self.feature_names_)
        evidence = self._evidence(row, chosen, strengths)
        items = pd.DataFrame({
            "rank": np.arange(1, len(chosen) + 1),
            "product_id": self.interactions_.item_ids[chosen["item"].to_numpy()],
            "title": self.item_table_.title[chosen["item"].to_numpy()],
            "category": self.item_table_.category[chosen["item"].to_numpy()],
            "brand": self.item_table_.brand[chosen["item"].to_numpy()],
            "score": chosen["score"].to_numpy(dtype=float),
            "reason": [reason_text(pieces) for pieces in evidence],
        })
        parts = [items]
        if shap is not None:
            parts.append(shap.add_prefix("shap_"))
        parts.append(chosen[self.feature_names_].add_prefix("value_").reset_index(drop=True))
        return Recommendation(user_id, pd.concat(parts, axis=1), base_value, history, model)

    def _single_model_frame(self, row: int, model: str, k: int, item_filter: np.ndarray | None) -> pd.DataFrame:
        """The single model's top items (enough to survive the filter) with the ranker's features."""
        wanted = k if item_filter is None else min(self.n_items_, k * 20)
        items, scores = self.models_[model].candidates(np.array([row]), wanted)
        keep = items[0] >= 0
        frame = feature_frame(self.models_, self.interactions_, np.array([row]), np.zeros(int(keep.sum()), np.int64),
                              items[0][keep], self.item_table_, self.statistics_)
        return frame.assign(model_score=scores[0][keep])

    def _history(self, row: int, limit: int = 10) -> pd.DataFrame:
        matrix = self.interactions_.matrix
        items = matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]
        weights = matrix.data[matrix.indptr[row]:matrix.indptr[row + 1]]
        order = np.lexsort((items, -weights))[:limit]
        return pd.DataFrame({"product_id": self.interactions_.item_ids[items[order]],
                             "title": self.item_table_.title[items[order]],
                             "weight": weights[order].astype(float)})

    def _evidence(self, row: int, chosen: pd.DataFrame, strengths: pd.DataFrame) -> list[list[Evidence]]:
        """The reasons' evidence per shown item: each feature's strength, with anchors and values."""
        matrix = self.interactions_.matrix
        past = matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]
        weights = matrix.data[matrix.indptr[row]:matrix.indptr[row + 1]]
        items = chosen["item"].to_numpy()
        # Votes of the user's past items for the shown items, per item-to-item model, computed once.
        votes: dict[str, np.ndarray | None] = {}
        for kind in ANCHORED_KINDS:
            model = self.models_.get(kind)
            votes[kind] = model.votes(past, weights, items) if model is not None and len(past) else None
        segment = None
        if self.user_segments_ is not None:
            segment = self.user_segments_.get(self.interactions_.user_ids[row])
        price_ratio = chosen["price_ratio"].to_numpy() if "price_ratio" in chosen else np.full(len(chosen), np.nan)
        # A kind's strength is the sum over its features (a model's score and its rank push together).
        kinds = pd.Series([REASON_KINDS.get(feature) for feature in strengths.columns], index=strengths.columns)
        by_kind = strengths.loc[:, kinds.notna().to_numpy()].T.groupby(kinds.dropna().to_numpy(), sort=False).sum().T
        # Plain arrays: pandas indexing per item and kind cost more than the rest of serving.
        kind_names, kind_strengths = list(by_kind.columns), by_kind.to_numpy(dtype=np.float64)
        result = []
        for position, item in enumerate(items):
            pieces = []
            for column, kind in enumerate(kind_names):
                strength = float(kind_strengths[position, column])
                anchor = value = None
                if kind in ANCHORED_KINDS:
                    block = votes.get(kind)
                    if block is not None and np.any(block[:, position] > 0):
                        anchor = self._title(past[int(np.argmax(block[:, position]))])
                elif kind == "popularity":
                    value = segment if isinstance(segment, str) else None
                elif kind == "brand":
                    value = self.item_table_.brand[item]
                elif kind == "category":
                    value = self.item_table_.category[item]
                elif kind == "price":
                    value = float(price_ratio[position])
                pieces.append(Evidence(kind, strength, anchor, value))
            result.append(pieces)
        return result

    def _title(self, item: int) -> str:
        title = self.item_table_.title[item]
        return title if isinstance(title, str) and title else str(self.interactions_.item_ids[item])


def _top_per_row(rows_of_pairs: np.ndarray, items: np.ndarray, scores: np.ndarray, rows: np.ndarray, k: int,
                 with_scores: bool = False):
    """The k best items per user row from scored (row, item) pairs, shaped (len(rows), k), -1 padded."""
    result = np.full((len(rows), k), -1, dtype=np.int64)
    values = np.full((len(rows), k), -np.inf)
    if len(items):
        position = pd.Index(rows).get_indexer(rows_of_pairs)
        order = np.lexsort((items, -scores, position))
        sorted_position = position[order]
        rank = np.arange(len(order)) - np.searchsorted(sorted_position, sorted_position, side="left")
        keep = rank < k
        result[sorted_position[keep], rank[keep]] = items[order][keep]
        values[sorted_position[keep], rank[keep]] = scores[order][keep]
    return (result, values) if with_scores else result


def _single_model_strengths(chosen: pd.DataFrame, model: str, feature_names: list[str]) -> pd.DataFrame:
    """Evidence strengths when one model serves: its own signal first, then the item's attributes.

    The serving model's kind gets strength 2 (always first); brand, category and subcategory shares
    of at least 0.3 count 1 (the user's favourite), everything else 0.
    """
    strengths = pd.DataFrame(0.0, index=chosen.index, columns=[f"{model}_score", *feature_names])
    strengths = strengths.loc[:, ~strengths.columns.duplicated()]
    strengths[f"{model}_score"] = 2.0
    for feature in ("brand_share", "category_share", "subcategory_share"):
        if feature in chosen:
            strengths[feature] = (chosen[feature].to_numpy() >= 0.3).astype(float)
    return strengths


def _empty_items() -> pd.DataFrame:
    return pd.DataFrame(columns=["rank", "product_id", "title", "category", "brand", "score", "reason"])
