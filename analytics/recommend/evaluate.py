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
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from analytics.errors import ShopLensError
from analytics.recommend import data as recommend_data
from analytics.recommend.base import Progress, Recommender, no_progress, top_k
from analytics.recommend.champion import HYBRID
from analytics.recommend.collaborative import EASERecommender
from analytics.recommend.cooccurrence import CooccurrenceRecommender
from analytics.recommend.data import InteractionMatrix
from analytics.recommend.metrics import coverage, evaluate_rankings, novelty
from analytics.recommend.popularity import PopularityRecommender
from analytics.recommend.ranker import HybridRecommender
from analytics.recommend.splits import SplitData, movielens_split, warehouse_split

COLD_START_ITEMS = 3
DEFAULT_HOLDOUT_DAYS = 28
# The seed of every evaluation unless told otherwise (the ranker's card reuses the warehouse one's hybrid).
DEFAULT_SEED = 42
MODEL_NAMES: tuple[str, ...] = ("popularity", "popularity_segment", "trending", "cooccurrence", "als", "ease",
                                "content", "hybrid")
SINGLE_MODELS: tuple[str, ...] = tuple(name for name in MODEL_NAMES if name != "hybrid")
# Leaderboard name -> the hybrid's base model it is (the hybrid reuses the fitted single models).
HYBRID_BASE_OF: dict[str, str] = {"popularity_segment": "popularity", "trending": "trending",
                                  "cooccurrence": "cooccurrence", "als": "als", "ease": "ease", "content": "content"}
BATCH_USERS = 2_000
# Progress units of the hybrid (its own steps are scaled into them) against 2 per single model.
HYBRID_UNITS = 10

__all__ = ["Leaderboard", "SplitData", "evaluate_split", "evaluate_warehouse", "evaluate_movielens",
           "evaluate_diginetica", "movielens_split", "warehouse_split", "MODEL_NAMES"]


