"""Reading the import log and the rejected rows back out of a warehouse."""

from __future__ import annotations

import duckdb
import pandas as pd

HISTORY_COLUMNS = ["imported_at", "import_id", "file_name", "preset", "layout", "rows_read", "rows_loaded",
                   "rows_already_loaded", "rows_ignored", "rows_rejected", "is_pseudonymized", "file_sha256"]
REJECT_COLUMNS = ["import_id", "file_name", "line", "reason", "row_text"]


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return con.execute(
        "select count(*) from information_schema.tables where table_name = $name", {"name": name}
    ).fetchone()[0] > 0


def import_history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every imported file, newest first.

    Returns:
        Columns HISTORY_COLUMNS; empty when the warehouse has had no imports.
    """
    if not _has_table(con, "meta_imports"):
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    return con.execute(
        f"select {', '.join(HISTORY_COLUMNS)} from meta_imports order by imported_at desc, file_name"
    ).df()


def list_rejects(
    con: duckdb.DuckDBPyConnection, *, import_id: str | None = None, reason: str | None = None, limit: int = 100
) -> pd.DataFrame:
    """Rejected rows with their reason and source file/line.

    Args:
        con: a warehouse connection.
        import_id: only this import's rejects.
        reason: only this reason (e.g. "unparseable timestamp").
        limit: at most this many rows.

    Returns:
        Columns REJECT_COLUMNS, in file and line order.
    """
    if not _has_table(con, "rejects"):
        return pd.DataFrame(columns=REJECT_COLUMNS)
    return con.execute(
        "select import_id, file_name, line, reason, row_text from rejects "
        "where ($import_id is null or import_id = $import_id) and ($reason is null or reason = $reason) "
        "order by import_id, file_name, line limit $limit",
        {"import_id": import_id, "reason": reason, "limit": limit},
    ).df()
