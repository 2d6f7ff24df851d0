"""Appends an import's accepted rows to the `source_*` tables, and derives what one kind of data implies.

Each `append_*` marks the staged rows the warehouse already holds, then (unless
it is a dry run) writes the others, and returns file number -> (loaded,
already loaded). Catalogue and promotion rows for ids already present update
them (a catalogue knows a product better than the events that mentioned it);
identical rows count as already loaded.

Derivations, so that every kind of export feeds the analyses it can:
- purchase events of an events import become orders (`derive_orders_from_events`),
  unless the warehouse holds orders from an orders file (those already count the sales);
- order lines of an orders import become purchase events (`derive_events_from_orders`),
  unless the warehouse holds purchase events from an events file. The events made
  are listed in `meta_derived_events`, so that an events file with its own purchases
  can replace them later (`drop_derived_events`), just as an orders file replaces
  orders made from purchase events (`drop_derived_orders`).
"""

from __future__ import annotations

import duckdb

from analytics.importing.transform import DERIVED_ORDER_PREFIX, EVENT_NATURAL_KEY, UNKNOWN, derive_order_lines

Counts = dict[int, tuple[int, int]]


def create_derivation_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create `meta_derived_events` (event_id, order_id, line_number) when missing."""
    con.execute("create table if not exists meta_derived_events (event_id bigint, order_id varchar, line_number integer)")


def _counts(con: duckdb.DuckDBPyConnection, sql: str) -> Counts:
    return {number: (loaded, already) for number, loaded, already in con.execute(sql).fetchall()}


def append_events(con: duckdb.DuckDBPyConnection, *, dry_run: bool) -> Counts:
    """Append accepted events not yet loaded (and the products they describe)."""
    if con.execute("select exists (select 1 from source_events)").fetchone()[0]:
        # A stored event without an order id (loaded before order ids were kept) matches on the other fields.
        con.execute(f"""
update import_events set is_loaded = true
from (
    select distinct staged.file_number, staged.line
    from import_events as staged
    join (select {EVENT_NATURAL_KEY} as natural_key, order_id from source_events) as stored
      on staged.natural_key = stored.natural_key
     and (stored.order_id is null or stored.order_id is not distinct from staged.source_order_id)
    where staged.reason is null and not staged.is_ignored
) as matched
where import_events.file_number = matched.file_number and import_events.line = matched.line
""")
    if not dry_run:
        con.execute(
            "insert into source_events by name "
            "select (select coalesce(max(event_id), 0) from source_events) + row_number() over () as event_id, "
            "user_id, session_id, event_time, event_type, product_id, quantity, price, "
            "search_query, device, channel, source_order_id as order_id "
            "from import_events where reason is null and not is_ignored and not is_loaded"
        )
        con.execute(
            "insert into source_products by name "
            "select product_id, arg_min(title, line) as title, arg_min(category_path, line) as category_path, "
            "arg_min(brand, line) as brand, cast(null as double) as list_price "
            "from import_events "
            "where reason is null and not is_ignored and product_id is not null "
            "and (category_path is not null or brand is not null or title is not null) "
            "and product_id not in (select product_id from source_products) "
            "group by product_id"
        )
    return _counts(con, "select file_number, count(*) filter (where not is_loaded), count(*) filter (where is_loaded) "
                        "from import_events where reason is null and not is_ignored group by file_number")


def append_orders(con: duckdb.DuckDBPyConnection, *, dry_run: bool) -> Counts:
    """Append accepted order lines of orders not yet loaded (an order already loaded is not extended)."""
    con.execute(
        "create or replace temp table import_new as "
        "select file_number, line, order_id in (select order_id from source_orders) as is_loaded "
        "from import_order_keys"
    )
    if not dry_run:
        con.execute(
            "insert into source_orders by name "
            "select order_id, min(user_id) as user_id, cast(null as varchar) as session_id, "
            "min(ordered_at) as ordered_at, min(channel) as channel, min(device) as device "
            "from import_order_keys where order_id not in (select order_id from source_orders) group by order_id"
        )
        con.execute(
            "insert into source_order_items by name "
            "select order_id, line_number, product_id, quantity, unit_price, discount_amount "
            "from import_order_keys join import_new using (file_number, line) where not import_new.is_loaded"
        )
        con.execute(
            "insert into source_products by name "
            "select product_id, arg_min(title, line) as title, arg_min(category_path, line) as category_path, "
            "cast(null as varchar) as brand, cast(null as double) as list_price "
            "from import_order_keys "
            f"where product_id <> '{UNKNOWN}' and (title is not null or category_path is not null) "
            "and product_id not in (select product_id from source_products) group by product_id"
        )
    return _counts(con, "select file_number, count(*) filter (where not is_loaded), count(*) filter (where is_loaded) "
                        "from import_new group by file_number")


def append_products(con: duckdb.DuckDBPyConnection, *, dry_run: bool) -> Counts:
    """Add new catalogue rows and update known products with the catalogue's (non-empty) values."""
    con.execute("""
update import_products set is_loaded = (
        coalesce(import_products.title, stored.title) is not distinct from stored.title
        and coalesce(import_products.category_path, stored.category_path) is not distinct from stored.category_path
        and coalesce(import_products.brand, stored.brand) is not distinct from stored.brand
        and coalesce(import_products.list_price, stored.list_price) is not distinct from stored.list_price),
    is_update = true
from source_products as stored
where import_products.reason is null and import_products.product_id = stored.product_id
""")
    if not dry_run:
        con.execute("""
update source_products set
    title = coalesce(staged.title, source_products.title),
    category_path = coalesce(staged.category_path, source_products.category_path),
    brand = coalesce(staged.brand, source_products.brand),
    list_price = coalesce(staged.list_price, source_products.list_price)
from import_products as staged
where staged.reason is null and staged.is_update and not staged.is_loaded
  and staged.product_id = source_products.product_id
""")
        con.execute(
            "insert into source_products by name select product_id, title, category_path, brand, list_price "
            "from import_products where reason is null and not is_update"
        )
    return _counts(con, "select file_number, count(*) filter (where not is_loaded), count(*) filter (where is_loaded) "
                        "from import_products where reason is null group by file_number")


