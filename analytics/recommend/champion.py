"""The champion rule: which model serves recommendations, chosen on held-out users.

The hybrid ranker is only worth its cost (a second fit of every base model and
a booster) when it finds more than the best single model does. It must beat
every single model's NDCG@10 on users it was not trained on by `HYBRID_MARGIN`;
otherwise the best single model serves and the leaderboard says so. With fewer
than `MIN_VALIDATION_USERS` held-aside users the comparison is noise (one user's
list moves the mean by several per cent), so the hybrid serves.
"""

from __future__ import annotations

from typing import Mapping

HYBRID = "hybrid"
# Share by which the hybrid must beat the best single model. 0: plainly better is enough, because the
# hybrid also gives every item a SHAP-backed reason; a tie goes to the simpler single model.
HYBRID_MARGIN = 0.0
# Below this many held-aside users the NDCG means are too noisy to replace the hybrid.
MIN_VALIDATION_USERS = 100


def pick_champion(scores: Mapping[str, float], users: int, margin: float = HYBRID_MARGIN,
                  min_users: int = MIN_VALIDATION_USERS) -> str:
    """The model that serves: the hybrid when it beats the best single model by `margin`, else that model.

    Args:
        scores: model name -> NDCG@10 (or any higher-is-better metric) on held-out users; "hybrid" optional.
        users: how many held-aside users the scores average over.
        margin: >= 0, see HYBRID_MARGIN.
        min_users: below this many users the hybrid serves (when it is in `scores`).

    Returns:
        The champion's name (ties between single models: the first in `scores`).
    """
    singles = {name: value for name, value in scores.items() if name != HYBRID and value == value}
    if not singles or (HYBRID in scores and users < min_users):
        return HYBRID
    best = max(singles, key=lambda name: singles[name])
    hybrid = scores.get(HYBRID)
    if hybrid is not None and hybrid == hybrid and hybrid > (1 + margin) * singles[best]:
        return HYBRID
    return best
