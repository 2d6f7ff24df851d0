"""Loads a folder of canonical tables into `source_*` tables and checks them.

A source folder holds one file per canonical table (see `analytics.schema`),
named `<table>.parquet`, `<table>.csv`, `<table>.csv.gz` or `<table>.tsv`.
Only `events` is required; a missing optional table loads empty, and a
missing nullable column loads as nulls. Every problem found is reported at
once, naming the table, the column and example rows, with the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics.errors import SourceDataError
from analytics.schema import EVENT_TYPES, PROMOTION_SCOPES, TABLES, Table

SUFFIXES: tuple[str, ...] = (".parquet", ".csv", ".csv.gz", ".tsv", ".tsv.gz")
EXAMPLE_COUNT = 3


@dataclass(frozen=True)
class SourceFile:
    """A file that holds one canonical table."""

    table: Table
    path: Path

    @property
    def reader_sql(self) -> str:
        """The DuckDB table function that reads the file; the path is bound as `$path`."""
        name = self.path.name
        if name.endswith(".parquet"):
            return "read_parquet($path)"
        if name.endswith((".tsv", ".tsv.gz")):
            return "read_csv($path, header = true, delim = '\t')"
        return "read_csv($path, header = true)"


def find_source_files(folder: Path) -> dict[str, SourceFile]:
    """Find the file for each canonical table in `folder`.

    Args:
        folder: directory holding `<table>.<suffix>` files.

    Returns:
        Table name -> source file, for the tables present.

    Raises:
        SourceDataError: the folder is missing, has no events file, or has two files for one table.
    """
    if not folder.is_dir():
        raise SourceDataError(f"source folder {folder} does not exist; pass a folder of canonical Parquet/CSV files")
    found: dict[str, SourceFile] = {}
    for table in TABLES:
        candidates = [folder / f"{table.name}{suffix}" for suffix in SUFFIXES]
        present = [path for path in candidates if path.is_file()]
        if len(present) > 1:
            names = ", ".join(path.name for path in present)
            raise SourceDataError(f"{folder} has more than one file for table {table.name} ({names}); keep one")
        if present:
            found[table.name] = SourceFile(table, present[0])
    if "events" not in found:
        raise SourceDataError(
            f"{folder} has no events file; add events.parquet or events.csv "
            "with the columns listed in docs/data-model.md"
        )
    return found


def load_sql(table: Table, present_columns: set[str], reader_sql: str | None) -> str:
    """Build the statement that creates `source_<table>` with the canonical columns and types.

    Args:
        table: the canonical table.
        present_columns: columns the file has (ignored when `reader_sql` is None).
        reader_sql: the table function reading the file, or None to create an empty table.

    Returns:
        A `create table` statement; the file path stays a bound `$path` parameter.
    """
    selected = []
    for column in table.columns:
        if reader_sql is not None and column.name in present_columns:
            selected.append(f'cast("{column.name}" as {column.sql_type}) as {column.name}')
        else:
            selected.append(f"cast(null as {column.sql_type}) as {column.name}")
    source = reader_sql if reader_sql is not None else "(select 1) as no_rows where false"
    return f"create table source_{table.name} as select {', '.join(selected)} from {source}"


def load_sources(con: duckdb.DuckDBPyConnection, files: dict[str, SourceFile]) -> dict[str, int]:
    """Create one `source_<table>` table per canonical table and check it.

    Args:
        con: a writable connection to the warehouse being built.
        files: from `find_source_files`.

    Returns:
        Table name -> row count.

    Raises:
        SourceDataError: listing every problem found, each with its fix.
    """
    problems: list[str] = []
    for table in TABLES:
        source = files.get(table.name)
        if source is None:
            con.execute(load_sql(table, set(), None))
            continue
        present = _file_columns(con, source)
        missing = [c.name for c in table.columns if not c.nullable and c.name not in present]
        if missing:
            problems.append(
                f"{source.path.name}: required column(s) {', '.join(missing)} missing; "
                "rename your columns to the canonical names in docs/data-model.md"
            )
            continue
        try:
            con.execute(load_sql(table, present, source.reader_sql), {"path": str(source.path)})
        except duckdb.ConversionException as error:
            problems.append(f"{source.path.name}: a value does not fit its column type ({_first_line(error)}); "
                            "fix the value or convert the column to the type in docs/data-model.md")
    if problems:
        raise SourceDataError("; ".join(problems))
    problems = [problem for table in TABLES for problem in _check_table(con, table, files)]
    if problems:
        raise SourceDataError("; ".join(problems))
    return {
        table.name: con.execute(f"select count(*) from source_{table.name}").fetchone()[0] for table in TABLES
    }


def _file_columns(con: duckdb.DuckDBPyConnection, source: SourceFile) -> set[str]:
    try:
        described = con.execute(f"describe select * from {source.reader_sql}", {"path": str(source.path)})
    except duckdb.Error as error:
        raise SourceDataError(f"cannot read {source.path}: {_first_line(error)}") from error
    return {row[0] for row in described.fetchall()}


def _check_table(con: duckdb.DuckDBPyConnection, table: Table, files: dict[str, SourceFile]) -> list[str]:
    label = files[table.name].path.name if table.name in files else table.name
    relation = f"source_{table.name}"
    checks: list[tuple[str, str]] = []
    for column in table.columns:
        if not column.nullable:
            checks.append((f"{column.name} is null", f"{column.name} is empty; every row needs one"))
    key = ", ".join(table.primary_key)
    checks.append((
        f"({key}) in (select ({key}) from {relation} group by all having count(*) > 1)",
        f"duplicate {key}; each must be unique",
    ))
    if table.name == "events":
        allowed = ", ".join(f"'{t}'" for t in EVENT_TYPES)
        checks.append((f"lower(event_type) not in ({allowed})", f"event_type must be one of {', '.join(EVENT_TYPES)}"))
        checks.append(("price < 0", "price is negative"))
    if table.name == "order_items":
        checks.append(("unit_price < 0 or discount_amount < 0", "unit_price and discount_amount must be >= 0"))
    if table.name == "promotions":
        scopes = ", ".join(f"'{s}'" for s in PROMOTION_SCOPES)
        checks.append((f"lower(scope) not in ({scopes})", f"scope must be one of {', '.join(PROMOTION_SCOPES)}"))
        checks.append(("discount_rate not between 0 and 1", "discount_rate must be between 0 and 1"))
        checks.append(("end_date < start_date", "end_date is before start_date"))
    problems = []
    for condition, message in checks:
        # The conditions are our own constants; no user value is formatted in.
        count, examples = con.execute(
            f"select count(*), list(key_text) filter (where row_number <= {EXAMPLE_COUNT}) "
            f"from (select cast({table.primary_key[0]} as varchar) as key_text, row_number() over () as row_number "
            f"from {relation} where {condition})"
        ).fetchone()
        if count:
            problems.append(f"{label}: {count} row(s) where {message} (e.g. {table.primary_key[0]} {', '.join(map(str, examples))})")
    return problems


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