def append_promotions(con: duckdb.DuckDBPyConnection, *, dry_run: bool) -> Counts:
    """Add new promotions and replace known ones (same id) by the file's version."""
    con.execute("""
update import_promotions set is_loaded = (
        import_promotions.name is not distinct from stored.name
        and import_promotions.start_date is not distinct from stored.start_date
        and import_promotions.end_date is not distinct from stored.end_date
        and import_promotions.scope is not distinct from stored.scope
        and import_promotions.scope_value is not distinct from stored.scope_value
        and import_promotions.discount_rate is not distinct from stored.discount_rate),
    is_update = true
from source_promotions as stored
where import_promotions.reason is null and import_promotions.promotion_id = stored.promotion_id
""")
    if not dry_run:
        con.execute("delete from source_promotions where promotion_id in "
                    "(select promotion_id from import_promotions where reason is null and is_update and not is_loaded)")
        con.execute(
            "insert into source_promotions by name "
            "select promotion_id, name, start_date, end_date, scope, scope_value, discount_rate "
            "from import_promotions where reason is null and not (is_update and is_loaded)"
        )
    return _counts(con, "select file_number, count(*) filter (where not is_loaded), count(*) filter (where is_loaded) "
                        "from import_promotions where reason is null group by file_number")


def derive_orders_from_events(con: duckdb.DuckDBPyConnection, *, dry_run: bool) -> tuple[int, int, bool]:
    """Make orders from this import's purchase events (see `derive_order_lines`).

    Orders already in the warehouse (same derived id) are neither added again nor
    extended, so re-importing a file adds nothing and a later file appends. When the
    warehouse holds orders read from an orders file, nothing is derived: those orders
    already count the sales that the purchase events describe.

    Returns:
        (new orders, their lines, whether derivation was skipped for that reason).
    """
    derive_order_lines(con)
    if not con.execute("select exists (select 1 from import_derived_lines)").fetchone()[0]:
        return 0, 0, False
    if con.execute(
        "select exists (select 1 from source_orders where not starts_with(order_id, $prefix))",
        {"prefix": DERIVED_ORDER_PREFIX},
    ).fetchone()[0]:
        return 0, 0, True
    con.execute(
        "create or replace temp table import_derived_new as "
        "select * from import_derived_lines where order_id not in (select order_id from source_orders)"
    )
    orders, lines = con.execute("select count(distinct order_id), count(*) from import_derived_new").fetchone()
    if not dry_run:
        # A transaction's events may (rarely) differ in user or visit: take its earliest event's.
        con.execute(
            "insert into source_orders by name "
            "select order_id, arg_min(user_id, (ordered_at, file_number, line)) as user_id, "
            "arg_min(session_id, (ordered_at, file_number, line)) as session_id, min(ordered_at) as ordered_at, "
            "arg_min(channel, (ordered_at, file_number, line)) as channel, "
            "arg_min(device, (ordered_at, file_number, line)) as device "
            "from import_derived_new group by order_id"
        )
        con.execute(
            "insert into source_order_items by name "
            "select order_id, line_number, product_id, quantity, unit_price, 0.0 as discount_amount "
            "from import_derived_new"
        )
    return orders, lines, False