@dataclass(frozen=True)
class Leaderboard:
    """Every model's offline metrics on one split.

    Attributes:
        dataset: "warehouse", "movielens100k" or "diginetica_sample".
        protocol: one sentence on the split.
        k: the cut-off.
        models: one row per model, best NDCG first: model, precision@k, recall@k, ndcg@k, map@k, map
            (Recommenders' normalisation), hit_rate@k, coverage (0–1), novelty (bits), train_seconds,
            inference_seconds (all evaluated users), users (evaluated).
        cold_start: the same columns on users with 1–COLD_START_ITEMS training interactions (may be empty).
        train_start, cut, test_end: the training start, first held-out instant and the data end (time splits).
        hybrid: the fitted hybrid when asked to keep it, else None.
        validation_frame: the hybrid's candidate features on the evaluated users with `label`
            (1 = held out), when the hybrid is kept.
        champion: the model with the best NDCG@k on this split (the first row).
        champion_note: one plain sentence on the champion against the hybrid and the best single model.
        holdout_days, random_state: the warehouse split's held-out days and the seed (time splits only).
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
    champion: str | None = None
    champion_note: str = ""
    holdout_days: int | None = None
    random_state: int | None = None

    def best_single(self, metric: str = "ndcg@10") -> pd.Series:
        """The best row that is not the hybrid, by `metric`."""
        singles = self.models[self.models["model"] != HYBRID]
        return singles.loc[singles[metric].idxmax()]


def champion_note(models: pd.DataFrame, k: int) -> tuple[str | None, str]:
    """(champion, sentence): the best model by NDCG@k and how the hybrid compares with the best single model."""
    metric = f"ndcg@{k}"
    if models.empty:
        return None, ""
    best = models.iloc[0]
    singles = models[models["model"] != HYBRID]
    hybrid = models[models["model"] == HYBRID]
    if hybrid.empty or singles.empty:
        return str(best["model"]), f"{best['model']} has the best NDCG@{k} ({best[metric]:.4f})."
    single, hybrid_value = singles.iloc[0], float(hybrid[metric].iloc[0])
    ratio = hybrid_value / single[metric] if single[metric] > 0 else float("nan")
    if best["model"] == HYBRID:
        return HYBRID, (f"The hybrid is the champion: NDCG@{k} {hybrid_value:.4f} against the best single model, "
                        f"{single['model']} ({single[metric]:.4f}), {ratio:.2f}x.")
    return str(single["model"]), (f"{single['model']} is the champion: NDCG@{k} {single[metric]:.4f} against the "
                                  f"hybrid's {hybrid_value:.4f} ({ratio:.2f}x); the hybrid does not beat it here.")


def model_factories(split: SplitData, label_days: int | None, random_state: int, threads: int = 2,
                    settings: dict[str, Any] | None = None,
                    ) -> tuple[HybridRecommender, dict[str, Callable[[], Recommender]]]:
    """The hybrid (unfitted, its settings) and name -> a function fitting each single model on the split.

    The single models are the hybrid's base models with the same settings, so the hybrid can reuse them.
    `settings` overrides HybridRecommender parameters (e.g. EASE's chosen on a validation split).
    """
    train = split.train
    hybrid = HybridRecommender(label_days=label_days, threads=threads, random_state=random_state,
                               **(settings or {}))
    bases = hybrid.base_model_factories(train, split.products, split.user_segments)
    factories: dict[str, Callable[[], Recommender]] = {"popularity": lambda: PopularityRecommender().fit(train)}
    for name, base_name in HYBRID_BASE_OF.items():
        if base_name in bases and (name != "popularity_segment" or split.user_segments is not None):
            factories[name] = bases[base_name]
    return hybrid, factories


def evaluate_split(split: SplitData, k: int, models: Sequence[str] | None = None, label_days: int | None = None,
                   random_state: int = DEFAULT_SEED, progress: Progress | None = None,
                   keep_hybrid: bool = False, settings: dict[str, Any] | None = None,
                   ) -> tuple[pd.DataFrame, pd.DataFrame, HybridRecommender | None, pd.DataFrame | None]:
    """Fit and score each model on a split.

    Args:
        split: the data.
        k: list length, >= 1.
        models: names from MODEL_NAMES (default all the data allows).
        label_days: the hybrid's label window (None: a random share).
        random_state: seed.
        progress: progress(step, done, total); an exception raised in it stops the evaluation.
        keep_hybrid: also return the fitted hybrid and its candidate frame on the evaluated users.
        settings: HybridRecommender parameters for the hybrid and the single models (see model_factories).

    Returns:
        (models table, cold-start table, the hybrid if kept, its validation frame if kept).
    """
    report = progress or no_progress
    unknown = set(models or ()) - set(MODEL_NAMES)
    if unknown:
        raise ShopLensError(f"unknown model(s) {', '.join(sorted(unknown))}; choose from {', '.join(MODEL_NAMES)}")
    hybrid_model, factories = model_factories(split, label_days, random_state, settings=settings)
    names = [name for name in (models or MODEL_NAMES) if name in factories or name == HYBRID]
    train = split.train
    users = [user for user in split.truth if train.rows_of([user])[0] >= 0]
    rows = train.rows_of(users)
    history_sizes = np.diff(train.matrix.indptr)[rows]
    cold = {user for user, size in zip(users, history_sizes) if size <= COLD_START_ITEMS}
    item_share = dict(zip(train.item_ids, np.asarray(train.binary().sum(axis=0)).ravel() / max(train.shape[0], 1)))
    truth = {user: split.truth[user] for user in users}
    total = 2 * sum(name != HYBRID for name in names) + (HYBRID_UNITS if HYBRID in names else 0)
    done = 0
    table, cold_table, fitted = [], [], {}
    hybrid = validation = None
    for name in names:
        started = time.perf_counter()
        if name == HYBRID:
            offset = done

            def inner(step: str, inner_done: int, inner_total: int, offset: int = offset) -> None:
                report(f"hybrid: {step}", offset + int((HYBRID_UNITS - 1) * inner_done / max(inner_total, 1)), total)

            reuse = {HYBRID_BASE_OF[single]: model for single, model in fitted.items() if single in HYBRID_BASE_OF}
            model = hybrid_model.fit(train, split.products, split.user_segments, split.order_baskets,
                                     split.session_baskets, progress=inner, held_out=split.held_out,
                                     fitted_models=reuse)
            done += HYBRID_UNITS - 1
        else:
            report(f"training {name}", done, total)
            model = factories[name]()
            fitted[name] = model
            done += 1
        train_seconds = time.perf_counter() - started
        report(f"scoring {name}", done, total)
        started = time.perf_counter()
        recommendations = _recommend_all(model, train, users, rows, k)
        inference_seconds = time.perf_counter() - started
        done += 1
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
        if name == HYBRID and keep_hybrid:
            hybrid = model
            validation = _validation_frame(model, train, users, rows, split.truth)
    report("done", total, total)
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
    frame = model.candidate_frame(rows)
    user_of_row = dict(zip(rows, users))
    items = train.item_ids[frame["item"].to_numpy()]
    frame["label"] = [int(item in truth[user_of_row[row]]) for row, item in zip(frame["row"], items)]
    return frame.reset_index(drop=True)


# --------------------------------------------------------------------------- the warehouse


def evaluate_warehouse(con: Any, k: int = 10, holdout_days: int = DEFAULT_HOLDOUT_DAYS,
                       models: Sequence[str] | None = None, keep_hybrid: bool = False, random_state: int = DEFAULT_SEED,
                       progress: Progress | None = None) -> Leaderboard:
    """The leaderboard on the warehouse, holding out the last `holdout_days` days.

    Args:
        con: a warehouse connection.
        k: list length, >= 1.
        holdout_days: the test window, >= 1; the hybrid's own labels are the same length before it.
        models: which of MODEL_NAMES to run (default all).
        keep_hybrid: return the fitted hybrid and its validation frame (for the explanation layer).
        random_state: seed.
        progress: progress(step, done, total); an exception raised in it stops the evaluation.

    Returns:
        The Leaderboard (dataset "warehouse").
    """
    report = progress or no_progress
    report("reading interactions", 0, 1)
    with_hybrid = models is None or HYBRID in models
    split, start, cut, end = warehouse_split(con, holdout_days, label_days=holdout_days if with_hybrid else None)
    table, cold, hybrid, validation = evaluate_split(split, k, models, label_days=holdout_days,
                                                     random_state=random_state, progress=progress,
                                                     keep_hybrid=keep_hybrid)
    protocol = (f"Trained on {start} to {cut - timedelta(days=1)}, tested on the {holdout_days} days "
                f"{cut} to {end}: items a user first touched in the test days, for users with earlier history.")
    champion, note = champion_note(table, k)
    return Leaderboard("warehouse", protocol, k, table, cold, pd.Timestamp(start), pd.Timestamp(cut),
                       pd.Timestamp(end) + pd.Timedelta(days=1), hybrid, validation, champion, note,
                       holdout_days, random_state)


# --------------------------------------------------------------------------- MovieLens 100K


# EASE settings tried on MovieLens (penalty λ × dropout p); the best on a validation split carved from the
# training data serves the leaderboard. λ from a hundred to a thousand spans the optimum on 1,682 items.
EASE_GRID: tuple[tuple[float, float], ...] = tuple((l2, dropout) for l2 in (100.0, 200.0, 300.0, 500.0, 800.0)
                                                    for dropout in (0.0, 0.25, 0.5))


def select_ease(train_frame: pd.DataFrame, items: pd.Index, grid: Sequence[tuple[float, float]] = EASE_GRID,
                k: int = 10, seed: int = 7) -> tuple[dict[str, float], pd.DataFrame]:
    """EASE's penalty and dropout by NDCG@k on a validation split carved from the training rows only.

    The training rows are split again per user (75/25, `seed`); each setting is fitted on the 75% and
    scored on the 25%. The test rows are never seen.

    Returns:
        ({"ease_l2": λ, "ease_dropout": p} of the best setting, table l2, dropout, ndcg@k).
    """
    inner, validation = recommend_data.stratified_split(train_frame.reset_index(drop=True), 0.75, seed)
    matrix = InteractionMatrix.from_frame(inner.drop(columns="event_time", errors="ignore"), item_ids=items)
    truth = validation.groupby("user_id")["product_id"].apply(set).to_dict()
    users = [user for user in truth if matrix.rows_of([user])[0] >= 0]
    rows = matrix.rows_of(users)
    table = []
    for l2, dropout in grid:
        model = EASERecommender(l2=l2, dropout=dropout).fit(matrix)
        ranked, _ = model.recommend(rows, k)
        lists = {user: [items[item] for item in row if item >= 0] for user, row in zip(users, ranked)}
        table.append({"l2": l2, "dropout": dropout, f"ndcg@{k}": evaluate_rankings(lists, truth, k)[f"ndcg@{k}"]})
    table = pd.DataFrame(table)
    best = table.loc[table[f"ndcg@{k}"].idxmax()]
    return {"ease_l2": float(best["l2"]), "ease_dropout": float(best["dropout"])}, table


def evaluate_movielens(folder: Path, k: int = 10, models: Sequence[str] | None = None, random_state: int = DEFAULT_SEED,
                       progress: Progress | None = None, tune: bool = True) -> Leaderboard:
    """The leaderboard on MovieLens 100K (stratified 75/25 per user, seed 42, seen items removed).

    Args:
        folder: the unpacked ml-100k folder.
        k: list length.
        models: which of MODEL_NAMES to run (default all).
        random_state: seed.
        progress: progress(step, done, total).
        tune: choose EASE's settings on a validation split carved from the training rows (`select_ease`).
    """
    report = progress or no_progress
    dataset = recommend_data.load_movielens_100k(folder)
    train_frame, _ = recommend_data.stratified_split(dataset.interactions, 0.75, 42)
    split = movielens_split(folder)
    settings, chosen = None, ""
    if tune:
        report("choosing EASE's settings on a validation split", 0, 1)
        settings, _ = select_ease(train_frame, split.train.item_ids, k=k)
        chosen = (f" EASE's λ = {settings['ease_l2']:g} and dropout = {settings['ease_dropout']:g} were chosen on a "
                  "validation split carved from the training rows (75/25 per user, seed 7).")
    table, cold, _, _ = evaluate_split(split, k, models, label_days=None, random_state=random_state,
                                       progress=progress, settings=settings)
    protocol = ("MovieLens 100K, every rating an implicit interaction, 75/25 split stratified per user "
                "(seed 42, as recommenders.python_stratified_split), items seen in training removed." + chosen)
    champion, note = champion_note(table, k)
    return Leaderboard("movielens100k", protocol, k, table, cold, champion=champion, champion_note=note)


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
