"""Runs a `FunnelQuery` over the warehouse and returns a typed `FunnelResult`.

Steps: validate the query, read the step events with the builder's SQL (bound parameters), run
the order mode's one-pass kernel per funnel key, then summarise: counts per step, the breakdown,
the conversion trend and the time to convert.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from analytics.filters import Filters
from analytics.funnels._jit import jit
from analytics.funnels.core import DAY_MICROSECONDS, KeyLevels, compute_levels, reached_counts
from analytics.funnels.events_sql import step_events_sql
from analytics.funnels.query import FunnelQuery

TrendPeriod = Literal["day", "week"]
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


def count_funnel(con: duckdb.DuckDBPyConnection, query: FunnelQuery, filters: Filters) -> pd.DataFrame:
    """Only the counts per step, the fast path (what `windowFunnel` answers); see `run_funnel`.

    Returns:
        `FunnelResult.steps` without the time-to-convert columns.
    """
    query.validate()
    events = read_step_events(con, query, filters, ())
    levels = key_levels(query, events, with_durations=False)
    return step_table(query, levels.level)


def run_funnel(con: duckdb.DuckDBPyConnection, query: FunnelQuery, filters: Filters,
               trend_period: TrendPeriod = "day") -> FunnelResult:
    """Compute a funnel over `fct_events` within the global filters.

    Args:
        con: a warehouse connection (a cursor is taken for the query).
        query: the funnel; validated here.
        filters: date range, categories, channels and devices; a category filter keeps only events
            on products of those categories.
        trend_period: "day" or "week" for `FunnelResult.trend`.

    Returns:
        The FunnelResult.

    Raises:
        ShopLensError: the query breaks a rule (see `FunnelQuery.validate`).
    """
    query.validate()
    breakdown_values = _breakdown_values(con, query, filters)
    events = read_step_events(con, query, filters, breakdown_values)
    # The trend and the breakdown are separate passes over the same rows; the compiled kernels
    # release the GIL, so they run beside the main pass on another core.
    with ThreadPoolExecutor(max_workers=2) as pool:
        trend = pool.submit(_trend, query, events, filters, trend_period)
        by_value = (pool.submit(key_levels, query, events, with_durations=False, by_breakdown=True)
                    if query.breakdown is not None else None)
        levels = key_levels(query, events, with_durations=True)
        breakdown = None if by_value is None else _breakdown_table(query, by_value.result(), breakdown_values)
        return FunnelResult(query, filters, step_table(query, levels.level, levels.durations_us), breakdown,
                            trend.result(), _histogram(query, levels))


@dataclass(frozen=True)
class StepEvents:
    """The rows of `step_events_sql` as arrays, with how times are packed and the breakdown's width."""

    columns: dict[str, np.ndarray]
    mask_bits: int
    time_origin_us: int
    breakdown_width: int


def read_step_events(con: duckdb.DuckDBPyConnection, query: FunnelQuery, filters: Filters,
                     breakdown_values: tuple[str, ...]) -> StepEvents:
    """Read the rows `key_levels` needs with the builder's SQL (see `events_sql.step_events_sql`)."""
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
        if len(base) and int(base.min()) >= 0 and n_base * events.breakdown_width <= 4 * len(base) + 1_000_000:
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
                            attempts=query.count_by == "conversions", dense_keys=dense_keys)
    if pair_values is not None:
        levels = replace(levels, keys=pair_values[levels.keys])
    return levels


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
    reached = reached_counts(level, n_steps)
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
            seconds = _reached_seconds(durations_us[:, step])
            medians.append(float(np.median(seconds)) if len(seconds) else np.nan)
            p90s.append(float(np.quantile(seconds, 0.9)) if len(seconds) else np.nan)
        table["median_seconds_to_convert"] = medians
        table["p90_seconds_to_convert"] = p90s
    return table


def _reached_seconds(durations_us: np.ndarray) -> np.ndarray:
    return durations_us[durations_us >= 0] / 1_000_000


def _breakdown_values(con: duckdb.DuckDBPyConnection, query: FunnelQuery, filters: Filters) -> tuple[str, ...]:
    if query.breakdown is None:
        return ()
    if query.breakdown == "new_vs_returning":
        return NEW_VS_RETURNING
    from analytics.overview import filter_options

    options = filter_options(con)
    chosen = {"device": filters.devices, "channel": filters.channels, "category": filters.categories}[query.breakdown]
    known = {"device": options.devices, "channel": options.channels, "category": options.categories}[query.breakdown]
    return tuple(chosen) or tuple(known)


