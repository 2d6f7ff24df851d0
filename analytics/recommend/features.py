"""The hybrid's candidates and the features it ranks them by.

Candidates are the union of each base model's top unseen items per user (from
`Recommender.candidates`), so a user's list is bounded by the number of models
times `per_model`, whatever the catalogue size. Features describe each
(user, candidate) pair:

- every base model's score of the pair relative to the user's best candidate
  under that model (`<model>_score`, at most 1) and the pair's rank among the
  user's candidates (`<model>_rank`, 1 = best);
- the item: log of the share of users who touched it, and the share of those
  who did so recently (trend);
- the pair: the share of the user's history in the item's brand, category and
  subcategory, and the item's price against the user's usual price.

Every feature is free of the data's scale on purpose. The ranker learns from
base models fitted on the history before its labels and is then served with
base models refitted on everything: raw scores and counts grow with the data
(more users, longer histories), so a tree split learned on them would land in
the wrong place at serving; ranks and shares do not move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from analytics.recommend.base import Recommender
from analytics.recommend.data import InteractionMatrix

MODEL_LABELS: dict[str, str] = {
    "popularity": "popularity in the user's segment",
    "trending": "recent popularity",
    "cooccurrence": "co-occurrence with the user's items",
    "als": "ALS taste match",
    "ease": "EASE",
    "content": "text similarity to the user's items",
    "bought_together": "bought together with the user's items",
    "viewed_together": "viewed together with the user's items",
}
FEATURE_LABELS: dict[str, str] = {
    **{f"{name}_score": f"{label.capitalize()} (relative score)" for name, label in MODEL_LABELS.items()},
    **{f"{name}_rank": f"{label.capitalize()} (rank)" for name, label in MODEL_LABELS.items()},
    "item_users_log": "Item popularity (log share of users)",
    "item_trend": "Item's recent share of its users",
    "brand_share": "Share of the user's history in the item's brand",
    "category_share": "Share of the user's history in the item's category",
    "subcategory_share": "Share of the user's history in the item's subcategory",
    "price_ratio": "Item price ÷ user's usual price",
}
RANKED_MODELS: tuple[str, ...] = tuple(MODEL_LABELS)
# A higher base-model score may only raise an item (and a worse rank only lower it).
MONOTONE: dict[str, int] = {
    **{f"{name}_score": 1 for name in MODEL_LABELS},
    **{f"{name}_rank": -1 for name in MODEL_LABELS},
}
# Which base model's kind of reason a feature speaks for ("brand", "category", "price" are the item's own).
REASON_KINDS: dict[str, str] = {
    **{f"{name}_score": name for name in MODEL_LABELS},
    **{f"{name}_rank": name for name in MODEL_LABELS},
    "item_users_log": "popularity", "item_trend": "trending", "brand_share": "brand",
    "category_share": "category", "subcategory_share": "category", "price_ratio": "price",
}
# Days that count as "recent" for the item trend.
TREND_DAYS = 28


@dataclass(frozen=True)
class ItemTable:
    """Per-item arrays aligned to the matrix columns, so features and serving never reindex frames.

    Attributes:
        title, category, brand: object arrays (None when unknown).
        codes: attribute -> integer code per item ("brand", "category", "subcategory"), when known.
        list_price: float array (NaN when unknown), or None when the catalogue has no prices.
    """

    title: np.ndarray
    category: np.ndarray
    brand: np.ndarray
    codes: dict[str, np.ndarray]
    list_price: np.ndarray | None

    @classmethod
    def build(cls, products: pd.DataFrame, item_ids: pd.Index) -> ItemTable:
        """From a catalogue indexed by product_id (title, category, category_path, brand, list_price; all optional)."""
        aligned = products.reindex(item_ids)

        def column(name: str) -> np.ndarray:
            if name in aligned:
                return aligned[name].astype(object).where(aligned[name].notna(), None).to_numpy(dtype=object)
            return np.full(len(aligned), None, dtype=object)

        codes: dict[str, np.ndarray] = {}
        for name in ("brand", "category"):
            if name in aligned and aligned[name].notna().any():
                codes[name] = pd.factorize(aligned[name].fillna("unknown"))[0]
        if "category_path" in aligned and aligned["category_path"].notna().any():
            # The first two levels of the path: "Grocery > Cold cereal".
            levels = aligned["category_path"].fillna("").astype(str).str.split(" > ").str[:2].str.join(" > ")
            codes["subcategory"] = pd.factorize(levels)[0]
        price = None
        if "list_price" in aligned and aligned["list_price"].notna().any():
            price = aligned["list_price"].to_numpy(float)
        return cls(column("title"), column("category"), column("brand"), codes, price)


def candidate_pairs(models: Mapping[str, Recommender], rows: np.ndarray, per_model: Mapping[str, int],
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The union of each model's top unseen items per user.

    Args:
        models: name -> fitted base model (all on the same interactions).
        rows: user rows, shape (m,).
        per_model: name -> candidates taken from that model; models not listed give none.

    Returns:
        (positions, items): position into `rows` and item column of each candidate, sorted by
        position then item, without duplicates.
    """
    n_items = next(iter(models.values())).n_items_
    keys = []
    for name, count in per_model.items():
        model = models.get(name)
        if model is None or count < 1:
            continue
        items, scores = model.candidates(rows, count)
        position = np.repeat(np.arange(len(rows)), items.shape[1])
        flat = items.ravel()
        ok = (flat >= 0) & np.isfinite(scores.ravel())
        if name not in ("popularity", "trending", "als", "ease"):
            # Neighbour and text models only propose items they actually connect to the user.
            ok &= scores.ravel() > 0
        keys.append(position[ok].astype(np.int64) * n_items + flat[ok])
    unique = np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.int64)
    return unique // n_items, unique % n_items


