"""The import: read, validate and commit in a private copy that then replaces the warehouse.

Steps: copy the warehouse (or start an empty one) beside the target; in one
transaction stage the files, judge every row, append the accepted ones to the
`source_*` tables (skipping rows already loaded, by natural key), derive
orders from the purchase events of an events import, store the rejects and
log the import in `meta_imports`; commit; recreate the models and
macros; update `meta_warehouse` and `meta_capabilities`; checkpoint; then
rename the copy over the target. Readers only ever see the old file or the
new one, and a failure or a kill at any point leaves the target file exactly
as it was (at worst a stray `.<name>.<id>.importing` file remains).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from analytics.capabilities import Capability, assess, profile
from analytics.errors import ShopLensError
from analytics.importing.presets import Preset
from analytics.importing.pseudonyms import load_or_create_key
from analytics.importing.readers import (
    FileRead,
    file_sha256,
    finish_read,
    make_scratch,
    open_file,
)
from analytics.importing.transform import (
    DERIVED_ORDER_PREFIX,
    EVENT_NATURAL_KEY,
    REJECT_RULES,
    create_candidates,
    derive_order_lines,
    mark_bad_encoding,
    mark_duplicates_and_keys,
    now_utc,
    stage_events,
    stage_orders,
)
from analytics.schema import TABLES
from analytics.sources import load_sql
from analytics.warehouse import (
    WarehouseState,
    inspect_warehouse,
    refresh_models,
    rewrite_metadata,
)

EXAMPLE_COUNT = 3
IMPORT_MEMORY_LIMIT = "3GB"


@dataclass(frozen=True)
class RuleResult:
    """One validation rule's outcome.

    Attributes:
        rule: the rule's name (see `REJECT_RULES`), or a note such as "converted from GBK".
        count: rows (or lines) it applied to.
        is_reject: whether those rows were rejected (False for notes and skipped rows).
        examples: up to three (file name, line, text) examples.
    """

    rule: str
    count: int
    is_reject: bool
    examples: tuple[tuple[str, int, str], ...]


@dataclass(frozen=True)
class FileResult:
    """What one file contributed.

    Attributes:
        path: the file.
        layout: the mapping (preset variant) it was read with.
        sha256: hex digest of its bytes.
        rows_read: data lines in the file (including malformed ones).
        rows_loaded: rows appended to the warehouse.
        rows_already_loaded: valid rows the warehouse already held (skipped).
        rows_ignored: rows that are not shop events (GA4 session_start and the like).
        rows_rejected: rows moved to `rejects`.
    """

    path: Path
    layout: str
    sha256: str
    rows_read: int
    rows_loaded: int
    rows_already_loaded: int
    rows_ignored: int
    rows_rejected: int


@dataclass(frozen=True)
class ImportReport:
    """The outcome of `import_files` (or of a dry run).

    Attributes:
        warehouse: the target file.
        preset: the preset or mapping name.
        files: one FileResult per file.
        rules: rule outcomes with a non-zero count, rejects first.
        committed: whether the warehouse was changed (False for a dry run).
        replaced_sample: the target held the generated sample, which the import replaced.
        import_id: id of this import in `meta_imports` and `rejects`.
        data_version: the warehouse's new data version, when committed.
        capabilities: the verdicts after the import, when committed.
        preview: the first accepted canonical rows (for the Data page).
        derived_orders: orders made from purchase events (events imports; would be made, for a dry run).
        derived_order_lines: their lines, one per purchase event.
        derived_orders_skipped: purchase events were not made into orders because the warehouse
            holds orders read from an orders file (both would count the same sales).
        derived_orders_replaced: orders derived from purchase events by earlier imports that this
            orders import removed, because orders from a file take their place.
    """

    warehouse: Path
    preset: str
    files: tuple[FileResult, ...]
    rules: tuple[RuleResult, ...]
    committed: bool
    replaced_sample: bool
    import_id: str
    data_version: str | None = None
    capabilities: tuple[Capability, ...] = ()
    preview: pd.DataFrame = field(default_factory=pd.DataFrame)
    derived_orders: int = 0
    derived_order_lines: int = 0
    derived_orders_skipped: bool = False
    derived_orders_replaced: int = 0

    @property
    def rows_rejected(self) -> int:
        return sum(file.rows_rejected for file in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(file.rows_loaded for file in self.files)

    def rules_frame(self) -> pd.DataFrame:
        """The rules as a table: rule, rows, rejected, example (file:line: text)."""
        return pd.DataFrame(
            [{"rule": r.rule, "rows": r.count, "rejected": r.is_reject,
              "examples": "; ".join(f"{name}:{line}: {text[:80]}" for name, line, text in r.examples)}
             for r in self.rules],
            columns=["rule", "rows", "rejected", "examples"],
        )

    def summary(self) -> str:
        """A few lines for people: per file counts, then each rule with examples."""
        lines = []
        if self.replaced_sample:
            lines.append(f"note: {self.warehouse} held the generated sample; the import replaced it "
                         "(a warehouse never mixes sample and imported data)")
        for file in self.files:
            lines.append(
                f"{file.path.name} ({file.layout}): {file.rows_read:,} rows read, {file.rows_loaded:,} loaded, "
                f"{file.rows_already_loaded:,} already loaded, {file.rows_ignored:,} ignored, "
                f"{file.rows_rejected:,} rejected"
            )
        if self.derived_orders:
            lines.append(f"purchase events made into {self.derived_orders:,} order(s) with "
                         f"{self.derived_order_lines:,} line(s)")
        if self.derived_orders_skipped:
            lines.append("note: purchase events were not made into orders, because the warehouse holds orders "
                         "from an orders file")
        if self.derived_orders_replaced:
            lines.append(f"note: {self.derived_orders_replaced:,} order(s) made earlier from purchase events were "
                         "removed; the orders from this file take their place")
        for rule in self.rules:
            kind = "rejected" if rule.is_reject else "note"
            lines.append(f"  {kind}: {rule.rule}: {rule.count:,}")
            lines.extend(f"    {name} line {line}: {text[:120]}" for name, line, text in rule.examples)
        return "\n".join(lines)


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
) -> ImportReport:
    """Import export files into `warehouse`, all or nothing.

    Args:
        paths: CSV/TSV/Parquet/JSON-lines files, optionally gzip-compressed.
        preset: the format (see `analytics.importing.presets`), or a preset wrapping a saved mapping.
        warehouse: the warehouse file; created when missing; a sample warehouse is replaced.
        strict: fail, changing nothing, if any row would be rejected.
        pseudonymize: replace user ids by a keyed hash (key at `key_path`).
        key_path: the secret key file (default `.shoplens/secret.key`), created with mode 0600.
        dry_run: validate and report without changing the warehouse.
        progress: called with a step name as the import proceeds.

    Returns:
        An ImportReport.

    Raises:
        ShopLensError: a file cannot be read, the warehouse is not a ShopLens warehouse of this
            release, or `strict` and some rows were rejected. The warehouse is then unchanged.
    """
    if not paths:
        raise ShopLensError("no files to import; pass one or more export files")
    for path in paths:
        if not path.is_file():
            raise ShopLensError(f"{path} does not exist or is not a file; check the path")
    secret = load_or_create_key(key_path) if pseudonymize else None
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(warehouse):
        return _import(paths, preset, warehouse, strict=strict, pseudonymize=pseudonymize, secret=secret,
                       dry_run=dry_run, step=progress or (lambda name: None))


@contextmanager
def _exclusive(warehouse: Path) -> Iterator[None]:
    # Each import replaces the whole file, so two at once would lose one's rows: take turns.
    lock_path = warehouse.with_name(f".{warehouse.name}.import-lock")
    with open(lock_path, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ShopLensError(
                f"another import into {warehouse} is running; wait for it to finish, then try again"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _import(
    paths: list[Path], preset: Preset, warehouse: Path, *, strict: bool, pseudonymize: bool, secret: str | None,
    dry_run: bool, step: Callable[[str], None],
) -> ImportReport:
    info = inspect_warehouse(warehouse)
    if info.state in (WarehouseState.OUTDATED, WarehouseState.UNREADABLE):
        raise ShopLensError(f"{info.message} Or import into another --warehouse path.")
    start_fresh = info.state is WarehouseState.MISSING or info.is_sample
    replaced_sample = info.state is WarehouseState.READY and info.is_sample
    partial = warehouse.with_name(f".{warehouse.name}.{uuid.uuid4().hex}.importing")
    import_id = uuid.uuid4().hex[:12]
    started = datetime.now(UTC)
    try:
        if not start_fresh:
            shutil.copyfile(warehouse, partial)
        with duckdb.connect(str(partial)) as con, make_scratch() as scratch:
            con.execute("set TimeZone = 'UTC'")
            # Bounded so a 10M-row file imports in a few GiB; DuckDB spills the rest to disk.
            con.execute(f"set memory_limit = '{IMPORT_MEMORY_LIMIT}'")
            con.execute("begin transaction")
            if start_fresh:
                for table in TABLES:
                    con.execute(load_sql(table, set(), None))
            _create_import_tables(con)
            _check_pseudonymisation(con, pseudonymize)
            step("read")
            reads = _stage(con, paths, preset, Path(scratch), secret)
            step("validate")
            mark_duplicates_and_keys(con)
            target = reads[0].mapping.target
            replaced_derived = _drop_derived_orders(con, dry_run=dry_run) if target == "orders" else 0
            counts = _append(con, target, dry_run=dry_run)
            derived = _derive_orders(con, dry_run=dry_run) if target == "events" else (0, 0, False)
            derived = (*derived, replaced_derived)
            rules = _rule_results(con, reads)
            files = _file_results(con, reads, counts)
            preview = _preview(con, target)
            rejected = sum(file.rows_rejected for file in files)
            if strict and rejected:
                raise ShopLensError(
                    f"--strict: {rejected:,} row(s) would be rejected, so nothing was imported:\n"
                    + ImportReport(warehouse, preset.name, tuple(files), tuple(rules), False, replaced_sample,
                                   import_id).summary()
                )
            if start_fresh and not dry_run and not sum(file.rows_loaded for file in files):
                raise ShopLensError(
                    "no row was accepted, so no warehouse was written:\n"
                    + ImportReport(warehouse, preset.name, tuple(files), tuple(rules), False, replaced_sample,
                                   import_id).summary()
                )
            if dry_run:
                con.execute("rollback")
                return ImportReport(warehouse, preset.name, tuple(files), tuple(rules), False, replaced_sample,
                                    import_id, preview=preview, derived_orders=derived[0],
                                    derived_order_lines=derived[1], derived_orders_skipped=derived[2],
                                    derived_orders_replaced=derived[3])
            _record(con, import_id, preset.name, files, started, pseudonymize)
            record_malformed(con, import_id, reads)
            step("commit")
            con.execute("commit")
            # Free the staging memory before the models need it.
            for table in con.execute(
                "select table_name from duckdb_tables() where temporary and table_name like 'import%'"
            ).fetchall():
                con.execute(f"drop table temp.{table[0]}")
            # The models are rebuilt statement by statement (one transaction over every
            # model costs DuckDB half again as long). That is safe because all of this
            # happens in a private copy, which replaces the warehouse only at the end.
            step("models")
            refresh_models(con)
            capabilities = assess(profile(con))
            data_version = uuid.uuid4().hex
            con.execute("begin transaction")
            rewrite_metadata(con, _source_label(con), False, data_version, started, capabilities)
            con.execute("commit")
            con.execute("checkpoint")
        step("replace")
        os.replace(partial, warehouse)
    except duckdb.Error as error:
        raise ShopLensError(f"the import failed and nothing was changed: {str(error).strip().splitlines()[0]}") from None
    finally:
        for leftover in (partial, partial.with_name(partial.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return ImportReport(warehouse, preset.name, tuple(files), tuple(rules), True, replaced_sample, import_id,
                        data_version, tuple(capabilities), preview, *derived)


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


def _check_pseudonymisation(con: duckdb.DuckDBPyConnection, pseudonymize: bool) -> None:
    earlier = {row[0] for row in con.execute("select distinct is_pseudonymized from meta_imports").fetchall()}
    if earlier and earlier != {pseudonymize}:
        was = "with" if True in earlier else "without"
        raise ShopLensError(
            f"this warehouse was imported {was} --pseudonymize; import the same way, or the same users "
            "would appear under two ids"
        )


def _stage(
    con: duckdb.DuckDBPyConnection, paths: list[Path], preset: Preset, scratch: Path, secret: str | None
) -> list[FileRead]:
    create_candidates(con)
    now = now_utc()
    reads = []
    for number, path in enumerate(paths, start=1):
        read = open_file(path, preset.variants, scratch)
        if reads and read.mapping.target != reads[0].mapping.target:
            raise ShopLensError(f"{path.name} holds {read.mapping.target} but the files before it hold "
                                f"{reads[0].mapping.target}; import them separately")
        if read.bad_encoding_lines:
            con.executemany("insert into import_bad_lines values (?, ?)",
                            [(number, line) for line in read.bad_encoding_lines])
        stage = stage_events if read.mapping.target == "events" else stage_orders
        read.rows_read = stage(con, read, number, secret=secret, now=now)
        finish_read(con, read, number, _candidates(read.mapping.target))
        if read.bad_encoding_lines:
            mark_bad_encoding(con, number, _candidates(read.mapping.target))
        reads.append(read)
    return reads


def _append(con: duckdb.DuckDBPyConnection, target: str, *, dry_run: bool) -> dict[int, tuple[int, int]]:
    """Append accepted rows not yet loaded; return file_number -> (loaded, already loaded)."""
    if target == "events":
        if con.execute("select exists (select 1 from source_events)").fetchone()[0]:
            con.execute(
                f"update import_events set is_loaded = true where reason is null and not is_ignored "
                f"and natural_key in (select {EVENT_NATURAL_KEY} from source_events)"
            )
        if not dry_run:
            con.execute(
                "insert into source_events by name "
                "select (select coalesce(max(event_id), 0) from source_events) + row_number() over () as event_id, "
                "user_id, session_id, event_time, event_type, product_id, quantity, price, "
                "search_query, device, channel "
                "from import_events where reason is null and not is_ignored and not is_loaded"
            )
            con.execute(
                "insert into source_products by name "
                "select product_id, arg_min(title, line) as title, arg_min(category_path, line) as category_path, "
                "arg_min(brand, line) as brand, cast(null as double) as list_price "
                "from import_events "
                "where reason is null and not is_ignored and product_id is not null "
                "and (category_path is not null or brand is not null or title is not null) "
                "and product_id not in (select product_id from source_products) "
                "group by product_id"
            )
    else:
        con.execute(
            "create or replace temp table import_new as "
            "select file_number, line, order_id in (select order_id from source_orders) as is_loaded "
            "from import_order_keys"
        )
        if not dry_run:
            con.execute(
                "insert into source_orders by name "
                "select order_id, min(user_id) as user_id, cast(null as varchar) as session_id, "
                "min(ordered_at) as ordered_at, min(channel) as channel, min(device) as device "
                "from import_order_keys where order_id not in (select order_id from source_orders) group by order_id"
            )
            con.execute(
                "insert into source_order_items by name "
                "select order_id, line_number, product_id, quantity, unit_price, discount_amount "
                "from import_order_keys join import_new using (file_number, line) where not import_new.is_loaded"
            )
            con.execute(
                "insert into source_products by name "
                "select product_id, arg_min(title, line) as title, arg_min(category_path, line) as category_path, "
                "cast(null as varchar) as brand, cast(null as double) as list_price "
                "from import_order_keys "
                "where product_id <> '(unknown)' and (title is not null or category_path is not null) "
                "and product_id not in (select product_id from source_products) group by product_id"
            )
    accepted = ("import_events where reason is null and not is_ignored" if target == "events"
                else "import_new")
    rows = con.execute(
        "select file_number, count(*) filter (where not is_loaded), count(*) filter (where is_loaded) "
        f"from {accepted} group by file_number"
    ).fetchall()
    return {number: (loaded, already) for number, loaded, already in rows}


def _derive_orders(con: duckdb.DuckDBPyConnection, *, dry_run: bool) -> tuple[int, int, bool]:
    """Make orders from this import's purchase events (see `derive_order_lines`).

    Orders already in the warehouse (same derived id) are neither added again nor
    extended, so re-importing a file adds nothing and a later file appends. When the
    warehouse holds orders read from an orders file, nothing is derived: those orders
    already count the sales that the purchase events describe.

    Returns:
        (new orders, their lines, whether derivation was skipped for that reason).
    """
    derive_order_lines(con)
    if not con.execute("select exists (select 1 from import_derived_lines)").fetchone()[0]:
        return 0, 0, False
    if con.execute(
        "select exists (select 1 from source_orders where not starts_with(order_id, $prefix))",
        {"prefix": DERIVED_ORDER_PREFIX},
    ).fetchone()[0]:
        return 0, 0, True
    con.execute(
        "create or replace temp table import_derived_new as "
        "select * from import_derived_lines where order_id not in (select order_id from source_orders)"
    )
    orders, lines = con.execute("select count(distinct order_id), count(*) from import_derived_new").fetchone()
    if not dry_run:
        # A transaction's events may (rarely) differ in user or visit: take its earliest event's.
        con.execute(
            "insert into source_orders by name "
            "select order_id, arg_min(user_id, (ordered_at, file_number, line)) as user_id, "
            "arg_min(session_id, (ordered_at, file_number, line)) as session_id, min(ordered_at) as ordered_at, "
            "arg_min(channel, (ordered_at, file_number, line)) as channel, "
            "arg_min(device, (ordered_at, file_number, line)) as device "
            "from import_derived_new group by order_id"
        )
        con.execute(
            "insert into source_order_items by name "
            "select order_id, line_number, product_id, quantity, unit_price, 0.0 as discount_amount "
            "from import_derived_new"
        )
    return orders, lines, False


def _drop_derived_orders(con: duckdb.DuckDBPyConnection, *, dry_run: bool) -> int:
    """Remove orders derived from purchase events, which an orders file replaces; returns how many.

    The purchase events stay; only the orders made from them go, so that no sale is counted twice.
    """
    parameters = {"prefix": DERIVED_ORDER_PREFIX}
    removed = con.execute(
        "select count(*) from source_orders where starts_with(order_id, $prefix)", parameters
    ).fetchone()[0]
    if removed and not dry_run:
        con.execute("delete from source_order_items where starts_with(order_id, $prefix)", parameters)
        con.execute("delete from source_orders where starts_with(order_id, $prefix)", parameters)
    return removed


def _candidates(target: str) -> str:
    return "import_events" if target == "events" else "import_order_lines"


def _rule_results(con: duckdb.DuckDBPyConnection, reads: list[FileRead]) -> list[RuleResult]:
    names = {number: read.path.name for number, read in enumerate(reads, start=1)}
    target = reads[0].mapping.target
    found: dict[str, list[tuple[str, int, str]]] = {}
    counts: dict[str, int] = {}
    for number, read in enumerate(reads, start=1):
        for line, reason, text in read.malformed:
            counts[reason] = counts.get(reason, 0) + 1
            found.setdefault(reason, []).append((names[number], line, text))
    for reason, count in con.execute(
        f"select reason, count(*) from {_candidates(target)} where reason is not null group by reason"
    ).fetchall():
        counts[reason] = counts.get(reason, 0) + count
        examples = con.execute(
            f"select file_number, line, row_text from {_candidates(target)} where reason = $reason "
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
    if target == "events":
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
    target = reads[0].mapping.target
    results = []
    for number, read in enumerate(reads, start=1):
        rejected, ignored = con.execute(
            f"select count(*) filter (where reason is not null), "
            f"{'count(*) filter (where is_ignored and reason is null)' if target == 'events' else '0'} "
            f"from {_candidates(target)} where file_number = $number",
            {"number": number},
        ).fetchone()
        loaded, already = counts.get(number, (0, 0))
        results.append(FileResult(
            read.path, read.mapping.name, file_sha256(read.path), read.rows_read + len(read.malformed),
            loaded, already, ignored, rejected + len(read.malformed),
        ))
    return results


def _preview(con: duckdb.DuckDBPyConnection, target: str) -> pd.DataFrame:
    if target == "events":
        sql = ("select user_id, session_id, event_time, event_type, product_id, quantity, price, category_path "
               "from import_events where reason is null and not is_ignored order by file_number, line limit 20")
    else:
        sql = ("select order_id, line_number, user_id, ordered_at, product_id, quantity, unit_price, discount_amount "
               "from import_order_keys order by file_number, line limit 20")
    return con.execute(sql).df()


def _record(
    con: duckdb.DuckDBPyConnection, import_id: str, preset: str, files: list[FileResult], started: datetime,
    pseudonymize: bool,
) -> None:
    con.executemany(
        "insert into meta_imports values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(import_id, started.replace(tzinfo=None), str(file.path), file.path.name, preset, file.layout, file.sha256,
          file.rows_read, file.rows_loaded, file.rows_already_loaded, file.rows_ignored, file.rows_rejected,
          pseudonymize) for file in files],
    )
    names = {number: file.path.name for number, file in enumerate(files, start=1)}
    for table in ("import_events", "import_order_lines"):
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
