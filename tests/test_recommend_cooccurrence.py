"""Sparse top-k co-occurrence: neighbour lists by hand, and a property test against a dense reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.recommend.cooccurrence import (
    SIMILARITIES,
    CooccurrenceRecommender,
    basket_matrix,
    item_blocks,
    neighbour_matrices,
)
from analytics.recommend.data import InteractionMatrix

# 5 baskets over items a, b, c, d:
#   1: {a, b, c}   2: {a, b}   3: {a, c}   4: {b, d}   5: {a}
# c(a) = 4, c(b) = 3, c(c) = 2, c(d) = 1; n = 5.
# c(a, b) = 2, c(a, c) = 2, c(b, c) = 1, c(b, d) = 1, c(a, d) = c(c, d) = 0.
BASKETS = pd.DataFrame({
    "basket_id": ["1", "1", "1", "2", "2", "3", "3", "4", "4", "5"],
    "product_id": ["a", "b", "c", "a", "b", "a", "c", "b", "d", "a"],
})


def neighbours_of(similarity: sp.csr_matrix, item_ids: pd.Index, item: str) -> dict[str, float]:
    row = similarity.getrow(item_ids.get_loc(item))
    return {item_ids[column]: float(value) for column, value in zip(row.indices, row.data)}


def test_jaccard_neighbours_by_hand():
    baskets = basket_matrix(BASKETS)
    similarity, counts, item_counts = neighbour_matrices(baskets.binary(), "jaccard", neighbours=2)
    ids = baskets.item_ids
    assert item_counts.tolist() == [4.0, 3.0, 2.0, 1.0]
    # a: jaccard(a, b) = 2 / (4 + 3 - 2) = 0.4; jaccard(a, c) = 2 / (4 + 2 - 2) = 0.5; d never with a.
    assert neighbours_of(similarity, ids, "a") == pytest.approx({"b": 0.4, "c": 0.5})
    # b: (b, a) = 0.4, (b, c) = 1 / (3 + 2 - 1) = 0.25, (b, d) = 1 / (3 + 1 - 1) = 1/3. Top 2: a and d.
    assert neighbours_of(similarity, ids, "b") == pytest.approx({"a": 0.4, "d": 1 / 3})
    # d: only b, 1/3.
    assert neighbours_of(similarity, ids, "d") == pytest.approx({"b": 1 / 3})
    # The counts sit at the same positions: c(b, a) = 2, c(b, d) = 1.
    assert neighbours_of(counts, ids, "b") == {"a": 2.0, "d": 1.0}


def test_confidence_neighbours_and_ties_go_to_the_lower_column():
    baskets = basket_matrix(BASKETS)
    similarity, _, _ = neighbour_matrices(baskets.binary(), "confidence", neighbours=1)
    ids = baskets.item_ids
    # a → b = 2/4 and a → c = 2/4 tie: the lower column (b) is kept.
    assert neighbours_of(similarity, ids, "a") == pytest.approx({"b": 0.5})
    # c → a = 2/2 = 1 beats c → b = 1/2.
    assert neighbours_of(similarity, ids, "c") == pytest.approx({"a": 1.0})


def test_min_count_and_blocks_do_not_change_the_result():
    baskets = basket_matrix(BASKETS).binary()
    whole = neighbour_matrices(baskets, "lift", neighbours=3, min_count=2)
    # One item per block: the bound of every item exceeds 1 entry.
    assert len(item_blocks(baskets, max_entries=1)) == 4
    blocked = neighbour_matrices(baskets, "lift", neighbours=3, min_count=2, max_entries=1)
    assert (whole[0] != blocked[0]).nnz == 0
    # min_count 2 keeps (a, b) and (a, c) only: lift(a, b) = 2·5 / (4·3) = 5/6.
    ids = basket_matrix(BASKETS).item_ids
    assert neighbours_of(whole[0], ids, "b") == pytest.approx({"a": 5 / 6})
    assert whole[0].nnz == 4


def test_user_scores_sum_affinity_times_neighbour_similarity():
    frame = BASKETS.rename(columns={"basket_id": "user_id"}).assign(weight=1.0)
    frame.loc[(frame["user_id"] == "5") & (frame["product_id"] == "a"), "weight"] = 3.0
    interactions = InteractionMatrix.from_frame(frame)
    model = CooccurrenceRecommender(similarity="jaccard", neighbours=2).fit(interactions)
    # User 5 holds a with weight 3: score(b) = 3 · 0.4 = 1.2, score(c) = 3 · 0.5 = 1.5, d unreachable.
    row = interactions.rows_of(["5"])
    assert model.score(row)[0] == pytest.approx([0.0, 1.2, 1.5, 0.0])
    items, scores = model.candidates(row, 2)
    assert interactions.item_ids[items[0]].tolist() == ["c", "b"]
    assert model.score_pairs(np.array([row[0], row[0]]), np.array([1, 2])) == pytest.approx([1.2, 1.5])


def dense_reference(binary: np.ndarray, similarity: str, k: int, min_count: int) -> np.ndarray:
    """Every pair by loops, then each row's k best (ties: lower column), others zero."""
    n_baskets, n_items = binary.shape
    counts = binary.T @ binary
    result = np.zeros((n_items, n_items))
    for a in range(n_items):
        values = []
        for b in range(n_items):
            together = counts[a, b]
            if a == b or together < min_count or together == 0:
                continue
            count_a, count_b = counts[a, a], counts[b, b]
            value = {"jaccard": together / (count_a + count_b - together), "lift": together * n_baskets / (count_a * count_b),
                     "confidence": together / count_a, "count": together}[similarity]
            values.append((-value, b, value))
        for _, b, value in sorted(values)[:k]:
            result[a, b] = value
    return result


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 9), st.integers(2, 12), st.sampled_from(SIMILARITIES),
       st.integers(1, 4), st.integers(1, 2), st.integers(1, 40))
def test_sparse_top_k_matches_a_dense_reference(seed, n_items, n_baskets, similarity, k, min_count, max_entries):
    rng = np.random.default_rng(seed)
    binary = (rng.random((n_baskets, n_items)) < 0.4).astype(np.float32)
    got, _, _ = neighbour_matrices(sp.csr_matrix(binary), similarity, k, min_count, max_entries=max_entries)
    expected = dense_reference(binary.astype(np.float64), similarity, k, min_count)
    assert got.toarray() == pytest.approx(expected, rel=1e-6)