def drop_derived_orders(con: duckdb.DuckDBPyConnection, *, dry_run: bool) -> int:
    """Remove orders derived from purchase events, which an orders file replaces; returns how many.

    The purchase events stay; only the orders made from them go, so that no sale is counted twice.
    """
    parameters = {"prefix": DERIVED_ORDER_PREFIX}
    removed = con.execute(
        "select count(*) from source_orders where starts_with(order_id, $prefix)", parameters
    ).fetchone()[0]
    if removed and not dry_run:
        con.execute("delete from source_order_items where starts_with(order_id, $prefix)", parameters)
        con.execute("delete from source_orders where starts_with(order_id, $prefix)", parameters)
    return removed


# Order lines that become purchase events: bought (not returned) lines of orders read from a file,
# with a known customer (a '(unknown)' customer would pool every anonymous sale into one shopper).
_DERIVABLE_LINES = f"""
select items.order_id, items.line_number, orders.user_id, orders.session_id, orders.ordered_at, orders.device,
       orders.channel, nullif(items.product_id, '{UNKNOWN}') as product_id, items.quantity, items.unit_price
from source_order_items as items
join source_orders as orders using (order_id)
where items.quantity > 0 and orders.user_id <> '{UNKNOWN}' and not starts_with(items.order_id, $prefix)
  and (items.order_id, items.line_number) not in (select (order_id, line_number) from meta_derived_events)
"""


def _has_file_purchases(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute(
        "select exists (select 1 from source_events where event_type = 'purchase' "
        "and event_id not in (select event_id from meta_derived_events))"
    ).fetchone()[0]


def derive_events_from_orders(con: duckdb.DuckDBPyConnection, *, dry_run: bool) -> tuple[int, bool]:
    """Make one purchase event per bought order line that has none yet; returns (events made, skipped).

    An event takes its order's customer, time, session, device and channel, and its line's
    product, quantity and unit price, with `order_id` set. Nothing is made (skipped = True)
    when the warehouse holds purchase events from an events file, which already describe the
    sales. In a dry run the new lines are not in the source tables yet: they are counted from
    the staged ones.
    """
    if _has_file_purchases(con):
        return 0, True
    parameters = {"prefix": DERIVED_ORDER_PREFIX}
    if dry_run:
        existing = con.execute(f"select count(*) from ({_DERIVABLE_LINES})", parameters).fetchone()[0]
        staged = con.execute(
            "select count(*) from import_order_keys join import_new using (file_number, line) "
            f"where not import_new.is_loaded and quantity > 0 and user_id <> '{UNKNOWN}'"
        ).fetchone()[0]
        return existing + staged, False
    con.execute(
        "create or replace temp table import_derived_events as "
        "select (select coalesce(max(event_id), 0) from source_events) "
        "       + row_number() over (order by ordered_at, order_id, line_number) as event_id, * "
        f"from ({_DERIVABLE_LINES})",
        parameters,
    )
    con.execute(
        "insert into source_events by name "
        "select event_id, user_id, session_id, ordered_at as event_time, 'purchase' as event_type, product_id, "
        "quantity, unit_price as price, cast(null as varchar) as search_query, device, channel, order_id "
        "from import_derived_events"
    )
    con.execute("insert into meta_derived_events select event_id, order_id, line_number from import_derived_events")
    return con.execute("select count(*) from import_derived_events").fetchone()[0], False


def drop_derived_events(con: duckdb.DuckDBPyConnection, *, dry_run: bool) -> int:
    """Remove purchase events made from order lines, when this events import brings its own; returns how many."""
    brings_purchases = con.execute(
        "select exists (select 1 from import_events where reason is null and not is_ignored "
        "and event_type = 'purchase')"
    ).fetchone()[0]
    if not brings_purchases:
        return 0
    removed = con.execute("select count(*) from meta_derived_events").fetchone()[0]
    if removed and not dry_run:
        con.execute("delete from source_events where event_id in (select event_id from meta_derived_events)")
        con.execute("delete from meta_derived_events")
    return removed
