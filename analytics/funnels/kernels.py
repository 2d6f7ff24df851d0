"""The funnel kernels: one compiled pass over the event rows per order mode, and one for attempts.

They live in one module because they share `_next_run`, and Numba's on-disk cache only notices a
change to a called compiled function when it sits in the same file (see `_jit`).

Ordered funnels: ClickHouse `windowFunnel(window)` (default mode), one pass over the events.

The state machine, per funnel key (a user, a session, or a user within a breakdown value):
events are taken in time order, and events with the same timestamp in step order (an event
that matches several steps counts for each, lowest step first). `start[k]` is the start time of
the latest attempt that has reached step k + 1:

- a step-1 event at time t sets `start[0] = t`;
- a step-k event (k > 1) at time t with `start[k-2]` set and `t <= start[k-2] + window`
  sets `start[k-1] = start[k-2]`.

The level is the furthest step any attempt reached. Starts only move forward in time, so the
latest start is always the best one to extend, which is why one pass is exact and the work grows
linearly with the number of steps (no enumeration of step combinations).

Strict funnels: ClickHouse `windowFunnel(window, 'strict_order')`, one pass over all events.

Like the ordered state machine, but every event of the key counts, not only step events. Once an
attempt has started (a step-1 event was seen), the scan stops for good at the first event that
matches no step, or at a step-k event whose step k - 1 was never reached. Events at one timestamp
are taken non-step events first, then steps in order, as ClickHouse sorts them. A step event that
arrives after the window has passed is skipped without stopping the scan, as in ClickHouse.

Unordered funnels: reaching step k means doing any k of the steps within one window.

Per key, the level is the largest number of distinct steps that all have an event inside one
window of the given length (both ends inclusive). The best window can always be taken to end at
an event, so one pass that keeps each step's latest event time and counts the steps seen within
`window` before each event is exact. An event that matches several steps counts for each.

Counting total conversions: every attempt of a user counts, not only the user's best one.

Attempts, per user, in time order (events at one timestamp taken as in the other modes: excluded
events first, then steps in order):

- A step-1 event (unordered: any step event) starts an attempt when none is in progress.
- The attempt is in progress until it completes (reaches the last step; step events at that same
  timestamp belong to it) or its window has passed (an event more than `window` after its start).
  In strict mode an event that matches no step, or a step out of order, also ends it; in unordered
  mode any excluded event does. Step-1 events during an attempt start nothing.
- Within an attempt the steps advance as in the order mode, from the attempt's own start only.
  Exclusions (ordered, strict) stop the attempt's progress between from_step and to_step exactly as
  they do for users; an attempt they stop for good still runs until its window passes.

Each attempt reports the furthest step it reached; a completed attempt is one conversion.
"""

from __future__ import annotations

import numpy as np

from analytics.funnels._jit import NONE, jit, jit_inline

DAY_US = 86_400_000_000  # microseconds in a day


@jit_inline
def _next_run(row, keys, times, masks, others, mask_bits, step_bits):
    """Read the run of rows that share the key and timestamp of `row`.

    Args:
        row: index of the run's first row.
        keys, times, masks, others, mask_bits: as the kernels take them.
        step_bits: the mask of the step bits, (1 << n_steps) - 1.

    Returns:
        (next row after the run, key, time in microseconds, the union of the run's masks,
        whether any row of the run matches no step).
    """
    n = keys.shape[0]
    low_bits = (1 << mask_bits) - 1
    has_others = others.shape[0] == n
    key = keys[row]
    time = times[row] >> mask_bits
    mask = times[row] & low_bits if mask_bits else masks[row]
    other = others[row] if has_others else (mask & step_bits) == 0
    row += 1
    while row < n and keys[row] == key and (times[row] >> mask_bits) == time:
        row_mask = times[row] & low_bits if mask_bits else masks[row]
        mask |= row_mask
        other = other or (others[row] if has_others else (row_mask & step_bits) == 0)
        row += 1
    return row, key, time, mask, other


