"""The funnel engine against the plain-Python reference on random event logs, and its invariants."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.funnels.core import compute_levels
from tests.test_funnel_reference import reference_counts

MODES = ("ordered", "strict", "unordered")

events = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 40), st.integers(0, 4)),  # (user, time, event type)
    min_size=0, max_size=60,
)
funnel_steps = st.lists(st.integers(0, 3), min_size=2, max_size=6)  # event type 4 is never a step


def engine_counts(log, steps, window, mode, *, shuffle_seed: int | None = None) -> list[int]:
    rows = list(log)
    if shuffle_seed is not None:
        np.random.default_rng(shuffle_seed).shuffle(rows)
    users = np.array([row[0] for row in rows], dtype=np.int64)
    times = np.array([row[1] for row in rows], dtype=np.int64)
    masks = np.array([sum(1 << k for k, step in enumerate(steps) if step == row[2]) for row in rows], dtype=np.int64)
    levels = compute_levels(users, times, masks, n_steps=len(steps), window_us=window, mode=mode)
    return [int(count) for count in levels.reached(len(steps))]


@settings(max_examples=300, deadline=None)
@given(log=events, steps=funnel_steps, window=st.integers(1, 30), mode=st.sampled_from(MODES),
       seed=st.integers(0, 1000))
def test_engine_equals_reference(log, steps, window, mode, seed) -> None:
    # Rows are shuffled so the engine's re-ordering path is exercised too.
    assert engine_counts(log, steps, window, mode, shuffle_seed=seed) == reference_counts(log, steps, window, mode)


@settings(max_examples=200, deadline=None)
@given(log=events, steps=funnel_steps, window=st.integers(1, 30), mode=st.sampled_from(MODES))
def test_counts_never_increase_down_the_funnel(log, steps, window, mode) -> None:
    counts = engine_counts(sorted(log), steps, window, mode)
    assert all(later <= earlier for earlier, later in zip(counts, counts[1:]))


@settings(max_examples=200, deadline=None)
@given(log=events, steps=funnel_steps, window=st.integers(1, 30), extra=st.integers(1, 30),
       mode=st.sampled_from(MODES))
def test_widening_the_window_never_lowers_conversion(log, steps, window, extra, mode) -> None:
    narrow = engine_counts(sorted(log), steps, window, mode)
    wide = engine_counts(sorted(log), steps, window + extra, mode)
    assert all(w >= n for n, w in zip(narrow, wide))


DAY_US = 86_400_000_000


@settings(max_examples=100, deadline=None)
@given(log=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(0, 40), st.integers(0, 4)),
                    max_size=60),
       steps=funnel_steps, mode=st.sampled_from(MODES))
def test_rows_in_warehouse_order_need_no_sort(log, steps, mode) -> None:
    # The warehouse stores events by (day, user, time): users' rows interleave across days. The
    # engine must read that order as it is, exactly as the reference does.
    rows = sorted(((day, user, day * DAY_US + offset, event_type) for user, day, offset, event_type in log))
    as_log = [(user, time, event_type) for _, user, time, event_type in rows]
    window = 2 * DAY_US  # long enough for attempts to cross midnight
    assert engine_counts(as_log, steps, window, mode) == reference_counts(as_log, steps, window, mode)
