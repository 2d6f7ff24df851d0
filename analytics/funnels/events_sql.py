"""Builds the SQL that reads a funnel's events, with every value as a bound parameter.

The template is `sql/funnels/step_events.sql`; the number of steps and which of them narrow by
category, brand or product vary, so this builder fills its slots. Only column names, `$name`
placeholders and bit weights are written into the text; tests pin the generated SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timezone
from typing import Any

from analytics.filters import Filters
from analytics.funnels.query import BREAKDOWN_COLUMNS, FunnelQuery
from analytics.sql_files import read_sql

NARROWING_COLUMNS = ("category", "brand", "product_id")
DAY_MICROSECONDS = 86_400_000_000
PACKED_BITS = 62  # leave the sign bit and one spare


@dataclass(frozen=True)
class StepEventsQuery:
    """The SQL for a funnel's events and how to read its result.

    Attributes:
        sql: the query text; values appear only as `$name` placeholders.
        parameters: the values to bind.
        mask_bits: > 0 when column `packed_time` holds `(event_time_us - time_origin_us) << mask_bits | step_mask`;
            0 when the columns are `event_time_us` (relative to `time_origin_us`) and `step_mask`.
        time_origin_us: microseconds since the epoch of the first filtered day's midnight.
    """

    sql: str
    parameters: dict[str, Any]
    mask_bits: int
    time_origin_us: int


def step_predicate(query: FunnelQuery, index: int) -> tuple[str, dict[str, Any]]:
    """SQL that is true when an event matches step `index` (0-based), and its parameters."""
    step = query.steps[index]
    prefix = f"step_{index + 1}"
    parts = [f"events.event_type = ${prefix}_event_type"]
    parameters: dict[str, Any] = {f"{prefix}_event_type": step.event_type}
    for column in NARROWING_COLUMNS:
        value = getattr(step, column)
        if value is not None:
            parts.append(f"events.{column} = ${prefix}_{column}")
            parameters[f"{prefix}_{column}"] = value
    return "(" + " and ".join(parts) + ")", parameters


def exclusion_predicate(query: FunnelQuery, index: int) -> tuple[str, dict[str, Any]]:
    """SQL that is true when an event matches exclusion `index` (0-based), and its parameters."""
    exclusion = query.exclusions[index]
    prefix = f"exclusion_{index + 1}"
    parts = [f"events.event_type = ${prefix}_event_type"]
    parameters: dict[str, Any] = {f"{prefix}_event_type": exclusion.event_type}
    if exclusion.category is not None:
        parts.append(f"events.category = ${prefix}_category")
        parameters[f"{prefix}_category"] = exclusion.category
    return "(" + " and ".join(parts) + ")", parameters


def packing(query: FunnelQuery, filters: Filters) -> tuple[int, int]:
    """(mask_bits, time_origin_us): how a funnel's event times and step masks are packed.

    Times are microseconds since `time_origin_us`, the first filtered day's midnight (UTC). When the
    period's span and the step and exclusion bits fit in `PACKED_BITS`, each row is one integer
    `time << mask_bits | mask`; otherwise mask_bits is 0 and times and masks are separate.
    """
    origin = datetime.combine(filters.start_date, time(), tzinfo=timezone.utc)
    time_origin_us = int(origin.timestamp()) * 1_000_000
    span_bits = (filters.days * DAY_MICROSECONDS).bit_length()
    flag_bits = len(query.steps) + len(query.exclusions)
    return (flag_bits if span_bits + flag_bits <= PACKED_BITS else 0), time_origin_us


def step_events_sql(query: FunnelQuery, filters: Filters, *, breakdown_values: tuple[str, ...] = ()
                    ) -> StepEventsQuery:
    """The query for the rows `analytics.funnels.core.compute_levels` needs.

    Args:
        query: a validated funnel query. Strict mode reads every event in the filters (an event that
            matches no step ends a strict attempt); the other modes read step events only.
        filters: the global filters (date range on event_date; categories, channels and devices on
            the event's own values).
        breakdown_values: the values of the breakdown column to tell apart, in order; an event with
            another value gets code 0.

    Returns:
        A StepEventsQuery. Columns: user_key (int32), then packed_time, or event_time_us and step_mask
        (see StepEventsQuery), then session_hash (uint64) when counting sessions, then breakdown_code
        (int, 1-based position in `breakdown_values`, 0 for others) when breaking down.
    """
    parameters = filters.sql_parameters()
    # Steps that repeat (view, cart, view, ...) share one predicate whose weight sets all their bits,
    # so a 10-step funnel does not compare each event ten times.
    weights: dict[str, int] = {}
    for index, step in enumerate(query.steps):
        first = query.steps.index(step)
        predicate, step_parameters = step_predicate(query, first)
        weights[predicate] = weights.get(predicate, 0) | (1 << index)
        parameters |= step_parameters
    # Exclusions take the bits after the steps' (bit n_steps + j for exclusion j + 1).
    for index in range(len(query.exclusions)):
        predicate, exclusion_parameters = exclusion_predicate(query, index)
        weights[predicate] = weights.get(predicate, 0) | (1 << (len(query.steps) + index))
        parameters |= exclusion_parameters
    predicates = list(weights)
    mask = " + ".join(f"{weight} * coalesce({predicate}::bigint, 0)" for predicate, weight in weights.items())
    mask_bits, time_origin_us = packing(query, filters)
    parameters["time_origin_us"] = time_origin_us
    relative_time = "(epoch_us(events.event_time) - $time_origin_us)"
    if mask_bits:
        columns = [f"({relative_time} << {mask_bits}) + {mask} as packed_time"]
    else:
        columns = [f"{relative_time} as event_time_us", f"{mask} as step_mask"]
    joins = ""
    session_filter = ""
    if query.count_by == "sessions":
        # A 64-bit hash of the session id rather than a join with fct_sessions: a join returns rows
        # out of storage order, and re-sorting them cost more than the whole funnel. The engine
        # numbers the (user, hash) pairs densely (`runner.session_keys`). Every fct_events row has a
        # session of fct_sessions (the mart is built with an inner join on it).
        columns.append("hash(events.session_id) as session_hash")
        session_filter = "and events.session_id is not null\n    "
    if query.breakdown is not None:
        column = BREAKDOWN_COLUMNS[query.breakdown]
        value = ("if(events.is_returning, 'returning', 'new')" if column == "is_returning"
                 else f"events.{column}")
        columns.append(f"coalesce(list_position($breakdown_values, {value}), 0) as breakdown_code")
        parameters["breakdown_values"] = list(breakdown_values)
    step_filter = session_filter + ("" if query.mode == "strict"
                                    else "and (" + "\n        or ".join(predicates) + ")")
    sql = (read_sql("funnels/step_events")
           .replace("/*columns*/", ",\n    ".join(columns))
           .replace("/*joins*/", joins)
           .replace("/*step_filter*/", step_filter))
    return StepEventsQuery(sql, parameters, mask_bits, time_origin_us)