@jit_inline
def _ordered_run(key, time, mask, level, entry, durations, start, n_steps, window, with_durations, exclusions):
    """Advance one key's ordered state machine by one run (its events at one timestamp, `mask` their union)."""
    if level[key] < 0:
        level[key] = 0
    # An excluded event ends every attempt that has reached its from_step but not its to_step
    # (taken before this timestamp's step events). Such attempts are all alike from here on,
    # so clearing their slots is exact; attempts already past to_step keep their own slots.
    for exclusion in range(exclusions.shape[0]):
        if (mask >> (n_steps + exclusion)) & 1:
            for slot in range(exclusions[exclusion, 0] - 1, exclusions[exclusion, 1] - 1):
                start[key, slot] = NONE
    for step in range(n_steps):
        if not (mask >> step) & 1:
            continue
        if step == 0:
            start[key, 0] = time
            if level[key] == 0:
                level[key] = 1
                entry[key] = time
                if with_durations:
                    durations[key, 0] = 0
        else:
            chain_start = start[key, step - 1]
            if chain_start != NONE and time - chain_start <= window:
                start[key, step] = chain_start
                if level[key] == step:
                    level[key] = step + 1
                    if with_durations:
                        durations[key, step] = time - chain_start


@jit
def ordered_levels(keys, times, masks, others, mask_bits, n_keys, n_steps, window, with_durations, exclusions):
    """Run the ordered state machine over event rows, one pass.

    Args:
        keys: int[n] dense funnel key of each row, in [0, n_keys); a key's rows at one timestamp are
            adjacent and its timestamps never decrease. Rows of one key at one timestamp are taken
            together, steps in order, and an event matching several steps counts for each.
        times: int64[n] microseconds, or `time << mask_bits | mask` when mask_bits > 0.
        masks: int64[n] the steps each row matches (bit k: step k + 1; bit n_steps + j: exclusion
            j + 1) when mask_bits is 0.
        others: bool[n] "the row holds an event that matches no step"; when empty, a row with mask 0
            is such an event.
        mask_bits: see `times`.
        n_keys, n_steps: sizes; window: microseconds, inclusive; with_durations: fill `durations`.
        exclusions: int64[m, 2], each exclusion's (from_step, to_step), 1-based.

    Returns:
        level int8[n_keys] (-1: no rows, else steps reached 0..n_steps), entry int64[n_keys]
        (first step-1 time, else NONE) and durations int64[n_keys, n_steps] (from the attempt's
        start to the first time each step was reached, NONE if never; 1x1 unless with_durations).
    """
    level = np.full(n_keys, -1, dtype=np.int8)
    entry = np.full(n_keys, NONE, dtype=np.int64)
    durations = np.full((n_keys, n_steps) if with_durations else (1, 1), NONE, dtype=np.int64)
    start = np.full((n_keys, n_steps), NONE, dtype=np.int64)
    n = keys.shape[0]
    step_bits = (1 << n_steps) - 1
    row = 0
    while row < n:
        # The run of rows with this key and timestamp, taken together, steps in order.
        row, key, time, mask, other = _next_run(row, keys, times, masks, others, mask_bits, step_bits)
        _ordered_run(key, time, mask, level, entry, durations, start, n_steps, window, with_durations, exclusions)
    return level, entry, durations


