"""The single recommenders on hand-built logs: popularity, co-occurrence, EASE, ALS, content; splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from analytics.errors import ShopLensError
from analytics.recommend.base import top_k
from analytics.recommend.collaborative import ALSRecommender, EASERecommender
from analytics.recommend.content import ContentRecommender
from analytics.recommend.cooccurrence import CooccurrenceRecommender, association_table, basket_matrix
from analytics.recommend.data import InteractionMatrix, price_bands, stratified_split, time_split
from analytics.recommend.popularity import PopularityRecommender


def log(rows: list[tuple[str, str]], times: list[str] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["user_id", "product_id"]).assign(weight=1.0)
    if times is not None:
        frame["event_time"] = pd.to_datetime(times)
    return frame


# --------------------------------------------------------------------------- popularity


def test_popularity_counts_distinct_users_and_excludes_seen():
    # a: 3 users, b: 2, c: 1. u1 has seen a, so gets b then c.
    matrix = InteractionMatrix.from_frame(log([("u1", "a"), ("u2", "a"), ("u3", "a"), ("u2", "b"), ("u3", "b"),
                                               ("u3", "c"), ("u1", "a")]))
    model = PopularityRecommender().fit(matrix)
    assert model.popularity_.tolist() == [3.0, 2.0, 1.0]
    items, _ = model.recommend(matrix.rows_of(["u1"]), 2)
    assert matrix.item_ids[items[0]].tolist() == ["b", "c"]


def test_time_decay_halves_per_half_life():
    # a: one user 10 days before the newest event (weight 0.5 with a 10-day half-life) and one at the end (1);
    # b: two users at the end (2). Decayed: a 1.5, b 2.
    frame = log([("u1", "a"), ("u2", "a"), ("u3", "b"), ("u4", "b")],
                ["2025-01-01", "2025-01-11", "2025-01-11", "2025-01-11"])
    model = PopularityRecommender(half_life_days=10).fit(InteractionMatrix.from_frame(frame))
    assert model.popularity_ == pytest.approx([1.5, 2.0])


def test_segment_popularity_prefers_the_users_segment():
    # North buys a (2 users), south buys b (3 users). A north user who saw nothing of it gets a first.
    frame = log([("n1", "a"), ("n2", "a"), ("s1", "b"), ("s2", "b"), ("s3", "b"), ("n3", "c")])
    segments = pd.Series({"n1": "north", "n2": "north", "n3": "north", "s1": "south", "s2": "south", "s3": "south"})
    matrix = InteractionMatrix.from_frame(frame)
    model = PopularityRecommender(overall_share=0.1).fit(matrix, segments)
    # n3's scores: a = 2 + 0.1·2, b = 0 + 0.1·3.
    scores = model.score(matrix.rows_of(["n3"]))[0]
    assert scores[matrix.item_ids.get_loc("a")] == pytest.approx(2.2)
    assert scores[matrix.item_ids.get_loc("b")] == pytest.approx(0.3)


# --------------------------------------------------------------------------- co-occurrence


BASKETS = pd.DataFrame({
    # 4 baskets: {a, b}, {a, b, c}, {a}, {c}
    "basket_id": ["1", "1", "2", "2", "2", "3", "4"],
    "product_id": ["a", "b", "a", "b", "c", "a", "c"],
})


def test_association_support_confidence_lift_by_hand():
    table = association_table(BASKETS).set_index(["antecedent", "consequent"])
    # c(a) = 3, c(b) = 2, c(c) = 2, c(a, b) = 2, n = 4.
    # support(a, b) = 2/4; confidence(a→b) = 2/3; confidence(b→a) = 1; lift = 2·4 / (3·2) = 4/3.
    assert table.loc[("a", "b"), "support"] == pytest.approx(0.5)
    assert table.loc[("a", "b"), "confidence"] == pytest.approx(2 / 3)
    assert table.loc[("b", "a"), "confidence"] == pytest.approx(1.0)
    assert table.loc[("a", "b"), "lift"] == pytest.approx(4 / 3)
    # c(b, c) = 1: lift = 1·4 / (2·2) = 1 (independent).
    assert table.loc[("b", "c"), "lift"] == pytest.approx(1.0)
    assert table.loc[("a", "b"), "together"] == 2


def test_related_items_and_jaccard_scores():
    baskets = basket_matrix(BASKETS)
    model = CooccurrenceRecommender(similarity="jaccard").fit(baskets)
    related = model.related(baskets.item_ids.get_loc("a"), 5).set_index("product_id")
    assert related.loc["b", "lift"] == pytest.approx(4 / 3)
    assert related.loc["b", "confidence"] == pytest.approx(2 / 3)
    # jaccard(a, b) = 2 / (3 + 2 - 2) = 2/3; jaccard(a, c) = 1 / (3 + 2 - 1) = 1/4.
    assert related.loc["b", "similarity"] == pytest.approx(2 / 3)
    assert related.loc["c", "similarity"] == pytest.approx(1 / 4)
    # Basket 3 holds only a: score(b) = 2/3, score(c) = 1/4, so b comes first.
    items, scores = model.recommend(baskets.rows_of(["3"]), 2)
    assert baskets.item_ids[items[0]].tolist() == ["b", "c"]
    assert scores[0] == pytest.approx([2 / 3, 1 / 4])


def test_min_count_drops_rare_pairs():
    baskets = basket_matrix(BASKETS)
    model = CooccurrenceRecommender(min_count=2).fit(baskets)
    related = model.related(baskets.item_ids.get_loc("a"), 5)
    assert related["product_id"].tolist() == ["b"]


# --------------------------------------------------------------------------- EASE and ALS


def test_ease_matches_the_closed_form_on_a_tiny_case():
    # X = [[1, 1, 0], [0, 1, 1]], λ = 1. G = XᵀX + I = [[2, 1, 0], [1, 3, 1], [0, 1, 2]].
    # det G = 8; P = G⁻¹ = (1/8)·[[5, -2, 1], [-2, 4, -2], [1, -2, 5]].
    # B_ij = -P_ij / P_jj off the diagonal: B[0,1] = 2/4 = 0.5, B[1,0] = 2/5 = 0.4, B[0,2] = -1/5 = -0.2,
    # B[2,0] = -0.2, B[1,2] = 0.4, B[2,1] = 0.5.
    frame = log([("u1", "a"), ("u1", "b"), ("u2", "b"), ("u2", "c")])
    matrix = InteractionMatrix.from_frame(frame)
    model = EASERecommender(l2=1.0).fit(matrix)
    expected = np.array([[0.0, 0.5, -0.2], [0.4, 0.0, 0.4], [-0.2, 0.5, 0.0]])
    assert model.weights_ == pytest.approx(expected, abs=1e-6)
    # u1 = [1, 1, 0] scores c as B[0,2] + B[1,2] = -0.2 + 0.4 = 0.2.
    assert model.score(matrix.rows_of(["u1"]))[0, 2] == pytest.approx(0.2, abs=1e-6)


def test_ease_limits_items_to_the_most_popular():
    frame = log([("u1", "a"), ("u2", "a"), ("u1", "b"), ("u3", "c")])
    model = EASERecommender(l2=1.0, max_items=2).fit(InteractionMatrix.from_frame(frame))
    # a (2 users) and the first of the 1-user items by column order (b) are kept.
    assert model.items_.tolist() == [0, 1]


def block_log(users_per_block: int = 20, items_per_block: int = 6, seed: int = 0) -> pd.DataFrame:
    # Two taste blocks: users 0..n-1 touch items A*, users n..2n-1 items B*; each user sees 4 of 6 items.
    rng = np.random.default_rng(seed)
    rows = []
    for block, prefix in enumerate("AB"):
        for u in range(users_per_block):
            for item in rng.choice(items_per_block, 4, replace=False):
                rows.append((f"{prefix}u{u}", f"{prefix}{item}"))
    return log(rows)


def test_als_recommends_within_the_users_block():
    matrix = InteractionMatrix.from_frame(block_log())
    # Two blocks: rank 2 is the true structure (more factors fit noise on 40 users).
    model = ALSRecommender(factors=2, iterations=10, threads=1, regularization=0.01, alpha=1.0).fit(matrix)
    assert model.user_factors_.shape == (40, 2)
    items, _ = model.recommend(matrix.rows_of(["Au0", "Bu0"]), 2)
    # Each user has 2 unseen items in their own block; ALS should rank those first.
    assert all(matrix.item_ids[i].startswith("A") for i in items[0])
    assert all(matrix.item_ids[i].startswith("B") for i in items[1])


def test_unfitted_model_says_how_to_fix():
    with pytest.raises(ShopLensError, match="call fit"):
        EASERecommender().recommend(np.array([0]))


# --------------------------------------------------------------------------- content and cold start


def test_content_serves_a_cold_start_item_and_chinese_titles():
    products = pd.DataFrame({
        "title": ["华为 无线耳机 Pro", "华为 无线耳机 Lite", "乐高 积木 城市", "Lego City Blocks"],
        "category_path": ["Electronics > Audio", "Electronics > Audio", "Toys > Blocks", "Toys > Blocks"],
        "brand": ["华为", "华为", "乐高", "Lego"],
    }, index=pd.Index(["p1", "p2", "p3", "p4"], name="product_id"))
    text = products["title"] + " | " + products["category_path"] + " | " + products["brand"]
    # p2 is new: nobody has touched it, but it is in the catalogue (a column of the matrix).
    matrix = InteractionMatrix.from_frame(log([("u1", "p1"), ("u2", "p3")]), item_ids=products.index)
    model = ContentRecommender(min_df=1).fit(matrix, text)
    items, _ = model.recommend(matrix.rows_of(["u1"]), 1)
    assert matrix.item_ids[items[0, 0]] == "p2"
    similar = model.similar(products.index.get_loc("p1"), 1)
    assert similar["product_id"].tolist() == ["p2"]
    assert 0 < similar["similarity"].iloc[0] <= 1


def test_price_bands_are_quartiles_within_group():
    prices = pd.Series([1.0, 2.0, 3.0, 4.0, 100.0, np.nan])
    groups = pd.Series(["a", "a", "a", "a", "b", "b"])
    assert price_bands(prices, groups).tolist() == ["budget", "mid", "upper", "premium", "premium", "unknown"]


# --------------------------------------------------------------------------- helpers and splits


def test_top_k_breaks_ties_by_index_and_marks_empty_slots():
    scores = np.array([[1.0, 3.0, 3.0, -np.inf]])
    items, values = top_k(scores, 4)
    assert items[0].tolist() == [1, 2, 0, -1]


def test_stratified_split_follows_recommenders_steps():
    # The same steps by hand: seed 42 draws np.random.RandomState(42).rand(n) per row in row order;
    # within a user, rows sorted by that number; the first round-down share <= 0.75 go to train.
    frame = pd.DataFrame({"user_id": ["u"] * 4 + ["v"] * 2, "product_id": list("abcdef"), "weight": 1.0})
    train, test = stratified_split(frame, 0.75, 42)
    random = np.random.RandomState(42).rand(6)
    order_u = np.argsort(random[:4])      # u's rows by their random numbers
    assert set(test["product_id"]) == {"abcd"[order_u[3]], "ef"[int(np.argmax(random[4:]))]}
    assert len(train) == 4 and len(test) == 2  # u: ranks 1..3 ≤ 0.75 (3/4); v: 1/2 ≤ 0.75, 2/2 > 0.75


def test_time_split_holds_out_whole_days():
    frame = log([("u", "a"), ("u", "b"), ("u", "c")], ["2025-01-01 10:00", "2025-01-09 23:00", "2025-01-10 01:00"])
    train, test, cut = time_split(frame, 2)
    assert cut == pd.Timestamp("2025-01-09")
    assert test["product_id"].tolist() == ["b", "c"]


def test_bad_interactions_name_the_row():
    with pytest.raises(ShopLensError, match="row 1 has weight"):
        InteractionMatrix.from_frame(pd.DataFrame({"user_id": ["u", "v"], "product_id": ["a", "b"],
                                                   "weight": [1.0, 0.0]}))
    with pytest.raises(ShopLensError, match="lack the column"):
        InteractionMatrix.from_frame(pd.DataFrame({"user_id": ["u"]}))


def test_matrix_keeps_the_newest_time_per_pair():
    frame = log([("u", "a"), ("u", "a")], ["2025-01-01", "2025-01-05"])
    matrix = InteractionMatrix.from_frame(frame)
    assert matrix.matrix[0, 0] == 2.0
    # The newest interaction is age 0 (stored as 0 + 1).
    assert matrix.last_event_days[0, 0] == pytest.approx(1.0)
    assert isinstance(matrix.matrix, sp.csr_matrix)


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4)), min_size=1, max_size=40))
def test_rank_within_groups_matches_pandas(pairs):
    # Reference: pandas' groupby rank, highest first, ties sharing the lowest rank.
    from analytics.recommend.hybrid import _rank_within

    groups = np.array([group for group, _ in pairs])
    values = np.array([value for _, value in pairs], dtype=float)
    reference = pd.DataFrame({"g": groups, "v": values}).groupby("g")["v"].rank(ascending=False, method="min")
    assert _rank_within(values, groups).tolist() == reference.tolist()


def test_edlae_penalises_each_item_by_its_count():
    # X = [[1, 1, 0], [0, 1, 1]], λ = 1, dropout p = 0.5: penalty λ + p/(1-p)·G_ii = 1 + G_ii.
    # G = XᵀX = [[1, 1, 0], [1, 2, 1], [0, 1, 1]] -> A = G + diag(2, 3, 2) = [[3, 1, 0], [1, 5, 1], [0, 1, 3]].
    # det A = 3·(15 - 1) - 1·(3 - 0) = 39; P = A⁻¹ = (1/39)·[[14, -3, 1], [-3, 9, -3], [1, -3, 14]].
    # B_ij = -P_ij / P_jj: B[0,1] = 3/9, B[1,0] = 3/14, B[0,2] = -1/14, B[1,2] = 3/14, B[2,1] = 3/9.
    frame = log([("u1", "a"), ("u1", "b"), ("u2", "b"), ("u2", "c")])
    model = EASERecommender(l2=1.0, dropout=0.5).fit(InteractionMatrix.from_frame(frame))
    expected = np.array([[0.0, 3 / 9, -1 / 14], [3 / 14, 0.0, 3 / 14], [-1 / 14, 3 / 9, 0.0]])
    assert model.weights_ == pytest.approx(expected, abs=1e-6)


def test_spd_inverse_matches_numpy_across_blocks():
    from analytics.recommend.collaborative import spd_inverse

    rng = np.random.default_rng(0)
    factor = rng.normal(size=(1100, 1100))
    matrix = factor @ factor.T + 1100 * np.eye(1100)
    inverse = spd_inverse(matrix.copy())
    assert inverse == pytest.approx(np.linalg.inv(matrix), rel=1e-6, abs=1e-12)
    # C order: sparse @ dense products would otherwise copy the whole matrix on every call.
    assert inverse.flags.c_contiguous


def test_ease_candidates_leave_out_only_each_users_own_items():
    # u1 saw a and b, u2 saw b and c; with B from the closed-form test u1's only unseen item is c and
    # u2's is a, both scoring -0.2 + 0.4 = 0.2. An unknown user (-1) scores 0 everywhere and sees nothing.
    frame = log([("u1", "a"), ("u1", "b"), ("u2", "b"), ("u2", "c")])
    matrix = InteractionMatrix.from_frame(frame)
    model = EASERecommender(l2=1.0).fit(matrix)
    assert model.weights_.flags.c_contiguous
    rows = np.array([matrix.rows_of(["u2"])[0], -1, matrix.rows_of(["u1"])[0]])
    items, scores = model.candidates(rows, 3)
    assert items[0].tolist() == [0, -1, -1] and scores[0, 0] == pytest.approx(0.2, abs=1e-6)
    assert items[1].tolist() == [0, 1, 2] and scores[1].tolist() == [0.0, 0.0, 0.0]
    assert items[2].tolist() == [2, -1, -1] and scores[2, 0] == pytest.approx(0.2, abs=1e-6)