def rank_within(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
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


def relative_to_best(scores: np.ndarray, positions: np.ndarray, n_rows: int) -> np.ndarray:
    """Each score divided by the largest |score| among the same user's candidates (0 when all are 0)."""
    best = np.zeros(n_rows)
    np.maximum.at(best, positions, np.abs(scores))
    scale = best[positions]
    return np.divide(scores, scale, out=np.zeros(len(scores)), where=scale > 0)


def item_statistics(interactions: InteractionMatrix, trend_days: int = TREND_DAYS) -> dict[str, np.ndarray]:
    """Per item: `users` (distinct users) and `recent_share` (share of them active in the last `trend_days`)."""
    binary = interactions.binary()
    users = np.asarray(binary.sum(axis=0)).ravel().astype(np.float64)
    recent_share = np.zeros(len(users))
    if interactions.last_event_days is not None:
        recent = interactions.last_event_days.copy()
        # Stored ages are days + 1 (see InteractionMatrix).
        recent.data = (recent.data - 1.0 < trend_days).astype(np.float32)
        recent_users = np.asarray(recent.sum(axis=0)).ravel()
        recent_share = np.divide(recent_users, users, out=np.zeros(len(users)), where=users > 0)
    return {"users": users, "recent_share": recent_share}


def feature_frame(models: Mapping[str, Recommender], interactions: InteractionMatrix, rows: np.ndarray,
                  positions: np.ndarray, items: np.ndarray, table: ItemTable,
                  statistics: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """One row per (user row, candidate item) with every feature; rows grouped by user.

    Args:
        models: name -> fitted base model on `interactions`.
        interactions: the matrix the models were fitted on (the user's history).
        rows: user rows; positions index into it.
        positions, items: the candidates (from `candidate_pairs`).
        table: the catalogue's arrays.
        statistics: from `item_statistics(interactions)`.

    Returns:
        Columns row, item, then the features of FEATURE_LABELS that the models and catalogue allow.
    """
    user_rows = rows[positions]
    columns: dict[str, np.ndarray] = {"row": user_rows, "item": items}
    for name, model in models.items():
        scores = model.score_pairs(user_rows, items)
        columns[f"{name}_score"] = relative_to_best(scores, positions, len(rows))
        columns[f"{name}_rank"] = rank_within(scores, positions)
    n_users = max(int(np.count_nonzero(np.diff(interactions.matrix.indptr))), 1)
    # Half a user for items nobody touched keeps the log finite and below every touched item.
    columns["item_users_log"] = np.log(np.maximum(statistics["users"][items], 0.5) / n_users)
    if interactions.last_event_days is not None:
        columns["item_trend"] = statistics["recent_share"][items]
    history = interactions.matrix[rows]
    share = sp.diags(1.0 / np.maximum(np.asarray(history.sum(axis=1)).ravel(), 1e-12)) @ history
    for attribute in ("brand", "category", "subcategory"):
        codes = table.codes.get(attribute)
        if codes is None:
            continue
        indicator = sp.csr_matrix((np.ones(len(codes)), (np.arange(len(codes)), codes)),
                                  shape=(len(codes), codes.max() + 1))
        shares = (share @ indicator).tocsr()
        columns[f"{attribute}_share"] = np.asarray(shares[positions, codes[items]]).ravel()
    if table.list_price is not None:
        price = table.list_price
        known = (~np.isnan(price)).astype(float)
        total = np.asarray(share @ known).ravel()
        usual = np.divide(np.asarray(share @ np.nan_to_num(price, nan=0.0)).ravel(), total,
                          out=np.full(len(total), np.nan), where=total > 0)
        usual = np.where(usual > 0, usual, np.nan)  # free items (price 0) give no usual price
        columns["price_ratio"] = price[items] / usual[positions]
    names = ["row", "item", *(name for name in FEATURE_LABELS if name in columns)]
    return pd.DataFrame({name: columns[name] for name in names})
