"""Reads export files as text columns with their source line.

Before anything is staged, each file is scanned once as a stream against the
import limits (`analytics.importing.limits`), so a decompression bomb or an
oversized file is refused early. CSV/TSV (optionally gzip) then goes through
DuckDB's `read_csv` with every column typed VARCHAR and no auto-detection, so
nothing is guessed and a bad value is a validation finding, not a crash.
Malformed lines (too many or too few fields, over-long lines) are captured
with their line number by DuckDB's `store_rejects`. Text that is not UTF-8 (a
GBK export, or a file with mixed encodings) is transcoded line by line in
Python into a temporary UTF-8 file, keeping line numbers. Parquet and JSON
lines are read natively and cast to text.

Messages never quote the file's content or a server path: they name the file
and say what is wrong in the user's words ("line 3 has 5 fields, the header
has 4"), because a message may be shown to someone who must not read the file.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import tempfile
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from analytics.errors import ShopLensError
from analytics.importing.limits import (
    ImportLimits,
    check_parquet,
    describe_read_failure,
    open_binary,
    scan_file,
)
from analytics.importing.mapping import Mapping

MAX_EXAMPLES = 3
_SNIFF_BYTES = 1 << 20
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass
class FileRead:
    """One file read into the staging table.

    Attributes:
        path: the file.
        mapping: the layout it was read with.
        rows_read: data rows that parsed into the right number of fields.
        malformed: (line, reason, text) of lines the CSV reader could not split into the columns; the text
            says what is wrong ("has 5 fields, the header has 4") and, unless `keeps_line_text` is False,
            quotes the line.
        bad_encoding_lines: lines in no known encoding (read with replacement characters, then rejected).
        gbk_lines: lines that were GBK and were converted to UTF-8.
        has_bom: the file started with a UTF-8 byte-order mark (ignored).
        reader_sql, reader_parameters: the query that reads the file (see `open_file`).
        errors_table, scans_table: where DuckDB stores the lines it could not split (CSV only).
        first_data_line: 2 when line 1 is a header.
        temporary_copy: a transcoded UTF-8 copy, deleted by `finish_read`.
        column_count: fields per line the layout expects (delimited files).
        delimiter: the field separator (delimited files).
        keeps_line_text: whether malformed lines are quoted in the rejects (False when ids are pseudonymised:
            a raw line holds the raw id).
    """

    path: Path
    mapping: Mapping
    rows_read: int = 0
    malformed: list[tuple[int, str, str]] = field(default_factory=list)
    bad_encoding_lines: list[int] = field(default_factory=list)
    gbk_lines: list[int] = field(default_factory=list)
    has_bom: bool = False
    reader_sql: str = ""
    reader_parameters: dict = field(default_factory=dict)
    errors_table: str | None = None
    scans_table: str | None = None
    first_data_line: int = 1
    temporary_copy: Path | None = None
    column_count: int = 0
    delimiter: str = ","
    keeps_line_text: bool = True


def file_format(path: Path) -> str:
    """Return "csv", "tsv", "parquet" or "jsonl" from the file name (a trailing .gz is allowed)."""
    name = path.name.lower()
    name = name.removesuffix(".gz")
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith(".tsv"):
        return "tsv"
    return "csv"


def _open_binary(path: Path):
    return open_binary(path)


def _first_line(path: Path) -> bytes:
    try:
        with _open_binary(path) as handle:
            return handle.readline(_SNIFF_BYTES)
    except (OSError, EOFError, zlib.error) as error:
        raise ShopLensError(describe_read_failure(error, path.name)) from None


def _split_header(line: bytes, delimiter: str) -> list[str]:
    text = line.removeprefix(UTF8_BOM).decode("utf-8", errors="replace").rstrip("\r\n")
    # newline="" lets the csv module treat a stray carriage return as the end of the header
    # instead of raising on it (a malformed file must get a report, not a traceback).
    return [name.strip() for name in next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])]


def choose_variant(path: Path, variants: tuple[Mapping, ...]) -> tuple[Mapping, list[str], bool]:
    """Pick the layout of a delimited file from its first line.

    A layout fits when the header names all its required columns; of those that fit, the one
    using the most of the file's columns wins (the first on a tie).

    Args:
        path: the file.
        variants: the candidate mappings, the first used for a headerless file.

    Returns:
        (mapping, the file's column names, whether the first line is a header).

    Raises:
        ShopLensError: the file is empty, or its header names none of the layouts' columns. The
            message lists the columns the layouts need, never the file's own header.
    """
    first = _first_line(path)
    if not first.strip():
        raise ShopLensError(f"{path.name} is empty; export the data again, with a header row")
    fitting = []
    for order, mapping in enumerate(variants):
        delimiter = mapping.delimiter or ("\t" if file_format(path) == "tsv" else ",")
        names = _split_header(first, delimiter)
        score = fit_score(mapping, names)
        if mapping.header != "no" and score is not None:
            fitting.append((-score, order, mapping, names))
    if fitting:
        _, _, mapping, names = min(fitting, key=lambda item: item[:2])
        return mapping, names, True
    default = variants[0]
    delimiter = default.delimiter or ("\t" if file_format(path) == "tsv" else ",")
    names = _split_header(first, delimiter)
    if default.header != "yes" and default.columns and len(names) == len(default.columns):
        known = {column.lower() for variant in variants for column in variant.columns}
        if not known & {name.lower() for name in names}:
            return default, list(default.columns), False
    raise ShopLensError(layout_mismatch(path.name, variants, names, delimiter))


def fit_score(mapping: Mapping, names: list[str]) -> int | None:
    """How many of the mapping's columns `names` holds, or None when a required one is missing."""
    folded = {name.lower() for name in names}
    required = {column.lower() for column in mapping.required_columns}
    used = [column.lower() for column in mapping.source_columns]
    if any(column not in folded for column in required):
        return None
    return sum(column in folded for column in used)


def layout_mismatch(name: str, variants: tuple[Mapping, ...], names: list[str], delimiter: str | None) -> str:
    """The message for a file whose columns fit no layout: what is expected, and how many columns it has."""
    folded = {column.lower() for column in names}
    closest = min(variants, key=lambda variant: sum(c.lower() not in folded for c in variant.required_columns))
    missing = [column for column in closest.required_columns if column.lower() not in folded]
    separated = f" separated by {delimiter!r}" if delimiter else ""
    return (
        f"{name}: line 1 has {len(names)} column name(s){separated} but the {closest.name!r} layout needs "
        f"{', '.join(closest.required_columns)} (missing: {', '.join(missing) or 'none'}); pick the right "
        "preset or write a mapping file"
    )


def _decodes_as(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with _open_binary(path) as handle:
            while chunk := handle.read(16 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    except (OSError, EOFError, zlib.error) as error:
        raise ShopLensError(describe_read_failure(error, path.name)) from None
    return True


def transcode_to_utf8(path: Path, target: Path, read: FileRead) -> None:
    """Write `path` as UTF-8 to `target`, keeping line numbers.

    A file that decodes as GBK throughout is converted whole (short GBK text
    can also happen to be valid UTF-8, so a per-line guess would miss it).
    Otherwise each line stays if it is UTF-8 and is converted if it is GBK.
    Lines in neither encoding are written with replacement characters and
    their numbers recorded in `read.bad_encoding_lines`, so they are rejected.
    Converted lines with non-ASCII text are recorded in `read.gbk_lines`.
    """
    whole_file_gbk = _decodes_as(path, "gbk")
    with _open_binary(path) as source, open(target, "wb") as sink:
        for number, line in enumerate(source, start=1):
            if number == 1:
                line = line.removeprefix(UTF8_BOM)
            if whole_file_gbk:
                sink.write(line.decode("gbk").encode("utf-8"))
                if not line.isascii():
                    read.gbk_lines.append(number)
                continue
            try:
                line.decode("utf-8")
                sink.write(line)
                continue
            except UnicodeDecodeError:
                pass
            try:
                sink.write(line.decode("gbk").encode("utf-8"))
                read.gbk_lines.append(number)
            except UnicodeDecodeError:
                sink.write(line.decode("utf-8", errors="replace").encode("utf-8"))
                read.bad_encoding_lines.append(number)


def open_file(path: Path, variants: tuple[Mapping, ...], scratch: Path, *, limits: ImportLimits | None = None,
              keeps_line_text: bool = True) -> FileRead:
    """Check the file against the limits, choose its layout, fix its encoding, and prepare the query that reads it.

    The query (`read.reader_sql`, parameters in `read.reader_parameters`) yields
    an empty `line` and one text column per mapped slot. It runs once, inside
    the statement that judges the rows, so the data is read a single time;
    call `number_lines` and then `finish_read` right after it.

    Args:
        path: the export file.
        variants: the layouts to choose from.
        scratch: a folder for transcoded copies.
        limits: the most the import may read (default: `ImportLimits.from_environment()`).
        keeps_line_text: quote malformed lines in the rejects (False when ids are pseudonymised).

    Returns:
        The FileRead, with encoding findings filled in.

    Raises:
        ShopLensError: the file cannot be read at all (empty, corrupt, truncated, wrong layout) or
            crosses a limit.
    """
    limits = limits or ImportLimits.from_environment()
    kind = file_format(path)
    if kind == "parquet":
        check_parquet(path, limits)
    else:
        scan = scan_file(path, limits)
    if kind in ("parquet", "jsonl"):
        return _open_native(path, variants, kind)
    mapping, names, has_header = choose_variant(path, variants)
    read = FileRead(path, mapping, keeps_line_text=keeps_line_text)
    read.has_bom = scan.has_bom
    source = path
    if not scan.is_utf8:
        source = scratch / f"{uuid.uuid4().hex}.csv"
        transcode_to_utf8(path, source, read)
        read.temporary_copy = source
    positions = _positions(mapping, names)
    read.errors_table = f"import_errors_{uuid.uuid4().hex}"
    read.scans_table = f"import_scans_{uuid.uuid4().hex}"
    read.first_data_line = 2 if has_header else 1
    read.column_count = len(names)
    read.delimiter = mapping.delimiter or ("\t" if kind == "tsv" else ",")
    selected = ", ".join(_select(slot, positions.get(column)) for slot, column in _slots(mapping).items())
    # Table names are generated here, never taken from input; the path and options are bound.
    # Lines are numbered after the insert, from the rows' positions (see `number_lines`).
    read.reader_sql = (
        f"select cast(null as bigint) as line, {selected} "
        "from read_csv($reader_path, header = $reader_header, delim = $reader_delimiter, quote = '\"', "
        "escape = '\"', columns = $reader_columns, auto_detect = false, compression = $reader_compression, "
        f"store_rejects = true, rejects_table = '{read.errors_table}', rejects_scan = '{read.scans_table}')"
    )
    read.reader_parameters = {
        "reader_path": str(source), "reader_header": has_header,
        "reader_delimiter": read.delimiter,
        "reader_columns": {f"c{index}": "VARCHAR" for index in range(1, len(names) + 1)},
        "reader_compression": "gzip" if source.name.lower().endswith(".gz") else "none",
    }
    return read


def _select(slot: str, position: int | None, *, cast: bool = False) -> str:
    # An optional column the file lacks reads as null.
    if position is None:
        return f"cast(null as varchar) as \"{slot}\""
    return f"cast(c{position} as varchar) as \"{slot}\"" if cast else f"c{position} as \"{slot}\""


def number_lines(con: duckdb.DuckDBPyConnection, read: FileRead, file_number: int, candidates: str) -> None:
    """Number the file's rows in `candidates` by position: the k-th row read gets line k (+1 after a header).

    DuckDB keeps insertion order, so the rowids of one insert into the
    append-only temp table are consecutive in file order (inside a transaction
    they start at a large offset, hence the minimum); this is much cheaper than
    a window over the scan. Rows after a malformed line are put right by `finish_read`.
    """
    con.execute(
        f"update {candidates} set line = rowid - (select min(rowid) from {candidates} where file_number = $file_number) "
        "+ $first_line where file_number = $file_number",
        {"first_line": read.first_data_line, "file_number": file_number},
    )


def finish_read(con: duckdb.DuckDBPyConnection, read: FileRead, file_number: int, candidates: str) -> None:
    """Collect the lines the CSV reader rejected and put right the line numbers of the rows after them.

    Args:
        con: the import's connection.
        read: the file, after its reader query ran and `read.rows_read` was set.
        file_number: its number in `candidates`.
        candidates: the temp table the rows went to (our own name: import_events or import_order_lines).
    """
    if read.temporary_copy is not None:
        read.temporary_copy.unlink(missing_ok=True)
    if read.errors_table is None:
        return
    try:
        malformed = con.execute(
            f"select line, error_type, coalesce(csv_line, '') from {read.errors_table} order by line"
        ).fetchall()
    finally:
        for table in (read.errors_table, read.scans_table):
            con.execute(f"drop table if exists {table}")
    # DuckDB reports a short line once per missing column; keep one reject per line.
    first_error = {int(line): (int(line), _malformed_reason(kind), describe_malformed(read, kind, text))
                   for line, kind, text in reversed(malformed)}
    read.malformed = sorted(first_error.values())
    skipped = sorted(first_error)
    if not skipped:
        return
    con.execute("create or replace temp table import_skipped_lines (line bigint)")
    con.executemany("insert into import_skipped_lines values (?)", [(line,) for line in skipped])
    # The k-th accepted row sits on the k-th line that the reader did not reject.
    con.execute(
        f"update {candidates} set line = renumbered.line "
        "from (select row_number() over (order by line) + $offset as provisional, line "
        "      from range($first, $first + $rows + $skipped) as numbers(line) "
        "      where line not in (select line from import_skipped_lines)) as renumbered "
        f"where {candidates}.file_number = $file_number and {candidates}.line = renumbered.provisional",
        {"file_number": file_number, "first": read.first_data_line, "rows": read.rows_read,
         "skipped": len(skipped), "offset": read.first_data_line - 1},
    )


def _open_native(path: Path, variants: tuple[Mapping, ...], kind: str) -> FileRead:
    reader = ("read_parquet($reader_path)" if kind == "parquet"
              else "read_json($reader_path, format = 'newline_delimited')")
    try:
        with duckdb.connect() as probe:
            names = [row[0] for row in probe.execute(f"describe select * from {reader}",
                                                     {"reader_path": str(path)}).fetchall()]
    except duckdb.Error as error:
        raise ShopLensError(describe_duckdb_failure(error, path.name, kind)) from None
    fitting = [(-score, order, mapping) for order, mapping in enumerate(variants)
               if (score := fit_score(mapping, names)) is not None]
    if not fitting:
        raise ShopLensError(layout_mismatch(path.name, variants, names, None))
    mapping = min(fitting, key=lambda item: item[:2])[2]
    read = FileRead(path, mapping)
    positions = _positions(mapping, names)
    # Positional column references keep the file's column names out of the SQL text.
    selected = ", ".join(_select(slot, positions.get(column), cast=True) for slot, column in _slots(mapping).items())
    renamed = ", ".join(f"#{index} as c{index}" for index in range(1, len(names) + 1))
    read.reader_sql = f"select cast(null as bigint) as line, {selected} from (select {renamed} from {reader})"
    read.reader_parameters = {"reader_path": str(path)}
    return read


def describe_duckdb_failure(error: Exception, name: str, kind: str) -> str:
    """Say why DuckDB could not read a file, without quoting its content or a server path."""
    text = str(error).lower()
    if "gzip" in text or "zlib" in text or "decompress" in text or "truncated" in text or "end of file" in text:
        return f"{name} ends early or is damaged: it looks truncated; upload (or copy) it again"
    label = {"parquet": "a Parquet file", "jsonl": "JSON lines (one JSON object per line)"}.get(kind, "CSV text")
    return f"{name} cannot be read as {label}; check that it is a complete {label} export"


def describe_malformed(read: FileRead, error_type: str, text: str) -> str:
    """What is wrong with a line the CSV reader could not split, e.g. "has 5 fields, the header has 4".

    The line itself follows only when `read.keeps_line_text` (never for pseudonymised imports).
    """
    expected = "the header has" if read.first_data_line == 2 else "the layout has"
    if error_type in ("TOO MANY COLUMNS", "MISSING COLUMNS"):
        try:
            fields = len(next(csv.reader(io.StringIO(text, newline=""), delimiter=read.delimiter), []))
        except csv.Error:
            fields = None
        problem = (f"has {fields} fields, {expected} {read.column_count}" if fields is not None
                   else f"does not split into {read.column_count} fields")
    elif error_type == "UNQUOTED VALUE":
        problem = "has a quote inside an unquoted field"
    elif error_type == "LINE SIZE OVER MAXIMUM":
        problem = "is too long"
    elif error_type == "INVALID ENCODING":
        problem = "is in no known encoding"
    else:
        problem = "does not split into the file's fields"
    if read.keeps_line_text:
        return f"{problem}: {text[:500]}"
    return problem


def _slots(mapping: Mapping) -> dict[str, str]:
    """Reader column name -> source column: one per mapped field, `<field>__<n>` for each part of a joined one."""
    slots = {}
    for name in mapping.fields:
        columns = mapping.columns_of(name)
        if len(columns) == 1:
            slots[name] = columns[0]
        else:
            slots.update({f"{name}__{number}": column for number, column in enumerate(columns, start=1)})
    if mapping.time_offset_milliseconds is not None:
        slots["time_offset"] = mapping.time_offset_milliseconds
    if mapping.anonymous_user_from is not None:
        slots["anonymous_user"] = mapping.anonymous_user_from
    return slots


def _positions(mapping: Mapping, names: list[str]) -> dict[str, int]:
    folded: dict[str, int] = {}
    for index, name in enumerate(names, start=1):
        folded.setdefault(name.lower(), index)
    # Optional columns the file lacks have no position.
    return {column: folded[column.lower()] for column in mapping.source_columns if column.lower() in folded}


def _malformed_reason(error_type: str) -> str:
    if error_type == "INVALID ENCODING":
        return "text in an unknown encoding"
    if error_type == "LINE SIZE OVER MAXIMUM":
        return "line too long"
    return "malformed line"


def make_scratch() -> tempfile.TemporaryDirectory:
    """A temporary folder for transcoded copies, removed by the caller."""
    return tempfile.TemporaryDirectory(prefix="shoplens-import-")


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex digest of a file's bytes."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()




def files_fitting(folder: Path, variants: tuple[Mapping, ...]) -> tuple[list[Path], list[Path]]:
    """Split the export files in `folder` into those whose header fits one of `variants` and the others.

    Args:
        folder: a folder of exports (CSV/TSV/Parquet/JSON lines, optionally gzip-compressed).
        variants: the layouts of a preset.

    Returns:
        (fitting files, other files), each sorted by name; hidden files are ignored.
    """
    fitting, others = [], []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if not path.name.lower().removesuffix(".gz").endswith((".csv", ".tsv", ".txt", ".parquet", ".jsonl",
                                                              ".ndjson", ".json")):
            others.append(path)
            continue
        try:
            kind = file_format(path)
            if kind in ("parquet", "jsonl"):
                _open_native(path, variants, kind)
            else:
                mapping, _, has_header = choose_variant(path, variants)
                if not has_header and len(variants) > 1:
                    raise ShopLensError("no header")
        except ShopLensError:
            others.append(path)
        else:
            fitting.append(path)
    return fitting, others
