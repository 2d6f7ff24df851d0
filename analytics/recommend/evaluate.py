"""Offline evaluation: a time split of the warehouse, MovieLens 100K's published protocol, Diginetica sessions.

Every model is fitted on the training part and recommends K unseen items to
each evaluated user; the held-out interactions are the relevant items. The
leaderboard has precision, recall, NDCG, MAP and hit rate at K, catalogue
coverage and novelty, training seconds and inference seconds (all evaluated
users), and the same metrics on the cold-start subset: users with at most
`COLD_START_ITEMS` training interactions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from analytics.errors import ShopLensError
from analytics.recommend import data as recommend_data
from analytics.recommend.base import Recommender, top_k
from analytics.recommend.collaborative import ALSRecommender, EASERecommender
from analytics.recommend.content import ContentRecommender
from analytics.recommend.cooccurrence import CooccurrenceRecommender, basket_matrix
from analytics.recommend.data import InteractionMatrix
from analytics.recommend.hybrid import HybridRecommender
from analytics.recommend.metrics import coverage, evaluate_rankings, novelty
from analytics.recommend.popularity import PopularityRecommender

Progress = Callable[[str, int, int], None]
COLD_START_ITEMS = 3
DEFAULT_HOLDOUT_DAYS = 28
MODEL_NAMES: tuple[str, ...] = ("popularity", "popularity_segment", "trending", "cooccurrence", "als", "ease",
                                "content", "hybrid")
SINGLE_MODELS: tuple[str, ...] = tuple(name for name in MODEL_NAMES if name != "hybrid")
BATCH_USERS = 2_000


@dataclass(frozen=True)
class Leaderboard:
    """Every model's offline metrics on one split.

    Attributes:
        dataset: "warehouse", "movielens100k" or "diginetica_sample".
        protocol: one sentence on the split.
        k: the cut-off.
        models: one row per model: model, precision@k, recall@k, ndcg@k, map@k, map (Recommenders'
            normalisation), hit_rate@k, coverage (0–1), novelty (bits), train_seconds,
            inference_seconds (all evaluated users), users (evaluated).
        cold_start: the same columns on users with 1–COLD_START_ITEMS training interactions (may be empty).
        train_start, cut, test_end: the training start, first held-out instant and the data end (time splits).
        hybrid: the fitted hybrid when asked to keep it, else None.
        validation_frame: the hybrid's candidate features on the evaluated users with `label`
            (1 = held out), when the hybrid is kept.
    """

    dataset: str
    protocol: str
    k: int
    models: pd.DataFrame
    cold_start: pd.DataFrame
    train_start: pd.Timestamp | None = None
    cut: pd.Timestamp | None = None
    test_end: pd.Timestamp | None = None
    hybrid: HybridRecommender | None = None
    validation_frame: pd.DataFrame | None = None

    def best_single(self, metric: str = "ndcg@10") -> pd.Series:
        """The best row that is not the hybrid, by `metric`."""
        singles = self.models[self.models["model"] != "hybrid"]
        return singles.loc[singles[metric].idxmax()]


@dataclass(frozen=True)
class SplitData:
    """What a split hands the models: the training matrix, side data, and the held-out truth."""

    train: InteractionMatrix
    truth: dict[str, set]
    products: pd.DataFrame
    user_segments: pd.Series | None
    order_baskets: InteractionMatrix | None = None
    session_baskets: InteractionMatrix | None = None


def model_factories(split: SplitData, label_days: int | None, random_state: int,
                    threads: int = 2) -> dict[str, Callable[[], Recommender]]:
    """name -> a function fitting that model on the split's training data."""
    train = split.train
    factories: dict[str, Callable[[], Recommender]] = {
        "popularity": lambda: PopularityRecommender().fit(train),
        "cooccurrence": lambda: CooccurrenceRecommender().fit(train),
        "als": lambda: ALSRecommender(threads=threads, random_state=random_state).fit(train),
        "ease": lambda: EASERecommender().fit(train),
    }
    if split.user_segments is not None:
        factories["popularity_segment"] = lambda: PopularityRecommender().fit(train, split.user_segments)
    if train.last_event_days is not None and label_days is not None:
        factories["trending"] = lambda: PopularityRecommender(half_life_days=14).fit(train)
    if len(split.products.columns):
        factories["content"] = lambda: ContentRecommender().fit(train, recommend_data.item_text(split.products))
    factories["hybrid"] = lambda: HybridRecommender(label_days=label_days, threads=threads,
                                                    random_state=random_state).fit(
        train, split.products, split.user_segments, split.order_baskets, split.session_baskets)
    return factories


