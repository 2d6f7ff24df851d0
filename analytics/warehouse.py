"""Builds, opens, inspects and restores the DuckDB warehouse.

A build writes a new file beside the target and renames it over the target
only when every step has succeeded, so a failed or cancelled build leaves the
previous warehouse exactly as it was. Builds, imports and restores take the
one writer lock and keep the warehouse they replace as a version (see
`analytics.warehouse_files`). Readers open the file read-only.

The metadata records where the data ends, and whether its last day is partial
(see `data_end_summary`), so "as of" dates can stop at the last complete day.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Callable

import duckdb

from analytics import __version__
from analytics.capabilities import Capability, assess, profile
from analytics.errors import ShopLensError, WarehouseNotReady
from analytics.schema import SCHEMA_VERSION
from analytics.sources import find_source_files, load_sources
from analytics.sql_files import MACROS, MODEL_ORDER, materialisation, model_name, models_fingerprint, read_sql
from analytics.warehouse_files import (
    KeptVersion,
    clean_stale_partials,
    current_stamp,
    find_version,
    list_versions,
    partial_path,
    swap_in,
    writer_lock,
)

DEFAULT_WAREHOUSE = Path(".shoplens") / "warehouse.duckdb"
REBUILD_HINT = "run `make run` or `shoplens build` to build the sample warehouse"


def default_warehouse_path() -> Path:
    """Return the warehouse path: `$SHOPLENS_WAREHOUSE`, else `.shoplens/warehouse.duckdb`."""
    configured = os.environ.get("SHOPLENS_WAREHOUSE", "").strip()
    return Path(configured) if configured else DEFAULT_WAREHOUSE


@dataclass(frozen=True)
class BuildReport:
    """What a build produced.

    Attributes:
        path: the warehouse file.
        data_version: a new id for every build; caches key on it.
        source_rows: canonical table -> rows loaded.
        mart_rows: mart -> rows.
        capabilities: the verdict for each analysis.
        seconds: wall time of the build.
        replaced: the warehouse this build replaced, kept as a version (None when there was none,
            or keeping versions is off); `shoplens restore` brings it back.
        stale_files_removed: partial files of killed earlier writes that this build deleted.
    """

    path: Path
    data_version: str
    source_rows: dict[str, int]
    mart_rows: dict[str, int]
    capabilities: list[Capability]
    seconds: float
    replaced: KeptVersion | None = None
    stale_files_removed: int = 0


def build_warehouse(
    source_folder: Path,
    target: Path,
    *,
    source_label: str | None = None,
    is_sample: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    user: str | None = None,
) -> BuildReport:
    """Build a warehouse from a folder of canonical tables, replacing `target` atomically.

    Holds the writer lock throughout, removes partial files of killed earlier writes,
    and keeps the replaced warehouse as a version.

    Args:
        source_folder: folder with `events.parquet` (required) and the other canonical tables.
        target: the warehouse file to create or replace.
        source_label: how to describe the source in the metadata; defaults to the folder path.
        is_sample: whether the data is ShopLens's generated sample.
        progress: called as `progress(step_name, done, total)` after each step.
        user: who builds, for the audit log (default: the command-line user).

    Returns:
        A BuildReport.

    Raises:
        SourceDataError: the source files are missing or break the schema; `target` is untouched.
        ShopLensError: another build, import or restore is writing `target`.
    """
    from analytics import audit

    started = datetime.now(timezone.utc)
    files = find_source_files(source_folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    total_steps = len(MODEL_ORDER) + 3
    with writer_lock(target, "build"):
        stale = clean_stale_partials(target)
        stamp = current_stamp(target)
        partial = partial_path(target, "building")
        try:
            with duckdb.connect(str(partial)) as con:
                source_rows = load_sources(con, files)
                _report(progress, "load sources", 1, total_steps)
                for done, model in enumerate(MODEL_ORDER, start=2):
                    kind = materialisation(model)
                    # Model names come from our own MODEL_ORDER, never from input.
                    con.execute(f"create {kind} {model_name(model)} as {read_sql(model)}")
                    _report(progress, model_name(model), done, total_steps)
                for macro in MACROS:
                    con.execute(read_sql(macro))
                _report(progress, "macros", total_steps - 1, total_steps)
                capabilities = assess(profile(con))
                data_version = uuid.uuid4().hex
                _write_metadata(con, source_label or str(source_folder), is_sample, data_version, started,
                                capabilities)
                mart_rows = {name: con.execute(f"select count(*) from {name}").fetchone()[0]
                             for name in _mart_names()}
                con.execute("checkpoint")
                _report(progress, "metadata", total_steps, total_steps)
            replaced = swap_in(partial, target, expected_stamp=stamp)
        finally:
            for leftover in (partial, partial.with_name(partial.name + ".wal")):
                leftover.unlink(missing_ok=True)
    seconds = (datetime.now(timezone.utc) - started).total_seconds()
    audit.record("build", user or audit.command_line_user(), {
        "source": source_label or str(source_folder), "data_version": data_version, "is_sample": is_sample,
        "source_rows": source_rows, "replaced_version": replaced.version_id if replaced else None,
    }, warehouse=target)
    return BuildReport(target, data_version, source_rows, mart_rows, capabilities, seconds, replaced, len(stale))


def _mart_names() -> list[str]:
    return [model_name(model) for model in MODEL_ORDER if model.startswith("marts/")]


def _report(progress: Callable[[str, int, int], None] | None, step: str, done: int, total: int) -> None:
    if progress is not None:
        progress(step, done, total)


def _write_metadata(
    con: duckdb.DuckDBPyConnection,
    source: str,
    is_sample: bool,
    data_version: str,
    built_at: datetime,
    capabilities: list[Capability],
) -> None:
    end = data_end_summary(con)
    con.execute(
        "create table meta_warehouse as select "
        "$schema_version::integer as schema_version, $data_version::varchar as data_version, "
        "$built_at::timestamp as built_at, $source::varchar as source, $is_sample::boolean as is_sample, "
        "$shoplens_version::varchar as shoplens_version, $models_fingerprint::varchar as models_fingerprint, "
        "$data_end_date::date as data_end_date, $complete_data_end_date::date as complete_data_end_date, "
        "$last_day_share::double as last_day_share",
        {
            "schema_version": SCHEMA_VERSION,
            "data_version": data_version,
            "built_at": built_at.replace(tzinfo=None),
            "source": source,
            "is_sample": is_sample,
            "shoplens_version": __version__,
            "models_fingerprint": models_fingerprint(),
            "data_end_date": end.data_end_date,
            "complete_data_end_date": end.complete_data_end_date,
            "last_day_share": end.last_day_share,
        },
    )
    con.execute("create table meta_capabilities (analysis varchar primary key, is_supported boolean, reason varchar)")
    con.executemany(
        "insert into meta_capabilities values (?, ?, ?)",
        [(c.analysis, c.is_supported, c.reason) for c in capabilities],
    )


# The last day is partial when it has less than this share of a normal day's rows. A shop's
# slowest full days (a Sunday, Christmas Day) keep well over half of a normal day; an export
# cut at 04:00 keeps a fifth or less (Complete Journey's last UTC day: 526 purchase lines against
# a median of 3,936, a share of 0.13).
PARTIAL_DAY_SHARE = 0.5
# A normal day is the median of the days with data among the 28 before the last one ...
PARTIAL_DAY_LOOKBACK_DAYS = 28
# ... of which at least this many must have data; with fewer there is nothing to compare with.
PARTIAL_DAY_MIN_DAYS = 7


@dataclass(frozen=True)
class DataEnd:
    """Where the data ends, and whether its last day is complete.

    Attributes:
        data_end_date: the last UTC day with an event (or, with no events, an order); None when empty.
        complete_data_end_date: the last complete day: the day before `data_end_date` when that day
            is partial, else `data_end_date`. "As of" dates (RFM, forecasts, the default period)
            should stop here.
        last_day_share: the last day's rows over the median rows of the days with data among the
            PARTIAL_DAY_LOOKBACK_DAYS before it; None when fewer than PARTIAL_DAY_MIN_DAYS have data.
    """

    data_end_date: date | None
    complete_data_end_date: date | None
    last_day_share: float | None

    @property
    def is_last_day_partial(self) -> bool:
        """Whether the last day holds less than PARTIAL_DAY_SHARE of a normal day's rows."""
        return self.data_end_date is not None and self.complete_data_end_date != self.data_end_date


