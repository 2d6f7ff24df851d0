"""Unordered funnels: reaching step k means doing any k of the steps within one window.

Per key, the level is the largest number of distinct steps that all have an event inside one
window of the given length (both ends inclusive). The best window can always be taken to end at
an event, so one pass that keeps each step's latest event time and counts the steps seen within
`window` before each event is exact. An event that matches several steps counts for each.
"""

from __future__ import annotations

import numpy as np

from analytics.funnels._jit import NONE, jit


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
