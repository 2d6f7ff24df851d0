"""The hybrid's parts on hand-made data: label splits, candidates, champion rule, progress and stopping,
the estimator contract, the NDCG of arrays, and the module graph (no import cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from analytics.errors import ShopLensError
from analytics.recommend.base import top_k
from analytics.recommend.champion import HYBRID, pick_champion, serving_note
from analytics.recommend.collaborative import ALSRecommender, EASERecommender
from analytics.recommend.content import ContentRecommender
from analytics.recommend.cooccurrence import CooccurrenceRecommender
from analytics.recommend.data import InteractionMatrix
from analytics.recommend.features import candidate_pairs
from analytics.recommend.metrics import ndcg_at_k, ndcg_of_arrays
from analytics.recommend.popularity import PopularityRecommender
from analytics.recommend.ranker import HybridRecommender
from analytics.recommend.splits import fresh_pairs, frames_held_out, held_out_by_time
from tests.test_recommend_models import block_log, log

ENGINE = Path(__file__).resolve().parent.parent / "analytics" / "recommend"


# --------------------------------------------------------------------------- label splits


def test_time_labels_are_items_first_touched_in_the_window():
    # Data end 2025-01-10. u bought a on 01-01 and again on 01-09 (a repeat: history, not a label),
    # b on 01-09 (first touch inside a 3-day window: a label), c on 01-02 (history).
    frame = log([("u", "a"), ("u", "a"), ("u", "b"), ("u", "c"), ("v", "c")],
                ["2025-01-01", "2025-01-09", "2025-01-09", "2025-01-02", "2025-01-10"])
    matrix = InteractionMatrix.from_frame(frame)
    held_out = held_out_by_time(matrix, label_days=3)
    labels = {(matrix.user_ids[r], matrix.item_ids[c]) for r, c in zip(*held_out.labels.nonzero())}
    history = {(matrix.user_ids[r], matrix.item_ids[c]) for r, c in zip(*held_out.history.matrix.nonzero())}
    assert labels == {("u", "b"), ("v", "c")}
    assert history == {("u", "a"), ("u", "c")}
    # u has both, v has labels only.
    assert held_out.has_training_users()


def test_exact_labels_from_two_frames():
    before = log([("u", "a"), ("v", "b")], ["2025-01-01", "2025-01-02"])
    window = log([("u", "a"), ("u", "c"), ("w", "a")], ["2025-01-05", "2025-01-05", "2025-01-06"])
    assert fresh_pairs(before, window)[["user_id", "product_id"]].values.tolist() == [["u", "c"], ["w", "a"]]
    users, items = pd.Index(["u", "v", "w"]), pd.Index(["a", "b", "c"])
    held_out = frames_held_out(before, window, items, users)
    assert held_out.labels.toarray().tolist() == [[0, 0, 1], [0, 0, 0], [1, 0, 0]]
    assert held_out.history.matrix.toarray().tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 0]]


# --------------------------------------------------------------------------- candidates


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 6))
def test_model_candidates_equal_the_dense_top_k(seed, n):
    # Every model's candidates (blocked, sparse or low-rank) must equal top_k of its dense scores with seen
    # items masked, and score_pairs must equal the dense scores at those pairs.
    rng = np.random.default_rng(seed)
    pairs = {(f"u{rng.integers(12)}", f"i{rng.integers(9)}") for _ in range(40)}
    frame = log(sorted(pairs))
    frame["event_time"] = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 30, len(frame)), unit="D")
    matrix = InteractionMatrix.from_frame(frame)
    segments = pd.Series({user: ["x", "y"][i % 2] for i, user in enumerate(matrix.user_ids)})
    text = pd.Series({item: f"item {item} shelf {int(item[1:]) % 3}" for item in matrix.item_ids})
    models = [PopularityRecommender().fit(matrix, segments), PopularityRecommender(half_life_days=7).fit(matrix),
              CooccurrenceRecommender(neighbours=3).fit(matrix), EASERecommender(l2=2.0, max_items=6).fit(matrix),
              ContentRecommender(min_df=1).fit(matrix, text)]
    rows = np.array([0, 3, -1, len(matrix.user_ids) - 1])
    for model in models:
        dense = model.score(rows)
        masked = dense.copy()
        for position, row in enumerate(rows):
            if row >= 0:
                masked[position, matrix.user_items(row)] = -np.inf
        if isinstance(model, CooccurrenceRecommender):
            # Only items a neighbour list reaches are candidates (their scores are > 0).
            masked[masked == 0] = -np.inf
        expected_items, expected_scores = top_k(masked, n)
        if isinstance(model, EASERecommender):
            outside = np.setdiff1d(np.arange(matrix.shape[1]), model.items_)
            masked[:, outside] = -np.inf
            expected_items, expected_scores = top_k(masked, min(n, len(model.items_)))
        items, scores = model.candidates(rows, n)
        name = type(model).__name__
        assert scores == pytest.approx(expected_scores, rel=1e-6, abs=1e-9), name
        assert ((items >= 0) == (expected_items >= 0)).all(), name
        # The chosen items carry those scores (ties may be broken differently at the last bit).
        ok = items >= 0
        position = np.repeat(np.arange(len(rows)), items.shape[1]).reshape(items.shape)
        assert masked[position[ok], items[ok]] == pytest.approx(scores[ok], rel=1e-6, abs=1e-9), name
        row_of = np.repeat(rows, items.shape[1]).reshape(items.shape)
        assert model.score_pairs(row_of[ok], items[ok]) == pytest.approx(scores[ok], rel=1e-5, abs=1e-7), name


def test_candidates_are_bounded_per_user():
    matrix = InteractionMatrix.from_frame(block_log(users_per_block=30))
    models = {"popularity": PopularityRecommender().fit(matrix), "ease": EASERecommender(l2=1.0).fit(matrix),
              "cooccurrence": CooccurrenceRecommender().fit(matrix)}
    rows = np.arange(matrix.shape[0])
    positions, items = candidate_pairs(models, rows, {"popularity": 2, "ease": 2, "cooccurrence": 2})
    per_user = np.bincount(positions, minlength=len(rows))
    assert per_user.max() <= 6
    # No candidate is an item the user has seen.
    assert not np.asarray(matrix.matrix[rows[positions], items]).ravel().any()


# --------------------------------------------------------------------------- champion, metrics


def test_champion_rule():
    assert pick_champion({"hybrid": 0.06, "ease": 0.05, "trending": 0.04}, users=500) == HYBRID
    assert pick_champion({"hybrid": 0.05, "ease": 0.06}, users=500) == "ease"
    # A tie goes to the simpler single model; a margin makes the hybrid work harder.
    assert pick_champion({"hybrid": 0.05, "ease": 0.05}, users=500) == "ease"
    assert pick_champion({"hybrid": 0.052, "ease": 0.05}, users=500, margin=0.05) == "ease"
    # Too few held-aside users to tell: the hybrid serves.
    assert pick_champion({"hybrid": 0.05, "ease": 0.06}, users=20) == HYBRID
    assert pick_champion({"ease": 0.06, "als": 0.07}, users=20) == "als"


def test_serving_note_says_which_model_serves_and_gives_the_hybrids_figure_when_it_loses():
    scores = {"hybrid": 0.0420, "ease": 0.0460, "trending": 0.0423}
    assert serving_note(pick_champion(scores, users=400), scores, 400) == (
        "ease serves: NDCG@10 0.0460 on 400 shoppers held aside in training, against the hybrid's 0.0420; "
        "the hybrid does not beat it, so the simpler model serves.")
    scores = {"hybrid": 0.0522, "ease": 0.0460}
    assert serving_note(pick_champion(scores, users=500), scores, 500) == (
        "The hybrid serves: NDCG@10 0.0522 on 500 shoppers held aside in training, against 0.0460 for the best "
        "single model, ease.")
    # Too few held-aside users: the hybrid serves even though a single model scored higher, and the note says why.
    scores = {"hybrid": 0.05, "ease": 0.06}
    assert serving_note(pick_champion(scores, users=20), scores, 20) == (
        "The hybrid serves: only 20 shoppers were held aside in training, too few to tell it from the best single "
        "model, ease (NDCG@10 0.0600 against the hybrid's 0.0500).")
    assert serving_note(HYBRID, {}, 0).startswith("The hybrid serves: too few shoppers")


def test_ndcg_of_arrays_by_hand():
    # Row 0: relevant {1, 4}; list [1, 2, 4]: DCG = 1/log2(2) + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3).
    # Row 1: relevant {3}; list [-1, 3, 0]: DCG = 1/log2(3); IDCG = 1.
    relevant = sp.csr_matrix(np.array([[0, 1, 0, 0, 1], [0, 0, 0, 1, 0]]))
    items = np.array([[1, 2, 4], [-1, 3, 0]])
    got = ndcg_of_arrays(items, relevant, 3)
    assert got == pytest.approx([1.5 / (1 + 1 / np.log2(3)), 1 / np.log2(3)])
    assert got[0] == pytest.approx(ndcg_at_k([1, 2, 4], {1, 4}, 3))


# --------------------------------------------------------------------------- the hybrid as an estimator


def small_hybrid(**settings) -> HybridRecommender:
    return HybridRecommender(candidates_per_model=6, ease_candidates=6, min_child_samples=5, n_estimators=20,
                             als_factors=2, threads=1, **settings)


def test_estimator_contract():
    model = small_hybrid(random_state=3)
    # __init__ only stores parameters: clone gives an equal, unfitted copy.
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "models_")
    with pytest.raises(ShopLensError, match="call fit"):
        copy.recommend(np.array([0]))
    matrix = InteractionMatrix.from_frame(block_log(users_per_block=30))
    assert model.fit(matrix) is model
    learned = [name for name in vars(model) if name.endswith("_") and not name.startswith("_")]
    assert {"models_", "ranker_", "champion_", "validation_", "feature_names_"} <= set(learned)
    for estimator in (PopularityRecommender(), CooccurrenceRecommender(), EASERecommender(), ALSRecommender(),
                      ContentRecommender()):
        assert clone(estimator).get_params() == estimator.get_params()


def test_progress_is_reported_and_a_raise_stops_the_fit():
    matrix = InteractionMatrix.from_frame(block_log(users_per_block=30))
    steps: list[tuple[str, int, int]] = []
    small_hybrid().fit(matrix, progress=lambda step, done, total: steps.append((step, done, total)))
    assert steps[0][1] == 0 and steps[-1] == ("done", steps[-1][2], steps[-1][2])
    assert [done for _, done, _ in steps] == sorted(done for _, done, _ in steps)
    assert any("ranker" in step for step, _, _ in steps)

    class Stop(Exception):
        pass

    def stop_at_the_ranker(step: str, done: int, total: int) -> None:
        if "ranker" in step:
            raise Stop

    model = small_hybrid()
    with pytest.raises(Stop):
        model.fit(matrix, progress=stop_at_the_ranker)
    assert not hasattr(model, "ranker_")


def test_a_single_model_champion_serves_with_its_own_reasons():
    matrix = InteractionMatrix.from_frame(block_log(users_per_block=30))
    model = small_hybrid().fit(matrix)
    served = model.recommend_with_reasons("Au1", 2, model="ease")
    assert served.model == "ease"
    assert not any(column.startswith("shap_") for column in served.items)
    assert served.items["score"].is_monotonic_decreasing
    # EASE's own top 2 for the user, in order.
    items, _ = model.models_["ease"].candidates(matrix.rows_of(["Au1"]), 2)
    assert served.items["product_id"].tolist() == matrix.item_ids[items[0]].tolist()
    assert served.items["reason"].str.startswith("shoppers who chose").all()


# --------------------------------------------------------------------------- module graph


def test_recommend_modules_have_no_import_cycle():
    graph: dict[str, set[str]] = {}
    for source in ENGINE.glob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("analytics.recommend"):
                name = node.module.removeprefix("analytics.recommend").lstrip(".")
                imported |= {alias.name for alias in node.names} if not name else {name}
        graph[source.stem] = {name for name in imported if (ENGINE / f"{name}.py").exists()}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for name in graph.get(start, ()):
            if name == target or (name not in seen and reaches(name, target, seen | {name})):
                return True
        return False

    cycles = [name for name in graph if reaches(name, name, {name})]
    assert cycles == []
