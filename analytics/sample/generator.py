"""Seeded, vectorised generator of a sample shop's six source tables.

The world (catalogue, promotions, day-by-day traffic shape) is built once from
the seed; users are then simulated in fixed-size chunks, each with its own
child seed, so a run is deterministic for a given config and ``write_sample``
can stream tens of millions of events through ``ParquetWriter`` without
holding them in memory.

Per chunk, ``analytics.sample.behaviour`` draws users -> visits -> product
views -> timed events as numpy arrays; this module turns them into the events,
users, orders and order_items tables. Python only loops over chunks. The
behavioural knobs and the effects they plant are in
``analytics.sample.effects``.
"""

from __future__ import annotations

import datetime as dt
import os
import pathlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analytics import schema as canonical
from analytics.sample import behaviour
from analytics.sample import effects as fx
from analytics.sample.behaviour import US_PER_DAY, World
from analytics.sample.catalog import TOP_LEVEL_NAMES, build_catalog
from analytics.sample.promotions import build_promotions

# Default size: a 365-day sample has about 16 events per user, so 34k users
# give ~550k events, a mid-size shop whose files stay around 6 MB.
DEFAULT_USERS = 34_000
DEFAULT_PRODUCTS = 2_000
# Users per chunk. Part of the output's identity: changing it changes which
# child seed simulates which user, so it is fixed rather than configurable.
USERS_PER_CHUNK = 25_000
PARQUET_COMPRESSION = "zstd"
PARQUET_COMPRESSION_LEVEL = 6

_ARROW_TYPES = {
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
    "VARCHAR": pa.string(),
    "TIMESTAMP": pa.timestamp("us"),
    "DATE": pa.date32(),
}


@dataclass(frozen=True)
class SampleConfig:
    """What to generate.

    Args:
        users: number of simulated users, >= 1; every one of them visits at least once.
            A 365-day sample has about 16 events per user (1M events ~ 62k users).
        days: length of the sample in days, >= 1.
        seed: seed of everything; the same config always gives the same tables.
        start_date: first day of the sample (UTC).
    """

    users: int = DEFAULT_USERS
    days: int = 365
    seed: int = 7
    start_date: dt.date = dt.date(2025, 1, 1)

    def __post_init__(self) -> None:
        if self.users < 1:
            raise ValueError(f"users must be >= 1, got {self.users}")
        if self.days < 1:
            raise ValueError(f"days must be >= 1, got {self.days}")


def arrow_schema(table_name: str) -> pa.Schema:
    """Return the Arrow schema of a canonical table (column order, types, nullability).

    Args:
        table_name: one of ``analytics.schema.TABLES_BY_NAME``.

    Returns:
        Schema with int64/int32/float64/string/timestamp[us]/date32 fields.
    """
    table = canonical.TABLES_BY_NAME[table_name]
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.sql_type], nullable=c.nullable) for c in table.columns])


@dataclass
class _Counters:
    """Running id counters, so ids stay unique across chunks."""

    session: int = 0
    event: int = 0
    order: int = 0


def _product_count(users: int) -> int:
    """About DEFAULT_PRODUCTS at the default size, growing with the fourth root of users."""
    return int(round(DEFAULT_PRODUCTS * (users / DEFAULT_USERS) ** 0.25))


