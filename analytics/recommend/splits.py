"""Splits of an interaction log: what a model learns from, and what it is asked to find.

Two uses share one rule, so the ranker learns the task it is tested on:

- evaluation (`warehouse_split`, `movielens_split`): train on the past, test on the items each
  user touched for the first time afterwards;
- the hybrid's own labels (`HeldOut`): the base models learn from a user's earlier history, the
  ranker from the items the user first touched in a later window of the training data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from analytics.errors import ShopLensError
from analytics.recommend import data as recommend_data
from analytics.recommend.cooccurrence import basket_matrix
from analytics.recommend.data import InteractionMatrix


@dataclass(frozen=True)
class SplitData:
    """What a split hands the models: the training matrix, side data, and the held-out truth.

    Attributes:
        train: users × items training interactions.
        truth: user_id -> the items the user touched first after the training data.
        products: the catalogue indexed by product_id (may have no columns).
        user_segments: segment per user_id, or None.
        order_baskets, session_baskets: order × item and session × item matrices before the cut, or None.
        held_out: the hybrid's exact label split inside the training data, or None (it then makes its own).
    """

    train: InteractionMatrix
    truth: dict[str, set]
    products: pd.DataFrame
    user_segments: pd.Series | None
    order_baskets: InteractionMatrix | None = None
    session_baskets: InteractionMatrix | None = None
    held_out: HeldOut | None = None


@dataclass(frozen=True)
class HeldOut:
    """The hybrid's labels: base models learn `history`, the ranker learns to find `labels`.

    Attributes:
        history: the interactions before the label window (same rows and columns as the full matrix).
        labels: CSR of the same shape; stored entries are the (user, item) pairs first touched in the
            label window (or drawn at random), which `history` does not contain.
        method: "time" or "random", for the model card.
    """

    history: InteractionMatrix
    labels: sp.csr_matrix
    method: str

    def has_training_users(self) -> bool:
        """Whether some user has both history and labels (the ranker has something to learn)."""
        return bool(np.any((np.diff(self.history.matrix.indptr) > 0) & (np.diff(self.labels.indptr) > 0)))


def fresh_pairs(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """The rows of `after` whose (user_id, product_id) pair does not occur in `before`."""
    seen = pd.MultiIndex.from_frame(before[["user_id", "product_id"]])
    pairs = pd.MultiIndex.from_frame(after[["user_id", "product_id"]])
    return after[~pairs.isin(seen)]


def _entries(interactions: InteractionMatrix, keep: np.ndarray) -> InteractionMatrix:
    """The interactions whose stored entries (in CSR order) are flagged in `keep`, times included."""
    def subset(matrix: sp.csr_matrix | None) -> sp.csr_matrix | None:
        if matrix is None:
            return None
        return _keep_entries(matrix, keep)

    return InteractionMatrix(interactions.user_ids, interactions.item_ids, subset(interactions.matrix),
                             _aligned(interactions.last_event_days, interactions.matrix, keep),
                             _aligned(interactions.first_event_days, interactions.matrix, keep))


def _keep_entries(matrix: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    coo = matrix.tocoo()
    return sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=matrix.shape)


def _aligned(times: sp.csr_matrix | None, matrix: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix | None:
    """`times` at the kept entries of `matrix` (times has the same sparsity pattern)."""
    if times is None:
        return None
    pattern = _keep_entries(matrix, keep)
    pattern.data[:] = 1.0
    return sp.csr_matrix(times.multiply(pattern))


def held_out_by_time(interactions: InteractionMatrix, label_days: int) -> HeldOut:
    """Labels = pairs first touched in the last `label_days` days; history = every other pair.

    Approximate when a pair first touched earlier was touched again inside the window: its weight and
    last time then include those later events. `warehouse_held_out` is exact.
    """
    if interactions.first_event_days is None:
        raise ShopLensError("label_days needs interaction times; pass event_time or use label_share")
    if label_days < 1:
        raise ShopLensError(f"label_days = {label_days} must be at least 1")
    # Stored ages are days + 1 (see InteractionMatrix); the pattern equals the weights' pattern.
    first = interactions.first_event_days.tocsr()
    first.sort_indices()
    matrix = interactions.matrix.tocsr()
    matrix.sort_indices()
    is_label = first.data - 1.0 < label_days
    interactions = InteractionMatrix(interactions.user_ids, interactions.item_ids, matrix,
                                     interactions.last_event_days, first)
    labels = _keep_entries(matrix, is_label)
    return HeldOut(_entries(interactions, ~is_label), labels, "time")


def held_out_at_random(interactions: InteractionMatrix, share: float, random_state: int) -> HeldOut:
    """Labels = a seeded random `share` of the stored pairs; history = the rest."""
    if not 0 < share < 1:
        raise ShopLensError(f"label_share = {share} must be between 0 and 1")
    rng = np.random.default_rng(random_state)
    is_label = rng.random(interactions.matrix.nnz) < share
    return HeldOut(_entries(interactions, ~is_label), _keep_entries(interactions.matrix, is_label), "random")


def frames_held_out(before: pd.DataFrame, window: pd.DataFrame, item_ids: pd.Index, user_ids: pd.Index) -> HeldOut:
    """Exact labels from two interaction frames: `before` the label window and `window` itself.

    Args:
        before: interactions (user_id, product_id, weight, event_time) before the label window.
        window: interactions inside it; pairs already in `before` are not labels.
        item_ids, user_ids: the rows and columns of the full matrix (labels and history share them).
    """
    history = InteractionMatrix.from_frame(before, item_ids=item_ids, user_ids=user_ids)
    fresh = fresh_pairs(before, window)
    rows, columns = user_ids.get_indexer(fresh["user_id"]), item_ids.get_indexer(fresh["product_id"])
    keep = (rows >= 0) & (columns >= 0)
    labels = sp.csr_matrix((np.ones(int(keep.sum()), np.float32), (rows[keep], columns[keep])),
                           shape=history.shape)
    return HeldOut(history, labels, "time")


def warehouse_held_out(con: Any, end_date: date, label_days: int, item_ids: pd.Index,
                       user_ids: pd.Index) -> HeldOut | None:
    """Exact time labels from the warehouse: the `label_days` days up to `end_date` against the days before.

    Returns:
        The HeldOut, or None when no user has both earlier history and fresh items in the window.
    """
    cut = end_date - timedelta(days=label_days - 1)
    before = recommend_data.load_interactions(con, end_date=cut - timedelta(days=1))
    window = recommend_data.load_interactions(con, start_date=cut, end_date=end_date)
    if before.empty or window.empty:
        return None
    held_out = frames_held_out(before, window, item_ids, user_ids)
    return held_out if held_out.has_training_users() else None


# --------------------------------------------------------------------------- evaluation splits


def warehouse_split(con: Any, holdout_days: int = 28, label_days: int | None = None, end_date: date | None = None,
                    ) -> tuple[SplitData, date, date, date]:
    """Train on interactions before the last `holdout_days` days; truth = items first touched after.

    Args:
        con: a warehouse connection.
        holdout_days: the test window, >= 1.
        label_days: also prepare the hybrid's exact labels: the last `label_days` days of the
            training data (None: leave them to the hybrid).
        end_date: pretend the data ends on this day (default: the data end). A day before a test
            split's cut gives a validation split carved from its training data, for tuning.

    Returns:
        (split, training start, cut date (first held-out day), data end).
    """
    end = end_date or recommend_data.data_end_date(con)
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
    truth = fresh_pairs(train_frame, test_frame).groupby("user_id")["product_id"].apply(set).to_dict()
    before = cut - timedelta(days=1)
    orders = recommend_data.load_baskets(con, "order", before)
    sessions = recommend_data.load_baskets(con, "session", before)
    held_out = None
    if label_days is not None:
        held_out = warehouse_held_out(con, before, label_days, train.item_ids, train.user_ids)
    split = SplitData(train, truth, products, users["segment"],
                      basket_matrix(orders, products.index) if len(orders) else None,
                      basket_matrix(sessions, products.index) if len(sessions) else None, held_out)
    start = pd.Timestamp(train_frame["event_time"].min()).date()
    return split, start, cut, end


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
