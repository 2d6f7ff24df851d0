"""What the Data page shows before anything is validated: the file's first rows and the column mapping."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from analytics.errors import ShopLensError
from analytics.importing.mapping import Mapping
from analytics.importing.presets import Preset
from analytics.importing.readers import choose_variant, file_format

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


def preview_file(path: Path, preset: Preset, rows: int = PREVIEW_ROWS) -> FilePreview:
    """Read the first `rows` rows of `path` with the layout `preset` picks for it.

    Args:
        path: a CSV/TSV/Parquet/JSON-lines file, optionally gzip-compressed.
        preset: the format to read it as.
        rows: how many rows to show, >= 1.

    Returns:
        A FilePreview.

    Raises:
        ShopLensError: the file is missing, empty, corrupt, or not in the preset's layout.
    """
    if not path.is_file():
        raise ShopLensError(f"{path} does not exist or is not a file; check the path")
    kind = file_format(path)
    with duckdb.connect() as con:
        try:
            if kind in ("parquet", "jsonl"):
                reader = "read_parquet($path)" if kind == "parquet" else "read_json($path, format = 'newline_delimited')"
                frame = con.execute(f"select * from {reader} limit $rows", {"path": str(path), "rows": rows}).df()
                layout = next((m for m in preset.variants
                               if all(c.lower() in {n.lower() for n in frame.columns} for c in m.source_columns)),
                              preset.variants[0])
                return FilePreview(layout, True, frame.astype("string"))
            layout, names, has_header = choose_variant(path, preset.variants)
            delimiter = layout.delimiter or ("\t" if kind == "tsv" else ",")
            columns = {f"c{index}": "VARCHAR" for index in range(1, len(names) + 1)}
            frame = con.execute(
                "select * from read_csv($path, header = $header, delim = $delimiter, quote = '\"', escape = '\"', "
                "columns = $columns, auto_detect = false, ignore_errors = true) limit $rows",
                {"path": str(path), "header": has_header, "delimiter": delimiter, "columns": columns, "rows": rows},
            ).df()
        except duckdb.Error as error:
            raise ShopLensError(f"cannot read {path.name}: {str(error).strip().splitlines()[0]}") from None
    frame.columns = names
    return FilePreview(layout, has_header, frame)


def mapping_frame(mapping: Mapping) -> pd.DataFrame:
    """The mapping as a table for people.

    Returns:
        Columns canonical_field, source_column, rule: one row per mapped field, then the
        time format, event-type translations and other options.
    """
    rows = [{"canonical_field": name, "source_column": column, "rule": ""} for name, column in mapping.fields.items()]
    time_field = "event_time" if mapping.target == "events" else "ordered_at"
    rows.append({"canonical_field": time_field, "source_column": mapping.fields.get(time_field, ""),
                 "rule": f"time format: {mapping.time_format} (UTC unless the text has an offset)"})
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
