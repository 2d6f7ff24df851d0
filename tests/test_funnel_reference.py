"""A plain-Python funnel reference, written apart from the engine, and hand-worked checks of it.

The reference follows ClickHouse's `windowFunnel` description literally: expand every event into
(time, step) pairs, sort them, walk them once. The engine instead walks rows in storage order in
blocks; the property and ClickHouse tests compare the two.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import Iterable, Sequence

Event = tuple[int, int, int]  # (key, time, event type)


Exclusion = tuple[int, int, int]  # (event type, from step, to step), steps 1-based


def reference_level(events: Sequence[tuple[int, int]], steps: Sequence[int], window: int, mode: str,
                    exclusions: Sequence[Exclusion] = ()) -> int:
    """The furthest step one key reached.

    Args:
        events: (time, event type) pairs of one key, in any order.
        steps: the event type of each step.
        window: conversion window, same unit as the times.
        mode: "ordered", "strict" or "unordered".
        exclusions: excluded events between two steps (docs/funnels.md, "Exclusions").
    """
    if mode == "unordered":
        excluded = {event_type for event_type, _, _ in exclusions}
        return _unordered(events, steps, window, [time for time, event_type in events if event_type in excluded])
    if mode == "ordered" and exclusions:
        return _ordered_paths(events, steps, window, exclusions)
    pairs = []
    for time, event_type in events:
        matched = [number for number, step in enumerate(steps, start=1) if step == event_type]
        # At one timestamp: events that match no step first, then exclusions, then steps in order.
        pairs.extend((time, 2, number) for number in matched)
        if mode == "strict" and not matched:
            pairs.append((time, 0, 0))
        pairs.extend((time, 1, index) for index, exclusion in enumerate(exclusions) if exclusion[0] == event_type)
    pairs.sort()
    chains: list[tuple[int, int] | None] = [None] * len(steps)
    started = False
    furthest = 0  # an exclusion clears chains, never a step already reached
    for time, kind, value in pairs:
        if kind == 0:
            if started:
                break
            continue
        if kind == 1:
            _, from_step, to_step = exclusions[value]
            for index in range(from_step - 1, to_step - 1):
                chains[index] = None
            continue
        index = value - 1
        if index == 0:
            chains[0] = (time, time)
            started = True
            furthest = max(furthest, 1)
        elif mode == "strict" and started and chains[index - 1] is None:
            break
        elif chains[index - 1] is not None and time <= chains[index - 1][0] + window:
            chains[index] = (chains[index - 1][0], time)
            furthest = max(furthest, index + 1)
    return furthest


def _ordered_paths(events: Sequence[tuple[int, int]], steps: Sequence[int], window: int,
                   exclusions: Sequence[Exclusion]) -> int:
    """Ordered mode by definition rather than by walk: the longest valid path of step events.

    A path is one time per step, t1 <= t2 <= ... <= tk (an event may serve several steps), with
    tk - t1 <= window. An excluded event ends an attempt between its steps: exclusion (type, a, b)
    disqualifies the path when a < k and an event of that type happens at x with
    t_a < x <= t_min(b, k), i.e. after step a and no later than a step after a it still needed.
    """
    step_times = [sorted({time for time, event_type in events if event_type == step}) for step in steps]
    excluded = [[time for time, event_type in events if event_type == exclusion[0]] for exclusion in exclusions]

    def opened(number: int, time: int) -> tuple[tuple[int, int], ...]:
        return tuple((index, time) for index, (_, from_step, _) in enumerate(exclusions) if from_step == number)

    @lru_cache(maxsize=None)
    def furthest(reached: int, first: int, last: int, pending: tuple[tuple[int, int], ...]) -> int:
        # pending: (exclusion, time of its from_step) for exclusions with from_step <= reached < to_step.
        best = reached
        if reached == len(steps):
            return best
        number = reached + 1
        for time in step_times[reached]:
            if time < last or time - first > window:
                continue
            if any(from_time < x <= time for index, from_time in pending for x in excluded[index]):
                continue
            still = tuple((index, from_time) for index, from_time in pending if exclusions[index][2] > number)
            best = max(best, furthest(number, first, time, still + opened(number, time)))
        return best

    return max((furthest(1, time, time, opened(1, time)) for time in step_times[0]), default=0)


def _unordered(events: Sequence[tuple[int, int]], steps: Sequence[int], window: int,
               excluded_times: Sequence[int] = ()) -> int:
    # A window runs from one event to another at most `window` later, with no excluded event after
    # its start and at or before its end.
    best = 0
    for start, _ in events:
        for end, _ in events:
            if not start <= end <= start + window or any(start < x <= end for x in excluded_times):
                continue
            inside = {event_type for time, event_type in events if start <= time <= end}
            best = max(best, sum(step in inside for step in steps))
    return best


def reference_counts(log: Iterable[Event], steps: Sequence[int], window: int, mode: str,
                     exclusions: Sequence[Exclusion] = ()) -> list[int]:
    """Keys reaching at least each step, from a log of (key, time, event type)."""
    by_key: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for key, time, event_type in log:
        by_key[key].append((time, event_type))
    levels = [reference_level(events, steps, window, mode, exclusions) for events in by_key.values()]
    return [sum(level >= number for level in levels) for number in range(1, len(steps) + 1)]


VIEW, CART, BUY, OTHER = 0, 1, 2, 3


def test_ordered_counts_a_journey_by_hand() -> None:
    # person 1 views, carts and buys within 10 minutes; person 2 carts before viewing, then buys;
    # person 3 views, and carts 2 hours later (outside a 1-hour window).
    log = [(1, 0, VIEW), (1, 300, CART), (1, 600, BUY),
           (2, 0, CART), (2, 100, VIEW), (2, 200, BUY),
           (3, 0, VIEW), (3, 7200, CART)]
    assert reference_counts(log, [VIEW, CART, BUY], 3600, "ordered") == [3, 1, 1]


def test_ordered_takes_the_latest_start_and_same_time_in_order() -> None:
    # The second view restarts the window, so the cart at 5000 is within 3600 of it.
    assert reference_level([(0, VIEW), (2000, VIEW), (5000, CART)], [VIEW, CART], 3600, "ordered") == 2
    # A view and a cart at the same second count as in order, as windowFunnel does.
    assert reference_level([(10, CART), (10, VIEW)], [VIEW, CART], 5, "ordered") == 2
    # The window is inclusive.
    assert reference_level([(0, VIEW), (5, CART)], [VIEW, CART], 5, "ordered") == 2
    assert reference_level([(0, VIEW), (6, CART)], [VIEW, CART], 5, "ordered") == 1


def test_strict_stops_at_an_event_between_steps() -> None:
    events = [(0, VIEW), (1, OTHER), (2, CART), (3, BUY)]
    assert reference_level(events, [VIEW, CART, BUY], 10, "ordered") == 3
    assert reference_level(events, [VIEW, CART, BUY], 10, "strict") == 1
    # A step out of order also ends a strict attempt: view, buy, cart stops at the buy.
    assert reference_level([(0, VIEW), (1, BUY), (2, CART)], [VIEW, CART, BUY], 10, "strict") == 1
    # Other events before the first step do not matter.
    assert reference_level([(0, OTHER), (1, VIEW), (2, CART)], [VIEW, CART], 10, "strict") == 2


def test_unordered_counts_distinct_steps_in_one_window() -> None:
    events = [(0, BUY), (10, VIEW), (100, CART)]
    assert reference_level(events, [VIEW, CART, BUY], 10, "unordered") == 2
    assert reference_level(events, [VIEW, CART, BUY], 100, "unordered") == 3


def reference_attempts(events: Sequence[tuple[int, int]], steps: Sequence[int], window: int, mode: str,
                       exclusions: Sequence[Exclusion] = ()) -> list[int]:
    """The level of every attempt of one key, for counting total conversions (docs/funnels.md).

    An attempt starts at a step-1 event (unordered: any step event) when none is in progress, and is in
    progress until it completes (events at that timestamp still belong to it) or its window passes, or
    it is ended (unordered: by any excluded event; strict: by an event matching no step or a step out
    of order). Ordered and unordered attempts are worked
    out from their definitions; strict ones by walking the sorted events.
    """
    if mode == "strict":
        return _strict_attempts(events, steps, window, exclusions)
    first_steps = steps[:1] if mode == "ordered" else steps
    start_times = sorted({time for time, event_type in events if event_type in first_steps})
    # Only unordered attempts end at an excluded event; ordered ones just stop advancing.
    ending = {event_type for event_type, _, _ in exclusions} if mode == "unordered" else set()
    levels = []
    allowed = None  # in progress at time t: (start, last time inside, first time ended by an exclusion)
    for start in start_times:
        if allowed is not None:
            previous, inside_until, ended_at = allowed
            if start <= inside_until and start < ended_at:
                continue
        ended_at = min((time for time, event_type in events if event_type in ending and time > start),
                       default=float("inf"))
        level = _attempt_level(events, steps, window, mode, exclusions, start, start + window, ended_at)
        completed_at = next((time for time in sorted({time for time, _ in events})
                             if start <= time <= start + window
                             and _attempt_level(events, steps, window, mode, exclusions, start, time, ended_at)
                             == len(steps)), None)
        levels.append(level)
        allowed = (start, start + window if completed_at is None else completed_at, ended_at)
    return levels


def _attempt_level(events, steps, window, mode, exclusions, start, until, ended_at) -> int:
    """How far an attempt starting at `start` gets using events up to `until` (and before `ended_at`)."""
    if mode == "ordered":
        # An excluded event with from_step 1 already disqualifies every longer path by definition.
        return _ordered_paths_from([event for event in events if event[0] <= until], steps, window, exclusions, start)
    inside = {event_type for time, event_type in events if start <= time <= until and time < ended_at}
    return sum(step in inside for step in steps)


def _ordered_paths_from(events, steps, window, exclusions, start) -> int:
    """`_ordered_paths` with t1 fixed at `start`."""
    step_times = [sorted({time for time, event_type in events if event_type == step}) for step in steps]
    if start not in step_times[0]:
        return 0
    step_times[0] = [start]
    excluded = [[time for time, event_type in events if event_type == exclusion[0]] for exclusion in exclusions]
    best = 1
    stack = [(1, start, tuple((index, start) for index, exclusion in enumerate(exclusions) if exclusion[1] == 1))]
    seen = set()
    while stack:
        reached, last, pending = stack.pop()
        if (reached, last, pending) in seen:
            continue
        seen.add((reached, last, pending))
        best = max(best, reached)
        if reached == len(steps):
            continue
        number = reached + 1
        for time in step_times[reached]:
            if time < last or time - start > window:
                continue
            if any(from_time < x <= time for index, from_time in pending for x in excluded[index]):
                continue
            still = tuple((index, from_time) for index, from_time in pending if exclusions[index][2] > number)
            opened = tuple((index, time) for index, exclusion in enumerate(exclusions) if exclusion[1] == number)
            stack.append((number, time, still + opened))
    return best


def _strict_attempts(events, steps, window, exclusions) -> list[int]:
    pairs = []
    for time, event_type in events:
        matched = [number for number, step in enumerate(steps, start=1) if step == event_type]
        pairs.extend((time, 2, number) for number in matched)
        if not matched:
            pairs.append((time, 0, 0))
        pairs.extend((time, 1, index) for index, exclusion in enumerate(exclusions) if exclusion[0] == event_type)
    pairs = sorted(set(pairs))
    levels = []
    index = 0
    while index < len(pairs):
        time, kind, value = pairs[index]
        if not (kind == 2 and value == 1):
            index += 1
            continue
        start, done, level = time, {1}, 1
        index += 1
        while index < len(pairs):
            time, kind, value = pairs[index]
            if time > start + window or kind == 0:
                break  # resume here: this event may start the next attempt
            if kind == 1:
                _, from_step, to_step = exclusions[value]
                done -= set(range(from_step, to_step))
                index += 1
                continue
            if value == 1:
                index += 1
                continue
            if value - 1 not in done:
                # Out of order: the attempt ends, and the rest of this timestamp goes with it.
                while index < len(pairs) and pairs[index][0] == time:
                    index += 1
                break
            done.add(value)
            level = max(level, value)
            index += 1
            if level == len(steps):
                while index < len(pairs) and pairs[index][0] == time:
                    index += 1
                break
        levels.append(level)
    return levels


def reference_conversion_counts(log: Iterable[Event], steps: Sequence[int], window: int, mode: str,
                                exclusions: Sequence[Exclusion] = ()) -> list[int]:
    """Attempts reaching at least each step, over every key of a log of (key, time, event type)."""
    by_key: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for key, time, event_type in log:
        by_key[key].append((time, event_type))
    levels = [level for events in by_key.values()
              for level in reference_attempts(events, steps, window, mode, exclusions)]
    return [sum(level >= number for level in levels) for number in range(1, len(steps) + 1)]


def test_attempts_are_delimited_by_hand() -> None:
    # Views at 0 and 50, a cart at 80, window 60: the user converts (from the view at 50), but the
    # view at 50 is inside the attempt started at 0, which times out at 60: one attempt, not converted.
    events = [(0, VIEW), (50, VIEW), (80, CART)]
    assert reference_level(events, [VIEW, CART], 60, "ordered") == 2
    assert reference_attempts(events, [VIEW, CART], 60, "ordered") == [1]
    # Two journeys an hour apart are two conversions; a view after a completed attempt starts another.
    events = [(0, VIEW), (10, CART), (20, VIEW), (3600, VIEW), (3610, CART)]
    assert reference_attempts(events, [VIEW, CART], 60, "ordered") == [2, 1, 2]
    # Strict: the other event ends the first attempt; the next view starts a new one.
    events = [(0, VIEW), (1, OTHER), (2, CART), (3, VIEW), (4, CART)]
    assert reference_attempts(events, [VIEW, CART], 60, "strict") == [1, 2]
    # Unordered: a cart then a view is one converted attempt.
    assert reference_attempts([(0, CART), (5, VIEW)], [VIEW, CART], 60, "unordered") == [2]
