"""Ordered funnels: ClickHouse `windowFunnel(window)` (default mode), one pass over the events.

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
"""

from __future__ import annotations

import numpy as np

from analytics.funnels._jit import NONE, jit


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
    low_bits = (1 << mask_bits) - 1
    has_others = others.shape[0] == n
    step_bits = (1 << n_steps) - 1
    row = 0
    while row < n:
        # The run of rows with this key and timestamp, taken together, steps in order.
        # Written out in each mode rather than shared: Numba's on-disk cache does not notice
        # changes in functions a cached function calls from another module.
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
    return level, entry, durations
