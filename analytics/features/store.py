"""The feature store: user and product features defined once in SQL, computed as of a point in time.

The definitions live in `analytics/sql/features/user_features.sql` and
`product_features.sql`. Both take one bound parameter, `$as_of` (a UTC
timestamp), and read only events and orders strictly before it, so a feature
row as of t is the same whether or not the warehouse holds anything after t
(`tests/test_features_leakage.py` proves it).

The warehouse is read-only in the app, so feature tables are materialised
beside it, not in it: `<warehouse folder>/features/<data_version>/<entity>_<as_of>.parquet`
(by default `.shoplens/features/...`). A new build gets a new data version and
so a new folder; older folders are never read again and can be deleted. An
in-memory warehouse, or a folder that cannot be written, computes the features
each time instead.
"""

from __future__ import annotations

import os
import uuid
from datetime import date, datetime, time
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd

from analytics.errors import ShopLensError
from analytics.sql_files import read_sql

Entity = Literal["user", "product"]
ENTITIES: tuple[Entity, ...] = ("user", "product")

USER_FEATURES: dict[str, str] = {
    "days_since_last_event": "Days since the user's last event (>= 0)",
    "days_since_first_event": "Days since the user's first event (tenure, >= 0)",
    "days_since_last_purchase": "Days since the last order (>= 0; null for users who never ordered)",
    "views_7d": "Product views in the last 7 days",
    "views_30d": "Product views in the last 30 days",
    "categories_viewed_7d": "Distinct top-level categories viewed in the last 7 days",
    "categories_viewed_30d": "Distinct top-level categories viewed in the last 30 days",
    "carts_30d": "Add-to-cart events in the last 30 days",
    "searches_30d": "Searches in the last 30 days",
    "sessions_7d": "Visits started in the last 7 days",
    "sessions_30d": "Visits started in the last 30 days",
    "sessions_total": "Visits before as_of",
    "mean_session_depth": "Mean events per visit, all history",
    "mean_session_depth_30d": "Mean events per visit started in the last 30 days (null without one)",
    "mean_days_between_sessions": "Mean days between consecutive visits (null with one visit)",
    "orders_total": "Orders before as_of (RFM frequency)",
    "orders_30d": "Orders in the last 30 days",
    "revenue_total": "Net revenue of orders before as_of (RFM monetary)",
    "recency_score": "RFM recency quintile 1-5 among customers (5 = most recent; null for non-customers)",
    "frequency_score": "RFM frequency quintile 1-5 among customers (null for non-customers)",
    "monetary_score": "RFM monetary quintile 1-5 among customers (null for non-customers)",
    "open_cart_value": "Value of products carted in the last 30 days and not since bought or removed",
    "open_cart_products": "Products in that open cart",
    "mean_viewed_price_ratio_30d": "Mean list price / category median of products viewed in the last 30 days",
    "mean_viewed_discount_rate_30d": "Mean discount depth (1 - price / list price, 0-1) of views in the last 30 days",
    "median_view_to_cart_seconds": "Median seconds from a product's first view to its first cart",
    "median_cart_to_purchase_seconds": "Median seconds from a product's first cart to its first purchase",
    "viewed_products_carted_share": "Share of viewed products that were carted (0-1)",
    "carted_products_bought_share": "Share of carted products that were bought (0-1)",
    "app_session_share": "Share of visits on the app (0-1)",
    "mobile_session_share": "Share of visits on mobile web (0-1)",
    "desktop_session_share": "Share of visits on desktop (0-1)",
    "email_session_share": "Share of visits from email (0-1)",
}

