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


def serving_note(champion: str, validation: Mapping[str, float], users: int,
                 min_users: int = MIN_VALIDATION_USERS) -> str:
    """One plain sentence saying which model serves and why, from the held-aside users' NDCG@10.

    Args:
        champion: the serving model (`pick_champion`'s answer).
        validation: model name -> NDCG@10 on the held-aside users ("hybrid" and the single models);
            empty when no users were held aside.
        users: how many held-aside users the scores average over.
        min_users: as in `pick_champion`.

    Returns:
        The sentence, e.g. "ease serves: NDCG@10 0.0460 on 400 shoppers held aside in training, against
        the hybrid's 0.0420; the hybrid does not beat it, so the simpler model serves."
    """
    scores = {name: value for name, value in validation.items() if value == value}
    singles = {name: value for name, value in scores.items() if name != HYBRID}
    if champion == HYBRID:
        if not scores or not singles:
            return "The hybrid serves: too few shoppers were held aside in training to compare it with the single models."
        best = max(singles, key=lambda name: singles[name])
        if users < min_users:
            return (f"The hybrid serves: only {users:,} shoppers were held aside in training, too few to tell it from "
                    f"the best single model, {best} (NDCG@10 {singles[best]:.4f} against the hybrid's "
                    f"{scores.get(HYBRID, float('nan')):.4f}).")
        return (f"The hybrid serves: NDCG@10 {scores[HYBRID]:.4f} on {users:,} shoppers held aside in training, "
                f"against {singles[best]:.4f} for the best single model, {best}.")
    hybrid = scores.get(HYBRID)
    mine = scores.get(champion)
    if mine is None:
        return f"{champion} serves."
    against = "" if hybrid is None else f", against the hybrid's {hybrid:.4f}; the hybrid does not beat it, so the " \
                                        "simpler model serves"
    return f"{champion} serves: NDCG@10 {mine:.4f} on {users:,} shoppers held aside in training{against}."
