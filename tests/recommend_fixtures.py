"""A small generated shop with clear taste structure, for the recommendation tests.

30 products in 3 categories (Home, Toys, Books), 10 each, two brands per category.
150 users over 90 days (2025-01-01 to 2025-03-31), each with a favourite category:
every session views 2-4 products of it, and products come in "pairs" (2k, 2k+1)
that are usually viewed together; about a third of sessions cart and buy the first
product viewed, half of those together with its pair.
Seeded, so every run builds the same warehouse.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

CATEGORIES = ("Home", "Toys", "Books")
BRANDS = {"Home": ("Acme", "Homely"), "Toys": ("Lego", "Brio"), "Books": ("Penguin", "Vintage")}
NOUNS = {"Home": "Lamp", "Toys": "Blocks", "Books": "Novel"}
USERS = 150
DAYS = 90


def products() -> pd.DataFrame:
    rows = []
    for c, category in enumerate(CATEGORIES):
        for i in range(10):
            number = c * 10 + i
            brand = BRANDS[category][i % 2]
            rows.append({"product_id": f"P{number:02d}", "title": f"{brand} {NOUNS[category]} {i}",
                         "category_path": f"{category} > General", "brand": brand,
                         "list_price": float(10 + 5 * i)})
    return pd.DataFrame(rows)


def tables(seed: int = 7) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    catalogue = products()
    start = pd.Timestamp("2025-01-01")
    events, orders, items = [], [], []
    event_id = 0
    for u in range(USERS):
        user = f"U{u:03d}"
        favourite = u % 3
        for s in range(int(rng.integers(3, 7))):
            session = f"{user}-S{s}"
            moment = start + pd.Timedelta(days=float(rng.uniform(0, DAYS - 0.1)))
            pair = int(rng.integers(0, 5))
            viewed = [favourite * 10 + 2 * pair, favourite * 10 + 2 * pair + 1]
            if rng.random() < 0.5:
                viewed.append(favourite * 10 + int(rng.integers(0, 10)))
            for offset, product in enumerate(dict.fromkeys(viewed)):
                event_id += 1
                events.append((event_id, user, session, moment + pd.Timedelta(minutes=offset), "view",
                               f"P{product:02d}", None, catalogue["list_price"][product]))
            if rng.random() < 0.35:
                # Half the orders buy the viewed pair together, so "bought together" has pairs.
                bought = viewed[:2] if rng.random() < 0.5 else viewed[:1]
                order = f"O{len(orders) + 1:04d}"
                for kind, minutes in (("cart", 5), ("purchase", 8)):
                    for product in bought:
                        event_id += 1
                        events.append((event_id, user, session, moment + pd.Timedelta(minutes=minutes), kind,
                                       f"P{product:02d}", 1, catalogue["list_price"][product]))
                orders.append((order, user, session, moment + pd.Timedelta(minutes=8)))
                for line, product in enumerate(bought, start=1):
                    items.append((order, line, f"P{product:02d}", 1, catalogue["list_price"][product], 0.0))
    event_frame = pd.DataFrame(events, columns=["event_id", "user_id", "session_id", "event_time", "event_type",
                                                "product_id", "quantity", "price"])
    event_frame = event_frame.assign(
        quantity=event_frame["quantity"].astype("Int32"), search_query=pd.Series(pd.NA, dtype="string"),
        device="desktop", channel="direct",
    )
    order_frame = pd.DataFrame(orders, columns=["order_id", "user_id", "session_id", "ordered_at"]).assign(
        channel="direct", device="desktop")
    item_frame = pd.DataFrame(items, columns=["order_id", "line_number", "product_id", "quantity", "unit_price",
                                              "discount_amount"])
    return {"events": event_frame, "products": catalogue, "orders": order_frame, "order_items": item_frame}


def build_recommend_warehouse(folder: Path) -> Path:
    """Build the warehouse of this shop in `folder` and return its path."""
    from analytics.warehouse import build_warehouse
    from tests.tiny_shop import write_tiny_shop

    folder = Path(folder)
    target = folder / "warehouse.duckdb"
    build_warehouse(write_tiny_shop(folder / "source", tables()), target)
    return target