def _build_world(config: SampleConfig) -> tuple[World, tuple[np.random.SeedSequence, ...]]:
    """Build the shared world and the child seed of every user chunk."""
    catalog_seq, promo_seq, users_seq = np.random.SeedSequence(config.seed).spawn(3)
    catalog = build_catalog(np.random.default_rng(catalog_seq), _product_count(config.users), fx.EXPENSIVE_PRICE_RATIO)
    promotions = build_promotions(
        np.random.default_rng(promo_seq), config.start_date, config.days, catalog, arrow_schema("promotions")
    )
    festival_traffic, conversion, rush = fx.festival_multipliers(config.start_date, config.days)
    traffic = fx.base_traffic(config.start_date, config.days) * festival_traffic * promotions.traffic
    growth = fx.ACQUISITION_GROWTH_PER_YEAR ** (np.arange(config.days) / 365.0)
    hours = np.asarray(fx.HOURLY_TRAFFIC)
    top_weight = np.bincount(catalog.top, weights=catalog.weight, minlength=len(TOP_LEVEL_NAMES))
    start_day = (np.datetime64(config.start_date, "D") - np.datetime64(0, "D")).astype(np.int64)
    world = World(
        days=config.days,
        catalog=catalog,
        promotions=promotions,
        cum_traffic=np.cumsum(traffic),
        mean_traffic=float(traffic.mean()),
        cum_acquisition=np.cumsum(growth * traffic),
        conversion=conversion,
        rush=rush,
        hour_cdf=np.cumsum(hours) / hours.sum(),
        top_cum_weight=np.concatenate([[0.0], np.cumsum(top_weight)]),
        start_us=int(start_day) * US_PER_DAY,
    )
    n_chunks = -(-config.users // USERS_PER_CHUNK)
    return world, tuple(users_seq.spawn(n_chunks))


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Format ids like "U00000123" (prefix + zero-padded number) with Arrow kernels."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _take(values: pa.Array | tuple[str, ...], index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Gather strings by index; rows where ``valid`` is False become null."""
    array = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    if valid is None:
        return pc.take(array, pa.array(index, pa.int64()))
    return pc.take(array, pa.array(np.where(valid, index, 0), pa.int64(), mask=~valid))


def _simulate_chunk(
    world: World, seed: np.random.SeedSequence, first_user: int, n: int, counters: _Counters
) -> dict[str, pa.Table]:
    """Simulate ``n`` users and return their events, users, orders and order_items tables.

    Args:
        world: shared world of the config.
        seed: the chunk's child seed.
        first_user: number of users in earlier chunks (this chunk's ids start at first_user + 1).
        n: users in this chunk.
        counters: running session/event/order ids, advanced in place.
    """
    rng = np.random.default_rng(seed)
    cat = world.catalog
    users = behaviour.draw_users(rng, world, n)
    visits = behaviour.draw_visits(rng, world, users)
    views = behaviour.draw_views(rng, world, visits)
    events = behaviour.order_events(rng, world, visits, views)
    kept, rank = events.kept_visits, events.visit_rank
    code = behaviour.EVENT_CODE

    on_product = events.view >= 0
    # Searches point at a padding row past the views, so the gathers also work
    # for a chunk without a single view.
    row = np.where(on_product, events.view, len(views.visit))
    product = np.r_[views.product, 0][row]
    carries_quantity = np.isin(events.type, [code["cart"], code["remove_from_cart"], code["purchase"]])
    user_ids = _ids("U", first_user + np.arange(n) + 1, 8)
    session_ids = _ids("S", counters.session + np.arange(len(kept)) + 1, 9)
    # Orders: one per visit with a purchase, one line per product bought;
    # computed before the events so each purchase event carries its order id.
    purchase_at = np.flatnonzero(events.type == code["purchase"])
    purchase_rank = rank[events.visit[purchase_at]]
    new_order = np.r_[True, purchase_rank[1:] != purchase_rank[:-1]] if len(purchase_at) else np.zeros(0, bool)
    order_number = np.cumsum(new_order) - 1
    order_first = np.flatnonzero(new_order)
    order_ids = _ids("O", counters.order + np.arange(len(order_first)) + 1, 8)
    order_visits = events.visit[purchase_at[order_first]]
    event_order = np.full(len(events.visit), -1)
    event_order[purchase_at] = order_number
    event_table = pa.table(
        {
            "event_id": pa.array(counters.event + np.arange(len(events.visit)) + 1, pa.int64()),
            "user_id": pc.take(user_ids, pa.array(visits.user[events.visit])),
            "session_id": pc.take(session_ids, pa.array(rank[events.visit])),
            "event_time": pa.array(events.time, pa.timestamp("us")),
            "event_type": _take(canonical.EVENT_TYPES, events.type.astype(np.int64)),
            "product_id": _take(cat.product_id, product, on_product),
            "quantity": pa.array(np.r_[views.quantity, 0][row], pa.int32(), mask=~carries_quantity),
            "price": pa.array(np.r_[views.price, 0.0][row], pa.float64(), mask=~on_product),
            "search_query": _take(cat.queries, visits.query[events.visit], events.type == code["search"]),
            "device": _take(canonical.DEVICES, visits.device[events.visit]),
            "channel": _take(canonical.CHANNELS, visits.channel[events.visit]),
            "order_id": _take(order_ids, np.maximum(event_order, 0), event_order >= 0),
        },
        schema=arrow_schema("events"),
    )

    orders = pa.table(
        {
            "order_id": order_ids,
            "user_id": pc.take(user_ids, pa.array(visits.user[order_visits])),
            "session_id": pc.take(session_ids, pa.array(rank[order_visits])),
            "ordered_at": pa.array(events.time[purchase_at[order_first]], pa.timestamp("us")),
            "channel": _take(canonical.CHANNELS, visits.channel[order_visits]),
            "device": _take(canonical.DEVICES, visits.device[order_visits]),
        },
        schema=arrow_schema("orders"),
    )
    lines = events.view[purchase_at]
    quantity = views.quantity[lines]
    order_items = pa.table(
        {
            "order_id": pc.take(order_ids, pa.array(order_number)),
            "line_number": pa.array(np.arange(len(purchase_at)) - order_first[order_number] + 1, pa.int32()),
            "product_id": pc.take(cat.product_id, pa.array(views.product[lines])),
            "quantity": pa.array(quantity, pa.int32()),
            "unit_price": pa.array(cat.list_price[views.product[lines]], pa.float64()),
            "discount_amount": pa.array(np.round(quantity * views.unit_discount[lines], 2), pa.float64()),
        },
        schema=arrow_schema("order_items"),
    )

    # Every simulated user has a first visit and it is never dropped, so every
    # user appears; their first event is the start of that visit.
    first_visit = kept[np.r_[True, visits.user[kept][1:] != visits.user[kept][:-1]]]
    user_table = pa.table(
        {
            "user_id": pc.take(user_ids, pa.array(visits.user[first_visit])),
            "first_seen_at": pa.array(events.visit_start[first_visit], pa.timestamp("us")),
            "acquisition_channel": _take(canonical.CHANNELS, visits.channel[first_visit]),
            "region": _take(behaviour.REGIONS, users.region[visits.user[first_visit]]),
        },
        schema=arrow_schema("users"),
    )

    counters.session += len(kept)
    counters.event += len(events.visit)
    counters.order += len(order_first)
    return {"events": event_table, "users": user_table, "orders": orders, "order_items": order_items}


def _iter_chunks(
    config: SampleConfig, world: World, seeds: tuple[np.random.SeedSequence, ...], progress: Callable[[int, int], None] | None
) -> Iterator[dict[str, pa.Table]]:
    """Yield the per-chunk tables in order, reporting progress in users."""
    counters = _Counters()
    for chunk, seed in enumerate(seeds):
        first_user = chunk * USERS_PER_CHUNK
        n = min(USERS_PER_CHUNK, config.users - first_user)
        yield _simulate_chunk(world, seed, first_user, n, counters)
        if progress is not None:
            progress(first_user + n, config.users)


STREAMED_TABLES = ("events", "users", "orders", "order_items")


def generate_sample(config: SampleConfig, progress: Callable[[int, int], None] | None = None) -> dict[str, pa.Table]:
    """Generate the six source tables in memory.

    Args:
        config: size, period and seed.
        progress: optional callback ``progress(users_done, users_total)`` after each chunk of users.

    Returns:
        Tables keyed by name (events, products, users, orders, order_items,
        promotions), each with the canonical column order and types of
        ``analytics.schema``. Same config -> identical tables.
    """
    world, seeds = _build_world(config)
    parts: dict[str, list[pa.Table]] = {name: [] for name in STREAMED_TABLES}
    for tables in _iter_chunks(config, world, seeds, progress):
        for name in STREAMED_TABLES:
            parts[name].append(tables[name])
    result = {name: pa.concat_tables(parts[name]) for name in STREAMED_TABLES}
    result["products"] = world.catalog.table(arrow_schema("products"))
    result["promotions"] = world.promotions.table
    return {table.name: result[table.name] for table in canonical.TABLES}


def _parquet_options(table_name: str) -> dict:
    """Writer options: zstd everywhere; event ids and times, which grow along each
    visit, are delta-encoded (event_id then costs next to nothing)."""
    options: dict = {"compression": PARQUET_COMPRESSION, "compression_level": PARQUET_COMPRESSION_LEVEL}
    if table_name == "events":
        delta = ("event_id", "event_time")
        options["use_dictionary"] = [name for name in arrow_schema("events").names if name not in delta]
        options["column_encoding"] = dict.fromkeys(delta, "DELTA_BINARY_PACKED")
    return options


def write_sample(
    config: SampleConfig, folder: pathlib.Path, progress: Callable[[int, int], None] | None = None
) -> dict[str, int]:
    """Generate the sample and stream it to ``<folder>/<table>.parquet`` (zstd).

    Chunks of USERS_PER_CHUNK users are written as they are simulated, so memory
    stays bounded by one chunk (~0.5M events) whatever the size. Files are
    written under a temporary name and moved into place at the end, so an
    interrupted run leaves the previous sample intact. The files are identical
    to ``generate_sample(config)``.

    Args:
        config: size, period and seed.
        folder: output folder, created if missing; existing table files are replaced.
        progress: optional callback ``progress(users_done, users_total)`` after each chunk of users.

    Returns:
        Row count per table name.
    """
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    world, seeds = _build_world(config)
    temporary = {table.name: folder / f".{table.name}.parquet.tmp" for table in canonical.TABLES}
    counts = {table.name: 0 for table in canonical.TABLES}
    try:
        writers = {name: pq.ParquetWriter(temporary[name], arrow_schema(name), **_parquet_options(name)) for name in STREAMED_TABLES}
        try:
            for tables in _iter_chunks(config, world, seeds, progress):
                for name in STREAMED_TABLES:
                    # One row group per chunk (a chunk stays under 1M events).
                    writers[name].write_table(tables[name], row_group_size=1 << 20)
                    counts[name] += tables[name].num_rows
        finally:
            for writer in writers.values():
                writer.close()
        for name, table in (("products", world.catalog.table(arrow_schema("products"))), ("promotions", world.promotions.table)):
            pq.write_table(table, temporary[name], **_parquet_options(name))
            counts[name] = table.num_rows
    except BaseException:
        for path in temporary.values():
            path.unlink(missing_ok=True)
        raise
    for name, path in temporary.items():
        os.replace(path, folder / f"{name}.parquet")
    return counts
