"""The hybrid end to end on a small generated shop (tests/recommend_fixtures.py), the ranker for the
explanation layer, and the public data loaders (skipped when the shared data is absent)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analytics.errors import ShopLensError
from analytics.recommend.data import (
    InteractionMatrix,
    load_diginetica_sample,
    load_interactions,
    load_movielens_100k,
    stratified_split,
)
from analytics.recommend.evaluate import evaluate_diginetica, evaluate_warehouse
from analytics.recommend.hybrid import FEATURE_LABELS, HybridRecommender, train_ranker_model
from analytics.recommend.ranker_card import RANKER_HOLDOUT_DAYS, RANKER_SEED
from analytics.recommend.service import pickable_users, recommend_for_user, related_items, train_recommenders
from tests.recommend_fixtures import build_recommend_warehouse, tables
from tests.test_recommend_models import block_log

REPO_ROOT = Path(__file__).resolve().parent.parent
# The shared data sits beside the main checkout; a worktree one level deeper finds it further up.
SHARED = next((parent / "shared" / "data" for parent in REPO_ROOT.parents if (parent / "shared" / "data").is_dir()),
              REPO_ROOT.parent / "shared" / "data")


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    return build_recommend_warehouse(tmp_path_factory.mktemp("recommend_shop"))


@pytest.fixture(scope="module")
def shop_con(shop):
    with duckdb.connect(str(shop), read_only=True) as con:
        yield con


@pytest.fixture(scope="module")
def trained(shop_con):
    return train_recommenders(shop_con)


def test_interactions_weigh_views_carts_and_purchases(shop_con):
    frame = load_interactions(shop_con)
    events = tables()["events"]
    # Independent count: weight = views·1 + carts·3 + purchases·5 per user and product.
    weights = events["event_type"].map({"view": 1.0, "cart": 3.0, "purchase": 5.0})
    expected = weights.groupby([events["user_id"], events["product_id"]]).sum()
    got = frame.set_index(["user_id", "product_id"])["weight"]
    assert got.sort_index().to_numpy() == pytest.approx(expected.sort_index().to_numpy())


def test_every_recommendation_is_unseen_and_has_a_reason(trained):
    users = pickable_users(trained, 20)["user_id"]
    for user in users:
        recommendation = recommend_for_user(trained, user, 5)
        seen = set(recommendation.history["product_id"]) if len(recommendation.history) < 10 else None
        assert len(recommendation.items) == 5
        assert recommendation.items["reason"].str.len().min() > 0
        if seen is not None:
            assert not seen & set(recommendation.items["product_id"])


def test_hybrid_scores_are_the_sum_of_their_shap_values(trained):
    recommendation = recommend_for_user(trained, "U001", 5)
    shap = recommendation.items.filter(like="shap_")
    assert (shap.sum(axis=1) + recommendation.base_value).to_numpy() == pytest.approx(
        recommendation.items["score"].to_numpy(), abs=1e-6)
    # Best first.
    assert recommendation.items["score"].is_monotonic_decreasing


def test_hybrid_prefers_the_favourite_category(trained):
    # Users u with u % 3 == 1 only ever touch Toys; when Toys items are left unseen the top item should be one.
    products = trained.products
    hits = total = 0
    for user in [f"U{u:03d}" for u in range(1, 150, 3)]:
        seen = set(trained.hybrid.interactions_.item_ids[trained.hybrid.interactions_.user_items(
            trained.hybrid.interactions_.rows_of([user])[0])])
        if len(seen) >= 10:
            continue
        top = recommend_for_user(trained, user, 1).items["product_id"].iloc[0]
        hits += products.loc[top, "category"] == "Toys"
        total += 1
    assert total > 10
    assert hits / total >= 0.8


def test_category_filter_keeps_only_chosen_categories(trained):
    recommendation = recommend_for_user(trained, "U001", 5, categories=("Books",))
    assert set(trained.products.loc[recommendation.items["product_id"], "category"]) == {"Books"}


def test_bought_together_matches_a_hand_count(trained):
    # In the fixture an order holds one product or a pair (2k, 2k+1): P00 is only ever bought with P01.
    related = related_items(trained, "P00", 5)
    assert related.bought_together["product_id"].tolist() == ["P01"]
    items = tables()["order_items"]
    orders = items.groupby("order_id")["product_id"].apply(set)
    n = len(orders)
    both = sum({"P00", "P01"} <= basket for basket in orders)
    with_a = sum("P00" in basket for basket in orders)
    with_b = sum("P01" in basket for basket in orders)
    row = related.bought_together.iloc[0]
    assert row["together"] == both
    assert row["confidence"] == pytest.approx(both / with_a)
    assert row["lift"] == pytest.approx(both * n / (with_a * with_b))
    # Text similarity: the same brand and noun come first.
    assert related.similar["brand"].iloc[0] == trained.products.loc["P00", "brand"]


def test_unknown_ids_say_how_to_fix(trained):
    with pytest.raises(ShopLensError, match="has no interactions"):
        recommend_for_user(trained, "nobody", 5)
    with pytest.raises(ShopLensError, match="not in the catalogue"):
        related_items(trained, "P99", 5)


def test_warehouse_leaderboard_has_every_model_and_cold_start(shop_con):
    board = evaluate_warehouse(shop_con, k=10, holdout_days=21)
    assert set(board.models["model"]) >= {"popularity", "cooccurrence", "als", "ease", "content", "hybrid"}
    for column in ("precision@10", "recall@10", "ndcg@10", "map@10", "hit_rate@10", "coverage"):
        assert board.models[column].between(0, 1).all()
    assert (board.models["train_seconds"] >= 0).all()
    # On this structured shop the learned models beat plain popularity.
    ndcg = board.models.set_index("model")["ndcg@10"]
    assert ndcg["hybrid"] > ndcg["popularity"]


def test_ranker_model_for_the_explanation_layer(shop_con):
    model = train_ranker_model(shop_con)
    assert model.task == "ranking"
    assert list(model.explain_rows.columns) == list(model.feature_labels)
    assert set(model.feature_labels) <= set(FEATURE_LABELS)
    assert len(model.explain_rows) <= 2_000
    assert model.explain_actual.index.equals(model.explain_rows.index)
    assert model.segments.index.equals(model.explain_rows.index)
    assert set(model.explain_actual.unique()) <= {0, 1}
    assert 0 <= model.metrics["ndcg@10"] <= 1
    assert model.training_end == model.validation_start
    predictions = model.model.predict(model.explain_rows)
    assert predictions.shape == (len(model.explain_rows),)


def test_the_ranker_explains_the_leaderboards_hybrid_when_given_its_evaluation(shop_con):
    board = evaluate_warehouse(shop_con, k=10, holdout_days=RANKER_HOLDOUT_DAYS, keep_hybrid=True,
                               random_state=RANKER_SEED)
    model = train_ranker_model(shop_con, evaluation=board)
    # The same fitted ranker, so the card's NDCG is the leaderboard's hybrid row, not a second fit's.
    assert model.model is board.hybrid.ranker_
    assert model.metrics["ndcg@10"] == board.models.set_index("model").loc["hybrid", "ndcg@10"]
    # An evaluation on other held-out days is not the ranker's: it fits its own.
    other = evaluate_warehouse(shop_con, k=10, holdout_days=21, models=("hybrid",), keep_hybrid=True,
                               random_state=RANKER_SEED)
    assert train_ranker_model(shop_con, evaluation=other).model is not other.hybrid.ranker_


def test_hybrid_on_a_tiny_log_without_a_catalogue():
    matrix = InteractionMatrix.from_frame(block_log(users_per_block=30))
    model = HybridRecommender(candidates_per_model=6, min_child_samples=5, n_estimators=30,
                              als_factors=2, threads=1).fit(matrix)
    assert model.get_params()["candidates_per_model"] == 6  # scikit-learn style parameters
    items, _ = model.recommend(matrix.rows_of(["Au1", "Bu1"]), 2)
    assert all(matrix.item_ids[i].startswith("A") for i in items[0])
    assert all(matrix.item_ids[i].startswith("B") for i in items[1])
    reasons = model.recommend_with_reasons("Au1", 2).items["reason"]
    assert reasons.str.len().min() > 0


def test_hybrid_refuses_a_log_without_held_out_users():
    matrix = InteractionMatrix.from_frame(pd.DataFrame({"user_id": ["u"], "product_id": ["a"], "weight": [1.0]}))
    with pytest.raises(ShopLensError, match="nothing to learn"):
        HybridRecommender(label_share=0.5, random_state=3).fit(matrix)


# --------------------------------------------------------------------------- public data (when present)


def test_movielens_loader_and_split():
    folder = SHARED / "movielens_100k"
    if not (folder / "u.data.gz").is_file():
        pytest.skip(f"{folder} is absent (MovieLens 100K is local-only shared data)")
    dataset = load_movielens_100k(folder)
    assert len(dataset.interactions) == 100_000
    assert dataset.interactions["user_id"].nunique() == 943
    assert len(dataset.products) == 1_682
    train, test = stratified_split(dataset.interactions)
    per_user = train.groupby("user_id").size() / dataset.interactions.groupby("user_id").size()
    # Per user at most 75% go to train, and at least 75% minus one rating.
    assert per_user.max() <= 0.75 + 1e-9
    assert len(train) + len(test) == 100_000


def test_diginetica_viewed_together_beats_popularity():
    folder = SHARED / "diginetica_sample"
    if not (folder / "sample_train-item-views.csv").is_file():
        pytest.skip(f"{folder} is absent (the Diginetica sample is local-only shared data)")
    assert load_diginetica_sample(folder).interactions["user_id"].nunique() == 2_986
    board = evaluate_diginetica(folder, ease_items=300).models.set_index("model")
    assert board.loc["viewed_together_confidence", "hit_rate@10"] > board.loc["popularity", "hit_rate@10"]


def test_hybrid_on_a_short_log_falls_back_to_a_random_holdout():
    # Every interaction is inside a 28-day label window, so nobody has earlier history by time;
    # the hybrid holds out a random share instead of failing.
    frame = block_log(users_per_block=30).assign(event_time=pd.Timestamp("2025-01-01"))
    matrix = InteractionMatrix.from_frame(frame)
    model = HybridRecommender(label_days=28, candidates_per_model=6, min_child_samples=5, n_estimators=20,
                              als_factors=2, threads=1).fit(matrix)
    assert model.train_users_ > 0
    assert len(model.recommend_with_reasons("Au1", 2).items) == 2
