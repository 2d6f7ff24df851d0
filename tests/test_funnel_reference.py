"""A plain-Python funnel reference, written apart from the engine, and hand-worked checks of it.

The reference follows ClickHouse's `windowFunnel` description literally: expand every event into
(time, step) pairs, sort them, walk them once. The engine instead walks rows in storage order in
blocks; the property and ClickHouse tests compare the two.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence

Event = tuple[int, int, int]  # (key, time, event type)


def reference_level(events: Sequence[tuple[int, int]], steps: Sequence[int], window: int, mode: str) -> int:
    """The furthest step one key reached.

    Args:
        events: (time, event type) pairs of one key, in any order.
        steps: the event type of each step.
        window: conversion window, same unit as the times.
        mode: "ordered", "strict" or "unordered".
    """
    if mode == "unordered":
        return _unordered(events, steps, window)
    pairs = []
    for time, event_type in events:
        matched = [number for number, step in enumerate(steps, start=1) if step == event_type]
        pairs.extend((time, number) for number in matched)
        if mode == "strict" and not matched:
            pairs.append((time, 0))
    pairs.sort()
    chains: list[tuple[int, int] | None] = [None] * len(steps)
    started = False
    for time, number in pairs:
        index = number - 1
        if mode == "strict" and index == -1:
            if started:
                break
            continue
        if index == 0:
            chains[0] = (time, time)
            started = True
        elif mode == "strict" and started and chains[index - 1] is None:
            break
        elif chains[index - 1] is not None and time <= chains[index - 1][0] + window:
            chains[index] = (chains[index - 1][0], time)
            if index == len(steps) - 1:
                break
    return sum(chain is not None for chain in chains)


def _unordered(events: Sequence[tuple[int, int]], steps: Sequence[int], window: int) -> int:
    best = 0
    for start, _ in events:
        inside = {event_type for time, event_type in events if start <= time <= start + window}
        best = max(best, sum(step in inside for step in steps))
    return best


def reference_counts(log: Iterable[Event], steps: Sequence[int], window: int, mode: str) -> list[int]:
    """Keys reaching at least each step, from a log of (key, time, event type)."""
    by_key: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for key, time, event_type in log:
        by_key[key].append((time, event_type))
    levels = [reference_level(events, steps, window, mode) for events in by_key.values()]
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
