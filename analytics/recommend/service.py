"""Recommendations served from the warehouse: train every model once, then answer per user and per product.

`train_recommenders(con)` fits the hybrid (and with it every base model) on all
interactions up to the data end; the result is read-only and is what the page
caches per data version and the CLI pickles next to the warehouse.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from analytics.errors import ShopLensError
from analytics.recommend import data as recommend_data
from analytics.recommend.base import Progress, no_progress
from analytics.recommend.champion import serving_note
from analytics.recommend.cooccurrence import CooccurrenceRecommender, basket_matrix
from analytics.recommend.data import InteractionMatrix
from analytics.recommend.ranker import HybridRecommender, Recommendation
from analytics.recommend.splits import warehouse_held_out

LABEL_DAYS = 28


@dataclass(frozen=True)
class TrainedRecommenders:
    """Every model fitted on the warehouse; never modified after training.

    Attributes:
        hybrid: the fitted HybridRecommender; its `models_` hold the base models on all interactions.
        products: the catalogue indexed by product_id (title, category, brand, list_price, price_band).
        users: users indexed by user_id with segment and `interactions` (distinct products touched).
        data_end: the last day learned from.
        fit_seconds: wall time of training.
    """

    hybrid: HybridRecommender
    products: pd.DataFrame
    users: pd.DataFrame
    data_end: date
    fit_seconds: float

    @property
    def champion(self) -> str:
        """The model that serves recommendations: "hybrid" or a base model's name (see champion.py)."""
        # A store written before the champion existed holds a hybrid without it: the hybrid served then.
        return getattr(self.hybrid, "champion_", "hybrid")

    @property
    def champion_note(self) -> str:
        """One plain sentence: which model serves and why (NDCG@10 on the users held aside in training)."""
        table = self.validation
        users = int(table["users"].iloc[0]) if len(table) else 0
        return serving_note(self.champion, dict(zip(table["model"], table["ndcg@10"])), users)

    @property
    def validation(self) -> pd.DataFrame:
        """NDCG@10 of the hybrid and each base model on users held aside in training (model, ndcg@10, users)."""
        validation = getattr(self.hybrid, "validation_", None)
        return validation if validation is not None else \
            pd.DataFrame(columns=["model", "ndcg@10", "users"])


@dataclass(frozen=True)
class RelatedItems:
    """What goes with one product.

    Attributes:
        product_id, title: the product asked about.
        similar: product_id, title, category, brand, similarity (0–1, text cosine).
        bought_together: product_id, title, together (orders), support, confidence, lift.
        viewed_together: product_id, title, together (sessions), support, confidence, lift.
    """

    product_id: str
    title: str
    similar: pd.DataFrame
    bought_together: pd.DataFrame
    viewed_together: pd.DataFrame


def train_recommenders(con: Any, progress: Progress | None = None, random_state: int = 42) -> TrainedRecommenders:
    """Fit the hybrid and its base models on every interaction in the warehouse.

    The ranker's labels are the items each user first touched in the last `LABEL_DAYS` days, the
    base models' history the days before (exact, from the warehouse); the champion is picked on
    users held aside, and the base models are refitted on everything for serving.

    Args:
        con: a warehouse connection.
        progress: progress(step, done, total) between steps; an exception raised in it (e.g. by a
            Stop button) stops the training and propagates, leaving nothing half-built.
        random_state: seed.

    Returns:
        The TrainedRecommenders.
    """
    started = time.perf_counter()
    report = progress or no_progress
    report("reading interactions", 0, 5)
    end = recommend_data.data_end_date(con)
    if end is None:
        raise ShopLensError("the warehouse has no views, carts or purchases, so there is nothing to learn from; "
                            "build it from data with events")
    frame = recommend_data.load_interactions(con, end_date=end)
    products = recommend_data.load_products(con)
    users = recommend_data.load_users(con)
    interactions = InteractionMatrix.from_frame(frame, item_ids=products.index)
    orders = recommend_data.load_baskets(con, "order", end)
    sessions = recommend_data.load_baskets(con, "session", end)
    held_out = warehouse_held_out(con, end, LABEL_DAYS, interactions.item_ids, interactions.user_ids)
    counts = frame.groupby("user_id").size().rename("interactions")
    users = users.join(counts, how="outer").fillna({"interactions": 0, "segment": "unknown"})

    def inner(step: str, done: int, total: int) -> None:
        report(step, 1 + done, 1 + total)

    hybrid = HybridRecommender(label_days=LABEL_DAYS, random_state=random_state).fit(
        interactions, products, users["segment"],
        basket_matrix(orders, products.index) if len(orders) else None,
        basket_matrix(sessions, products.index) if len(sessions) else None,
        progress=inner, held_out=held_out,
    )
    return TrainedRecommenders(hybrid, products, users, end, time.perf_counter() - started)


