"""Runs a `FunnelQuery` over the warehouse and returns a typed `FunnelResult`.

Steps: validate the query, read the step events with the builder's SQL (bound parameters), run
the order mode's one-pass kernel per funnel key, then summarise: counts per step, the breakdown,
the conversion trend and the time to convert.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

import duckdb
import numpy as np
import pandas as pd

from analytics.filters import Filters
from analytics.funnels._jit import jit
from analytics.funnels.core import DAY_US, KeyLevels, compute_levels, reached_counts
from analytics.funnels.events_sql import step_events_sql
from analytics.funnels.query import FunnelQuery

if TYPE_CHECKING:  # pragma: no cover
    from analytics.funnels.store import EventStore

TrendPeriod = Literal["hour", "day", "week"]
HOUR_US = 3_600_000_000
HISTOGRAM_BINS = 24
UNKNOWN_VALUE = "(none)"
NEW_VS_RETURNING = ("new", "returning")


@dataclass(frozen=True)
class FunnelResult:
    """A computed funnel.

    Attributes:
        query: the validated query.
        filters: the global filters applied.
        steps: one row per step: step_number (1..n), step (label), event_type, `users` or `sessions`
            (keys that reached at least this step, >= 0, never increasing; `conversions`: attempts that
            did, so the last step's count is the number of completed conversions), conversion_from_start and
            conversion_from_previous (0..1, NaN when the base is 0), dropped (reached the previous step
            but not this one; 0 for step 1), median_seconds_to_convert and p90_seconds_to_convert
            (from the attempt's first step to reaching this step; 0 for step 1, NaN when nobody did).
        breakdown: None without a breakdown; else one row per value and step with breakdown_value
            plus the same columns as `steps` except the time to convert.
        trend: the funnel computed within each day or week (an attempt does not cross into the next),
            one row per period where someone did step 1: period_start (date; weeks start on Monday),
            entered (keys that did step 1 in it; attempts started in it when counting conversions),
            converted (keys, or attempts, that completed the funnel in it),
            conversion_rate (0..1).
        time_to_convert: histogram of the seconds from the first step to the last step for keys that
            converted: bin_start_seconds, bin_end_seconds, count (HISTOGRAM_BINS equal bins from 0 to
            the longest time taken, or to the window when nobody converted).
    """

    query: FunnelQuery
    filters: Filters
    steps: pd.DataFrame
    breakdown: pd.DataFrame | None
    trend: pd.DataFrame
    time_to_convert: pd.DataFrame

    @property
    def count_column(self) -> str:
        """"users", "sessions" or "conversions": the name of the count column in `steps` and `breakdown`."""
        return self.query.count_by

    @property
    def is_empty(self) -> bool:
        """True when nobody did the first step."""
        return int(self.steps[self.count_column].iloc[0]) == 0


def count_funnel(con: duckdb.DuckDBPyConnection, query: FunnelQuery, filters: Filters,
                 store: EventStore | None = None) -> pd.DataFrame:
    """Only the counts per step, the fast path (what `windowFunnel` answers); see `run_funnel`.

    Returns:
        `FunnelResult.steps` without the time-to-convert columns.
    """
    query.validate()
    if store is not None and store.supports(query) and query.mode == "ordered" and query.count_by == "users":
        level = store.ordered_user_levels(query, filters)
        return step_table(query, level[level >= 0])
    events = read_step_events(con, query, filters, (), store)
    levels = key_levels(query, events, with_durations=False)
    return step_table(query, levels.level)


def run_funnel(con: duckdb.DuckDBPyConnection, query: FunnelQuery, filters: Filters,
               trend_period: TrendPeriod = "day", store: EventStore | None = None) -> FunnelResult:
    """Compute a funnel over `fct_events` within the global filters.

    Args:
        con: a warehouse connection (a cursor is taken for the query).
        query: the funnel; validated here.
        filters: date range, categories, channels and devices; a category filter keeps only events
            on products of those categories.
        trend_period: "day" or "week" for `FunnelResult.trend`.
        store: the build's events in memory (`analytics.funnels.store.load_event_store`); when given
            (and it covers the query's steps) the events are read from it instead of through SQL.
            Same result, several times faster; worth it when many funnels are asked of one build.

    Returns:
        The FunnelResult.

    Raises:
        ShopLensError: the query breaks a rule (see `FunnelQuery.validate`).
    """
    query.validate()
    breakdown_values = _breakdown_values(con, query, filters, store)
    if (store is not None and store.supports(query) and query.mode in ("ordered", "strict")
            and query.count_by in ("users", "sessions")):
        return _walked_funnel(query, filters, trend_period, store, breakdown_values)
    events = read_step_events(con, query, filters, breakdown_values, store)
    # The trend and the breakdown are separate passes over the same rows; the compiled kernels
    # release the GIL, so the trend runs beside the main pass on the other core. The breakdown
    # follows the main pass on this thread: as a third concurrent task on two cores it only made
    # the passes fight over memory bandwidth (sessions by channel at 10M: 3.3 s against 2.2 s).
    with ThreadPoolExecutor(max_workers=1) as pool:
        trend = pool.submit(_trend, query, events, filters, trend_period)
        levels = key_levels(query, events, with_durations=True)
        breakdown = None if query.breakdown is None else _breakdown_table(
            query, key_levels(query, events, with_durations=False, by_breakdown=True), breakdown_values)
        return FunnelResult(query, filters, step_table(query, levels.level, levels.durations_us), breakdown,
                            trend.result(), _histogram(query, levels))


def _walked_funnel(query: FunnelQuery, filters: Filters, period: TrendPeriod, store: EventStore,
                   breakdown_values: tuple[str, ...]) -> FunnelResult:
    """`run_funnel` for an ordered or strict funnel of users or sessions, from one pass over the store (`walk`).

    The separate passes (steps with timing, trend, breakdown) each re-read millions of rows and built
    arrays over every key; one pass per user reading all three is about twice as fast at 10M events.
    """
    shift_us, first_period_start, period_us = _periods(filters, period)
    walk = store.walk(query, filters, breakdown_values, shift_us, period_us)
    n_steps = len(query.steps)
    breakdown = None
    if query.breakdown is not None:
        breakdown = _breakdown_frame(query, breakdown_values, walk.breakdown_reached)
    return FunnelResult(query, filters, _step_frame(query, walk.reached, walk.durations_us), breakdown,
                        _trend_frame(walk.entered, walk.converted, first_period_start, period_us, period),
                        _histogram_of(query, _reached_seconds(walk.durations_us[n_steps - 1])))


@dataclass(frozen=True)
class StepEvents:
    """The rows of `step_events_sql` as arrays, with how times are packed and the breakdown's width."""

    columns: dict[str, np.ndarray]
    mask_bits: int
    time_origin_us: int
    breakdown_width: int
    in_user_order: bool = False  # rows known to be in (user, time) order (the event store's)


def read_step_events(con: duckdb.DuckDBPyConnection, query: FunnelQuery, filters: Filters,
                     breakdown_values: tuple[str, ...], store: EventStore | None = None) -> StepEvents:
    """Read the rows `key_levels` needs: from `store` when it covers the query, else with the builder's SQL."""
    if store is not None and store.supports(query):
        return store.step_events(query, filters, breakdown_values)
    built = step_events_sql(query, filters, breakdown_values=breakdown_values)
    # A cursor per query (connections are shared between Streamlit sessions). Arrow hands the
    # integer columns over in bulk, faster than a row-wise conversion for millions of rows.
    with con.cursor() as cursor:
        table = cursor.sql(built.sql, params=built.parameters).to_arrow_table()
        columns = {name: table.column(name).to_numpy() for name in table.column_names}
    if "session_hash" in columns:
        columns["session_key"] = session_keys(columns["user_key"], columns.pop("session_hash"))
    return StepEvents(columns, built.mask_bits, built.time_origin_us, len(breakdown_values) + 1)


def session_keys(user_keys: np.ndarray, session_hashes: np.ndarray) -> np.ndarray:
    """int64[n]: a dense number per distinct (user, session hash), in order of first appearance.

    Two sessions of one user would share a number only if their ids had the same 64-bit hash.
    """
    return _number_sessions(np.asarray(user_keys, dtype=np.int64), np.asarray(session_hashes, dtype=np.uint64))


@jit
def _number_sessions(users, hashes):
    # An open-addressing table on (user, hash), doubled when 70 % full; each slot's user, hash and
    # number sit side by side, so a probe touches one cache line. Rows keep their storage order (no
    # sort), and consecutive rows of one session skip the table.
    n = users.shape[0]
    capacity = 1 << 16
    while capacity < n // 4:
        capacity *= 2
    slots = np.full((capacity, 3), -1, dtype=np.int64)  # user, hash (as int64), number; user -1: empty
    numbers = np.empty(n, dtype=np.int64)
    multiplier = np.uint64(0x9E3779B97F4A7C15)
    count = 0
    for row in range(n):
        user = users[row]
        value = hashes[row]
        if row > 0 and users[row - 1] == user and hashes[row - 1] == value:
            numbers[row] = numbers[row - 1]
            continue
        if 10 * (count + 1) > 7 * capacity:
            old_slots = slots
            capacity *= 2
            slots = np.full((capacity, 3), -1, dtype=np.int64)
            for old in range(old_slots.shape[0]):
                if old_slots[old, 0] < 0:
                    continue
                mixed = np.uint64(old_slots[old, 1]) ^ (np.uint64(old_slots[old, 0]) * multiplier)
                slot = np.int64(mixed & np.uint64(capacity - 1))
                while slots[slot, 0] >= 0:
                    slot = (slot + 1) & (capacity - 1)
                slots[slot, 0] = old_slots[old, 0]
                slots[slot, 1] = old_slots[old, 1]
                slots[slot, 2] = old_slots[old, 2]
        signed = np.int64(value)
        mixed = value ^ (np.uint64(user) * multiplier)
        slot = np.int64(mixed & np.uint64(capacity - 1))
        while slots[slot, 0] >= 0 and not (slots[slot, 0] == user and slots[slot, 1] == signed):
            slot = (slot + 1) & (capacity - 1)
        if slots[slot, 0] < 0:
            slots[slot, 0] = user
            slots[slot, 1] = signed
            slots[slot, 2] = count
            count += 1
        numbers[row] = slots[slot, 2]
    return numbers


def key_levels(query: FunnelQuery, events: StepEvents, *, with_durations: bool,
               by_breakdown: bool = False) -> KeyLevels:
    """Each funnel key's level: users, sessions, or (with `by_breakdown`) those within each breakdown value.

    With `by_breakdown` the keys are `base * breakdown_width + breakdown_code` (base: the user or
    session), in no particular order.
    """
    columns = events.columns
    keys = columns["session_key"].astype(np.int64) if query.count_by == "sessions" else None
    # Session numbers are dense already (`session_keys`).
    dense_keys = int(keys.max()) + 1 if keys is not None and len(keys) else None
    pair_values = None
    if by_breakdown:
        base = columns["user_key"].astype(np.int64) if keys is None else keys
        codes = columns["breakdown_code"].astype(np.int64)
        n_base = int(base.max()) + 1 if len(base) else 0
        if events.in_user_order and len(base):
            # Rows grouped by user (the event store): number each user's pairs among its own few,
            # with no table over every (base, value) pair (20M slots for sessions by channel at 10M).
            keys, pair_values = _pair_numbers_by_user(columns["user_key"], base, codes, events.breakdown_width)
            dense_keys = len(pair_values)
        elif len(base) and int(base.min()) >= 0 and n_base * events.breakdown_width <= 4 * len(base) + 1_000_000:
            # Number the (base, value) pairs in one pass rather than spreading and compacting them.
            keys, pair_values = _pair_numbers(base, codes, events.breakdown_width, n_base)
            dense_keys = len(pair_values)
        else:
            keys, dense_keys = base * events.breakdown_width + codes, None
    if events.mask_bits:
        times, masks = columns["packed_time"], None
    else:
        times, masks = columns["event_time_us"], columns["step_mask"]
    levels = compute_levels(columns["user_key"], times, masks, n_steps=len(query.steps),
                            window_us=query.window_microseconds, mode=query.mode, keys=keys,
                            with_durations=with_durations, mask_bits=events.mask_bits,
                            time_origin_us=events.time_origin_us, exclusions=exclusion_steps(query),
                            attempts=query.count_by == "conversions", dense_keys=dense_keys,
                            known_in_order=events.in_user_order)
    if pair_values is not None:
        levels = replace(levels, keys=pair_values[levels.keys])
    return levels


@jit
def _pair_numbers_by_user(users, base, codes, width):
    """Like `_pair_numbers`, over rows grouped by user: each user's pairs are looked up among its own.

    A (base, code) pair belongs to one user (base is the user or one of its sessions), so numbering
    pairs user by user gives each distinct pair one number.
    """
    n = base.shape[0]
    numbers = np.empty(n, dtype=np.int64)
    values = np.empty(n, dtype=np.int64)
    local = np.empty(n, dtype=np.int64)  # the current user's pair numbers, a prefix of it in use
    count = 0
    first = 0
    while first < n:
        stop = first + 1
        while stop < n and users[stop] == users[first]:
            stop += 1
        in_user = 0
        for row in range(first, stop):
            value = base[row] * width + codes[row]
            if row > first and base[row - 1] * width + codes[row - 1] == value:
                numbers[row] = numbers[row - 1]
                continue
            found = -1
            for index in range(in_user):
                if values[local[index]] == value:
                    found = local[index]
                    break
            if found < 0:
                found = count
                values[count] = value
                local[in_user] = count
                in_user += 1
                count += 1
            numbers[row] = found
        first = stop
    return numbers, values[:count]


@jit
def _pair_numbers(base, codes, width, n_base):
    """Dense numbers for (base, code) pairs in order of first appearance, and each number's base * width + code."""
    number = np.full(n_base * width, -1, dtype=np.int64)
    numbers = np.empty(base.shape[0], dtype=np.int64)
    values = np.empty(base.shape[0], dtype=np.int64)
    count = 0
    for row in range(base.shape[0]):
        value = base[row] * width + codes[row]
        if number[value] < 0:
            number[value] = count
            values[count] = value
            count += 1
        numbers[row] = number[value]
    return numbers, values[:count]


def exclusion_steps(query: FunnelQuery) -> np.ndarray:
    """int64[m, 2]: each exclusion's (from_step, to_step), the form `compute_levels` takes."""
    return np.array([(exclusion.from_step, exclusion.to_step) for exclusion in query.exclusions],
                    dtype=np.int64).reshape(-1, 2)


def step_table(query: FunnelQuery, level: np.ndarray, durations_us: np.ndarray | None = None) -> pd.DataFrame:
    """Counts and conversions per step from each key's level (see `FunnelResult.steps`)."""
    n_steps = len(query.steps)
    durations = None if durations_us is None else [durations_us[:, step] for step in range(n_steps)]
    return _step_frame(query, reached_counts(level, n_steps), durations)


def _step_frame(query: FunnelQuery, reached: np.ndarray, durations_us: list[np.ndarray] | None = None
                ) -> pd.DataFrame:
    """`step_table` from the counts reaching each step and, per step, the durations (NONE: not reached)."""
    n_steps = len(query.steps)
    previous = np.concatenate([[reached[0]], reached[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        from_start = np.where(reached[0] > 0, reached / max(int(reached[0]), 1), np.nan)
        from_previous = np.where(previous > 0, reached / np.maximum(previous, 1), np.nan)
    table = pd.DataFrame({
        "step_number": np.arange(1, n_steps + 1),
        "step": list(query.labels),
        "event_type": [step.event_type for step in query.steps],
        query.count_by: reached,
        "conversion_from_start": from_start.astype(float),
        "conversion_from_previous": from_previous.astype(float),
        "dropped": (previous - reached).astype(np.int64),
    })
    if durations_us is not None:
        medians, p90s = [], []
        for step in range(n_steps):
            seconds = _reached_seconds(durations_us[step])
            medians.append(float(np.median(seconds)) if len(seconds) else np.nan)
            p90s.append(float(np.quantile(seconds, 0.9)) if len(seconds) else np.nan)
        table["median_seconds_to_convert"] = medians
        table["p90_seconds_to_convert"] = p90s
    return table


def _reached_seconds(durations_us: np.ndarray) -> np.ndarray:
    return durations_us[durations_us >= 0] / 1_000_000


def _breakdown_values(con: duckdb.DuckDBPyConnection, query: FunnelQuery, filters: Filters,
                      store: EventStore | None = None) -> tuple[str, ...]:
    if query.breakdown is None:
        return ()
    if query.breakdown == "new_vs_returning":
        return NEW_VS_RETURNING
    from analytics.overview import filter_options

    options = store.options if store is not None else filter_options(con)
    chosen = {"device": filters.devices, "channel": filters.channels, "category": filters.categories}[query.breakdown]
    known = {"device": options.devices, "channel": options.channels, "category": options.categories}[query.breakdown]
    return tuple(chosen) or tuple(known)


def _breakdown_table(query: FunnelQuery, levels: KeyLevels, values: tuple[str, ...]) -> pd.DataFrame:
    width = len(values) + 1
    codes = levels.keys % width
    n_steps = len(query.steps)
    reached = np.zeros((width, n_steps), dtype=np.int64)
    for code in range(width):
        reached[code] = reached_counts(levels.level[codes == code], n_steps)
    return _breakdown_frame(query, values, reached)


def _breakdown_frame(query: FunnelQuery, values: tuple[str, ...], reached: np.ndarray) -> pd.DataFrame:
    """`FunnelResult.breakdown` from reached[code, step] (code 0: other values, shown as UNKNOWN_VALUE)."""
    width = len(values) + 1
    frames = []
    for code, value in [(code, values[code - 1]) for code in range(1, width)] + [(0, UNKNOWN_VALUE)]:
        table = _step_frame(query, reached[code])
        if table[query.count_by].iloc[0] == 0:
            continue
        frames.append(table.assign(breakdown_value=value))
    columns = ["breakdown_value", "step_number", "step", "event_type", query.count_by,
               "conversion_from_start", "conversion_from_previous", "dropped"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def _trend(query: FunnelQuery, events: StepEvents, filters: Filters, period: TrendPeriod) -> pd.DataFrame:
    """The funnel within each hour, day or week: keys that did step 1 in it, and of those, keys that completed it.

    Each period is its own funnel (its key is the user or session and the period), so an attempt does
    not cross into the next period, and every period is counted alike whatever came before it.
    """
    columns = events.columns
    packed = events.mask_bits > 0
    times = columns["packed_time"] if packed else columns["event_time_us"]  # since filters.start_date
    shift_us, first_period_start, period_us = _periods(filters, period)
    base = columns["session_key" if query.count_by == "sessions" else "user_key"]
    width = int(base.max()) + 1 if len(base) else 1
    numbered = False
    if events.in_user_order and query.count_by != "sessions":
        # Rows grouped by user in time order (the event store): a new pair starts exactly where the
        # user or the period changes, found without a table or a division per row.
        numbered = True
        keys, key_period = _period_keys_by_user(times, events.mask_bits, shift_us, period_us, base)
    elif width <= 4 * len(base) + 1_000_000:
        # One pass numbers the (period, key) pairs instead of sorting or spreading them over
        # periods x keys; it holds whenever each key's periods never decrease, as in day order (how
        # fct_events is stored) and in (user, time) order (the event store), and says when not.
        numbered, keys, key_period = _period_keys(times, events.mask_bits, shift_us, period_us, base, width)
    if numbered:
        dense_keys = len(key_period)
        n_periods = int(key_period.max()) + 1 if len(key_period) else 0
    else:
        periods = ((times >> events.mask_bits) + shift_us) // period_us
        n_periods = int(periods.max()) + 1 if len(periods) else 0
        keys, key_period, dense_keys = periods * width + base.astype(np.int64), None, None
    levels = compute_levels(columns["user_key"], columns["packed_time"] if packed else times,
                            None if packed else columns["step_mask"], n_steps=len(query.steps),
                            window_us=query.window_microseconds, mode=query.mode, keys=keys,
                            mask_bits=events.mask_bits, exclusions=exclusion_steps(query),
                            attempts=query.count_by == "conversions", dense_keys=dense_keys,
                            split_by_time=key_period is not None and query.count_by != "sessions",
                            known_in_order=events.in_user_order)
    entered = levels.level >= 1
    key_periods = (key_period[levels.keys[entered]] if key_period is not None
                   else levels.keys[entered] // width)
    entered_counts = np.bincount(key_periods, minlength=n_periods)
    converted_counts = np.bincount(key_periods[levels.level[entered] == len(query.steps)], minlength=n_periods)
    return _trend_frame(entered_counts, converted_counts, first_period_start, period_us, period)


def _periods(filters: Filters, period: TrendPeriod) -> tuple[int, date, int]:
    """(shift, first period's start, period length), times in microseconds since `filters.start_date`.

    A row's period is (time + shift) // length: hours and days from the start date, weeks shifted so
    that they start on Monday.
    """
    if period == "week":
        shift = filters.start_date.weekday()  # weeks start on Monday
        return shift * DAY_US, filters.start_date - timedelta(days=shift), 7 * DAY_US
    if period == "hour":
        return 0, filters.start_date, HOUR_US
    return 0, filters.start_date, DAY_US


def _trend_frame(entered_counts: np.ndarray, converted_counts: np.ndarray, first_period_start: date,
                 period_us: int, period: TrendPeriod) -> pd.DataFrame:
    """`FunnelResult.trend` from the keys entering and converting in each period (none entering: left out).

    period_start is a date for days and weeks, a timestamp (UTC, naive) for hours.
    """
    shown = np.flatnonzero(entered_counts)
    first = pd.Timestamp(first_period_start) if period == "hour" else first_period_start
    trend = pd.DataFrame({
        "period_start": [first + timedelta(microseconds=int(index) * period_us) for index in shown],
        "entered": entered_counts[shown].astype(np.int64),
        "converted": converted_counts[shown].astype(np.int64),
    })
    trend["conversion_rate"] = trend["converted"] / trend["entered"]
    return trend


@jit
def _period_keys_by_user(times, mask_bits, shift_us, period_us, users):
    """Dense numbers for (period, user) pairs over rows grouped by user, each user's in time order.

    Returns (number of each row, period of each number); periods as in `_period_keys`.
    """
    n = times.shape[0]
    numbers = np.empty(n, dtype=np.int64)
    key_period = np.empty(n, dtype=np.int64)
    count = -1
    previous_user = -1
    period_end = 0  # the first time (packed units stripped) after the current pair's period
    for row in range(n):
        time = times[row] >> mask_bits
        if users[row] != previous_user or time >= period_end:
            period = (time + shift_us) // period_us
            count += 1
            key_period[count] = period
            period_end = (period + 1) * period_us - shift_us
            previous_user = users[row]
        numbers[row] = count
    return numbers, key_period[:count + 1]


@jit
def _period_keys(times, mask_bits, shift_us, period_us, base, width):
    """Dense numbers for (period, key) pairs, when each key's periods never decrease down the rows.

    A row's period is ((time >> mask_bits) + shift_us) // period_us. A key's number is reset
    whenever its period changes, so two arrays of `width` do, whatever the number of periods.

    Returns (whether each key's periods never decrease (else the numbers are unusable), number of
    each row, period of each number).
    """
    n = times.shape[0]
    stamp = np.full(width, -1, dtype=np.int64)
    number = np.empty(width, dtype=np.int64)
    numbers = np.empty(n, dtype=np.int64)
    key_period = np.empty(n, dtype=np.int64)
    count = 0
    for row in range(n):
        key = base[row]
        period = ((times[row] >> mask_bits) + shift_us) // period_us
        if stamp[key] != period:
            if stamp[key] > period:
                return False, numbers[:0], key_period[:0]
            stamp[key] = period
            number[key] = count
            key_period[count] = period
            count += 1
        numbers[row] = number[key]
    return True, numbers, key_period[:count]


def _histogram(query: FunnelQuery, levels: KeyLevels) -> pd.DataFrame:
    return _histogram_of(query, _reached_seconds(levels.durations_us[:, -1]))


def _histogram_of(query: FunnelQuery, seconds: np.ndarray) -> pd.DataFrame:
    """`FunnelResult.time_to_convert` from the seconds each converting key took."""
    # Bins up to the longest time taken (at most the window), so short conversions are not squeezed
    # into the first bin of a long window.
    longest = float(seconds.max()) if len(seconds) else query.window.total_seconds()
    edges = np.linspace(0.0, max(longest, 1.0), HISTOGRAM_BINS + 1)
    counts, _ = np.histogram(seconds, bins=edges)
    return pd.DataFrame({"bin_start_seconds": edges[:-1], "bin_end_seconds": edges[1:],
                         "count": counts.astype(np.int64)})