def data_end_summary(con: duckdb.DuckDBPyConnection) -> DataEnd:
    """Find where the data in `source_events` (or `source_orders`, when there are no events) ends.

    The rule: count rows per UTC day; the last day is partial when its count is below
    PARTIAL_DAY_SHARE times the median count of the days with data among the
    PARTIAL_DAY_LOOKBACK_DAYS days before it, and at least PARTIAL_DAY_MIN_DAYS of those have data.

    Args:
        con: a connection to a warehouse (or a warehouse being written) with the source tables.

    Returns:
        A DataEnd.
    """
    has_events = con.execute("select exists (select 1 from source_events)").fetchone()[0]
    table, column = ("source_events", "event_time") if has_events else ("source_orders", "ordered_at")
    # Our own table and column names, chosen above; nothing from input.
    row = con.execute(f"""
with daily as (
    select cast({column} as date) as day, count(*) as row_count from {table} group by all
),
last_day as (
    select max(day) as day from daily
),
before as (
    select daily.row_count from daily, last_day
    where daily.day < last_day.day and daily.day >= last_day.day - to_days($lookback)
)
select
    (select day from last_day),
    (select row_count from daily where day = (select day from last_day)),
    (select median(row_count) from before),
    (select count(*) from before)
""", {"lookback": PARTIAL_DAY_LOOKBACK_DAYS}).fetchone()
    last_day, last_rows, median_rows, days_before = row
    if last_day is None:
        return DataEnd(None, None, None)
    if days_before < PARTIAL_DAY_MIN_DAYS or not median_rows:
        return DataEnd(last_day, last_day, None)
    share = float(last_rows) / float(median_rows)
    complete = last_day - timedelta(days=1) if share < PARTIAL_DAY_SHARE else last_day
    return DataEnd(last_day, complete, share)