@jit
def strict_levels(keys, times, masks, others, mask_bits, n_keys, n_steps, window, with_durations, exclusions):
    """Run the strict state machine over event rows, one pass.

    Args:
        keys: int[n] dense funnel key of each row, in [0, n_keys); a key's rows at one timestamp are
            adjacent and its timestamps never decrease. Rows of one key at one timestamp are taken
            together, steps in order, and an event matching several steps counts for each.
        times: int64[n] microseconds, or `time << mask_bits | mask` when mask_bits > 0.
        masks: int64[n] the steps each row matches (bit k: step k + 1; bit n_steps + j: exclusion
            j + 1) when mask_bits is 0.
        others: bool[n] "the row holds an event that matches no step"; when empty, a row with mask 0
            is such an event.
        mask_bits: see `times`.
        n_keys, n_steps: sizes; window: microseconds, inclusive; with_durations: fill `durations`.
        exclusions: int64[m, 2], each exclusion's (from_step, to_step), 1-based.

    Returns:
        level int8[n_keys] (-1: no rows, else steps reached 0..n_steps), entry int64[n_keys]
        (first step-1 time, else NONE) and durations int64[n_keys, n_steps] (from the attempt's
        start to the first time each step was reached, NONE if never; 1x1 unless with_durations).
    """
    level = np.full(n_keys, -1, dtype=np.int8)
    entry = np.full(n_keys, NONE, dtype=np.int64)
    durations = np.full((n_keys, n_steps) if with_durations else (1, 1), NONE, dtype=np.int64)
    start = np.full((n_keys, n_steps), NONE, dtype=np.int64)
    started = np.zeros(n_keys, dtype=np.bool_)
    stopped = np.zeros(n_keys, dtype=np.bool_)
    n = keys.shape[0]
    step_bits = (1 << n_steps) - 1
    row = 0
    while row < n:
        # The run of rows with this key and timestamp, taken together, steps in order.
        row, key, time, mask, other = _next_run(row, keys, times, masks, others, mask_bits, step_bits)
        if level[key] < 0:
            level[key] = 0
        if stopped[key]:
            continue
        if other and started[key]:
            stopped[key] = True
            continue
        # An excluded event ends every attempt that has reached its from_step but not its to_step
        # (taken before this timestamp's step events). Such attempts are all alike from here on,
        # so clearing their slots is exact; attempts already past to_step keep their own slots.
        for exclusion in range(exclusions.shape[0]):
            if (mask >> (n_steps + exclusion)) & 1:
                for slot in range(exclusions[exclusion, 0] - 1, exclusions[exclusion, 1] - 1):
                    start[key, slot] = NONE
        for step in range(n_steps):
            if not (mask >> step) & 1:
                continue
            if step == 0:
                start[key, 0] = time
                started[key] = True
                if level[key] == 0:
                    level[key] = 1
                    entry[key] = time
                    if with_durations:
                        durations[key, 0] = 0
            elif started[key] and start[key, step - 1] == NONE:
                stopped[key] = True
                break
            else:
                chain_start = start[key, step - 1]
                if chain_start != NONE and time - chain_start <= window:
                    start[key, step] = chain_start
                    if level[key] == step:
                        level[key] = step + 1
                        if with_durations:
                            durations[key, step] = time - chain_start
    return level, entry, durations


@jit
def _strict_run(key, time, mask, other, level, entry, durations, start, started, stopped, n_steps, window,
                with_durations, exclusions):
    """Advance one key's strict state machine by one run (its events at one timestamp, `mask` their union,
    `other`: one of them matches no step).

    The same rule as `strict_levels` (which keeps it inline, where it is faster: one call site).
    Called, not inlined, from `_walk`: inlined three times there it made the strict walk 3.5x slower.
    """
    if level[key] < 0:
        level[key] = 0
    if stopped[key]:
        return
    if other and started[key]:
        stopped[key] = True
        return
    # An excluded event ends every attempt that has reached its from_step but not its to_step
    # (taken before this timestamp's step events). Such attempts are all alike from here on,
    # so clearing their slots is exact; attempts already past to_step keep their own slots.
    for exclusion in range(exclusions.shape[0]):
        if (mask >> (n_steps + exclusion)) & 1:
            for slot in range(exclusions[exclusion, 0] - 1, exclusions[exclusion, 1] - 1):
                start[key, slot] = NONE
    for step in range(n_steps):
        if not (mask >> step) & 1:
            continue
        if step == 0:
            start[key, 0] = time
            started[key] = True
            if level[key] == 0:
                level[key] = 1
                entry[key] = time
                if with_durations:
                    durations[key, 0] = 0
        elif started[key] and start[key, step - 1] == NONE:
            stopped[key] = True
            return
        else:
            chain_start = start[key, step - 1]
            if chain_start != NONE and time - chain_start <= window:
                start[key, step] = chain_start
                if level[key] == step:
                    level[key] = step + 1
                    if with_durations:
                        durations[key, step] = time - chain_start