def recommend_for_user(trained: TrainedRecommenders, user_id: str, k: int = 10,
                       categories: tuple[str, ...] = (), model: str | None = None) -> Recommendation:
    """One user's top-k with a reason per item, from the champion model.

    Args:
        trained: from `train_recommenders`.
        user_id: a user with at least one interaction.
        k: items, 1–100.
        categories: keep only items of these top-level categories; empty keeps all.
        model: "hybrid" or a base model's name to override the champion; None serves the champion.

    Returns:
        The Recommendation (items best first, reasons, the user's history, `model` that served;
        SHAP contributions when the hybrid serves).
    """
    if not 1 <= k <= 100:
        raise ShopLensError(f"k = {k} must be between 1 and 100")
    mask = None
    if categories:
        category = trained.products["category"].reindex(trained.hybrid.interactions_.item_ids)
        mask = category.isin(categories).to_numpy()
    return trained.hybrid.recommend_with_reasons(str(user_id), k, mask, model)


def related_items(trained: TrainedRecommenders, product_id: str, k: int = 10) -> RelatedItems:
    """Similar (by text), bought-together and viewed-together items for one product.

    Args:
        trained: from `train_recommenders`.
        product_id: a product in the catalogue.
        k: rows per list, 1–100.

    Returns:
        The RelatedItems; a list is empty when the product was never bought or viewed with another.
    """
    if not 1 <= k <= 100:
        raise ShopLensError(f"k = {k} must be between 1 and 100")
    item_ids = trained.hybrid.interactions_.item_ids
    column = item_ids.get_indexer([str(product_id)])[0]
    if column < 0:
        raise ShopLensError(f"product {product_id!r} is not in the catalogue; pass a product_id from the products table")
    models = trained.hybrid.models_
    titles = trained.products["title"]
    describe = ["title", "category", "brand"]
    if "content" in models:
        similar = models["content"].similar(column, k).join(trained.products[describe], on="product_id")
        similar = similar[["product_id", *describe, "similarity"]]
    else:
        similar = pd.DataFrame(columns=["product_id", *describe, "similarity"])
    lists = {}
    for name in ("bought_together", "viewed_together"):
        model = models.get(name)
        if isinstance(model, CooccurrenceRecommender):
            table = model.related(column, k)
            table.insert(1, "title", titles.reindex(table["product_id"]).to_numpy())
            lists[name] = table.drop(columns="similarity")
        else:
            lists[name] = pd.DataFrame(columns=["product_id", "title", "together", "support", "confidence", "lift"])
    return RelatedItems(str(product_id), str(titles.get(str(product_id), product_id)), similar,
                        lists["bought_together"], lists["viewed_together"])


def pickable_users(trained: TrainedRecommenders, limit: int = 500) -> pd.DataFrame:
    """Users worth showing in a picker: the most active first.

    Returns:
        user_id, segment, interactions; at most `limit` rows, users with at least one interaction.
    """
    users = trained.users[trained.users["interactions"] > 0]
    users = users.sort_values(["interactions"], ascending=False, kind="stable").head(limit)
    return users.reset_index(names="user_id")[["user_id", "segment", "interactions"]]


def user_features_table(recommendation: Recommendation, feature_labels: dict[str, str]) -> pd.DataFrame:
    """One recommended item's SHAP contributions as rows (feature, label, value, shap) per rank.

    Returns:
        rank, product_id, feature, label, value, shap; sorted by rank then |shap| descending.
    """
    items = recommendation.items
    rows = []
    for _, item in items.iterrows():
        for feature, label in feature_labels.items():
            if f"shap_{feature}" in items:
                rows.append({"rank": item["rank"], "product_id": item["product_id"], "feature": feature,
                             "label": label, "value": item.get(f"value_{feature}", np.nan),
                             "shap": item[f"shap_{feature}"]})
    table = pd.DataFrame(rows, columns=["rank", "product_id", "feature", "label", "value", "shap"])
    if table.empty:
        return table
    order = table.assign(size=table["shap"].abs()).sort_values(["rank", "size"], ascending=[True, False])
    return order.drop(columns="size").reset_index(drop=True)
