"""An in-memory columnar extract of `fct_events` for funnels, loaded once per warehouse build.

Reading a funnel's events through SQL costs more than the funnel itself (DuckDB scans, packs and
hands over millions of rows on every question). The Funnels page asks many questions of one build,
so it keeps every event once, as small integer codes sorted by (user, time), and answers each
question with one compiled pass that picks the rows in the filters, sets their step bits and hands
them to the same kernels (`runner.key_levels`) the SQL path feeds. The rows it picks, their masks,
session and breakdown codes are those `events_sql.step_events_sql` returns, in (user, time) rather
than (day, user, time) order, which the kernels take alike (each user's events in time order), so
results are equal; tests compare the two paths on random funnels.

Why (user, time) order: each user's events are then adjacent, so a funnel's per-user state is
touched once, in order, instead of once per day across an array of every user (the state of a
10-step funnel is 80 bytes a user: day order made every event a cache miss). It also splits the
users between two threads as two contiguous row ranges.

Memory: about 25 bytes per event (user int32, time int64, session int32, category int32, four
one-byte codes, per-user offsets), so 250 MB for 10M events. Steps narrowed by brand or product are
not covered: `EventStore.supports` says so and the runner reads those funnels through SQL.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.filters import Filters
from analytics.funnels._jit import jit
from analytics.funnels.events_sql import DAY_MICROSECONDS, packing
from analytics.funnels.kernels import ordered_levels_in_store, walk_in_store
from analytics.funnels.query import FunnelQuery
from analytics.sql_files import read_sql

if TYPE_CHECKING:  # pragma: no cover
    from analytics.funnels.runner import StepEvents
    from analytics.overview import FilterOptions

BATCH_ROWS = 1 << 20
# Below this many rows in the filters one thread is quicker than starting a second.
PARALLEL_ROWS = 1_000_000
# Breakdown name -> the code `_select` reads for it.
BREAKDOWN_KINDS = {"device": 1, "channel": 2, "category": 3, "new_vs_returning": 4}


@dataclass(frozen=True)
class FunnelWalk:
    """What `EventStore.walk` counts in its one pass.

    Attributes:
        reached: int64[n_steps], funnel keys (users or sessions) that reached at least each step.
        durations_us: n_steps arrays of int64: for step s + 1, the microseconds from each reaching
            key's attempt start to reaching it (one per key, in no particular order).
        entered, converted: int64[periods], trend keys (key within a period) that did step 1 / every
            step in each trend period.
        breakdown_reached: int64[breakdown values + 1, n_steps], per breakdown code (0: other) the
            (key, value) pairs that reached at least each step.
    """

    reached: np.ndarray
    durations_us: list[np.ndarray]
    entered: np.ndarray
    converted: np.ndarray
    breakdown_reached: np.ndarray


@dataclass(frozen=True, eq=False)
class EventStore:
    """Every `fct_events` row as arrays, in (user_key, event_time) order.

    Attributes:
        data_version: the build the store was read from (`meta_warehouse`), None without metadata.
        options: the warehouse's `filter_options`, read at load (breakdown values come from it).
        user_key: int32[n].
        event_time_us: int64[n], microseconds since the epoch (UTC).
        event_code, device_code, channel_code: int8[n]; category_code: int32[n]. Code 0 is null,
            code i is the i-th value (1-based) of `event_types`, `devices`, `channels`, `categories`.
        is_returning: bool[n], null read as False (the SQL path's `if(is_returning, ...)` does too).
        session_key: int32[n], a dense number per (user, session id); -1 without a session id.
        user_count: the largest user_key + 1 (0 without rows).
        user_offsets: int64[user_count + 1]: user u's rows are user_offsets[u]:user_offsets[u + 1].
        event_types, categories, devices, channels: the sorted distinct values, nulls left out.
    """

    data_version: str | None
    options: FilterOptions
    user_key: np.ndarray
    event_time_us: np.ndarray
    event_code: np.ndarray
    category_code: np.ndarray
    device_code: np.ndarray
    channel_code: np.ndarray
    is_returning: np.ndarray
    session_key: np.ndarray
    user_count: int
    user_offsets: np.ndarray
    event_types: tuple[str, ...]
    categories: tuple[str, ...]
    devices: tuple[str, ...]
    channels: tuple[str, ...]

    @property
    def rows(self) -> int:
        """Number of events held."""
        return int(self.user_key.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        return sum(array.nbytes for array in (self.user_key, self.event_time_us, self.event_code, self.category_code,
                                              self.device_code, self.channel_code, self.is_returning,
                                              self.session_key, self.user_offsets))

    def supports(self, query: FunnelQuery) -> bool:
        """True unless a step narrows by brand or product (columns the store does not keep)."""
        return all(step.brand is None and step.product_id is None for step in query.steps)

    @staticmethod
    def time_range(filters: Filters) -> tuple[int, int]:
        """[start, stop) in microseconds since the epoch: the events dated within the filters' dates.

        event_date is the UTC date of event_time, so this is exactly `event_date between start and end`.
        """
        epoch = np.datetime64("1970-01-01", "D")
        start = int((np.datetime64(filters.start_date, "D") - epoch).astype(np.int64))
        stop = int((np.datetime64(filters.end_date, "D") - epoch).astype(np.int64)) + 1
        return start * DAY_MICROSECONDS, stop * DAY_MICROSECONDS

    def step_table(self, query: FunnelQuery) -> np.ndarray:
        """int64[event codes, category codes]: the step and exclusion bits each (event type, category) sets.

        Bit k is step k + 1 and bit n_steps + j exclusion j + 1, as in `events_sql.step_events_sql`.
        """
        table = np.zeros((len(self.event_types) + 1, len(self.categories) + 1), dtype=np.int64)
        narrowed = [(step.event_type, step.category, 1 << index) for index, step in enumerate(query.steps)]
        narrowed += [(exclusion.event_type, exclusion.category, 1 << (len(query.steps) + index))
                     for index, exclusion in enumerate(query.exclusions)]
        for event_type, category, bit in narrowed:
            if event_type not in self.event_types:
                continue  # nothing in the data matches this step
            row = self.event_types.index(event_type) + 1
            if category is None:
                table[row, :] |= bit
            elif category in self.categories:
                table[row, self.categories.index(category) + 1] |= bit
        return table

    def ordered_user_levels(self, query: FunnelQuery, filters: Filters) -> np.ndarray:
        """int8[users]: each user's level in an ordered funnel counted by users (-1: no step event).

        One compiled pass straight over the stored rows (`kernels.ordered_levels_in_store`), the
        fastest path: nothing is copied out. Only for mode "ordered", counting users, no breakdown.
        """
        start, stop = self.time_range(filters)
        arguments = (self.user_key, self.event_time_us, self.event_code, self.category_code, self.device_code,
                     self.channel_code, self.step_table(query), _allowed(self.categories, filters.categories),
                     _allowed(self.devices, filters.devices), _allowed(self.channels, filters.channels), start, stop,
                     self.user_count, len(query.steps), query.window_microseconds,
                     np.array([(exclusion.from_step, exclusion.to_step) for exclusion in query.exclusions],
                              dtype=np.int64).reshape(-1, 2))
        if self.rows < PARALLEL_ROWS:
            return ordered_levels_in_store(0, self.rows, *arguments)
        # Two threads, each over the rows of half of the users (contiguous in (user, time) order); a
        # user's level is set by one half only (-1 in the other), so the larger is the user's level.
        middle = int(self.user_offsets[self.user_count // 2])
        with ThreadPoolExecutor(max_workers=2) as pool:
            low = pool.submit(ordered_levels_in_store, 0, middle, *arguments)
            high = ordered_levels_in_store(middle, self.rows, *arguments)
            return np.maximum(low.result(), high)

    def walk(self, query: FunnelQuery, filters: Filters, breakdown_values: tuple[str, ...], shift_us: int,
             period_us: int) -> FunnelWalk:
        """An ordered or strict funnel's counts, timings, trend and breakdown in one pass over the stored users.

        Equal to `runner.key_levels` (with and without the breakdown) and `runner._trend` over
        `step_events`, but each user's rows are read once, not once per pass, and no per-key arrays
        over every user or pair are built (those passes and arrays were most of a page view's time).

        Args:
            query: a validated query that `supports` accepts, mode "ordered" or "strict", counting users
                or sessions.
            filters: the global filters.
            breakdown_values: as for `events_sql.step_events_sql`.
            shift_us, period_us: trend periods are (microseconds since filters.start_date + shift_us) // period_us.

        Returns:
            The FunnelWalk.
        """
        kind = BREAKDOWN_KINDS.get(query.breakdown or "", 0)
        start, stop = self.time_range(filters)
        n_steps = len(query.steps)
        n_periods = (filters.days * DAY_MICROSECONDS - 1 + shift_us) // period_us + 1
        longest = int(np.diff(self.user_offsets).max()) if self.user_count else 0
        arguments = (self.user_offsets, self.event_time_us, self.event_code, self.category_code, self.device_code,
                     self.channel_code, self.is_returning, self.session_key, self.step_table(query),
                     _allowed(self.categories, filters.categories), _allowed(self.devices, filters.devices),
                     _allowed(self.channels, filters.channels), start, stop, n_steps, query.window_microseconds,
                     np.array([(exclusion.from_step, exclusion.to_step) for exclusion in query.exclusions],
                              dtype=np.int64).reshape(-1, 2),
                     query.count_by == "sessions", kind, self._breakdown_map(kind, breakdown_values),
                     len(breakdown_values) + 1, shift_us, period_us, n_periods, longest,
                     query.mode == "strict")
        if self.rows < PARALLEL_ROWS:
            parts = [walk_in_store(0, self.user_count, *arguments)]
        else:
            # Two threads, each over the users holding half of the rows; counts add up, and each
            # thread's durations are its own keys', so together they are every key's.
            middle = int(np.searchsorted(self.user_offsets, self.rows // 2))
            with ThreadPoolExecutor(max_workers=2) as pool:
                low = pool.submit(walk_in_store, 0, middle, *arguments)
                parts = [walk_in_store(middle, self.user_count, *arguments), low.result()]
        durations = [np.concatenate([part[1][step, :part[2][step]] for part in parts]) for step in range(n_steps)]
        return FunnelWalk(sum(part[0] for part in parts), durations, sum(part[3] for part in parts),
                           sum(part[4] for part in parts), sum(part[5] for part in parts))

    def _breakdown_map(self, kind: int, breakdown_values: tuple[str, ...]) -> np.ndarray:
        """int64 per code of the breakdown's column: its 1-based position in `breakdown_values`, 0 if absent."""
        if kind == 4:
            return np.array([breakdown_values.index(value) + 1 if value in breakdown_values else 0
                             for value in ("new", "returning")], dtype=np.int64)
        known = {1: self.devices, 2: self.channels, 3: self.categories}.get(kind, ())
        return _positions(known, breakdown_values)

    def step_events(self, query: FunnelQuery, filters: Filters, breakdown_values: tuple[str, ...]) -> StepEvents:
        """The rows `runner.key_levels` needs, equal to what `runner.read_step_events` reads through SQL.

        Args:
            query: a validated query that `supports` accepts.
            filters: the global filters.
            breakdown_values: as for `events_sql.step_events_sql`.

        Returns:
            A StepEvents with the SQL path's columns (session_key is the store's own dense number).
        """
        from analytics.funnels.runner import StepEvents

        mask_bits, time_origin_us = packing(query, filters)
        table = self.step_table(query)
        kind = BREAKDOWN_KINDS.get(query.breakdown or "", 0)
        breakdown_map = self._breakdown_map(kind, breakdown_values)
        start, stop = self.time_range(filters)
        users, times, masks, sessions, codes = _select(
            start, stop, self.user_key, self.event_time_us, self.event_code, self.category_code, self.device_code,
            self.channel_code, self.is_returning, self.session_key, table,
            _allowed(self.categories, filters.categories), _allowed(self.devices, filters.devices),
            _allowed(self.channels, filters.channels), query.mode == "strict", time_origin_us, mask_bits,
            query.count_by == "sessions", kind, breakdown_map)
        columns: dict[str, np.ndarray] = {"user_key": users}
        if mask_bits:
            columns["packed_time"] = times
        else:
            columns["event_time_us"], columns["step_mask"] = times, masks
        if query.count_by == "sessions":
            columns["session_key"] = sessions
        if kind:
            columns["breakdown_code"] = codes
        return StepEvents(columns, mask_bits, time_origin_us, len(breakdown_values) + 1, in_user_order=True)


def _positions(known: tuple[str, ...], chosen: tuple[str, ...]) -> np.ndarray:
    """int64[len(known) + 1]: for each code, its 1-based position in `chosen`, 0 when absent (code 0: null)."""
    return np.array([0] + [chosen.index(value) + 1 if value in chosen else 0 for value in known], dtype=np.int64)


def _allowed(known: tuple[str, ...], chosen: tuple[str, ...]) -> np.ndarray:
    """bool[len(known) + 1]: which codes pass a global filter; all of them (null too) when nothing is chosen."""
    if not chosen:
        return np.ones(len(known) + 1, dtype=np.bool_)
    return np.array([False] + [value in chosen for value in known], dtype=np.bool_)


@jit
def _select(start, stop, users, times, events, categories, devices, channels, returning, sessions, table,
            keep_category, keep_device, keep_channel, keep_all, origin, mask_bits, with_sessions, kind,
            breakdown_map):
    # One pass over every row: the filters' dates [start, stop) and the rest of the global filters,
    # the step bits from the (event type, category) table, and the SQL path's packing; rows matching
    # no step are dropped unless strict mode needs them.
    n = users.shape[0]
    out_users = np.empty(n, dtype=np.int32)
    out_times = np.empty(n, dtype=np.int64)
    out_masks = np.empty(n if mask_bits == 0 else 0, dtype=np.int64)
    out_sessions = np.empty(n if with_sessions else 0, dtype=np.int64)
    out_codes = np.empty(n if kind > 0 else 0, dtype=np.int64)
    count = 0
    for row in range(n):
        category = categories[row]
        mask = table[events[row], category]
        if mask == 0 and not keep_all:
            continue
        if times[row] < start or times[row] >= stop:
            continue
        if not (keep_category[category] and keep_device[devices[row]] and keep_channel[channels[row]]):
            continue
        if with_sessions:
            if sessions[row] < 0:
                continue
            out_sessions[count] = sessions[row]
        relative = times[row] - origin
        out_users[count] = users[row]
        if mask_bits:
            out_times[count] = (relative << mask_bits) | mask
        else:
            out_times[count] = relative
            out_masks[count] = mask
        if kind == 1:
            out_codes[count] = breakdown_map[devices[row]]
        elif kind == 2:
            out_codes[count] = breakdown_map[channels[row]]
        elif kind == 3:
            out_codes[count] = breakdown_map[category]
        elif kind == 4:
            out_codes[count] = breakdown_map[1 if returning[row] else 0]
        count += 1
    return (out_users[:count], out_times[:count], out_masks[:count] if mask_bits == 0 else out_masks,
            out_sessions[:count] if with_sessions else out_sessions, out_codes[:count] if kind > 0 else out_codes)


def load_event_store(con: duckdb.DuckDBPyConnection, batch_rows: int = BATCH_ROWS) -> EventStore:
    """Read every `fct_events` row into an EventStore, streaming batches (memory stays near the store's size).

    Args:
        con: a warehouse connection (a cursor is taken).
        batch_rows: rows per batch read from DuckDB, > 0.

    Returns:
        The EventStore; about 2 s per 10M events.
    """
    from analytics.overview import filter_options
    from analytics.warehouse import data_version

    with con.cursor() as cursor:
        try:
            version = data_version(cursor)
        except duckdb.Error:
            version = None
        options = filter_options(cursor)
        row_count, *dictionaries = cursor.execute(read_sql("funnels/event_store_values")).fetchall()[0]
        event_types, categories, devices, channels = (tuple(values or ()) for values in dictionaries)
        users = np.empty(row_count, dtype=np.int32)
        times = np.empty(row_count, dtype=np.int64)
        events = np.empty(row_count, dtype=np.int8)
        category_codes = np.empty(row_count, dtype=np.int32)
        device_codes = np.empty(row_count, dtype=np.int8)
        channel_codes = np.empty(row_count, dtype=np.int8)
        returning = np.empty(row_count, dtype=np.bool_)
        has_session = np.empty(row_count, dtype=np.bool_)
        hashes = np.empty(row_count, dtype=np.uint64)
        value_sets = [pa.array(values, type=pa.string()) for values in (event_types, categories, devices, channels)]
        reader = cursor.sql(read_sql("funnels/event_store")).to_arrow_reader(batch_rows)
        done = 0
        for batch in reader:
            size = batch.num_rows
            rows = slice(done, done + size)
            users[rows] = batch.column("user_key").to_numpy(zero_copy_only=False)
            times[rows] = batch.column("event_time_us").to_numpy(zero_copy_only=False)
            for target, name, value_set in ((events, "event_type", value_sets[0]),
                                            (category_codes, "category", value_sets[1]),
                                            (device_codes, "device", value_sets[2]),
                                            (channel_codes, "channel", value_sets[3])):
                index = pc.index_in(batch.column(name), value_set=value_set)
                target[rows] = pc.fill_null(index, -1).to_numpy(zero_copy_only=False) + 1
            returning[rows] = batch.column("is_returning").to_numpy(zero_copy_only=False)
            has_session[rows] = batch.column("has_session").to_numpy(zero_copy_only=False)
            hashes[rows] = batch.column("session_hash").to_numpy(zero_copy_only=False)
            done += size
    arrays = [users, times, events, category_codes, device_codes, channel_codes, returning, has_session, hashes]
    if done != row_count:  # the table changed between the two reads: keep what was read
        arrays = [array[:done] for array in arrays]
    return _assemble(version, options, (event_types, categories, devices, channels), arrays)


def _assemble(version: str | None, options: FilterOptions, dictionaries: tuple[tuple[str, ...], ...],
              arrays: list[np.ndarray]) -> EventStore:
    """Sort the columns by (user, time), number the sessions and build the EventStore."""
    from analytics.funnels.core import _in_order

    # (day, user, time) storage order -> (user, time): a stable sort by user keeps each user's rows in
    # time order. Rows in any other order are sorted by (user, time) outright.
    order = np.argsort(arrays[0], kind="stable")
    arrays = [array[order] for array in arrays]
    if not _in_order(arrays[0], arrays[1], 0):
        order = np.lexsort((arrays[1], arrays[0]))
        arrays = [array[order] for array in arrays]
    del order
    users, times, events, category_codes, device_codes, channel_codes, returning, has_session, hashes = arrays
    sessions = _number_sessions(users, hashes, has_session)
    user_count = int(users[-1]) + 1 if len(users) else 0
    offsets = np.searchsorted(users, np.arange(user_count + 1), side="left").astype(np.int64)
    return EventStore(version, options, users, times, events, category_codes, device_codes, channel_codes,
                      returning, sessions, user_count, offsets, *dictionaries)


def event_store_from_frame(events: pd.DataFrame, options: FilterOptions | None = None) -> EventStore:
    """An EventStore from a frame of events, in any row order (for tests and hand-made logs).

    Args:
        events: columns user_key (int >= 0), event_time_us (int, microseconds since the epoch),
            event_type, and optionally category, device, channel (str or None), is_returning (bool)
            and session_id (str or None; default: one session per user).
        options: what `filter_options` would say; default: the values in `events`, dates from its times.

    Returns:
        The EventStore, data_version None.
    """
    from analytics.overview import FilterOptions

    frame = events.reset_index(drop=True)
    n = len(frame)

    def text(name: str) -> pd.Series:
        return frame[name].astype(object) if name in frame else pd.Series([None] * n, dtype=object)

    dictionaries = tuple(tuple(sorted({value for value in text(name) if value is not None and value == value}))
                         for name in ("event_type", "category", "device", "channel"))

    def codes(name: str, values: tuple[str, ...], dtype) -> np.ndarray:
        position = {value: index + 1 for index, value in enumerate(values)}
        return np.array([position.get(value, 0) for value in text(name)], dtype=dtype)

    sessions = text("session_id") if "session_id" in frame else frame["user_key"].astype(str)
    hashes = np.array([hash(str(value)) & 0xFFFFFFFFFFFFFFFF for value in sessions], dtype=np.uint64)
    arrays = [frame["user_key"].to_numpy(dtype=np.int32), frame["event_time_us"].to_numpy(dtype=np.int64),
              codes("event_type", dictionaries[0], np.int8), codes("category", dictionaries[1], np.int32),
              codes("device", dictionaries[2], np.int8), codes("channel", dictionaries[3], np.int8),
              frame["is_returning"].fillna(False).to_numpy(dtype=np.bool_) if "is_returning" in frame
              else np.zeros(n, dtype=np.bool_),
              np.array([value is not None and value == value for value in sessions], dtype=np.bool_), hashes]
    if options is None:
        days = arrays[1] // DAY_MICROSECONDS
        first, last = ((np.datetime64(int(days.min()), "D").astype(object), np.datetime64(int(days.max()), "D")
                        .astype(object)) if n else (None, None))
        options = FilterOptions(categories=dictionaries[1], channels=dictionaries[3], devices=dictionaries[2],
                                first_date=first, last_date=last)
    return _assemble(None, options, dictionaries, arrays)


@jit
def _number_sessions(users, hashes, has_session):
    """int32[n]: a dense number per (user, session hash) over rows grouped by user; -1 without a session.

    Rows come grouped by user, so each user's sessions are numbered by a search among that user's
    own (few) sessions, with no table over all sessions (26M of them at 100M events). Two sessions
    of one user share a number only if their ids have the same 64-bit hash.
    """
    n = users.shape[0]
    numbers = np.full(n, -1, dtype=np.int32)
    longest = 0  # the most rows of one user, to size the per-user buffers
    first = 0
    for row in range(1, n + 1):
        if row == n or users[row] != users[first]:
            longest = max(longest, row - first)
            first = row
    seen = np.empty(longest, dtype=np.uint64)  # the current user's distinct hashes ...
    seen_numbers = np.empty(longest, dtype=np.int32)  # ... and their numbers
    count = 0
    first = 0
    while first < n:
        stop = first + 1
        while stop < n and users[stop] == users[first]:
            stop += 1
        distinct = 0
        for row in range(first, stop):
            if not has_session[row]:
                continue
            value = hashes[row]
            if row > first and has_session[row - 1] and hashes[row - 1] == value:
                numbers[row] = numbers[row - 1]
                continue
            found = -1
            for index in range(distinct):
                if seen[index] == value:
                    found = seen_numbers[index]
                    break
            if found < 0:
                found = count
                seen[distinct] = value
                seen_numbers[distinct] = count
                distinct += 1
                count += 1
            numbers[row] = found
        first = stop
    return numbers
