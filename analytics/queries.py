"""Runs the report queries in `sql/reports/` with bound parameters."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from analytics.sql_files import read_sql


def run_report(con: duckdb.DuckDBPyConnection, name: str, parameters: dict[str, Any]) -> pd.DataFrame:
    """Run `sql/reports/<name>.sql` on its own cursor and return the rows.

    Args:
        con: a warehouse connection, possibly shared between threads.
        name: the report's file name without `.sql`.
        parameters: values for the `$name` placeholders the query uses; extra keys are ignored.

    Returns:
        The result as a DataFrame, columns as the query names them.
    """
    sql = read_sql(f"reports/{name}")
    used = {key: value for key, value in parameters.items() if f"${key}" in sql}
    # A cursor per query: DuckDB connections are not thread-safe, and every
    # Streamlit session runs in its own thread.
    with con.cursor() as cursor:
        return cursor.execute(sql, used).df()