@jit
def unordered_levels(keys, times, masks, others, mask_bits, n_keys, n_steps, window, with_durations, exclusions):
    """Run the unordered count over event rows, one pass.

    Args:
        keys: int[n] dense funnel key of each row, in [0, n_keys); a key's rows at one timestamp are
            adjacent and its timestamps never decrease. Rows of one key at one timestamp are taken
            together, steps in order, and an event matching several steps counts for each.
        times: int64[n] microseconds, or `time << mask_bits | mask` when mask_bits > 0.
        masks: int64[n] the steps each row matches (bit k: step k + 1; bit n_steps + j: exclusion
            j + 1) when mask_bits is 0.
        others: bool[n] "the row holds an event that matches no step"; when empty, a row with mask 0
            is such an event.
        mask_bits: see `times`.
        n_keys, n_steps: sizes; window: microseconds, inclusive; with_durations: fill `durations`.
        exclusions: int64[m, 2], each exclusion's (from_step, to_step), 1-based.

    Returns:
        level int8[n_keys] (-1: no rows, else steps reached 0..n_steps), entry int64[n_keys]
        (first step event, else NONE) and durations int64[n_keys, n_steps] (from the attempt's
        start to the first time each step was reached, NONE if never; 1x1 unless with_durations).
    """
    level = np.full(n_keys, -1, dtype=np.int8)
    entry = np.full(n_keys, NONE, dtype=np.int64)
    durations = np.full((n_keys, n_steps) if with_durations else (1, 1), NONE, dtype=np.int64)
    latest = np.full((n_keys, n_steps), NONE, dtype=np.int64)
    n = keys.shape[0]
    step_bits = (1 << n_steps) - 1
    row = 0
    while row < n:
        # The run of rows with this key and timestamp, taken together, steps in order.
        row, key, time, mask, other = _next_run(row, keys, times, masks, others, mask_bits, step_bits)
        if level[key] < 0:
            level[key] = 0
        if exclusions.shape[0] and (mask >> n_steps) != 0:
            # Unordered steps have no order, so an excluded event (whatever its step range) cuts
            # every earlier step event out of later windows; this timestamp's steps come after it.
            for step in range(n_steps):
                latest[key, step] = NONE
        if (mask & step_bits) == 0:
            continue
        for step in range(n_steps):
            if (mask >> step) & 1:
                latest[key, step] = time
        if level[key] == 0:
            entry[key] = time
        count = 0
        earliest = time
        for step in range(n_steps):
            seen = latest[key, step]
            if seen != NONE and time - seen <= window:
                count += 1
                if seen < earliest:
                    earliest = seen
        if count > level[key]:
            if with_durations:
                for reached in range(level[key], count):
                    durations[key, reached] = 0 if reached == 0 else time - earliest
            level[key] = count
    return level, entry, durations


MODE_CODES = {"ordered": 0, "strict": 1, "unordered": 2}


