"""Differentially private funnel step counts: users reaching each step, non-increasing after noise.

Each user who entered the funnel stops at exactly one step (their furthest), so the histogram of
furthest steps changes by 1 in one bucket when one user is added or removed: L1 sensitivity 1, with
no user ever counted twice, whatever the number of steps. That histogram gets discrete Laplace noise
of scale 1 / ε (`funnel_epsilon`); the users reaching step k are the noisy buckets k..n added up.
Noise can make a later step larger than an earlier one, so the counts are then fitted to the closest
non-increasing, non-negative sequence (isotonic regression, least squares; Hay et al. 2010). The fit
is post-processing: it costs no privacy, and because the true counts are themselves non-increasing
it never moves the whole vector further from them.

The funnel is counted by users, whatever the page counts by: sessions or conversions would let one
user contribute many times.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd
from sklearn.isotonic import isotonic_regression

from analytics.filters import Filters
from analytics.funnels.query import FunnelQuery
from analytics.funnels.runner import key_levels, read_step_events
from analytics.privacy.ledger import PrivacyLedger, query_key
from analytics.privacy.mechanisms import noisy_histogram, summed_count_accuracy
from analytics.privacy.settings import PrivacySettings

if TYPE_CHECKING:  # pragma: no cover
    from analytics.funnels.store import EventStore


@dataclass(frozen=True)
class PrivateFunnel:
    """Noisy step counts for one funnel.

    Attributes:
        query: the funnel, counted by users, without breakdown.
        filters: the slice.
        steps: one row per step, compatible with `FunnelResult.steps` for charts: step_number,
            step, event_type, users (noisy, non-increasing, >= 0), users_accuracy (half-width of the
            95% interval of that step's noise before the monotone fit), conversion_from_start,
            conversion_from_previous (0..1, NaN when the base is 0), dropped.
        epsilon: ε the counts spend.
        scale: the noise scale of each furthest-step bucket (1 / ε).
        charged: ε charged now (0 when this viewer saw them earlier today).
        spent_today, daily_epsilon: the viewer's budget after this release.
    """

    query: FunnelQuery
    filters: Filters
    steps: pd.DataFrame
    epsilon: float
    scale: float
    charged: float
    spent_today: float
    daily_epsilon: float

    @property
    def conversion(self) -> tuple[float | None, float | None]:
        """(users reaching the last step / users entering, half-width of an interval holding with >= 95%).

        The interval takes each count's 97.5% interval (Bonferroni) and the extreme ratios between them;
        (None, None) when nobody entered.
        """
        users = self.steps["users"].to_numpy()
        if users[0] <= 0:
            return None, None
        n_steps = len(users)
        value = float(users[-1] / users[0])
        last = summed_count_accuracy(self.scale, 1, 0.975)
        first = summed_count_accuracy(self.scale, n_steps, 0.975)
        low = max(users[-1] - last, 0) / (users[0] + first)
        high = min((users[-1] + last) / (users[0] - first), 1.0) if users[0] > first else 1.0
        return value, max(value - low, high - value)

    @property
    def is_empty(self) -> bool:
        """True when the noisy count at the first step is 0."""
        return int(self.steps["users"].iloc[0]) == 0


def furthest_step_histogram(levels: np.ndarray, n_steps: int) -> np.ndarray:
    """int64[n_steps]: how many users stopped at step 1, 2, ..., n (users who never entered are left out).

    Args:
        levels: each user's furthest step, 0..n_steps (0: never did step 1).
        n_steps: the number of steps.
    """
    counts = np.bincount(np.asarray(levels, dtype=np.int64), minlength=n_steps + 1)
    return counts[1:n_steps + 1].astype(np.int64)


def monotone_steps(noisy_buckets: np.ndarray) -> np.ndarray:
    """Users reaching each step from the noisy furthest-step buckets: cumulative, fitted, whole.

    Args:
        noisy_buckets: int[n] noisy counts of users stopping at each step.

    Returns:
        int64[n], non-increasing and >= 0: the least-squares non-increasing fit of the cumulative sums
        (from the last step back), clamped at 0 and rounded (both keep the order).
    """
    reached = np.cumsum(np.asarray(noisy_buckets, dtype=np.float64)[::-1])[::-1]
    fitted = isotonic_regression(reached, increasing=False)
    return np.rint(np.maximum(fitted, 0.0)).astype(np.int64)


def user_levels(con: duckdb.DuckDBPyConnection, query: FunnelQuery, filters: Filters,
                store: EventStore | None = None) -> np.ndarray:
    """Each user's furthest step in the funnel (counted by users), read through the funnel engine."""
    events = read_step_events(con, query, filters, (), store)
    return key_levels(query, events, with_durations=False).level


def draw_steps(levels: np.ndarray, n_steps: int, epsilon: float) -> dict:
    """Noisy, fitted step counts from each user's level; JSON-ready, as the ledger stores them."""
    noisy, spent, scale = noisy_histogram(furthest_step_histogram(levels, n_steps), 1, epsilon)
    return {"users": monotone_steps(noisy).tolist(), "epsilon": spent, "scale": scale}


def step_frame(query: FunnelQuery, users: list[int], scale: float) -> pd.DataFrame:
    """The steps table from the fitted counts (see `PrivateFunnel.steps`)."""
    reached = np.asarray(users, dtype=np.int64)
    n_steps = len(reached)
    previous = np.concatenate([[reached[0]], reached[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        from_start = np.where(reached[0] > 0, reached / max(int(reached[0]), 1), np.nan)
        from_previous = np.where(previous > 0, reached / np.maximum(previous, 1), np.nan)
    return pd.DataFrame({
        "step_number": np.arange(1, n_steps + 1),
        "step": list(query.labels),
        "event_type": [step.event_type for step in query.steps],
        "users": reached,
        # Step k adds up the noisy buckets k..n.
        "users_accuracy": [summed_count_accuracy(scale, n_steps - index) for index in range(n_steps)],
        "conversion_from_start": from_start.astype(float),
        "conversion_from_previous": from_previous.astype(float),
        "dropped": (previous - reached).astype(np.int64),
    })


def private_funnel(con: duckdb.DuckDBPyConnection, query: FunnelQuery, filters: Filters, *, data_version: str,
                   viewer: str, ledger: PrivacyLedger, settings: PrivacySettings,
                   store: EventStore | None = None) -> PrivateFunnel:
    """The noisy step counts of `query` for `viewer`, through the budget ledger.

    Args:
        con: a warehouse connection.
        query: the funnel; counted by users and without breakdown here, whatever it asks.
        filters: the slice.
        data_version: the build's id.
        viewer: who asks; charged `settings.funnel_epsilon` the first time today.
        ledger: the budget ledger.
        settings: budgets.
        store: the build's events in memory, when the page holds them (same answer, faster).

    Raises:
        BudgetExhausted: the viewer cannot afford these counts today.
        ShopLensError: the query breaks a funnel rule.
    """
    query = replace(query, count_by="users", breakdown=None).validate()
    parameters = {"query": repr(query), "filters": filters.sql_parameters(), "epsilon": settings.funnel_epsilon}
    key = query_key("funnel_steps", data_version, parameters)
    label = f"Funnel {' > '.join(query.labels)} {filters.start_date}..{filters.end_date}"
    release = ledger.release(
        viewer, key, label, settings.funnel_epsilon,
        lambda: draw_steps(user_levels(con, query, filters, store), len(query.steps), settings.funnel_epsilon))
    answer = release.answer
    return PrivateFunnel(query, filters, step_frame(query, answer["users"], answer["scale"]), answer["epsilon"],
                         answer["scale"], release.charged, release.spent_today, release.daily_epsilon)