def evaluate_split(split: SplitData, k: int, models: Sequence[str] | None = None, label_days: int | None = None,
                   random_state: int = 42, progress: Progress | None = None,
                   keep_hybrid: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, HybridRecommender | None,
                                                       pd.DataFrame | None]:
    """Fit and score each model on a split.

    Returns:
        (models table, cold-start table, the hybrid if kept, its validation frame if kept).
    """
    report = progress or (lambda step, done, total: None)
    factories = model_factories(split, label_days, random_state)
    names = [name for name in (models or MODEL_NAMES) if name in factories]
    unknown = set(models or ()) - set(MODEL_NAMES)
    if unknown:
        raise ShopLensError(f"unknown model(s) {', '.join(sorted(unknown))}; choose from {', '.join(MODEL_NAMES)}")
    train = split.train
    users = [user for user in split.truth if train.rows_of([user])[0] >= 0]
    rows = train.rows_of(users)
    history_sizes = np.diff(train.matrix.indptr)[rows]
    cold = {user for user, size in zip(users, history_sizes) if size <= COLD_START_ITEMS}
    item_share = dict(zip(train.item_ids, np.asarray(train.binary().sum(axis=0)).ravel() / max(train.shape[0], 1)))
    table, cold_table = [], []
    hybrid = validation = None
    for step, name in enumerate(names):
        report(f"training {name}", step, len(names))
        started = time.perf_counter()
        model = factories[name]()
        train_seconds = time.perf_counter() - started
        started = time.perf_counter()
        recommendations = _recommend_all(model, train, users, rows, k)
        inference_seconds = time.perf_counter() - started
        truth = {user: split.truth[user] for user in users}
        scores = evaluate_rankings(recommendations, truth, k)
        extra = {"coverage": coverage(recommendations, train.shape[1]),
                 "novelty": novelty(recommendations, item_share),
                 "train_seconds": train_seconds, "inference_seconds": inference_seconds}
        table.append({"model": name, **scores, **extra})
        if cold:
            cold_scores = evaluate_rankings({user: recommendations[user] for user in cold},
                                            {user: truth[user] for user in cold}, k)
            cold_table.append({"model": name, **cold_scores,
                               "coverage": coverage({u: recommendations[u] for u in cold}, train.shape[1]),
                               "novelty": novelty({u: recommendations[u] for u in cold}, item_share)})
        if name == "hybrid" and keep_hybrid:
            hybrid = model
            validation = _validation_frame(model, train, users, rows, split.truth)
    report("done", len(names), len(names))
    return _finish(pd.DataFrame(table), k), _finish(pd.DataFrame(cold_table), k), hybrid, validation


def _finish(table: pd.DataFrame, k: int) -> pd.DataFrame:
    if table.empty:
        return table
    return table.sort_values(f"ndcg@{k}", ascending=False, kind="stable").reset_index(drop=True)


def _recommend_all(model: Recommender, train: InteractionMatrix, users: list, rows: np.ndarray,
                   k: int) -> dict[str, list]:
    recommendations: dict[str, list] = {}
    for start in range(0, len(rows), BATCH_USERS):
        batch = rows[start:start + BATCH_USERS]
        items, _ = model.recommend(batch, k)
        for user, ranked in zip(users[start:start + BATCH_USERS], items):
            recommendations[user] = [train.item_ids[item] for item in ranked if item >= 0]
    return recommendations


def _validation_frame(model: HybridRecommender, train: InteractionMatrix, users: list, rows: np.ndarray,
                      truth: dict) -> pd.DataFrame:
    frame = model._candidate_frame(model.models_, train, rows)
    user_of_row = dict(zip(rows, users))
    items = train.item_ids[frame["item"].to_numpy()]
    frame["label"] = [int(item in truth[user_of_row[row]]) for row, item in zip(frame["row"], items)]
    return frame.reset_index(drop=True)


# --------------------------------------------------------------------------- the warehouse