@jit
def attempt_levels(keys, times, masks, others, mask_bits, n_keys, n_steps, window, with_durations, exclusions,
                   mode_code):
    """Split each key's events into attempts and run the order mode within each, one pass.

    Args:
        keys, times, masks, others, mask_bits, n_keys, n_steps, window, with_durations, exclusions:
            as for `ordered_levels`.
        mode_code: 0 ordered, 1 strict, 2 unordered (`MODE_CODES`).

    Returns:
        attempt_key int64[a] (the dense key of each attempt, in the order attempts started),
        level int8[a] (steps reached, 1..n_steps), start int64[a] (the attempt's first event time)
        and durations int64[a, n_steps] (from the start to first reaching each step, NONE if never;
        1x1 unless with_durations).
    """
    n = keys.shape[0]
    attempt_key = np.empty(n, dtype=np.int64)
    level = np.zeros(n, dtype=np.int8)
    start = np.empty(n, dtype=np.int64)
    durations = np.full((n, n_steps) if with_durations else (1, 1), NONE, dtype=np.int64)
    current = np.full(n_keys, -1, dtype=np.int64)
    reached = np.zeros((n_keys, n_steps), dtype=np.bool_)
    count = 0
    step_bits = (1 << n_steps) - 1
    row = 0
    while row < n:
        # The run of rows with this key and timestamp, taken together, steps in order.
        row, key, time, mask, other = _next_run(row, keys, times, masks, others, mask_bits, step_bits)
        attempt = current[key]
        if attempt >= 0 and time - start[attempt] > window:
            attempt = -1
        if attempt >= 0 and mode_code == 1 and other:
            attempt = -1
        if attempt >= 0:
            for exclusion in range(exclusions.shape[0]):
                if (mask >> (n_steps + exclusion)) & 1:
                    if mode_code == 2:
                        attempt = -1
                        break
                    for slot in range(exclusions[exclusion, 0] - 1, exclusions[exclusion, 1] - 1):
                        reached[key, slot] = False
        current[key] = attempt
        for step in range(n_steps):
            if not (mask >> step) & 1:
                continue
            if attempt < 0:
                if step != 0 and mode_code != 2:
                    continue
                attempt = count
                count += 1
                current[key] = attempt
                attempt_key[attempt] = key
                start[attempt] = time
                for slot in range(n_steps):
                    reached[key, slot] = False
            if mode_code == 2:
                if not reached[key, step]:
                    reached[key, step] = True
                    level[attempt] += 1
                    if with_durations:
                        durations[attempt, level[attempt] - 1] = time - start[attempt]
            elif step == 0:
                if level[attempt] == 0:
                    reached[key, 0] = True
                    level[attempt] = 1
                    if with_durations:
                        durations[attempt, 0] = 0
            elif reached[key, step - 1]:
                reached[key, step] = True
                if level[attempt] <= step:
                    level[attempt] = step + 1
                    if with_durations:
                        durations[attempt, step] = time - start[attempt]
            elif mode_code == 1:
                current[key] = -1  # a step out of order ends a strict attempt
                break
            if level[attempt] == n_steps:
                current[key] = -1
                break
    return attempt_key[:count], level[:count], start[:count], durations[:count] if with_durations else durations


@jit
def ordered_levels_in_store(first, stop, users, times, events, categories, devices, channels, table, keep_category,
                            keep_device, keep_channel, start_time, stop_time, n_keys, n_steps, window, exclusions):
    """`ordered_levels` straight over an event store's rows (analytics.funnels.store), without copying them out.

    Args:
        first, stop: the rows to read; whole users (a user's rows are never split between calls).
        users, times, events, categories, devices, channels: the store's columns (times in microseconds);
            rows in (user, time) order, so each user's events at one timestamp are adjacent.
        table: int64[event codes, category codes], the step and exclusion bits of each pair.
        keep_category, keep_device, keep_channel: bool per code, the global filters.
        start_time, stop_time: the filters' dates as [start, stop) microseconds.
        n_keys: users (> the largest user); n_steps, window, exclusions: as for `ordered_levels`.

    Returns:
        level int8[n_keys] (-1: no step event in these rows, else steps reached 0..n_steps), equal to
        `ordered_levels` over the rows `store.EventStore.step_events` would select.
    """
    level = np.full(n_keys, -1, dtype=np.int8)
    entry = np.empty(n_keys, dtype=np.int64)  # written by the shared step, not read here
    durations = np.full((1, 1), NONE, dtype=np.int64)
    start = np.full((n_keys, n_steps), NONE, dtype=np.int64)
    run_key = -1
    run_time = NONE
    run_mask = 0
    for row in range(first, stop):
        category = categories[row]
        mask = table[events[row], category]
        if mask == 0:
            continue
        time = times[row]
        if time < start_time or time >= stop_time:
            continue
        if not (keep_category[category] and keep_device[devices[row]] and keep_channel[channels[row]]):
            continue
        key = users[row]
        if key == run_key and time == run_time:
            run_mask |= mask
            continue
        if run_key >= 0:
            _ordered_run(run_key, run_time, run_mask, level, entry, durations, start, n_steps, window, False,
                         exclusions)
        run_key, run_time, run_mask = key, time, mask
    if run_key >= 0:
        _ordered_run(run_key, run_time, run_mask, level, entry, durations, start, n_steps, window, False,
                     exclusions)
    return level


