"""How much an import may read, checked in one streaming pass before anything is staged.

A 3 MB gzip can expand to gigabytes (a "decompression bomb"). Before a file
is staged, `scan_file` reads it once as a stream, in chunks, counting the
decompressed bytes and the lines, and checking that the text is UTF-8; it
stops at the first limit crossed, so a bomb is refused after reading at most
a few dozen megabytes, in a second or two and with no more memory than one
chunk. Parquet files are judged from their footer (row count and
uncompressed size) without reading the data.

Limits come from the environment (`SHOPLENS_IMPORT_MAX_BYTES`,
`SHOPLENS_IMPORT_MAX_ROWS`, `SHOPLENS_IMPORT_MAX_RATIO`) or are passed in.
"""

from __future__ import annotations

import codecs
import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics.errors import ShopLensError

MAX_BYTES_ENV = "SHOPLENS_IMPORT_MAX_BYTES"
MAX_ROWS_ENV = "SHOPLENS_IMPORT_MAX_ROWS"
MAX_RATIO_ENV = "SHOPLENS_IMPORT_MAX_RATIO"
# 8 GiB of text is about 60M rows of a wide export, more than a 2-core machine imports in minutes.
DEFAULT_MAX_BYTES = 8 << 30
DEFAULT_MAX_ROWS = 100_000_000
# Real CSV exports compress 5-15 times (the REES46 and Taobao files here: 7 and 5); a bomb
# compresses hundreds or thousands of times. Judged only past RATIO_GRACE_BYTES, so small
# files of repeated lines (which compress well) are never refused for it.
DEFAULT_MAX_RATIO = 100.0
RATIO_GRACE_BYTES = 64 << 20
CHUNK_BYTES = 4 << 20


@dataclass(frozen=True)
class ImportLimits:
    """The most an import reads from one file.

    Attributes:
        max_bytes: decompressed bytes.
        max_rows: lines (rows plus a header).
        max_ratio: decompressed bytes per compressed byte of a gzip file, judged past RATIO_GRACE_BYTES.
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS
    max_ratio: float = DEFAULT_MAX_RATIO

    @classmethod
    def from_environment(cls) -> ImportLimits:
        """Limits from SHOPLENS_IMPORT_MAX_BYTES / _MAX_ROWS / _MAX_RATIO, else the defaults.

        Raises:
            ShopLensError: a variable is set but is not a positive number.
        """
        return cls(
            max_bytes=int(_positive(MAX_BYTES_ENV, DEFAULT_MAX_BYTES)),
            max_rows=int(_positive(MAX_ROWS_ENV, DEFAULT_MAX_ROWS)),
            max_ratio=_positive(MAX_RATIO_ENV, DEFAULT_MAX_RATIO),
        )


def _positive(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ShopLensError(f"{name}={text!r} is not a positive number; unset it to use the default {default:g}")
    return value


@dataclass(frozen=True)
class FileScan:
    """What one pass over a text file found.

    Attributes:
        bytes_read: decompressed bytes.
        lines: lines (the last one counted even without a final newline).
        is_utf8: the whole text decodes as UTF-8.
        has_bom: the text starts with a UTF-8 byte-order mark.
    """

    bytes_read: int
    lines: int
    is_utf8: bool
    has_bom: bool


def is_gzip(path: Path) -> bool:
    """Whether the file name ends in .gz."""
    return path.name.lower().endswith(".gz")


def open_binary(path: Path):
    """Open the file for reading bytes, decompressing a .gz file as a stream."""
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def describe_read_failure(error: BaseException, name: str) -> str:
    """Say in the user's words why a file could not be read, never echoing its content or a server path."""
    if isinstance(error, EOFError) or "end-of-stream" in str(error) or "truncated" in str(error).lower():
        return f"{name} ends early: it looks truncated; upload (or copy) it again"
    if isinstance(error, (gzip.BadGzipFile, zlib.error)):
        return f"{name} is not a valid gzip file although its name ends in .gz; use the original export"
    if isinstance(error, IsADirectoryError):
        return f"{name} is a folder, not a file; choose the export file inside it"
    if isinstance(error, PermissionError):
        return f"{name} cannot be opened: permission denied; make it readable by ShopLens"
    return f"{name} cannot be read ({type(error).__name__}); check that the file is complete and not corrupt"