def warehouse_split(con: Any, holdout_days: int = DEFAULT_HOLDOUT_DAYS) -> tuple[SplitData, date, date, date]:
    """Train on interactions before the last `holdout_days` days; truth = items first touched after.

    Returns:
        (split, training start, cut date (first held-out day), data end).
    """
    end = recommend_data.data_end_date(con)
    if end is None:
        raise ShopLensError("the warehouse has no views, carts or purchases; build it from data with events")
    cut = end - timedelta(days=holdout_days - 1)
    train_frame = recommend_data.load_interactions(con, end_date=cut - timedelta(days=1))
    test_frame = recommend_data.load_interactions(con, start_date=cut, end_date=end)
    if train_frame.empty or test_frame.empty:
        raise ShopLensError(f"holding out the last {holdout_days} days leaves no training or test data; "
                            "pick fewer holdout days")
    products = recommend_data.load_products(con)
    users = recommend_data.load_users(con)
    train = InteractionMatrix.from_frame(train_frame, item_ids=products.index)
    seen = set(zip(train_frame["user_id"], train_frame["product_id"]))
    fresh = test_frame[[pair not in seen for pair in zip(test_frame["user_id"], test_frame["product_id"])]]
    truth = fresh.groupby("user_id")["product_id"].apply(set).to_dict()
    before = cut - timedelta(days=1)
    orders = recommend_data.load_baskets(con, "order", before)
    sessions = recommend_data.load_baskets(con, "session", before)
    split = SplitData(train, truth, products, users["segment"],
                      basket_matrix(orders, products.index) if len(orders) else None,
                      basket_matrix(sessions, products.index) if len(sessions) else None)
    start = pd.Timestamp(train_frame["event_time"].min()).date()
    return split, start, cut, end


def evaluate_warehouse(con: Any, k: int = 10, holdout_days: int = DEFAULT_HOLDOUT_DAYS,
                       models: Sequence[str] | None = None, keep_hybrid: bool = False, random_state: int = 42,
                       progress: Progress | None = None) -> Leaderboard:
    """The leaderboard on the warehouse, holding out the last `holdout_days` days.

    Args:
        con: a warehouse connection.
        k: list length, >= 1.
        holdout_days: the test window, >= 1; the hybrid's own labels are the same length before it.
        models: which of MODEL_NAMES to run (default all).
        keep_hybrid: return the fitted hybrid and its validation frame (for the explanation layer).
        random_state: seed.
        progress: progress(step, done, total).

    Returns:
        The Leaderboard (dataset "warehouse").
    """
    split, start, cut, end = warehouse_split(con, holdout_days)
    table, cold, hybrid, validation = evaluate_split(split, k, models, label_days=holdout_days,
                                                     random_state=random_state, progress=progress,
                                                     keep_hybrid=keep_hybrid)
    protocol = (f"Trained on {start} to {cut - timedelta(days=1)}, tested on the {holdout_days} days "
                f"{cut} to {end}: items a user first touched in the test days, for users with earlier history.")
    return Leaderboard("warehouse", protocol, k, table, cold, pd.Timestamp(start), pd.Timestamp(cut),
                       pd.Timestamp(end) + pd.Timedelta(days=1), hybrid, validation)


# --------------------------------------------------------------------------- MovieLens 100K


def movielens_split(folder: Path, ratio: float = 0.75, seed: int = 42) -> SplitData:
    """MovieLens 100K under the Microsoft Recommenders protocol: per-user stratified split, ratings as implicit."""
    dataset = recommend_data.load_movielens_100k(folder)
    train_frame, test_frame = recommend_data.stratified_split(dataset.interactions, ratio, seed)
    items = pd.Index(sorted(dataset.interactions["product_id"].unique()))
    # Times off: the protocol's split is random, so "recent" carries no signal the test can reward.
    train = InteractionMatrix.from_frame(train_frame.drop(columns="event_time"), item_ids=items)
    truth = test_frame.groupby("user_id")["product_id"].apply(set).to_dict()
    segments = dataset.users["segment"] if "segment" in dataset.users else None
    return SplitData(train, truth, dataset.products, segments)


def evaluate_movielens(folder: Path, k: int = 10, models: Sequence[str] | None = None, random_state: int = 42,
                       progress: Progress | None = None) -> Leaderboard:
    """The leaderboard on MovieLens 100K (stratified 75/25 per user, seed 42, seen items removed)."""
    split = movielens_split(folder)
    table, cold, _, _ = evaluate_split(split, k, models, label_days=None, random_state=random_state,
                                       progress=progress)
    protocol = ("MovieLens 100K, every rating an implicit interaction, 75/25 split stratified per user "
                "(seed 42, as recommenders.python_stratified_split), items seen in training removed.")
    return Leaderboard("movielens100k", protocol, k, table, cold)


