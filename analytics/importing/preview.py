"""What the Data page shows before anything is validated: the file's first rows and the column mapping."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from analytics.errors import ShopLensError
from analytics.importing.mapping import JOINED_FIELDS, Mapping
from analytics.importing.presets import Preset
from analytics.importing.readers import (
    choose_variant,
    describe_duckdb_failure,
    file_format,
    fit_score,
    layout_mismatch,
)

PREVIEW_ROWS = 10


@dataclass(frozen=True)
class FilePreview:
    """The start of an export as the importer will read it.

    Attributes:
        layout: the preset variant chosen for the file.
        has_header: whether line 1 is a header.
        rows: the first rows, one text column per file column (names from the header or the mapping).
    """

    layout: Mapping
    has_header: bool
    rows: pd.DataFrame


def preview_file(path: Path, preset: Preset, rows: int = PREVIEW_ROWS, *, hide_user_ids: bool = False) -> FilePreview:
    """Read the first `rows` rows of `path` with the layout `preset` picks for it.

    Only the file's start is read (a gzip is decompressed as a stream and left at once), so a
    preview is cheap even for a file the import would refuse as too large.

    Args:
        path: a CSV/TSV/Parquet/JSON-lines file, optionally gzip-compressed.
        preset: the format to read it as.
        rows: how many rows to show, >= 1.
        hide_user_ids: show the user id column as "(pseudonymised)" (for imports with --pseudonymize,
            whose raw ids must not be shown).

    Returns:
        A FilePreview.

    Raises:
        ShopLensError: the file is missing, empty, corrupt, or not in the preset's layout; the
            message never quotes the file.
    """
    if not path.is_file():
        raise ShopLensError(f"{path.name} does not exist or is not a file; check the path")
    preview = _read_preview(path, preset, rows)
    if hide_user_ids:
        hidden = {column.lower() for column in preview.layout.columns_of("user_id")}
        if preview.layout.anonymous_user_from:
            hidden.add(preview.layout.anonymous_user_from.lower())
        frame = preview.rows.copy()
        for column in frame.columns:
            if str(column).lower() in hidden:
                frame[column] = "(pseudonymised)"
        preview = FilePreview(preview.layout, preview.has_header, frame)
    return preview


def _read_preview(path: Path, preset: Preset, rows: int) -> FilePreview:
    kind = file_format(path)
    with duckdb.connect() as con:
        try:
            if kind in ("parquet", "jsonl"):
                reader = "read_parquet($path)" if kind == "parquet" else "read_json($path, format = 'newline_delimited')"
                frame = con.execute(f"select * from {reader} limit $rows", {"path": str(path), "rows": rows}).df()
                fitting = [(-score, order, m) for order, m in enumerate(preset.variants)
                           if (score := fit_score(m, list(frame.columns))) is not None]
                if not fitting:
                    raise ShopLensError(layout_mismatch(path.name, preset.variants, list(frame.columns), None))
                return FilePreview(min(fitting, key=lambda item: item[:2])[2], True, frame.astype("string"))
            layout, names, has_header = choose_variant(path, preset.variants)
            delimiter = layout.delimiter or ("\t" if kind == "tsv" else ",")
            columns = {f"c{index}": "VARCHAR" for index in range(1, len(names) + 1)}
            frame = con.execute(
                "select * from read_csv($path, header = $header, delim = $delimiter, quote = '\"', escape = '\"', "
                "columns = $columns, auto_detect = false, ignore_errors = true) limit $rows",
                {"path": str(path), "header": has_header, "delimiter": delimiter, "columns": columns, "rows": rows},
            ).df()
        except duckdb.Error as error:
            raise ShopLensError(describe_duckdb_failure(error, path.name, kind)) from None
    frame.columns = names
    return FilePreview(layout, has_header, frame)


def mapping_frame(mapping: Mapping) -> pd.DataFrame:
    """The mapping as a table for people.

    Returns:
        Columns canonical_field, source_column, rule: one row per mapped field, then the
        time format, event-type translations and other options.
    """
    rows = []
    for name in mapping.fields:
        columns = mapping.columns_of(name)
        rule = f"joined with {JOINED_FIELDS[name]!r}" if len(columns) > 1 else ""
        if name in mapping.optional_fields:
            rule = (rule + "; " if rule else "") + "empty when the file lacks the column"
        rows.append({"canonical_field": name, "source_column": " + ".join(columns), "rule": rule})
    for name, value in mapping.constants.items():
        rows.append({"canonical_field": name, "source_column": "", "rule": f"always {value!r}"})
    time_field = mapping.time_field
    if time_field is not None:
        zone = (f"local time in {mapping.time_zone}, stored as UTC" if mapping.time_zone
                else "UTC")
        rows.append({"canonical_field": time_field, "source_column": " + ".join(mapping.columns_of(time_field)),
                     "rule": f"time format: {mapping.time_format} ({zone} unless the text has an offset)"})
    if mapping.time_offset_milliseconds:
        rows.append({"canonical_field": time_field, "source_column": mapping.time_offset_milliseconds,
                     "rule": "milliseconds added to the time"})
    for source, canonical in mapping.event_types.items():
        rows.append({"canonical_field": "event_type", "source_column": mapping.fields.get("event_type", ""),
                     "rule": f"{source} → {canonical}"})
    if mapping.event_type:
        rows.append({"canonical_field": "event_type", "source_column": "", "rule": f"always {mapping.event_type}"})
    if mapping.ignored_event_types:
        rows.append({"canonical_field": "event_type", "source_column": mapping.fields.get("event_type", ""),
                     "rule": "skipped: " + ", ".join(mapping.ignored_event_types)})
    if mapping.anonymous_user_from:
        rows.append({"canonical_field": "user_id", "source_column": mapping.anonymous_user_from,
                     "rule": "when empty: one anonymous visitor per value of this column"})
    if mapping.cancellation_prefix:
        rows.append({"canonical_field": "quantity", "source_column": mapping.fields.get("order_id", ""),
                     "rule": f"orders starting with {mapping.cancellation_prefix!r} are returns (negative quantity)"})
    if mapping.target == "orders" and "order_id" not in mapping.fields:
        rows.append({"canonical_field": "order_id", "source_column": "",
                     "rule": "one order per customer, product and time, numbered in file order"})
    return pd.DataFrame(rows, columns=["canonical_field", "source_column", "rule"])