def scan_file(path: Path, limits: ImportLimits, *, name: str | None = None) -> FileScan:
    """Read a text file once, as a stream, checking it against `limits`.

    Args:
        path: a CSV/TSV/JSON-lines file, optionally gzip-compressed.
        limits: the limits to enforce.
        name: how to call the file in messages (default: its name).

    Returns:
        A FileScan.

    Raises:
        ShopLensError: a limit is crossed (reading stops there), or the file is truncated or corrupt.
    """
    name = name or path.name
    compressed = path.stat().st_size if is_gzip(path) else None
    decoder = codecs.getincrementaldecoder("utf-8")()
    total = lines = 0
    is_utf8 = True
    has_bom = False
    last = b""
    try:
        with open_binary(path) as handle:
            while chunk := handle.read(CHUNK_BYTES):
                if total == 0:
                    has_bom = chunk.startswith(b"\xef\xbb\xbf")
                total += len(chunk)
                lines += chunk.count(b"\n")
                last = chunk[-1:]
                _check(total, lines, compressed, limits, name)
                if is_utf8:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        is_utf8 = False
            if is_utf8:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    is_utf8 = False
    except ShopLensError:
        raise
    except (OSError, EOFError, zlib.error) as error:
        raise ShopLensError(describe_read_failure(error, name)) from None
    if total and last != b"\n":
        lines += 1
    return FileScan(total, lines, is_utf8, has_bom)


def _check(total: int, lines: int, compressed: int | None, limits: ImportLimits, name: str) -> None:
    if total > limits.max_bytes:
        raise ShopLensError(
            f"{name} holds more than {_size(limits.max_bytes)} of text once decompressed, the most an import "
            f"reads; split the export, or raise {MAX_BYTES_ENV}"
        )
    if lines > limits.max_rows:
        raise ShopLensError(
            f"{name} has more than {limits.max_rows:,} lines, the most an import reads; split the export, or raise "
            f"{MAX_ROWS_ENV}"
        )
    if compressed and total > RATIO_GRACE_BYTES and total / compressed > limits.max_ratio:
        raise ShopLensError(
            f"{name} expands more than {limits.max_ratio:g} times when decompressed, which real exports do not: "
            f"it looks like a decompression bomb, so it was not imported (raise {MAX_RATIO_ENV} if it is genuine)"
        )


def check_parquet(path: Path, limits: ImportLimits, *, name: str | None = None) -> int:
    """Check a Parquet file's rows and uncompressed size from its footer; returns its rows.

    Raises:
        ShopLensError: it is not a readable Parquet file, or it crosses a limit.
    """
    name = name or path.name
    try:
        with duckdb.connect() as con:
            rows, uncompressed = con.execute(
                "select coalesce(sum(num_rows), 0) from parquet_file_metadata($path)", {"path": str(path)}
            ).fetchone()[0], con.execute(
                "select coalesce(sum(total_uncompressed_size), 0) from parquet_metadata($path)", {"path": str(path)}
            ).fetchone()[0]
    except duckdb.Error:
        raise ShopLensError(f"{name} is not a readable Parquet file; export it again") from None
    if rows > limits.max_rows:
        raise ShopLensError(f"{name} has {rows:,} rows, more than the {limits.max_rows:,} an import reads; split it, "
                            f"or raise {MAX_ROWS_ENV}")
    if uncompressed > limits.max_bytes:
        raise ShopLensError(f"{name} holds {_size(uncompressed)} of data uncompressed, more than the "
                            f"{_size(limits.max_bytes)} an import reads; split it, or raise {MAX_BYTES_ENV}")
    return int(rows)


def _size(count: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024
    return f"{count:,.1f} GiB"
