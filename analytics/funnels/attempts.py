"""Counting total conversions: every attempt of a user counts, not only the user's best one.

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

from analytics.funnels._jit import NONE, jit

MODE_CODES = {"ordered": 0, "strict": 1, "unordered": 2}


@jit
def attempt_levels(keys, times, masks, others, mask_bits, n_keys, n_steps, window, with_durations, exclusions,
                   mode_code):
    """Split each key's events into attempts and run the order mode within each, one pass.

    Args:
        keys, times, masks, others, mask_bits, n_keys, n_steps, window, with_durations, exclusions:
            as for `analytics.funnels.ordered.ordered_levels`.
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
    low_bits = (1 << mask_bits) - 1
    has_others = others.shape[0] == n
    step_bits = (1 << n_steps) - 1
    row = 0
    while row < n:
        # The run of rows with this key and timestamp, taken together, steps in order.
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
