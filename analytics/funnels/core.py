"""From event arrays to each funnel key's level: one pass in storage order, re-sorted only if needed.

This layer knows nothing about SQL, so tests can feed it random event logs and compare it with an
independent reference and with ClickHouse. The order modes' rules live in kernels.py; this
module prepares the event arrays and hands them to the kernel of the query's mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics.funnels._jit import NONE, jit
from analytics.funnels.kernels import MODE_CODES, attempt_levels, ordered_levels, strict_levels, unordered_levels

KERNELS = {"ordered": ordered_levels, "strict": strict_levels, "unordered": unordered_levels}
DAY_MICROSECONDS = 86_400_000_000
DAY_US = DAY_MICROSECONDS  # the name the compiled walk reads


@dataclass(frozen=True)
class KeyLevels:
    """How far each funnel key got.

    Attributes:
        keys: int64[m], the distinct keys that had at least one row, ascending.
        level: int8[m], steps reached, 0..n_steps (0: the key never did step 1).
        entry_time_us: int64[m], the key's first step-1 event (unordered: first step event) in
            microseconds since the epoch; `NONE` when level is 0.
        durations_us: int64[m, n_steps] microseconds from the attempt's start to the first time each
            step was reached (`NONE` where not reached), or None when not asked for.
    """

    keys: np.ndarray
    level: np.ndarray
    entry_time_us: np.ndarray
    durations_us: np.ndarray | None

    def reached(self, n_steps: int) -> np.ndarray:
        """int64[n_steps]: how many keys reached at least each step."""
        return reached_counts(self.level, n_steps)


def reached_counts(level: np.ndarray, n_steps: int) -> np.ndarray:
    """int64[n_steps]: how many levels are >= 1, >= 2, ... >= n_steps."""
    counts = np.bincount(level.astype(np.int64), minlength=n_steps + 1)
    return np.cumsum(counts[::-1])[::-1][1:].astype(np.int64)


def compute_levels(users: np.ndarray, times: np.ndarray, masks: np.ndarray | None, *, n_steps: int,
                   window_us: int, mode: str, keys: np.ndarray | None = None, with_durations: bool = False,
                   mask_bits: int = 0, time_origin_us: int = 0, exclusions: np.ndarray | None = None,
                   attempts: bool = False, dense_keys: int | None = None, split_by_time: bool = False,
                   known_in_order: bool = False) -> KeyLevels:
    """Run the funnel state machine of `mode` over an event log.

    Args:
        users: int[n] >= 0, the user of each row.
        times: int[n] event times in microseconds since the epoch; or, when `mask_bits` > 0, packed
            values `(time - time_origin_us) << mask_bits | mask` (the SQL packs them to halve the
            transfer).
        masks: int[n] bit k set when the row matches step k + 1, 0 for rows that match no step
            (only the strict mode looks at those); bit n_steps + j set when the row matches
            exclusion j + 1; None when packed into `times`.
        n_steps: number of steps, 2..20.
        window_us: conversion window in microseconds, > 0; inclusive.
        mode: "ordered", "strict" or "unordered".
        keys: int[n] >= 0, the funnel key of each row, nested within its user (a session, or a
            user and breakdown value); default: the user.
        with_durations: also return the time taken to reach each step.
        mask_bits, time_origin_us: how `times` is packed (see above); 0 when it is not.
        exclusions: int[m, 2], each exclusion's (from_step, to_step), 1-based, from_step < to_step;
            None or m = 0 for none. docs/funnels.md, "Exclusions", has the rule.
        attempts: count every attempt (see analytics/funnels/kernels.py) rather than each key once.
        dense_keys: when given, `keys` are already dense, in [0, dense_keys): they are used as they are
            (saves a pass over the rows).
        split_by_time: `keys` only split each user's events by time (such as the user within each day or
            week), so a user's events at one timestamp all have one key; rows in (day, user, time) or
            (user, time) order then go to the kernel as they are.
        known_in_order: the caller guarantees the rows are in (day, user, time) or (user, time) order
            (the event store's rows are), which saves checking it.

    Returns:
        KeyLevels over the distinct keys; with `attempts`, one entry per attempt (keys repeat, in the
        order the attempts started, and every level is >= 1).
    """
    users = np.asarray(users)
    times = np.asarray(times, dtype=np.int64)
    masks = np.zeros(1, dtype=np.int64) if masks is None else np.asarray(masks, dtype=np.int64)
    exclusions = (np.zeros((0, 2), dtype=np.int64) if exclusions is None
                  else np.asarray(exclusions, dtype=np.int64).reshape(-1, 2))
    step_bits = (1 << n_steps) - 1
    if keys is None and len(users) and (int(users.min()) < 0 or int(users.max()) >= 4 * len(users) + 1_000_000):
        keys = users  # sparse user ids: give them dense indices like any other key
    nested = keys is not None
    if nested and dense_keys is not None:
        distinct, dense = np.arange(dense_keys, dtype=np.int64), np.asarray(keys, dtype=np.int64)
    elif nested:
        distinct, dense = _dense(np.asarray(keys, dtype=np.int64))
    else:
        dense = np.zeros(1, dtype=np.int64)
        distinct = np.arange(int(users.max()) + 1 if len(users) else 0, dtype=np.int64)
    if (nested and (known_in_order or _in_order(users, times, mask_bits))
            and (split_by_time or _same_time_rows_grouped(users, dense, times, mask_bits))):
        # Each key's rows are then in time order with its same-time rows adjacent, as the kernels need,
        # so the rows go to them as they are (sessions rarely share a timestamp, so this is the rule).
        in_order, rows, nested = True, [dense, times, masks, np.zeros(0, np.bool_)], False
    elif nested:
        in_order, *rows = _blocks(users, dense, nested, times, masks, mask_bits, step_bits)
    else:
        in_order = known_in_order or _in_order(users, times, mask_bits)
        rows = [users, times, masks, np.zeros(0, np.bool_)]
    if not in_order:
        # The warehouse keeps events by (date, user, time), which is in order for every user;
        # rows in any other order (joins, hand-made logs) are sorted by (user, time) first.
        order = np.lexsort((times >> mask_bits, users))
        users, times = users[order], times[order]
        dense = dense[order] if nested else dense
        masks = masks[order] if len(masks) == len(order) else masks
        if nested:
            in_order, *rows = _blocks(users, dense, nested, times, masks, mask_bits, step_bits)
        else:
            rows = [users, times, masks, np.zeros(0, np.bool_)]
    # Blocks hold unpacked times and masks; raw rows keep the packing.
    bits = 0 if nested else mask_bits
    if attempts:
        attempt_key, level, entry, durations = attempt_levels(*rows, bits, len(distinct), n_steps, int(window_us),
                                                              with_durations, exclusions, MODE_CODES[mode])
        return KeyLevels(distinct[attempt_key], level, entry + time_origin_us,
                         durations if with_durations else None)
    level, entry, durations = KERNELS[mode](*rows, bits, len(distinct), n_steps, int(window_us), with_durations,
                                            exclusions)
    present = np.flatnonzero(level >= 0)
    entry = entry[present]
    entry[entry != NONE] += time_origin_us
    return KeyLevels(distinct[present], level[present], entry, durations[present] if with_durations else None)


@jit
def _in_order(users, times, mask_bits):
    """True when rows are in (day, user, time) or (user, time) order.

    Either order puts each user's events in time order with same-time rows adjacent, which is what
    the modes need. The warehouse stores fct_events by (event_date, user_key, event_time).
    """
    by_day_user_time = True
    by_user_time = True
    if users.shape[0] == 0:
        return True
    previous_user = users[0]
    previous_time = times[0] >> mask_bits
    day_start = (previous_time // DAY_US) * DAY_US  # the previous row's day is [day_start, day_start + DAY_US)
    for row in range(1, users.shape[0]):
        user = users[row]
        time = times[row] >> mask_bits
        if user == previous_user:
            if time < previous_time:
                return False
        else:
            # A new user: fine by user order if the user id grew; by day order if the day did not go
            # back, and if the day stayed the same only when the user id grew.
            by_user_time = by_user_time and user > previous_user
            same_day = day_start <= time < day_start + DAY_US
            by_day_user_time = by_day_user_time and time >= day_start and (user > previous_user or not same_day)
            if not (by_user_time or by_day_user_time):
                return False
        if time >= day_start + DAY_US or time < day_start:
            day_start = (time // DAY_US) * DAY_US
        previous_user, previous_time = user, time
    return True


@jit
def _same_time_rows_grouped(users, keys, times, mask_bits):
    """True when, among each user's rows at one timestamp, every key's rows are adjacent."""
    n = users.shape[0]
    first = 0
    while first < n:
        time = times[first] >> mask_bits
        end = first + 1
        while end < n and users[end] == users[first] and (times[end] >> mask_bits) == time:
            end += 1
        for row in range(first + 1, end):
            if keys[row] != keys[row - 1]:
                for earlier in range(first, row - 1):
                    if keys[earlier] == keys[row]:
                        return False
        first = end
    return True


@jit
def _blocks(users, keys, nested, times, masks, mask_bits, step_bits):
    """Group rows into blocks: one key's events at one timestamp, with the steps they match.

    Returns (in_order, block_keys, block_times, block_masks, block_other). Rows of one user at one
    timestamp are adjacent in the orders below, so each key's block gathers all its same-time events
    and the modes can take them in step order whatever the row order. `in_order` says whether the
    rows came in (day, user, time) or (user, time) order, either of which puts every user's events
    in time order; when neither holds the blocks are incomplete and must not be used. A row
    "matches no step" when its mask has none of `step_bits` (it may still match an exclusion).
    """
    n = users.shape[0]
    block_keys = np.empty(n, dtype=np.int64)
    block_times = np.empty(n, dtype=np.int64)
    block_masks = np.empty(n, dtype=np.int64)
    block_other = np.empty(n, dtype=np.bool_)
    low_bits = (1 << mask_bits) - 1
    by_day_user_time = True
    by_user_time = True
    previous_user = -1
    previous_time = NONE
    previous_day = NONE
    count = 0
    first = 0
    while first < n:
        user = users[first]
        time = times[first] >> mask_bits
        mask = times[first] & low_bits if mask_bits else masks[first]
        has_other = (mask & step_bits) == 0
        end = first + 1
        all_one_key = True
        while end < n and users[end] == user:
            if (times[end] >> mask_bits) != time:
                break
            row_mask = times[end] & low_bits if mask_bits else masks[end]
            mask |= row_mask
            has_other = has_other or (row_mask & step_bits) == 0
            if nested and keys[end] != keys[first]:
                all_one_key = False
            end += 1
        day = time // DAY_US
        if first > 0:
            later = user > previous_user or (user == previous_user and time > previous_time)
            by_user_time = by_user_time and later
            by_day_user_time = by_day_user_time and (day > previous_day or (day == previous_day and later))
            if not (by_user_time or by_day_user_time):
                return False, block_keys[:0], block_times[:0], block_masks[:0], block_other[:0]
        previous_user, previous_time, previous_day = user, time, day
        if all_one_key:
            block_keys[count] = keys[first] if nested else user
            block_times[count] = time
            block_masks[count] = mask
            block_other[count] = has_other
            count += 1
            first = end
            continue
        # Several keys (sessions, breakdown values) in one block: one block per key.
        for row in range(first, end):
            key = keys[row]
            repeated = False
            for earlier in range(first, row):
                if keys[earlier] == key:
                    repeated = True
                    break
            if repeated:
                continue
            mask = 0
            has_other = False
            for other in range(row, end):
                if keys[other] == key:
                    row_mask = times[other] & low_bits if mask_bits else masks[other]
                    mask |= row_mask
                    has_other = has_other or (row_mask & step_bits) == 0
            block_keys[count] = key
            block_times[count] = time
            block_masks[count] = mask
            block_other[count] = has_other
            count += 1
        first = end
    return True, block_keys[:count], block_times[:count], block_masks[:count], block_other[:count]


def _dense(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct keys ascending, each row's index into them), without sorting when keys are small ints."""
    if len(keys) == 0:
        return keys[:0], keys[:0]
    steps = np.diff(keys)
    if (steps >= 0).all():
        # Already grouped in ascending order (e.g. (day, user) keys over rows stored by day and user).
        starts = np.concatenate([[True], steps != 0])
        return keys[starts].astype(np.int64), np.cumsum(starts, dtype=np.int64) - 1
    low, high = int(keys.min()), int(keys.max())
    if low >= 0 and high < 4 * len(keys) + 1_000_000:
        present = np.zeros(high + 1, dtype=bool)
        present[keys] = True
        distinct = np.flatnonzero(present)
        index = np.cumsum(present, dtype=np.int64) - 1
        return distinct.astype(np.int64), index[keys]
    distinct, inverse = np.unique(keys, return_inverse=True)
    return distinct.astype(np.int64), inverse.astype(np.int64)
