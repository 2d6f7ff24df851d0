"""A hand-built cart log small enough to work out cart drop-off by hand.

Products (category path Home > Kitchen, median list price 20): P1 list 10 (0.5x, under 0.75x),
P2 list 20 (1x), P3 list 40 (2x, over 1.5x). The data ends at 2025-01-10 12:00 (U6's view).

Carts (all times UTC, 2025-01):
- A: U1 carts P1 01 10:00 (after viewing it at 09:59, desktop), buys 01 10:30 (order O1)  -> bought after 0.5 h.
- B: U2 carts P1 02 10:00 (mobile), never buys                                   -> abandoned, censored at 194 h.
- C: U3 carts P2 03 10:00 (mobile), buys 05 10:00 (order O2)                     -> 48 h: abandoned within 24 h, recovered.
- E: U1 carts P2 04 09:00, re-adds it 09:30, buys 12:00 (order O3, desktop)      -> one cart, bought after 3 h.
- H: U1 carts P1 again 06 10:00, after buying it in A (desktop), never buys      -> a new cart, censored at 98 h.
- D: U4 carts P2 10 01:00 (mobile), never buys                                   -> open: only 11 h observed.
- G: U5 carts P3 10 11:00 (app), buys 11:30 (order O4)                            -> bought after 0.5 h.

By hand for a 24 h window: 7 carts; bought within 24 h A, E, G (3); abandoned B, C, H (3);
open D (1); recovered C (1). G was bought, but its window had not closed when the data ends (1 h
observed), so rates count the 5 carts whose window closed (A, B, C, E, H): abandonment rate 3 / 5 = 0.6.
Kaplan–Meier over hours (events at 0.5 x2, 3, 48; censored at 11, 98, 194):
S(0.5) = 5/7, S(3) = 5/7 * 4/5 = 4/7, S(48) = 4/7 * 2/3 = 8/21; so S(24) = 4/7.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

PRODUCTS = pd.DataFrame(
    {
        "product_id": ["P1", "P2", "P3"],
        "title": ["Cup", "Pan", "Pot"],
        "category_path": ["Home > Kitchen"] * 3,
        "brand": ["Acme"] * 3,
        "list_price": [10.0, 20.0, 40.0],
    }
)

_EVENTS = [
    # event_id, user_id, session_id, event_time, event_type, product_id, quantity, price, device, channel
    (1, "U1", "S1", "2025-01-01 09:59", "view", "P1", None, 10.0, "desktop", "direct"),
    (2, "U1", "S1", "2025-01-01 10:00", "cart", "P1", 1, 10.0, "desktop", "direct"),
    (3, "U1", "S1", "2025-01-01 10:30", "purchase", "P1", 1, 10.0, "desktop", "direct"),
    (4, "U2", "S2", "2025-01-02 10:00", "cart", "P1", 1, 10.0, "mobile", "email"),
    (5, "U3", "S3", "2025-01-03 10:00", "cart", "P2", 1, 20.0, "mobile", "social"),
    (6, "U3", "S4", "2025-01-05 10:00", "purchase", "P2", 1, 20.0, "mobile", "social"),
    (7, "U1", "S5", "2025-01-04 09:00", "cart", "P2", 1, 20.0, "desktop", "direct"),
    (8, "U1", "S5", "2025-01-04 09:30", "cart", "P2", 1, 20.0, "desktop", "direct"),
    (9, "U1", "S6", "2025-01-04 12:00", "purchase", "P2", 1, 20.0, "desktop", "direct"),
    (10, "U1", "S7", "2025-01-06 10:00", "cart", "P1", 1, 10.0, "desktop", "direct"),
    (11, "U4", "S8", "2025-01-10 01:00", "cart", "P2", 1, 20.0, "mobile", "email"),
    (12, "U5", "S9", "2025-01-10 11:00", "cart", "P3", 1, 40.0, "app", "direct"),
    (13, "U5", "S9", "2025-01-10 11:30", "purchase", "P3", 1, 40.0, "app", "direct"),
    (14, "U6", "S10", "2025-01-10 12:00", "view", "P3", None, 40.0, "desktop", "direct"),
]

EVENTS = pd.DataFrame(
    [(*row[:8], None, *row[8:]) for row in _EVENTS],
    columns=[
        "event_id", "user_id", "session_id", "event_time", "event_type", "product_id",
        "quantity", "price", "search_query", "device", "channel",
    ],
).assign(
    event_time=lambda frame: pd.to_datetime(frame["event_time"]),
    quantity=lambda frame: frame["quantity"].astype("Int32"),
    search_query=lambda frame: frame["search_query"].astype("string"),
)

ORDERS = pd.DataFrame(
    {
        "order_id": ["O1", "O2", "O3", "O4"],
        "user_id": ["U1", "U3", "U1", "U5"],
        "session_id": ["S1", "S4", "S6", "S9"],
        "ordered_at": pd.to_datetime(["2025-01-01 10:30", "2025-01-05 10:00", "2025-01-04 12:00", "2025-01-10 11:30"]),
        "channel": ["direct", "social", "direct", "direct"],
        "device": ["desktop", "mobile", "desktop", "app"],
    }
)

ORDER_ITEMS = pd.DataFrame(
    {
        "order_id": ["O1", "O2", "O3", "O4"],
        "line_number": [1, 1, 1, 1],
        "product_id": ["P1", "P2", "P2", "P3"],
        "quantity": [1, 1, 1, 1],
        "unit_price": [10.0, 20.0, 20.0, 40.0],
        "discount_amount": [0.0, 0.0, 0.0, 0.0],
    }
)

TABLES = {"events": EVENTS, "products": PRODUCTS, "orders": ORDERS, "order_items": ORDER_ITEMS}

# cart_id (the event that opened the cart) -> what the docstring works out by hand.
CART_IDS = {"A": 2, "B": 4, "C": 5, "E": 7, "H": 10, "D": 11, "G": 12}
HOURS_TO_PURCHASE = {"A": 0.5, "B": None, "C": 48.0, "E": 3.0, "H": None, "D": None, "G": 0.5}
HOURS_OBSERVED = {"A": 218.0, "B": 194.0, "C": 170.0, "E": 147.0, "H": 98.0, "D": 11.0, "G": 1.0}


def build_cart_warehouse(folder: Path) -> Path:
    """Build a warehouse of this log in `folder` and return its path."""
    from pathlib import Path

    from analytics.warehouse import build_warehouse
    from tests.tiny_shop import write_tiny_shop

    folder = Path(folder)
    target = folder / "warehouse.duckdb"
    build_warehouse(write_tiny_shop(folder / "source", TABLES), target)
    return target
