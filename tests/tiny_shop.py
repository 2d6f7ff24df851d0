"""A hand-built shop small enough to compute every KPI by hand.

Journeys (all times UTC):
- U1, session S1 on 2025-01-01 (desktop, organic_search): views, carts and buys the
  phone P1 (list 100, 10 off) -> order O1, revenue 90.
- U1, session S2 on 2025-01-02 (mobile, direct): views the mug P2 and the book P3; buys nothing.
- U2, session S3 on 2025-01-02 (mobile, email): searches "杯子", buys 2 mugs at 10
  and 1 book at 20 -> order O2, revenue 40.
- U3 has no session ids and no users row: on 2025-01-03 views at 08:00 and 08:10
  form one derived session, a view at 09:00 (50 minutes later) starts another.

Hand-computed for 2025-01-01..2025-01-03: 5 sessions, 3 users, 2 converted
sessions (rate 0.4), 2 orders, revenue 130, average order value 65, 4 units.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

PRODUCTS = pd.DataFrame(
    {
        "product_id": ["P1", "P2", "P3"],
        "title": ["Phone X", "陶瓷 马克杯 Mug", "A Novel"],
        "category_path": ["Electronics > Phones", "Home > Kitchen", "Books > Fiction"],
        "brand": ["Acme", "家居", "Pages"],
        "list_price": [100.0, 10.0, 20.0],
    }
)

USERS = pd.DataFrame(
    {
        "user_id": ["U1", "U2"],
        "first_seen_at": pd.to_datetime(["2025-01-01 10:00", "2025-01-02 12:00"]),
        "acquisition_channel": ["organic_search", "email"],
        "region": ["Shanghai", "Beijing"],
    }
)

_EVENTS = [
    # event_id, user_id, session_id, event_time, event_type, product_id, quantity, price, search_query, device, channel
    (1, "U1", "S1", "2025-01-01 10:00", "view", "P1", None, 100.0, None, "desktop", "organic_search"),
    (2, "U1", "S1", "2025-01-01 10:01", "cart", "P1", 1, 100.0, None, "desktop", "organic_search"),
    (3, "U1", "S1", "2025-01-01 10:02", "purchase", "P1", 1, 90.0, None, "desktop", "organic_search"),
    (4, "U1", "S2", "2025-01-02 09:00", "view", "P2", None, 10.0, None, "mobile", "direct"),
    (5, "U1", "S2", "2025-01-02 09:01", "view", "P3", None, 20.0, None, "mobile", "direct"),
    (6, "U2", "S3", "2025-01-02 12:00", "search", None, None, None, "杯子", "mobile", "email"),
    (7, "U2", "S3", "2025-01-02 12:01", "view", "P2", None, 10.0, None, "mobile", "email"),
    (8, "U2", "S3", "2025-01-02 12:02", "cart", "P2", 2, 10.0, None, "mobile", "email"),
    (9, "U2", "S3", "2025-01-02 12:03", "cart", "P3", 1, 20.0, None, "mobile", "email"),
    (10, "U2", "S3", "2025-01-02 12:04", "purchase", "P2", 2, 10.0, None, "mobile", "email"),
    (11, "U2", "S3", "2025-01-02 12:04", "purchase", "P3", 1, 20.0, None, "mobile", "email"),
    (12, "U3", None, "2025-01-03 08:00", "view", "P3", None, 20.0, None, "desktop", "social"),
    (13, "U3", None, "2025-01-03 08:10", "view", "P1", None, 100.0, None, "desktop", "social"),
    (14, "U3", None, "2025-01-03 09:00", "view", "P1", None, 100.0, None, "desktop", "social"),
]

EVENTS = pd.DataFrame(
    _EVENTS,
    columns=[
        "event_id", "user_id", "session_id", "event_time", "event_type", "product_id",
        "quantity", "price", "search_query", "device", "channel",
    ],
).assign(event_time=lambda frame: pd.to_datetime(frame["event_time"]), quantity=lambda f: f["quantity"].astype("Int32"))

ORDERS = pd.DataFrame(
    {
        "order_id": ["O1", "O2"],
        "user_id": ["U1", "U2"],
        "session_id": ["S1", "S3"],
        "ordered_at": pd.to_datetime(["2025-01-01 10:02", "2025-01-02 12:04"]),
        "channel": ["organic_search", "email"],
        "device": ["desktop", "mobile"],
    }
)

ORDER_ITEMS = pd.DataFrame(
    {
        "order_id": ["O1", "O2", "O2"],
        "line_number": [1, 1, 2],
        "product_id": ["P1", "P2", "P3"],
        "quantity": [1, 2, 1],
        "unit_price": [100.0, 10.0, 20.0],
        "discount_amount": [10.0, 0.0, 0.0],
    }
)

PROMOTIONS = pd.DataFrame(
    {
        "promotion_id": ["PR1"],
        "name": ["New Year phone deal"],
        "start_date": pd.to_datetime(["2025-01-01"]).date,
        "end_date": pd.to_datetime(["2025-01-01"]).date,
        "scope": ["category"],
        "scope_value": ["Electronics"],
        "discount_rate": [0.1],
    }
)

TABLES = {
    "events": EVENTS,
    "products": PRODUCTS,
    "users": USERS,
    "orders": ORDERS,
    "order_items": ORDER_ITEMS,
    "promotions": PROMOTIONS,
}


def write_tiny_shop(folder: Path, tables: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write the tiny shop (or `tables`) as Parquet files into `folder` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in (tables or TABLES).items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder
