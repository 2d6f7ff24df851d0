"""Renders CLI results as an aligned table, JSON or CSV."""

from __future__ import annotations

import io
import json
import math
from datetime import date, datetime
from typing import Any, Literal

import pandas as pd

Format = Literal["table", "json", "csv"]
FORMATS: tuple[str, ...] = ("table", "json", "csv")


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
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, lineterminator="\n")
        return buffer.getvalue()
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