def _breakdown_table(query: FunnelQuery, levels: KeyLevels, values: tuple[str, ...]) -> pd.DataFrame:
    width = len(values) + 1
    codes = levels.keys % width
    frames = []
    for code, value in [(code, values[code - 1]) for code in range(1, width)] + [(0, UNKNOWN_VALUE)]:
        chosen = codes == code
        if not chosen.any():
            continue
        table = step_table(query, levels.level[chosen])
        if table[query.count_by].iloc[0] == 0:
            continue
        frames.append(table.assign(breakdown_value=value))
    columns = ["breakdown_value", "step_number", "step", "event_type", query.count_by,
               "conversion_from_start", "conversion_from_previous", "dropped"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def _trend(query: FunnelQuery, events: StepEvents, filters: Filters, period: TrendPeriod) -> pd.DataFrame:
    """The funnel within each day or week: keys that did step 1 in it, and of those, keys that completed it.

    Each period is its own funnel (its key is the user or session and the period), so an attempt does
    not cross into the next period, and every period is counted alike whatever came before it.
    """
    columns = events.columns
    times = columns["packed_time"] >> events.mask_bits if events.mask_bits else columns["event_time_us"]
    days = times // DAY_MICROSECONDS  # days since filters.start_date
    if period == "week":
        shift = filters.start_date.weekday()  # weeks start on Monday
        periods, first_period_start = (days + shift) // 7, filters.start_date - timedelta(days=shift)
        period_days = 7
    else:
        periods, first_period_start, period_days = days, filters.start_date, 1
    n_periods = int(periods.max()) + 1 if len(periods) else 0
    base = columns["session_key" if query.count_by == "sessions" else "user_key"].astype(np.int64)
    packed = events.mask_bits > 0
    width = int(base.max()) + 1 if len(base) else 1
    if width <= 4 * len(base) + 1_000_000 and (len(periods) < 2 or bool((np.diff(periods) >= 0).all())):
        # Rows in day order (how fct_events is stored): number the (period, key) pairs in one pass
        # instead of sorting or spreading them over periods x keys.
        keys, key_period = _period_keys(periods, base, width)
        dense_keys = len(key_period)
    else:
        keys, key_period, dense_keys = periods * width + base, None, None
    levels = compute_levels(columns["user_key"], columns["packed_time"] if packed else times,
                            None if packed else columns["step_mask"], n_steps=len(query.steps),
                            window_us=query.window_microseconds, mode=query.mode, keys=keys,
                            mask_bits=events.mask_bits, exclusions=exclusion_steps(query),
                            attempts=query.count_by == "conversions", dense_keys=dense_keys,
                            split_by_time=key_period is not None and query.count_by != "sessions")
    entered = levels.level >= 1
    key_periods = (key_period[levels.keys[entered]] if key_period is not None
                   else levels.keys[entered] // width)
    entered_counts = np.bincount(key_periods, minlength=n_periods)
    converted_counts = np.bincount(key_periods[levels.level[entered] == len(query.steps)], minlength=n_periods)
    shown = np.flatnonzero(entered_counts)
    trend = pd.DataFrame({
        "period_start": [first_period_start + timedelta(days=int(index) * period_days) for index in shown],
        "entered": entered_counts[shown].astype(np.int64),
        "converted": converted_counts[shown].astype(np.int64),
    })
    trend["conversion_rate"] = trend["converted"] / trend["entered"]
    return trend


@jit
def _period_keys(periods, base, width):
    """Dense numbers for (period, key) pairs over rows whose periods never decrease.

    Returns (number of each row, period of each number). A key's number is reset whenever a new
    period starts, so two arrays of `width` do, whatever the number of periods.
    """
    n = periods.shape[0]
    stamp = np.full(width, -1, dtype=np.int64)
    number = np.empty(width, dtype=np.int64)
    numbers = np.empty(n, dtype=np.int64)
    key_period = np.empty(n, dtype=np.int64)
    count = 0
    for row in range(n):
        key = base[row]
        if stamp[key] != periods[row]:
            stamp[key] = periods[row]
            number[key] = count
            key_period[count] = periods[row]
            count += 1
        numbers[row] = number[key]
    return numbers, key_period[:count]


def _histogram(query: FunnelQuery, levels: KeyLevels) -> pd.DataFrame:
    seconds = _reached_seconds(levels.durations_us[:, -1])
    # Bins up to the longest time taken (at most the window), so short conversions are not squeezed
    # into the first bin of a long window.
    longest = float(seconds.max()) if len(seconds) else query.window.total_seconds()
    edges = np.linspace(0.0, max(longest, 1.0), HISTOGRAM_BINS + 1)
    counts, _ = np.histogram(seconds, bins=edges)
    return pd.DataFrame({"bin_start_seconds": edges[:-1], "bin_end_seconds": edges[1:],
                         "count": counts.astype(np.int64)})
