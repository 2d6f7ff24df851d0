"""The import: read, validate and commit in a private copy that then replaces the warehouse.

Steps: take the writer lock (dry runs need none); copy the warehouse (or
start an empty one) beside the target; in one transaction stage the files,
judge every row, append the accepted ones to the `source_*` tables (skipping
rows already loaded, by natural key), derive orders from purchase events or
purchase events from order lines, store the rejects and log the import in
`meta_imports`; commit; recreate the models and macros; update
`meta_warehouse` and `meta_capabilities`; checkpoint; then swap the copy in
(checking that nobody else changed the warehouse meanwhile, and keeping the
replaced one as a version). Readers only ever see the old file or the new one,
and a failure or a kill at any point leaves the target file exactly as it was
(at worst a stray `.<name>.<id>.importing` file remains, which the next write
removes).

One import may mix files of several kinds (a preset such as `completejourney`
reads transactions, a catalogue and promotions); they are applied catalogue
first, then promotions, orders and events.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from analytics.capabilities import assess, profile
from analytics.errors import ShopLensError
from analytics.importing import append
from analytics.importing.limits import ImportLimits
from analytics.importing.mapping import check_time_zone
from analytics.importing.presets import Preset
from analytics.importing.pseudonyms import SCHEME, PseudonymKey, key_path_for, load_or_create_key
from analytics.importing.readers import FileRead, file_sha256, finish_read, make_scratch, open_file
from analytics.importing.report import FileResult, ImportReport, RuleResult
from analytics.importing.transform import (
    CANDIDATES,
    REJECT_RULES,
    STAGES,
    create_candidates,
    mark_bad_encoding,
    mark_duplicates_and_keys,
    now_utc,
)
from analytics.schema import TABLES
from analytics.sources import load_sql
from analytics.warehouse import WarehouseState, inspect_warehouse, refresh_models, rewrite_metadata
from analytics.warehouse_files import clean_stale_partials, current_stamp, partial_path, swap_in, writer_lock

__all__ = ["FileResult", "ImportReport", "RuleResult", "StrictImportError", "import_files", "record_malformed"]

EXAMPLE_COUNT = 3
IMPORT_MEMORY_LIMIT = "3GB"
# The order in which one import applies its files: products before the orders that name them, and
# orders before events, so that each derivation sees what the other kinds brought.
TARGET_ORDER = ("products", "promotions", "orders", "events")


class StrictImportError(ShopLensError):
    """An import refused as a whole (strict mode, or nothing accepted); `report` says what was found."""

    def __init__(self, message: str, report: ImportReport) -> None:
        super().__init__(message)
        self.report = report


def import_files(
    paths: list[Path],
    preset: Preset,
    warehouse: Path,
    *,
    strict: bool = False,
    pseudonymize: bool = False,
    key_path: Path | None = None,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
    time_zone: str | None = None,
    limits: ImportLimits | None = None,
    user: str | None = None,
    origin: str | None = None,
) -> ImportReport:
    """Import export files into `warehouse`, all or nothing.

    Args:
        paths: CSV/TSV/Parquet/JSON-lines files, optionally gzip-compressed.
        preset: the format (see `analytics.importing.presets`), or a preset wrapping a saved mapping.
        warehouse: the warehouse file; created when missing; a sample warehouse is replaced.
        strict: fail, changing nothing, if any row would be rejected.
        pseudonymize: replace user ids by a keyed HMAC before anything is stored or printed.
        key_path: the key file (default: `key_path_for(warehouse)`), created with mode 0600.
        dry_run: validate and report without changing the warehouse (takes no lock).
        progress: called with a step name as the import proceeds.
        time_zone: IANA zone of times without an offset (overrides the mapping's); None keeps the mapping's (UTC).
        limits: the most read from each file (default: `ImportLimits.from_environment()`).
        user: who imports, for the audit log (default: the command-line user).
        origin: how to record where the files came from in the history (default: their paths).

    Returns:
        An ImportReport.

    Raises:
        StrictImportError: `strict` and some rows were rejected, or nothing was accepted for a new
            warehouse; its `report` has the findings. The warehouse is unchanged.
        ShopLensError: a file cannot be read or crosses a limit, the warehouse is not a ShopLens
            warehouse of this release, another write holds the lock, or the pseudonym key does not
            match the warehouse's. The warehouse is then unchanged.
    """
    if time_zone is not None:
        check_time_zone(time_zone, where="--timezone")
    if not paths:
        raise ShopLensError("no files to import; pass one or more export files")
    for path in paths:
        if not path.is_file():
            raise ShopLensError(f"{path} does not exist or is not a file; check the path")
    if time_zone is not None:
        preset = replace(preset, variants=tuple(replace(variant, time_zone=time_zone) for variant in preset.variants))
    key = load_or_create_key(key_path or key_path_for(warehouse)) if pseudonymize else None
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    run = _Import(paths, preset, warehouse, strict=strict, key=key, dry_run=dry_run,
                  step=progress or (lambda name: None), time_zone=time_zone,
                  limits=limits or ImportLimits.from_environment(), origin=origin)
    if dry_run:
        return run.execute()
    with writer_lock(warehouse, "import"):
        clean_stale_partials(warehouse)
        report = run.execute()
    from analytics import audit

    audit.record("import", user or audit.command_line_user(), {
        "import_id": report.import_id, "preset": report.preset, "files": [file.path.name for file in report.files],
        "rows_loaded": report.rows_loaded, "rows_rejected": report.rows_rejected,
        "mode": "replace" if report.replaced_sample else "append", "data_version": report.data_version,
        "replaced_version": report.kept_version.version_id if report.kept_version else None,
        "pseudonymized": pseudonymize,
    }, warehouse=warehouse)
    return report


class _Import:
    """One run of an import; `execute` does the steps the module docstring lists."""

    def __init__(self, paths: list[Path], preset: Preset, warehouse: Path, *, strict: bool, key: PseudonymKey | None,
                 dry_run: bool, step: Callable[[str], None], time_zone: str | None, limits: ImportLimits,
                 origin: str | None) -> None:
        self.paths, self.preset, self.warehouse = paths, preset, warehouse
        self.strict, self.key, self.dry_run, self.step = strict, key, dry_run, step
        self.time_zone, self.limits, self.origin = time_zone, limits, origin
        self.import_id = uuid.uuid4().hex[:12]
        self.started = datetime.now(UTC)

    def execute(self) -> ImportReport:
        info = inspect_warehouse(self.warehouse)
        if info.state in (WarehouseState.OUTDATED, WarehouseState.UNREADABLE):
            raise ShopLensError(f"{info.message} Or import into another --warehouse path.")
        start_fresh = info.state is WarehouseState.MISSING or info.is_sample
        self.replaced_sample = info.state is WarehouseState.READY and info.is_sample
        stamp = current_stamp(self.warehouse)
        partial = partial_path(self.warehouse, "importing")
        kept = None
        try:
            if not start_fresh:
                shutil.copyfile(self.warehouse, partial)
            with duckdb.connect(str(partial)) as con, make_scratch() as scratch:
                report = self._run(con, Path(scratch), start_fresh)
                if not report.committed:
                    return report
            self.step("replace")
            kept = swap_in(partial, self.warehouse, expected_stamp=stamp)
        except duckdb.Error as error:
            raise ShopLensError(_describe_failure(error)) from None
        finally:
            for leftover in (partial, partial.with_name(partial.name + ".wal")):
                leftover.unlink(missing_ok=True)
        return replace(report, kept_version=kept)

    def _run(self, con: duckdb.DuckDBPyConnection, scratch: Path, start_fresh: bool) -> ImportReport:
        con.execute("set TimeZone = 'UTC'")
        # Bounded so a 10M-row file imports in a few GiB; DuckDB spills the rest to disk.
        con.execute(f"set memory_limit = '{IMPORT_MEMORY_LIMIT}'")
        con.execute("begin transaction")
        if start_fresh:
            for table in TABLES:
                con.execute(load_sql(table, set(), None))
        _create_import_tables(con)
        _check_pseudonymisation(con, self.key, self.dry_run)
        self.step("read")
        reads = self._stage(con, scratch)
        self.step("validate")
        mark_duplicates_and_keys(con)
        targets = [target for target in TARGET_ORDER if any(read.mapping.target == target for read in reads)]
        counts: dict[int, tuple[int, int]] = {}
        derived = {"orders": (0, 0, False), "orders_replaced": 0, "events": 0, "events_replaced": 0}
        for target in targets:
            if target == "products":
                counts |= append.append_products(con, dry_run=self.dry_run)
            elif target == "promotions":
                counts |= append.append_promotions(con, dry_run=self.dry_run)
            elif target == "orders":
                derived["orders_replaced"] = append.drop_derived_orders(con, dry_run=self.dry_run)
                counts |= append.append_orders(con, dry_run=self.dry_run)
                derived["events"] = append.derive_events_from_orders(con, dry_run=self.dry_run)[0]
            else:
                derived["events_replaced"] = append.drop_derived_events(con, dry_run=self.dry_run)
                counts |= append.append_events(con, dry_run=self.dry_run)
                derived["orders"] = append.derive_orders_from_events(con, dry_run=self.dry_run)
        rules = _rule_results(con, reads, targets)
        files = _file_results(con, reads, counts)
        adjustments = (con.execute(
            "select count(*), coalesce(sum(amount), 0) from import_order_lines "
            "where reason = 'revenue adjustment (zero quantity)'").fetchone()
            if "orders" in targets else (0, 0.0))
        report = ImportReport(
            self.warehouse, self.preset.name, tuple(files), tuple(rules), False, self.replaced_sample,
            self.import_id, preview=_preview(con, targets), derived_orders=derived["orders"][0],
            derived_order_lines=derived["orders"][1], derived_orders_skipped=derived["orders"][2],
            derived_orders_replaced=derived["orders_replaced"], derived_events=derived["events"],
            derived_events_replaced=derived["events_replaced"],
            revenue_adjustments=(int(adjustments[0]), float(adjustments[1])), time_zone=self.time_zone,
        )
        rejected = report.rows_rejected
        if self.strict and rejected:
            raise StrictImportError(f"--strict: {rejected:,} row(s) would be rejected, so nothing was imported "
                                    "(the report above lists them)", report)
        if start_fresh and not self.dry_run and not report.rows_loaded:
            raise StrictImportError("no row was accepted, so no warehouse was written (the report above says why)",
                                    report)
        if self.dry_run:
            con.execute("rollback")
            return report
        _record(con, self.import_id, self.preset.name, files, self.started, self.key is not None, self.origin)
        record_malformed(con, self.import_id, reads)
        self.step("commit")
        con.execute("commit")
        # Free the staging memory before the models need it.
        for table in con.execute(
            "select table_name from duckdb_tables() where temporary and table_name like 'import%'"
        ).fetchall():
            con.execute(f"drop table temp.{table[0]}")
        # The models are rebuilt statement by statement (one transaction over every
        # model costs DuckDB half again as long). That is safe because all of this
        # happens in a private copy, which replaces the warehouse only at the end.
        self.step("models")
        refresh_models(con)
        capabilities = assess(profile(con))
        data_version = uuid.uuid4().hex
        con.execute("begin transaction")
        rewrite_metadata(con, _source_label(con), False, data_version, self.started, capabilities)
        con.execute("commit")
        con.execute("checkpoint")
        return replace(report, committed=True, data_version=data_version, capabilities=tuple(capabilities))

    def _stage(self, con: duckdb.DuckDBPyConnection, scratch: Path) -> list[FileRead]:
        create_candidates(con)
        now = now_utc()
        reads = []
        for number, path in enumerate(self.paths, start=1):
            read = open_file(path, self.preset.variants, scratch, limits=self.limits,
                             keeps_line_text=self.key is None)
            if read.bad_encoding_lines:
                con.executemany("insert into import_bad_lines values (?, ?)",
                                [(number, line) for line in read.bad_encoding_lines])
            target = read.mapping.target
            read.rows_read = STAGES[target](con, read, number, key=self.key, now=now)
            finish_read(con, read, number, CANDIDATES[target])
            if read.bad_encoding_lines:
                mark_bad_encoding(con, number, CANDIDATES[target])
            reads.append(read)
        return reads


def _describe_failure(error: duckdb.Error) -> str:
    text = str(error)
    if "No space left on device" in text:
        return "the disk is full, so the import stopped and nothing was changed; free some space and try again"
    if isinstance(error, duckdb.OutOfMemoryException):
        return "the import ran out of memory and nothing was changed; import a smaller file or free memory"
    # DuckDB's first line names the operation, not the data; the rest may quote values, so it is dropped.
    return f"the import failed and nothing was changed ({type(error).__name__}); check the files and try again"


def _create_import_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "create table if not exists meta_imports (import_id varchar, imported_at timestamp, source varchar, "
        "file_name varchar, preset varchar, layout varchar, file_sha256 varchar, rows_read bigint, "
        "rows_loaded bigint, rows_already_loaded bigint, rows_ignored bigint, rows_rejected bigint, "
        "is_pseudonymized boolean)"
    )
    con.execute(
        "create table if not exists rejects (import_id varchar, file_name varchar, line bigint, "
        "reason varchar, row_text varchar)"
    )
    # Warehouses made before events kept their order id get the column (empty for their rows).
    con.execute("alter table source_events add column if not exists order_id varchar")
    append.create_derivation_table(con)


def _check_pseudonymisation(con: duckdb.DuckDBPyConnection, key: PseudonymKey | None, dry_run: bool) -> None:
    earlier = {row[0] for row in con.execute("select distinct is_pseudonymized from meta_imports").fetchall()}
    pseudonymize = key is not None
    if earlier and earlier != {pseudonymize}:
        was = "with" if True in earlier else "without"
        raise ShopLensError(
            f"this warehouse was imported {was} --pseudonymize; import the same way, or the same users "
            "would appear under two ids"
        )
    if key is None:
        return
    con.execute("create table if not exists meta_pseudonymisation (scheme varchar, key_fingerprint varchar)")
    stored = con.execute("select scheme, key_fingerprint from meta_pseudonymisation").fetchone()
    if stored is None:
        if True in earlier:
            raise ShopLensError(
                "this warehouse was pseudonymised by an earlier ShopLens (an unkeyed hash), so its pseudonyms "
                "cannot be matched; import all files again into a new --warehouse with --pseudonymize"
            )
        con.execute("insert into meta_pseudonymisation values ($scheme, $fingerprint)",
                    {"scheme": SCHEME, "fingerprint": key.fingerprint})
        return
    if stored != (SCHEME, key.fingerprint):
        raise ShopLensError(
            f"this warehouse was pseudonymised with another key (fingerprint {stored[1]}; the key at {key.path} has "
            f"{key.fingerprint}), so the same customer would get two ids; use the key file it was made with "
            "(put it there, or set SHOPLENS_PSEUDONYM_KEY_FILE), or import into another --warehouse"
        )


def _rule_results(con: duckdb.DuckDBPyConnection, reads: list[FileRead], targets: list[str]) -> list[RuleResult]:
    names = {number: read.path.name for number, read in enumerate(reads, start=1)}
    found: dict[str, list[tuple[str, int, str]]] = {}
    counts: dict[str, int] = {}
    for number, read in enumerate(reads, start=1):
        for line, reason, text in read.malformed:
            counts[reason] = counts.get(reason, 0) + 1
            found.setdefault(reason, []).append((names[number], line, text))
    for target in targets:
        table = CANDIDATES[target]
        for reason, count in con.execute(
            f"select reason, count(*) from {table} where reason is not null group by reason"
        ).fetchall():
            counts[reason] = counts.get(reason, 0) + count
            examples = con.execute(
                f"select file_number, line, row_text from {table} where reason = $reason "
                f"order by file_number, line limit {EXAMPLE_COUNT}",
                {"reason": reason},
            ).fetchall()
            found.setdefault(reason, []).extend((names[n], int(line), text or "") for n, line, text in examples)
    order = list(REJECT_RULES)
    results = [
        RuleResult(rule, counts[rule], True, tuple(sorted(found[rule])[:EXAMPLE_COUNT]))
        for rule in sorted(counts, key=lambda name: order.index(name) if name in order else len(order))
    ]
    gbk = [(names[n], line, "converted from GBK to UTF-8") for n, r in enumerate(reads, 1) for line in r.gbk_lines]
    if gbk:
        results.append(RuleResult("text in GBK (converted)", len(gbk), False, tuple(gbk[:EXAMPLE_COUNT])))
    bom = [(names[n], 1, "UTF-8 byte-order mark ignored") for n, r in enumerate(reads, 1) if r.has_bom]
    if bom:
        results.append(RuleResult("UTF-8 with BOM (handled)", len(bom), False, tuple(bom[:EXAMPLE_COUNT])))
    if "events" in targets:
        ignored = con.execute(
            "select file_number, line, row_text from import_events where is_ignored and reason is null "
            "order by file_number, line"
        ).fetchall()
        if ignored:
            results.append(RuleResult("not a shop event (skipped)", len(ignored), False,
                                      tuple((names[n], int(line), text or "") for n, line, text in ignored[:EXAMPLE_COUNT])))
    return results


def _file_results(
    con: duckdb.DuckDBPyConnection, reads: list[FileRead], counts: dict[int, tuple[int, int]]
) -> list[FileResult]:
    results = []
    for number, read in enumerate(reads, start=1):
        target = read.mapping.target
        rejected, ignored = con.execute(
            f"select count(*) filter (where reason is not null), "
            f"{'count(*) filter (where is_ignored and reason is null)' if target == 'events' else '0'} "
            f"from {CANDIDATES[target]} where file_number = $number",
            {"number": number},
        ).fetchone()
        loaded, already = counts.get(number, (0, 0))
        results.append(FileResult(
            read.path, read.mapping.name, file_sha256(read.path), read.rows_read + len(read.malformed),
            loaded, already, ignored, rejected + len(read.malformed), target,
        ))
    return results


_PREVIEWS = {
    "events": "select user_id, session_id, event_time, event_type, product_id, quantity, price, category_path "
              "from import_events where reason is null and not is_ignored order by file_number, line limit 20",
    "orders": "select order_id, line_number, user_id, ordered_at, product_id, quantity, unit_price, discount_amount "
              "from import_order_keys order by file_number, line limit 20",
    "products": "select product_id, title, category_path, brand, list_price from import_products "
                "where reason is null order by file_number, line limit 20",
    "promotions": "select promotion_id, name, start_date, end_date, scope, scope_value, discount_rate "
                  "from import_promotions where reason is null order by file_number, line limit 20",
}


def _preview(con: duckdb.DuckDBPyConnection, targets: list[str]) -> pd.DataFrame:
    # The main kind of data shown: events or orders before a catalogue or promotions.
    main = next((target for target in ("events", "orders", "products", "promotions") if target in targets), None)
    return con.execute(_PREVIEWS[main]).df() if main else pd.DataFrame()


def _record(
    con: duckdb.DuckDBPyConnection, import_id: str, preset: str, files: list[FileResult], started: datetime,
    pseudonymize: bool, origin: str | None,
) -> None:
    con.executemany(
        "insert into meta_imports values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(import_id, started.replace(tzinfo=None), origin or str(file.path), file.path.name, preset, file.layout,
          file.sha256, file.rows_read, file.rows_loaded, file.rows_already_loaded, file.rows_ignored,
          file.rows_rejected, pseudonymize) for file in files],
    )
    names = {number: file.path.name for number, file in enumerate(files, start=1)}
    for table in CANDIDATES.values():
        con.execute(
            f"insert into rejects select $import_id, file_name, line, reason, row_text "
            f"from {table} join (select unnest($numbers) as file_number, unnest($names) as file_name) using (file_number) "
            f"where reason is not null",
            {"import_id": import_id, "numbers": list(names), "names": list(names.values())},
        )


def _source_label(con: duckdb.DuckDBPyConnection) -> str:
    files, presets = con.execute(
        "select count(distinct file_sha256), string_agg(distinct preset, ', ' order by preset) from meta_imports"
    ).fetchone()
    return f"imported data ({files} file(s), preset {presets})"


def record_malformed(con: duckdb.DuckDBPyConnection, import_id: str, reads: list[FileRead]) -> None:
    """Store malformed lines (those the CSV reader could not split) in `rejects`."""
    rows = [(import_id, read.path.name, line, reason, text) for read in reads for line, reason, text in read.malformed]
    if rows:
        con.executemany("insert into rejects values (?, ?, ?, ?, ?)", rows)