def complete_data_end(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last complete day of the warehouse's data (see `DataEnd`), for "as of" dates.

    Reads the metadata; a warehouse built before it was recorded is measured on the spot.
    """
    if _has_column(con, "meta_warehouse", "complete_data_end_date"):
        return con.execute("select complete_data_end_date from meta_warehouse").fetchone()[0]
    return data_end_summary(con).complete_data_end_date


class WarehouseState(Enum):
    """Whether a warehouse file can serve the app."""

    READY = "ready"
    MISSING = "missing"
    OUTDATED = "outdated"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class WarehouseInfo:
    """What `inspect_warehouse` found.

    Attributes:
        path: the file inspected.
        state: READY only when the file opens and has this release's schema version.
        message: for people: what is wrong and how to fix it, or a summary when ready.
        schema_version: the stored version, when readable.
        data_version: the build's id, when ready.
        built_at: when it was built (UTC), when ready.
        source: where the data came from, when ready.
        is_sample: whether it holds the generated sample, when ready.
        capabilities: analysis -> Capability, when ready.
        data_end: where the data ends and its last complete day (see `DataEnd`), when ready;
            None for a warehouse built before this was recorded.
    """

    path: Path
    state: WarehouseState
    message: str
    schema_version: int | None = None
    data_version: str | None = None
    built_at: datetime | None = None
    source: str | None = None
    is_sample: bool = False
    capabilities: dict[str, Capability] = field(default_factory=dict)
    data_end: DataEnd | None = None

    @property
    def complete_data_end(self) -> date | None:
        """The last complete day of data (the day before a partial last day), for "as of" dates."""
        return self.data_end.complete_data_end_date if self.data_end is not None else None

    def supports(self, analysis: str) -> bool:
        """Whether the data supports `analysis` (see `analytics.capabilities.ANALYSES`)."""
        capability = self.capabilities.get(analysis)
        return capability is not None and capability.is_supported


def inspect_warehouse(path: Path) -> WarehouseInfo:
    """Check whether `path` is a warehouse this release can read, without raising.

    Args:
        path: the warehouse file.

    Returns:
        A WarehouseInfo whose message says how to fix anything that is wrong.
    """
    if not path.is_file():
        return WarehouseInfo(path, WarehouseState.MISSING, f"No warehouse at {path}; {REBUILD_HINT}.")
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            return _read_info(con, path)
    except duckdb.Error as error:
        message = str(error).strip().splitlines()[0]
        if any(version.is_readable for version in list_versions(path)):
            fix = "bring back the last good version with `shoplens restore latest` (`shoplens restore --list` shows them)"
        else:
            fix = f"no earlier version is kept, so {REBUILD_HINT} (imported data must be imported again)"
        return WarehouseInfo(path, WarehouseState.UNREADABLE, f"The warehouse at {path} cannot be read ({message}); {fix}.")


def _read_info(con: duckdb.DuckDBPyConnection, path: Path) -> WarehouseInfo:
    has_meta = con.execute(
        "select count(*) from information_schema.tables where table_name = 'meta_warehouse'"
    ).fetchone()[0]
    if not has_meta:
        return WarehouseInfo(
            path, WarehouseState.OUTDATED,
            f"The warehouse at {path} was not built by ShopLens or by a release before schema versions; {REBUILD_HINT}.",
        )
    schema_version, data_version, built_at, source, is_sample = con.execute(
        "select schema_version, data_version, built_at, source, is_sample from meta_warehouse"
    ).fetchone()
    if schema_version != SCHEMA_VERSION:
        return WarehouseInfo(
            path, WarehouseState.OUTDATED,
            f"The warehouse at {path} has schema version {schema_version} but this ShopLens needs "
            f"version {SCHEMA_VERSION}; rebuild it: {REBUILD_HINT}.",
            schema_version=schema_version,
        )
    capabilities = {
        analysis: Capability(analysis, is_supported, reason)
        for analysis, is_supported, reason in con.execute("select * from meta_capabilities").fetchall()
    }
    data_end = None
    message = f"Warehouse built {built_at:%Y-%m-%d %H:%M} UTC from {source}."
    if _has_column(con, "meta_warehouse", "complete_data_end_date"):
        data_end = DataEnd(*con.execute(
            "select data_end_date, complete_data_end_date, last_day_share from meta_warehouse").fetchone())
        if data_end.is_last_day_partial:
            message += (f" Its last day, {data_end.data_end_date}, is partial ({data_end.last_day_share:.0%} of a "
                        f"normal day's rows), so analyses end on {data_end.complete_data_end_date}.")
    return WarehouseInfo(
        path, WarehouseState.READY, message,
        schema_version=schema_version, data_version=data_version, built_at=built_at, source=source,
        is_sample=bool(is_sample), capabilities=capabilities, data_end=data_end,
    )


def needs_sample_rebuild(path: Path, source_folder: Path) -> str | None:
    """Say why the sample warehouse at `path` should be rebuilt from `source_folder`, or None.

    A warehouse that holds anything but the generated sample is never judged
    stale, so `make run` cannot overwrite a user's imported data.

    Args:
        path: the warehouse file.
        source_folder: the folder the sample would be built from.

    Returns:
        A short reason ("it is missing", ...), or None when no rebuild is needed.
    """
    if not path.is_file():
        return "it is missing"
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            schema_version, built_at, is_sample = con.execute(
                "select schema_version, built_at, is_sample from meta_warehouse"
            ).fetchone()
            # Warehouses from before the fingerprint have none: treat them as stale.
            fingerprint = con.execute(
                "select max(models_fingerprint) from meta_warehouse"
            ).fetchone()[0] if _has_column(con, "meta_warehouse", "models_fingerprint") else None
    except duckdb.Error:
        # A file that does not open (or has no metadata) is not up to date; the caller restores
        # a kept version rather than rebuilding over what may have been imported data.
        return "it cannot be read"
    if not is_sample:
        return None
    if schema_version != SCHEMA_VERSION:
        return f"it has schema version {schema_version}, this release needs {SCHEMA_VERSION}"
    if fingerprint != models_fingerprint():
        return "it was built by other SQL models than this release's"
    newest = max((f.stat().st_mtime for f in source_folder.glob("*") if f.is_file()), default=0.0)
    if newest > built_at.replace(tzinfo=timezone.utc).timestamp():
        return f"{source_folder} changed after it was built"
    return None


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.columns where table_name = $table and column_name = $column",
        {"table": table, "column": column},
    ).fetchone()[0])


def data_version(con: duckdb.DuckDBPyConnection) -> str:
    """The warehouse build's data version (a new id per build); caches and model cards key on it."""
    return con.execute("select data_version from meta_warehouse").fetchone()[0]


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """Open a ready warehouse read-only.

    Args:
        path: the warehouse file.

    Returns:
        A read-only connection. Callers that share it across threads take a `.cursor()` per query.

    Raises:
        WarehouseNotReady: the file is missing, outdated or unreadable; the message says how to fix it.
    """
    info = inspect_warehouse(path)
    if info.state is not WarehouseState.READY:
        raise WarehouseNotReady(info.message)
    return duckdb.connect(str(path), read_only=True)


def refresh_models(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Recreate every model and macro from the `source_*` tables, inside the caller's transaction.

    Used by imports, which append to the source tables of an existing
    warehouse and rebuild what depends on them without a new file.

    Args:
        con: a writable connection, usually inside `begin transaction`.

    Returns:
        Mart -> rows.
    """
    for model in MODEL_ORDER:
        # Model and macro names come from our own MODEL_ORDER and MACROS, never from input.
        con.execute(f"create or replace {materialisation(model)} {model_name(model)} as {read_sql(model)}")
    for macro in MACROS:
        con.execute(f"drop macro table if exists {model_name(macro)}")
        con.execute(read_sql(macro))
    return {name: con.execute(f"select count(*) from {name}").fetchone()[0] for name in _mart_names()}


def rewrite_metadata(
    con: duckdb.DuckDBPyConnection,
    source: str,
    is_sample: bool,
    data_version: str,
    built_at: datetime,
    capabilities: list[Capability],
) -> None:
    """Replace `meta_warehouse` and `meta_capabilities` (same columns as a build writes)."""
    con.execute("drop table if exists meta_warehouse")
    con.execute("drop table if exists meta_capabilities")
    _write_metadata(con, source, is_sample, data_version, built_at, capabilities)


@dataclass(frozen=True)
class RestoreReport:
    """What `restore_warehouse` did.

    Attributes:
        warehouse: the warehouse file.
        restored: the kept version now in place.
        replaced: the warehouse it replaced, itself kept as a version (None when keeping is off
            or there was no file).
        data_version: the restored warehouse's data version (a restore is a new state for caches).
    """

    warehouse: Path
    restored: KeptVersion
    replaced: KeptVersion | None
    data_version: str


def restore_warehouse(warehouse: Path, version_id: str, *, user: str | None = None) -> RestoreReport:
    """Put a kept version back in place of `warehouse`, keeping the current file as a version too.

    Args:
        warehouse: the warehouse file.
        version_id: a version from `list_versions(warehouse)`, or "latest" for the newest readable one.
        user: who restores, for the audit log (default: the command-line user).

    Returns:
        A RestoreReport.

    Raises:
        ShopLensError: no such version, it cannot be read or is from another schema version, or
            another write holds the lock. The warehouse is then unchanged.
    """
    from analytics import audit

    with writer_lock(warehouse, "restore"):
        clean_stale_partials(warehouse)
        version = find_version(warehouse, version_id)
        info = inspect_warehouse(version.path)
        if info.state is not WarehouseState.READY:
            raise ShopLensError(f"version {version.version_id} cannot serve this release: {info.message}")
        stamp = current_stamp(warehouse)
        partial = partial_path(warehouse, "restoring")
        try:
            # A copy, not a link: the kept version must stay as it is whatever happens to the restored file.
            shutil.copyfile(version.path, partial)
            replaced = swap_in(partial, warehouse, expected_stamp=stamp)
        finally:
            partial.unlink(missing_ok=True)
    audit.record("restore", user or audit.command_line_user(), {
        "restored_version": version.version_id, "data_version": version.data_version,
        "replaced_version": replaced.version_id if replaced else None,
    }, warehouse=warehouse)
    return RestoreReport(warehouse, version, replaced, version.data_version or "")