# --------------------------------------------------------------------------- Diginetica sessions


def evaluate_diginetica(folder: Path, k: int = 10, test_share: float = 0.2, ease_items: int = 3_000,
                        progress: Progress | None = None) -> Leaderboard:
    """Session-based "viewed together" on the Diginetica sample: predict each test session's last view.

    The latest `test_share` of sessions (by start time) with at least two distinct items are the
    test; the rest train item-to-item models. Each test session's earlier items are the input,
    its last distinct item the one relevant item, items already in the session removed.

    Returns:
        Leaderboard with popularity, viewed-together (confidence and jaccard) and EASE.
    """
    report = progress or (lambda step, done, total: None)
    dataset = recommend_data.load_diginetica_sample(folder)
    views = dataset.interactions.sort_values(["user_id", "event_time"])
    starts = views.groupby("user_id")["event_time"].min().sort_values(kind="stable")
    test_sessions = set(starts.index[int(len(starts) * (1 - test_share)):])
    train_frame = views[~views["user_id"].isin(test_sessions)]
    test_frame = views[views["user_id"].isin(test_sessions)].drop_duplicates(["user_id", "product_id"], keep="last")
    items = pd.Index(sorted(views["product_id"].unique()))
    train = InteractionMatrix.from_frame(train_frame.drop(columns="event_time"), item_ids=items)
    inputs, truth = [], {}
    for session, group in test_frame.groupby("user_id", sort=False):
        if len(group) < 2:
            continue
        inputs.append((session, group["product_id"].iloc[:-1].tolist()))
        truth[session] = {group["product_id"].iloc[-1]}
    sessions = [session for session, _ in inputs]
    rows = np.repeat(np.arange(len(inputs)), [len(listed) for _, listed in inputs])
    columns = items.get_indexer([item for _, listed in inputs for item in listed])
    history = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, columns)), shape=(len(inputs), len(items)))
    candidates: dict[str, Callable[[], Any]] = {
        "popularity": lambda: PopularityRecommender().fit(train),
        "viewed_together_confidence": lambda: CooccurrenceRecommender(similarity="confidence").fit(train),
        "viewed_together_jaccard": lambda: CooccurrenceRecommender(similarity="jaccard").fit(train),
        "ease": lambda: EASERecommender(l2=50.0, max_items=ease_items).fit(train),
    }
    item_share = dict(zip(items, np.asarray(train.binary().sum(axis=0)).ravel() / max(train.shape[0], 1)))
    table = []
    for step, (name, fit) in enumerate(candidates.items()):
        report(f"training {name}", step, len(candidates))
        started = time.perf_counter()
        model = fit()
        train_seconds = time.perf_counter() - started
        started = time.perf_counter()
        if isinstance(model, PopularityRecommender):
            scores = np.tile(model.popularity_, (len(inputs), 1))
        else:
            scores = model.score_history(history)
        scores[history.nonzero()] = -np.inf
        # Ties at zero would otherwise be broken by item id; popularity breaks them instead.
        scores = scores + 1e-9 * model_popularity(train)[np.newaxis, :]
        ranked, _ = top_k(scores, k)
        inference_seconds = time.perf_counter() - started
        recommendations = {session: [items[item] for item in row if item >= 0] for session, row in zip(sessions, ranked)}
        table.append({"model": name, **evaluate_rankings(recommendations, truth, k),
                      "coverage": coverage(recommendations, len(items)),
                      "novelty": novelty(recommendations, item_share),
                      "train_seconds": train_seconds, "inference_seconds": inference_seconds})
    protocol = (f"Diginetica sample: the latest {test_share:.0%} of sessions are the test; each test session's "
                "earlier views predict its last distinct view (one relevant item), items already viewed removed.")
    return Leaderboard("diginetica_sample", protocol, k, _finish(pd.DataFrame(table), k), pd.DataFrame())


def model_popularity(train: InteractionMatrix) -> np.ndarray:
    """Distinct users per item, scaled to 0–1."""
    counts = np.asarray(train.binary().sum(axis=0)).ravel().astype(np.float64)
    return counts / max(counts.max(), 1.0)
