"""The hybrid ranker trained on the warehouse, as a model card for the shared explanation layer."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from analytics.errors import ShopLensError
from analytics.recommend.evaluate import DEFAULT_HOLDOUT_DAYS, DEFAULT_SEED, evaluate_warehouse
from analytics.recommend.features import FEATURE_LABELS
from analytics.recommend.ranker import HybridRecommender

# The leaderboard's held-out days and seed, so the leaderboard's hybrid can serve as the ranker (`evaluation`).
RANKER_HOLDOUT_DAYS = DEFAULT_HOLDOUT_DAYS
RANKER_SEED = DEFAULT_SEED
RANKER_LABEL_DAYS = 28
SHAP_ROWS = 2_000


def train_ranker_model(con: Any, holdout_days: int = RANKER_HOLDOUT_DAYS, shap_rows: int = SHAP_ROWS,
                       random_state: int = RANKER_SEED, evaluation: Any = None) -> Any:
    """Train the hybrid ranker on the warehouse and return it as a `TrainedModel` (task "ranking").

    The interactions before the last `holdout_days` days train the ranker (its labels are that
    period's last `RANKER_LABEL_DAYS` days); the held-out days validate it: the hybrid's NDCG@10,
    precision, recall, MAP and hit rate at 10 on users active in both periods.

    Args:
        con: a warehouse connection (e.g. to the sample warehouse).
        holdout_days: validation window at the end of the data, >= 1.
        shap_rows: validation candidate rows to explain at most.
        random_state: seed.
        evaluation: a warehouse `Leaderboard` at 10 on the same held-out days that kept its hybrid
            (`evaluate_warehouse(..., keep_hybrid=True)`): its hybrid is explained instead of fitting
            another, so the ranker's card and the leaderboard's hybrid row are one model. Ignored when it
            does not match (another cut-off, hold-out or seed, or no hybrid kept).

    Returns:
        analytics.explain.trained.TrainedModel with the LGBMRanker as `model`.
    """
    from analytics.explain.trained import TrainedModel

    started = time.perf_counter()
    if _matches(evaluation, holdout_days, random_state):
        result = evaluation
    else:
        result = evaluate_warehouse(con, k=10, holdout_days=holdout_days, models=("hybrid",),
                                    keep_hybrid=True, random_state=random_state)
    hybrid: HybridRecommender = result.hybrid
    validation = result.validation_frame
    if validation is None or validation.empty:
        raise ShopLensError("the held-out days have no user with earlier history; use a warehouse with more days")
    rng = np.random.default_rng(random_state)
    rows = validation.index.to_numpy()
    if len(rows) > shap_rows:
        rows = np.sort(rng.choice(rows, shap_rows, replace=False))
    sample = validation.loc[rows]
    products = hybrid.products_.reindex(hybrid.interactions_.item_ids[sample["item"].to_numpy()])
    segments = pd.DataFrame({
        column: products[column].to_numpy(dtype=object) if column in products else None
        for column in ("category", "price_band")
    }, index=sample.index).fillna("unknown")
    row = result.models.set_index("model").loc["hybrid"]
    metrics = {name: float(row[name]) for name in ("ndcg@10", "precision@10", "recall@10", "map@10",
                                                   "hit_rate@10")}
    return TrainedModel(
        name="recommendation_ranker",
        title="Recommendation ranker",
        task="ranking",
        target="the user interacts with the item in the next days",
        model=hybrid.ranker_,
        feature_labels={name: FEATURE_LABELS[name] for name in hybrid.feature_names_},
        categorical_features=(),
        explain_rows=sample[hybrid.feature_names_],
        explain_actual=sample["label"].astype(int),
        segments=segments,
        metrics=metrics,
        data_version=_data_version(con),
        training_start=result.train_start,
        training_end=result.cut,
        validation_start=result.cut,
        validation_end=result.test_end,
        train_rows=hybrid.train_rows_,
        validation_rows=int(len(validation)),
        parameters=hybrid.get_params(),
        # A reused hybrid was fitted in the leaderboard's run: its own training time, not this call's.
        fit_seconds=float(row["train_seconds"]) if result is evaluation else time.perf_counter() - started,
    )


def _matches(evaluation: Any, holdout_days: int, random_state: int) -> bool:
    """Whether `evaluation` is the ranker's own evaluation: at 10, on the same hold-out, same seed, hybrid kept."""
    return (evaluation is not None and evaluation.hybrid is not None and evaluation.validation_frame is not None
            and evaluation.k == 10 and evaluation.holdout_days == holdout_days
            and evaluation.random_state == random_state)


def _data_version(con: Any) -> str:
    from analytics.warehouse import data_version

    try:
        return str(data_version(con))
    except Exception:  # noqa: BLE001 - a warehouse without metadata still trains; the card shows no version
        return ""
