"""Thin data: the committed sample cut to its last few hours, like a short click-log excerpt.

Real excerpts (the Taobao file in ../shared/data covers 2 hours) leave most carts open, one cohort and
one day of every trend. Pages must answer such data with a clear sentence, never an exception; this
copy lets CI check that without the shared data.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = REPO_ROOT / "sample_data"


def write_thin_shop(folder: Path, hours: int = 2) -> Path:
    """Write the sample's last `hours` hours of events and orders (with their lines, products and users) to `folder`.

    Returns:
        `folder`, ready for `analytics.warehouse.build_warehouse`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"set variable cut = (select max(event_time) from '{SAMPLE_DATA / 'events.parquet'}') "
                f"- interval {int(hours)} hour")
    queries = {
        "events": f"select * from '{SAMPLE_DATA / 'events.parquet'}' where event_time > getvariable('cut')",
        "orders": f"select * from '{SAMPLE_DATA / 'orders.parquet'}' where ordered_at > getvariable('cut')",
        "order_items": (f"select * from '{SAMPLE_DATA / 'order_items.parquet'}' where order_id in "
                        f"(select order_id from '{SAMPLE_DATA / 'orders.parquet'}' where ordered_at > getvariable('cut'))"),
        "products": f"select * from '{SAMPLE_DATA / 'products.parquet'}'",
        "users": f"select * from '{SAMPLE_DATA / 'users.parquet'}'",
    }
    for name, query in queries.items():
        con.execute(f"copy ({query}) to '{folder / f'{name}.parquet'}' (format parquet)")
    con.close()
    return folder
