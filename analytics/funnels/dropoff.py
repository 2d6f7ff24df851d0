"""Who dropped out at a step: the users who reached the step before it, and what they left behind.

For a merchandiser's win-back list: each user who reached step k - 1 but not step k (within the
window, in the query's order mode), with their events of step k - 1 in the filters: how many, when,
and on which products (for a purchase step, the products they carted and did not buy).
"""

from __future__ import annotations

from dataclasses import replace

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.errors import ShopLensError
from analytics.filters import Filters
from analytics.funnels.events_sql import step_predicate
from analytics.funnels.query import FunnelQuery
from analytics.funnels.runner import key_levels, read_step_events
from analytics.sql_files import read_sql


def dropped_users(con: duckdb.DuckDBPyConnection, query: FunnelQuery, filters: Filters,
                  step_number: int) -> pd.DataFrame:
    """Users who reached step `step_number - 1` but not step `step_number`.

    Args:
        con: a warehouse connection.
        query: the funnel; counted by users whatever its `count_by`, without breakdown.
        filters: the global filters.
        step_number: 2..len(steps), the step they did not reach.

    Returns:
        One row per user, most recent first: user_id, events (their step `step_number - 1` events
        in the filters), first_event_time, last_event_time (UTC), products (distinct count),
        product_ids (space-separated, sorted), categories (comma-separated, sorted).

    Raises:
        ShopLensError: `step_number` is not a step after the first.
    """
    query = replace(query, count_by="users", breakdown=None).validate()
    if not 2 <= step_number <= len(query.steps):
        raise ShopLensError(f"choose a step from 2 to {len(query.steps)} to list who dropped before it; "
                            f"got {step_number}")
    levels = key_levels(query, read_step_events(con, query, filters, ()), with_durations=False)
    user_keys = levels.keys[levels.level == step_number - 1]
    predicate, step_parameters = step_predicate(query, step_number - 2)
    sql = read_sql("funnels/dropped_users").replace("/*step_predicate*/", predicate)
    parameters = filters.sql_parameters() | step_parameters
    with con.cursor() as cursor:
        # The users go in as a registered relation, not as values in the SQL text.
        cursor.register("dropped_users", pa.table({"user_key": pa.array(user_keys.astype(np.int64))}))
        return cursor.execute(sql, parameters).df()