@jit_inline
def _slot_of(key, ids, count):
    """The index of `key` among ids[:count], -1 when absent (a user's few keys: a linear search)."""
    for index in range(count):
        if ids[index] == key:
            return index
    return -1


@jit_inline
def _walk(first_user, stop_user, user_offsets, times, events, categories, devices, channels,
                          returning, sessions, table, keep_category, keep_device, keep_channel, start_time,
                          stop_time, n_steps, window, exclusions, by_sessions, kind, breakdown_map, width, shift_us,
                          period_us, n_periods, longest, strict):
    """A whole ordered or strict funnel (steps with timing, trend, breakdown) in one pass over a store's users.

    Each user's rows are read once, in time order, and drive three state machines of the mode side
    by side (`_ordered_run` or `_strict_run`): the funnel key's (the user, or each of its sessions), the key's within
    the current trend period, and each (key, breakdown value) pair's. State lives in small per-user
    tables, so nothing is sized by every user or pair, and levels only grow, so each count is taken
    when a level rises. Rows and same-time grouping are those `store.EventStore.step_events` selects
    and `compute_levels` groups (one key's rows at one timestamp taken together, steps in order), so
    the counts equal `runner.key_levels` and `runner._trend` over the selected rows.

    Args:
        first_user, stop_user: the users to read, [first_user, stop_user).
        user_offsets: int64[users + 1], the store's per-user row offsets.
        times, events, categories, devices, channels, returning, sessions: the store's columns.
        table, keep_category, keep_device, keep_channel, start_time, stop_time: as for
            `ordered_levels_in_store`.
        n_steps, window, exclusions: as for `ordered_levels`.
        by_sessions: the funnel key is the session (rows without one are left out), else the user.
        kind: 0 no breakdown; 1 device, 2 channel, 3 category, 4 new vs returning (`store.BREAKDOWN_KINDS`).
        breakdown_map: int64 per code of the breakdown column, its breakdown code (0: other).
        width: breakdown codes, >= 1.
        shift_us, period_us: a row's trend period is (time - start_time + shift_us) // period_us (microseconds:
            a day, a week shifted to start on Monday, an hour).
        n_periods: trend periods in [start_time, stop_time).
        longest: the most rows any user has (sizes the per-user tables).
        strict: strict mode (every row in the filters is read), else ordered (step and exclusion rows).

    Returns:
        reached int64[n_steps] (keys reaching at least each step), durations int64[n_steps, m]
        (row s: the microseconds from start to step s + 1 of each key that reached it, the first
        duration_counts[s] entries in use), duration_counts int64[n_steps], entered and converted
        int64[n_periods] (trend keys that did step 1 / every step in each period) and
        breakdown_reached int64[width, n_steps].
    """
    reached = np.zeros(n_steps, dtype=np.int64)
    capacity = user_offsets[stop_user] - user_offsets[first_user] if by_sessions else stop_user - first_user
    durations = np.empty((n_steps, max(capacity, 1)), dtype=np.int64)
    duration_counts = np.zeros(n_steps, dtype=np.int64)
    entered = np.zeros(n_periods, dtype=np.int64)
    converted = np.zeros(n_periods, dtype=np.int64)
    breakdown_reached = np.zeros((width, n_steps), dtype=np.int64)
    size = max(longest, 1)
    # The current user's funnel keys (slot per key), each with its trend state for one period.
    key_ids = np.empty(size, dtype=np.int64)
    key_level = np.empty(size, dtype=np.int8)
    key_entry = np.empty(size, dtype=np.int64)
    key_durations = np.empty((size, n_steps), dtype=np.int64)
    key_start = np.empty((size, n_steps), dtype=np.int64)
    key_started = np.empty(size, dtype=np.bool_)
    key_stopped = np.empty(size, dtype=np.bool_)
    trend_period = np.empty(size, dtype=np.int64)
    trend_level = np.empty(size, dtype=np.int8)
    trend_entry = np.empty(size, dtype=np.int64)
    trend_start = np.empty((size, n_steps), dtype=np.int64)
    trend_started = np.empty(size, dtype=np.bool_)
    trend_stopped = np.empty(size, dtype=np.bool_)
    no_durations = np.full((1, 1), NONE, dtype=np.int64)
    # The current user's (key, breakdown value) pairs.
    pair_ids = np.empty(size, dtype=np.int64)
    pair_level = np.empty(size, dtype=np.int8)
    pair_entry = np.empty(size, dtype=np.int64)
    pair_start = np.empty((size, n_steps), dtype=np.int64)
    pair_started = np.empty(size, dtype=np.bool_)
    pair_stopped = np.empty(size, dtype=np.bool_)
    # The rows of one timestamp that pass the filters.
    block_mask = np.empty(size, dtype=np.int64)
    block_key = np.empty(size, dtype=np.int64)
    block_code = np.empty(size, dtype=np.int64)
    block_other = np.empty(size, dtype=np.bool_)
    step_bits = (1 << n_steps) - 1
    for user in range(first_user, stop_user):
        keys_in_use = 0
        pairs_in_use = 0
        row = user_offsets[user]
        end = user_offsets[user + 1]
        period = 0
        period_end = NONE  # the first time after the current period: none yet for this user
        while row < end:
            time = times[row]
            in_block = 0
            while row < end and times[row] == time:
                category = categories[row]
                mask = table[events[row], category]
                if ((mask != 0 or strict) and start_time <= time < stop_time and keep_category[category]
                        and keep_device[devices[row]] and keep_channel[channels[row]]
                        and not (by_sessions and sessions[row] < 0)):
                    block_mask[in_block] = mask
                    block_other[in_block] = (mask & step_bits) == 0
                    block_key[in_block] = sessions[row] if by_sessions else 0
                    if kind == 1:
                        block_code[in_block] = breakdown_map[devices[row]]
                    elif kind == 2:
                        block_code[in_block] = breakdown_map[channels[row]]
                    elif kind == 3:
                        block_code[in_block] = breakdown_map[category]
                    elif kind == 4:
                        block_code[in_block] = breakdown_map[1 if returning[row] else 0]
                    else:
                        block_code[in_block] = 0
                    in_block += 1
                row += 1
            if in_block == 0:
                continue
            if time >= period_end:
                # A user's times never decrease, so the period is worked out (two divisions) only
                # when it changes, not for every row.
                period = (time - start_time + shift_us) // period_us
                period_end = start_time + (period + 1) * period_us - shift_us
            for index in range(in_block):
                key = block_key[index]
                seen = False
                for earlier in range(index):
                    if block_key[earlier] == key:
                        seen = True
                        break
                if seen:
                    continue
                mask = block_mask[index]
                other = block_other[index]
                for later in range(index + 1, in_block):
                    if block_key[later] == key:
                        mask |= block_mask[later]
                        other = other or block_other[later]
                slot = _slot_of(key, key_ids, keys_in_use)
                if slot < 0:
                    slot = keys_in_use
                    keys_in_use += 1
                    key_ids[slot] = key
                    key_level[slot] = -1
                    trend_period[slot] = -1
                    key_started[slot] = False
                    key_stopped[slot] = False
                    for step in range(n_steps):
                        key_start[slot, step] = NONE
                        key_durations[slot, step] = NONE
                before = max(key_level[slot], 0)
                if strict:
                    _strict_run(slot, time, mask, other, key_level, key_entry, key_durations, key_start,
                                key_started, key_stopped, n_steps, window, True, exclusions)
                else:
                    _ordered_run(slot, time, mask, key_level, key_entry, key_durations, key_start, n_steps, window,
                                 True, exclusions)
                for step in range(before, key_level[slot]):
                    reached[step] += 1
                    durations[step, duration_counts[step]] = key_durations[slot, step]
                    duration_counts[step] += 1
                if trend_period[slot] != period:  # a new period: the key's funnel starts afresh
                    trend_period[slot] = period
                    trend_level[slot] = -1
                    trend_started[slot] = False
                    trend_stopped[slot] = False
                    for step in range(n_steps):
                        trend_start[slot, step] = NONE
                before = max(trend_level[slot], 0)
                if strict:
                    _strict_run(slot, time, mask, other, trend_level, trend_entry, no_durations, trend_start,
                                trend_started, trend_stopped, n_steps, window, False, exclusions)
                else:
                    _ordered_run(slot, time, mask, trend_level, trend_entry, no_durations, trend_start, n_steps,
                                 window, False, exclusions)
                after = trend_level[slot]
                if before < 1 <= after:
                    entered[period] += 1
                if before < n_steps and after == n_steps:
                    converted[period] += 1
            if kind == 0:
                continue
            for index in range(in_block):
                pair = block_key[index] * width + block_code[index]
                seen = False
                for earlier in range(index):
                    if block_key[earlier] * width + block_code[earlier] == pair:
                        seen = True
                        break
                if seen:
                    continue
                mask = block_mask[index]
                other = block_other[index]
                for later in range(index + 1, in_block):
                    if block_key[later] * width + block_code[later] == pair:
                        mask |= block_mask[later]
                        other = other or block_other[later]
                slot = _slot_of(pair, pair_ids, pairs_in_use)
                if slot < 0:
                    slot = pairs_in_use
                    pairs_in_use += 1
                    pair_ids[slot] = pair
                    pair_level[slot] = -1
                    pair_started[slot] = False
                    pair_stopped[slot] = False
                    for step in range(n_steps):
                        pair_start[slot, step] = NONE
                before = max(pair_level[slot], 0)
                if strict:
                    _strict_run(slot, time, mask, other, pair_level, pair_entry, no_durations, pair_start,
                                pair_started, pair_stopped, n_steps, window, False, exclusions)
                else:
                    _ordered_run(slot, time, mask, pair_level, pair_entry, no_durations, pair_start, n_steps,
                                 window, False, exclusions)
                for step in range(before, pair_level[slot]):
                    breakdown_reached[block_code[index], step] += 1
    return reached, durations, duration_counts, entered, converted, breakdown_reached


@jit
def walk_in_store(first_user, stop_user, user_offsets, times, events, categories, devices, channels, returning,
                  sessions, table, keep_category, keep_device, keep_channel, start_time, stop_time, n_steps, window,
                  exclusions, by_sessions, kind, breakdown_map, width, shift_us, period_us, n_periods, longest, strict):
    """`_walk` (arguments and results as there), compiled once per mode.

    `strict` is passed to `_walk` as a constant, so each mode's copy holds only its own state
    machine: one copy with both (chosen per run) took 3.5x as long at 10M events.
    """
    if strict:
        return _walk(first_user, stop_user, user_offsets, times, events, categories, devices, channels, returning,
                     sessions, table, keep_category, keep_device, keep_channel, start_time, stop_time, n_steps,
                     window, exclusions, by_sessions, kind, breakdown_map, width, shift_us, period_us, n_periods,
                     longest, True)
    return _walk(first_user, stop_user, user_offsets, times, events, categories, devices, channels, returning,
                 sessions, table, keep_category, keep_device, keep_channel, start_time, stop_time, n_steps,
                 window, exclusions, by_sessions, kind, breakdown_map, width, shift_us, period_us, n_periods,
                 longest, False)
