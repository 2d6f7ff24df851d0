"""Reads export files as text columns with their source line.

CSV/TSV (optionally gzip) goes through DuckDB's `read_csv` with every column
typed VARCHAR and no auto-detection, so nothing is guessed and a bad value is
a validation finding, not a crash. Malformed lines (too many or too few
fields, over-long lines) are captured with their line number by DuckDB's
`store_rejects`. Text that is not UTF-8 (a GBK export, or a file with mixed
encodings) is transcoded line by line in Python into a temporary UTF-8 file,
keeping line numbers. Parquet and JSON lines are read natively and cast to text.
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
        malformed: (line, reason, text) of lines the CSV reader could not split into the columns.
        bad_encoding_lines: lines in no known encoding (read with replacement characters, then rejected).
        gbk_lines: lines that were GBK and were converted to UTF-8.
        has_bom: the file started with a UTF-8 byte-order mark (ignored).
        reader_sql, reader_parameters: the query that reads the file (see `open_file`).
        errors_table, scans_table: where DuckDB stores the lines it could not split (CSV only).
        first_data_line: 2 when line 1 is a header.
        temporary_copy: a transcoded UTF-8 copy, deleted by `finish_read`.
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
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def _first_line(path: Path) -> bytes:
    try:
        with _open_binary(path) as handle:
            return handle.readline(_SNIFF_BYTES)
    except (OSError, EOFError, zlib.error) as error:
        raise ShopLensError(f"cannot read {path}: {error}; check that the file is complete and not corrupt") from None


def _split_header(line: bytes, delimiter: str) -> list[str]:
    text = line.removeprefix(UTF8_BOM).decode("utf-8", errors="replace").rstrip("\r\n")
    # newline="" lets the csv module treat a stray carriage return as the end of the header
    # instead of raising on it (a malformed file must get a report, not a traceback).
    return [name.strip() for name in next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])]


def choose_variant(path: Path, variants: tuple[Mapping, ...]) -> tuple[Mapping, list[str], bool]:
    """Pick the layout of a delimited file from its first line.

    Args:
        path: the file.
        variants: the candidate mappings, the first used for a headerless file.

    Returns:
        (mapping, the file's column names, whether the first line is a header).

    Raises:
        ShopLensError: the file is empty, or its header names none of the layouts' columns.
    """
    first = _first_line(path)
    if not first.strip():
        raise ShopLensError(f"{path} is empty; export the data again, with a header row")
    for mapping in variants:
        delimiter = mapping.delimiter or ("\t" if file_format(path) == "tsv" else ",")
        names = _split_header(first, delimiter)
        folded = {name.lower() for name in names}
        if mapping.header != "no" and all(column.lower() in folded for column in mapping.source_columns):
            return mapping, names, True
    default = variants[0]
    delimiter = default.delimiter or ("\t" if file_format(path) == "tsv" else ",")
    names = _split_header(first, delimiter)
    if default.header != "yes" and default.columns and len(names) == len(default.columns):
        known = {column.lower() for variant in variants for column in variant.columns}
        if not known & {name.lower() for name in names}:
            return default, list(default.columns), False
    expected = " or ".join(", ".join(variant.source_columns) for variant in variants)
    raise ShopLensError(
        f"{path.name}: line 1 has columns {_printable(', '.join(names[:12])) or '(none)'} but preset {default.name!r} needs "
        f"{expected} (separated by {delimiter!r}); pick the right --preset or write a mapping file"
    )


def _printable(text: str, limit: int = 120) -> str:
    # Random bytes decode to control characters; show them escaped and cut long headers short.
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return shown if len(shown) <= limit else shown[:limit] + "..."


def _is_utf8(path: Path) -> bool:
    return _decodes_as(path, "utf-8")


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
        raise ShopLensError(f"cannot read {path}: {error}; check that the file is complete and not corrupt") from None
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


def open_file(path: Path, variants: tuple[Mapping, ...], scratch: Path) -> FileRead:
    """Choose the file's layout, fix its encoding, and prepare the query that reads it.

    The query (`read.reader_sql`, parameters in `read.reader_parameters`) yields
    an empty `line` and one text column per mapped slot. It runs once, inside
    the statement that judges the rows, so the data is read a single time;
    call `number_lines` and then `finish_read` right after it.

    Args:
        path: the export file.
        variants: the layouts to choose from.
        scratch: a folder for transcoded copies.

    Returns:
        The FileRead, with encoding findings filled in.

    Raises:
        ShopLensError: the file cannot be read at all (empty, corrupt, wrong layout).
    """
    kind = file_format(path)
    if kind in ("parquet", "jsonl"):
        return _open_native(path, variants, kind)
    mapping, names, has_header = choose_variant(path, variants)
    read = FileRead(path, mapping)
    read.has_bom = _first_line(path).startswith(UTF8_BOM)
    source = path
    if not _is_utf8(path):
        source = scratch / f"{uuid.uuid4().hex}.csv"
        transcode_to_utf8(path, source, read)
        read.temporary_copy = source
    positions = _positions(mapping, names)
    read.errors_table = f"import_errors_{uuid.uuid4().hex}"
    read.scans_table = f"import_scans_{uuid.uuid4().hex}"
    read.first_data_line = 2 if has_header else 1
    selected = ", ".join(f"c{positions[column]} as \"{slot}\"" for slot, column in _slots(mapping).items())
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
        "reader_delimiter": mapping.delimiter or ("\t" if kind == "tsv" else ","),
        "reader_columns": {f"c{index}": "VARCHAR" for index in range(1, len(names) + 1)},
        "reader_compression": "gzip" if source.name.lower().endswith(".gz") else "none",
    }
    return read


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
    first_error = {int(line): (int(line), _malformed_reason(kind), text[:500]) for line, kind, text in reversed(malformed)}
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
        raise ShopLensError(f"cannot read {path.name}: {_first_message_line(error)}; "
                            "check that the file is complete and not corrupt") from None
    folded = {name.lower() for name in names}
    mapping = next((m for m in variants if all(c.lower() in folded for c in m.source_columns)), None)
    if mapping is None:
        expected = " or ".join(", ".join(variant.source_columns) for variant in variants)
        raise ShopLensError(f"{path.name} has columns {_printable(', '.join(names[:12]))} but the preset needs {expected}")
    read = FileRead(path, mapping)
    positions = _positions(mapping, names)
    # Positional column references keep the file's column names out of the SQL text.
    selected = ", ".join(
        f"cast(c{positions[column]} as varchar) as \"{slot}\"" for slot, column in _slots(mapping).items()
    )
    renamed = ", ".join(f"#{index} as c{index}" for index in range(1, len(names) + 1))
    read.reader_sql = f"select cast(null as bigint) as line, {selected} from (select {renamed} from {reader})"
    read.reader_parameters = {"reader_path": str(path)}
    return read


def _slots(mapping: Mapping) -> dict[str, str]:
    slots = dict(mapping.fields)
    if mapping.time_offset_milliseconds is not None:
        slots["time_offset"] = mapping.time_offset_milliseconds
    if mapping.anonymous_user_from is not None:
        slots["anonymous_user"] = mapping.anonymous_user_from
    return slots


def _positions(mapping: Mapping, names: list[str]) -> dict[str, int]:
    folded: dict[str, int] = {}
    for index, name in enumerate(names, start=1):
        folded.setdefault(name.lower(), index)
    return {column: folded[column.lower()] for column in mapping.source_columns}


def _malformed_reason(error_type: str) -> str:
    if error_type == "INVALID ENCODING":
        return "text in an unknown encoding"
    if error_type == "LINE SIZE OVER MAXIMUM":
        return "line too long"
    return "malformed line"


def _first_message_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]


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


