"""The hybrid recommender's public names, kept in one place for the pages and the explanation registry.

The model lives in `ranker.py`, its candidates and features in `features.py`, the reason text in
`reasons.py`, the champion rule in `champion.py` and the warehouse trainer for the explanation layer
in `ranker_card.py`; this module only re-exports them (it imports nothing that imports it).
"""

from __future__ import annotations

from analytics.recommend.features import FEATURE_LABELS, MONOTONE, RANKED_MODELS, rank_within
from analytics.recommend.ranker import HybridRecommender, Recommendation
from analytics.recommend.ranker_card import RANKER_HOLDOUT_DAYS, SHAP_ROWS, train_ranker_model

# The old private name, kept for callers of the previous module.
_rank_within = rank_within

__all__ = ["FEATURE_LABELS", "MONOTONE", "RANKED_MODELS", "HybridRecommender", "Recommendation",
           "RANKER_HOLDOUT_DAYS", "SHAP_ROWS", "train_ranker_model"]
