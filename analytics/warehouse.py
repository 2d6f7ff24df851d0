"""Builds, opens and inspects the DuckDB warehouse.

A build writes a new file beside the target and renames it over the target
only when every step has succeeded, so a failed or cancelled build leaves the
previous warehouse exactly as it was. Readers open the file read-only.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Callable

import duckdb

from analytics import __version__
from analytics.capabilities import Capability, assess, profile
from analytics.errors import WarehouseNotReady
from analytics.schema import SCHEMA_VERSION
from analytics.sources import find_source_files, load_sources
from analytics.sql_files import MACROS, MODEL_ORDER, materialisation, model_name, models_fingerprint, read_sql

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
    """

    path: Path
    data_version: str
    source_rows: dict[str, int]
    mart_rows: dict[str, int]
    capabilities: list[Capability]
    seconds: float


def build_warehouse(
    source_folder: Path,
    target: Path,
    *,
    source_label: str | None = None,
    is_sample: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> BuildReport:
    """Build a warehouse from a folder of canonical tables, replacing `target` atomically.

    Args:
        source_folder: folder with `events.parquet` (required) and the other canonical tables.
        target: the warehouse file to create or replace.
        source_label: how to describe the source in the metadata; defaults to the folder path.
        is_sample: whether the data is ShopLens's generated sample.
        progress: called as `progress(step_name, done, total)` after each step.

    Returns:
        A BuildReport.

    Raises:
        SourceDataError: the source files are missing or break the schema; `target` is untouched.
    """
    started = datetime.now(timezone.utc)
    files = find_source_files(source_folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.building")
    total_steps = len(MODEL_ORDER) + 3
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
            _write_metadata(con, source_label or str(source_folder), is_sample, data_version, started, capabilities)
            mart_rows = {name: con.execute(f"select count(*) from {name}").fetchone()[0] for name in _mart_names()}
            con.execute("checkpoint")
            _report(progress, "metadata", total_steps, total_steps)
        os.replace(partial, target)
    finally:
        for leftover in (partial, partial.with_name(partial.name + ".wal")):
            leftover.unlink(missing_ok=True)
    seconds = (datetime.now(timezone.utc) - started).total_seconds()
    return BuildReport(target, data_version, source_rows, mart_rows, capabilities, seconds)


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
    con.execute(
        "create table meta_warehouse as select "
        "$schema_version::integer as schema_version, $data_version::varchar as data_version, "
        "$built_at::timestamp as built_at, $source::varchar as source, $is_sample::boolean as is_sample, "
        "$shoplens_version::varchar as shoplens_version, $models_fingerprint::varchar as models_fingerprint",
        {
            "schema_version": SCHEMA_VERSION,
            "data_version": data_version,
            "built_at": built_at.replace(tzinfo=None),
            "source": source,
            "is_sample": is_sample,
            "shoplens_version": __version__,
            "models_fingerprint": models_fingerprint(),
        },
    )
    con.execute("create table meta_capabilities (analysis varchar primary key, is_supported boolean, reason varchar)")
    con.executemany(
        "insert into meta_capabilities values (?, ?, ?)",
        [(c.analysis, c.is_supported, c.reason) for c in capabilities],
    )


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
        return WarehouseInfo(
            path, WarehouseState.UNREADABLE,
            f"The warehouse at {path} cannot be read ({message}); delete it and {REBUILD_HINT}.",
        )


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
    return WarehouseInfo(
        path, WarehouseState.READY, f"Warehouse built {built_at:%Y-%m-%d %H:%M} UTC from {source}.",
        schema_version=schema_version, data_version=data_version, built_at=built_at, source=source,
        is_sample=bool(is_sample), capabilities=capabilities,
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
        return None
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
