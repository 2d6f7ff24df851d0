"""The funnel engine against the plain-Python reference on random event logs, and its invariants."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.funnels.core import compute_levels
from tests.test_funnel_reference import _ordered_paths, reference_conversion_counts, reference_counts, reference_level

MODES = ("ordered", "strict", "unordered")

events = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 40), st.integers(0, 4)),  # (user, time, event type)
    min_size=0, max_size=60,
)
funnel_steps = st.lists(st.integers(0, 3), min_size=2, max_size=6)  # event type 4 is never a step


def engine_counts(log, steps, window, mode, *, shuffle_seed: int | None = None, exclusions=(),
                  attempts: bool = False) -> list[int]:
    rows = list(log)
    if shuffle_seed is not None:
        np.random.default_rng(shuffle_seed).shuffle(rows)
    users = np.array([row[0] for row in rows], dtype=np.int64)
    times = np.array([row[1] for row in rows], dtype=np.int64)
    masks = np.array([sum(1 << k for k, step in enumerate(steps) if step == row[2])
                      + sum(1 << (len(steps) + j) for j, exclusion in enumerate(exclusions) if exclusion[0] == row[2])
                      for row in rows], dtype=np.int64)
    levels = compute_levels(users, times, masks, n_steps=len(steps), window_us=window, mode=mode,
                            exclusions=[(from_step, to_step) for _, from_step, to_step in exclusions],
                            attempts=attempts)
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


@st.composite
def steps_and_exclusions(draw):
    """Steps, and up to 3 exclusions of any event type (type 4 is never a step) between two of them."""
    steps = draw(funnel_steps)
    exclusions = []
    for _ in range(draw(st.integers(0, 3))):
        from_step = draw(st.integers(1, len(steps) - 1))
        exclusions.append((draw(st.integers(0, 4)), from_step, draw(st.integers(from_step + 1, len(steps)))))
    return steps, exclusions


@settings(max_examples=300, deadline=None)
@given(log=events, funnel=steps_and_exclusions(), window=st.integers(1, 30), mode=st.sampled_from(MODES),
       seed=st.integers(0, 1000))
def test_engine_equals_reference_with_exclusions(log, funnel, window, mode, seed) -> None:
    steps, exclusions = funnel
    assert (engine_counts(log, steps, window, mode, shuffle_seed=seed, exclusions=exclusions)
            == reference_counts(log, steps, window, mode, exclusions))


@settings(max_examples=200, deadline=None)
@given(log=events, funnel=steps_and_exclusions(), window=st.integers(1, 30), mode=st.sampled_from(MODES))
def test_exclusions_never_raise_counts(log, funnel, window, mode) -> None:
    steps, exclusions = funnel
    plain = engine_counts(sorted(log), steps, window, mode)
    excluded = engine_counts(sorted(log), steps, window, mode, exclusions=exclusions)
    assert all(e <= p for p, e in zip(plain, excluded))
    assert all(later <= earlier for earlier, later in zip(excluded, excluded[1:]))


@settings(max_examples=200, deadline=None)
@given(log=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 4)), max_size=25), steps=funnel_steps,
       window=st.integers(1, 30))
def test_ordered_definition_equals_the_clickhouse_walk(log, steps, window) -> None:
    # The reference's path definition (used with exclusions) and its literal windowFunnel walk agree
    # when there are none, so exclusions extend windowFunnel's semantics rather than change them.
    assert _ordered_paths(log, steps, window, ()) == reference_level(log, steps, window, "ordered")


@settings(max_examples=300, deadline=None)
@given(log=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 30), st.integers(0, 4)), max_size=30),
       funnel=steps_and_exclusions(), window=st.integers(1, 12), mode=st.sampled_from(MODES),
       seed=st.integers(0, 1000))
def test_conversions_equal_reference_attempts(log, funnel, window, mode, seed) -> None:
    steps, exclusions = funnel
    engine = engine_counts(log, steps, window, mode, shuffle_seed=seed, exclusions=exclusions, attempts=True)
    assert engine == reference_conversion_counts(log, steps, window, mode, exclusions)
    # Every key that entered has at least one attempt. (Not so for conversions: a user's best attempt
    # may start inside an earlier attempt, which does not count as its own; see the reference tests.)
    users = engine_counts(log, steps, window, mode, exclusions=exclusions)
    assert engine[0] >= users[0]
    assert all(later <= earlier for earlier, later in zip(engine, engine[1:]))


@settings(max_examples=200, deadline=None)
@given(log=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2), st.integers(0, 12), st.integers(0, 4)),
                    max_size=50),
       steps=funnel_steps, window=st.integers(1, 12), mode=st.sampled_from(MODES), shuffle=st.booleans())
def test_keys_within_users_equal_the_reference(log, steps, window, mode, shuffle) -> None:
    # Keys nested in users (sessions, breakdown values), several of them at one user's timestamp, in
    # (user, time) order with the keys interleaved or not, or shuffled: each key is its own funnel.
    rows = sorted(log, key=lambda row: (row[0], row[2])) if not shuffle else list(log)
    users = np.array([row[0] for row in rows], dtype=np.int64)
    keys = users * 3 + np.array([row[1] for row in rows], dtype=np.int64)
    times = np.array([row[2] for row in rows], dtype=np.int64)
    masks = np.array([sum(1 << k for k, step in enumerate(steps) if step == row[3]) for row in rows], dtype=np.int64)
    levels = compute_levels(users, times, masks, n_steps=len(steps), window_us=window, mode=mode, keys=keys)
    by_key = [(user * 3 + part, time, event_type) for user, part, time, event_type in log]
    assert [int(count) for count in levels.reached(len(steps))] == reference_counts(by_key, steps, window, mode)