PRODUCT_FEATURES: dict[str, str] = {
    "list_price": "Regular unit price",
    "price_ratio": "List price / median list price of its category_path",
    "views_7d": "Views in the last 7 days",
    "views_30d": "Views in the last 30 days",
    "viewers_30d": "Distinct users who viewed it in the last 30 days",
    "carts_30d": "Add-to-cart events in the last 30 days",
    "units_sold_30d": "Units bought in the last 30 days (purchase events)",
    "cart_rate_30d": "Carts / views in the last 30 days (null without views)",
    "revenue_30d": "Net revenue of its order lines in the last 30 days",
    "revenue_total": "Net revenue of its order lines before as_of",
    "mean_discount_rate_30d": "Mean discount depth of its views in the last 30 days (0-1)",
    "last_seen_discount_rate": "Discount depth at its last view before as_of (0-1)",
    "days_since_last_purchase": "Days since it was last bought (null if never)",
}


def as_of_timestamp(value: date | datetime | str) -> datetime:
    """Normalise an as-of point: a date means its midnight (the day's events are after it).

    Args:
        value: a date, a naive UTC datetime, or ISO text ("2025-06-01" or "2025-06-01T12:00").

    Returns:
        A naive datetime (UTC).
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ShopLensError(f"the as-of point {value!r} is not a date; write it as YYYY-MM-DD") from None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ShopLensError(f"the as-of point {value} has a time zone; give it in UTC without one")
        return value
    return datetime.combine(value, time())


def compute_features(con: duckdb.DuckDBPyConnection, as_of: date | datetime | str,
                     entity: Entity = "user") -> pd.DataFrame:
    """Compute the features of every user or product as of a point in time, without caching.

    Args:
        con: a warehouse connection (read-only is fine).
        as_of: the point in time; only events and orders strictly before it count.
        entity: "user" (one row per user with an event before as_of) or "product"
            (one row per product in dim_products).

    Returns:
        user_id or product_id, as_of, then the columns of USER_FEATURES or PRODUCT_FEATURES
        (product rows also carry category and category_path), sorted by the id.
    """
    if entity not in ENTITIES:
        raise ShopLensError(f"the entity {entity!r} is unknown; choose one of {', '.join(ENTITIES)}")
    point = as_of_timestamp(as_of)
    return con.cursor().execute(read_sql(f"features/{entity}_features"), {"as_of": point}).df()


def feature_directory(con: duckdb.DuckDBPyConnection) -> Path | None:
    """Where this warehouse's features are materialised, or None for an in-memory warehouse.

    Returns:
        `<warehouse folder>/features/<data_version>`; None without a file or without build metadata.
    """
    cursor = con.cursor()
    path = cursor.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
    if not path or not path[0]:
        return None
    try:
        version = cursor.execute("select data_version from meta_warehouse").fetchone()[0]
    except duckdb.Error:
        # Not a ShopLens build (no metadata): there is no data version to key the files on.
        return None
    return Path(path[0]).resolve().parent / "features" / str(version)


def feature_file(con: duckdb.DuckDBPyConnection, as_of: date | datetime | str, entity: Entity) -> Path | None:
    """The Parquet file that holds (or will hold) one materialised feature table."""
    directory = feature_directory(con)
    if directory is None:
        return None
    return directory / f"{entity}_{as_of_timestamp(as_of):%Y-%m-%dT%H%M%S}.parquet"


def load_features(con: duckdb.DuckDBPyConnection, as_of: date | datetime | str,
                  entity: Entity = "user") -> pd.DataFrame:
    """The features as of a point in time, materialised once per data version and read back after.

    Args:
        con: a warehouse connection.
        as_of: the point in time; only events and orders strictly before it count.
        entity: "user" or "product".

    Returns:
        As `compute_features`.
    """
    path = feature_file(con, as_of, entity)
    if path is not None and path.is_file():
        return pd.read_parquet(path)
    frame = compute_features(con, as_of, entity)
    if path is not None:
        _write_atomically(frame, path)
    return frame


def _write_atomically(frame: pd.DataFrame, path: Path) -> None:
    # Another session may write the same file at once; each writes its own temporary file and
    # the rename makes one of them win whole. A folder we may not write only costs the cache.
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(partial, index=False)
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)
