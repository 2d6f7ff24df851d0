"""The canonical schema: the six source tables every data set is mapped onto.

The generator writes these tables, importers map real exports onto them, and
the staging models read them. `docs/data-model.md` describes the same contract
for people; `tests/test_schema_docs.py` keeps the two in step.

Times are UTC and stored as naive ``TIMESTAMP`` values. Money is in the shop's
currency, as ``DOUBLE``. Identifiers are strings so that any export fits.
"""

from __future__ import annotations

from dataclasses import dataclass

# Bump when a source table or a mart changes shape; the app refuses a warehouse
# built with another version and tells the user how to rebuild it.
SCHEMA_VERSION = 1

EVENT_TYPES = ("view", "search", "cart", "remove_from_cart", "purchase", "favorite")
DEVICES = ("desktop", "mobile", "tablet", "app")
CHANNELS = ("direct", "organic_search", "paid_search", "social", "email", "referral", "affiliate")
PROMOTION_SCOPES = ("all", "category", "product")


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    Args:
        name: column name, following the naming contract (`user_id`, `event_time`, ...).
        sql_type: DuckDB type the staging layer casts to.
        nullable: whether a data set may leave the column empty.
        description: one line for the data-model docs.
    """

    name: str
    sql_type: str
    nullable: bool
    description: str


@dataclass(frozen=True)
class Table:
    """A canonical source table: its columns and its primary key."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    required: bool
    description: str

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


EVENTS = Table(
    name="events",
    description="One row per behavioural event: what a visitor did, when, on which product.",
    required=True,
    primary_key=("event_id",),
    columns=(
        Column("event_id", "BIGINT", False, "Unique event number."),
        Column("user_id", "VARCHAR", False, "Visitor or customer id."),
        Column("session_id", "VARCHAR", True, "Visit id; derived from 30 minutes of inactivity when missing."),
        Column("event_time", "TIMESTAMP", False, "When the event happened, UTC."),
        Column("event_type", "VARCHAR", False, "One of " + ", ".join(EVENT_TYPES) + "."),
        Column("product_id", "VARCHAR", True, "Product acted on; empty for searches."),
        Column("quantity", "INTEGER", True, "Units carted, removed or bought."),
        Column("price", "DOUBLE", True, "Unit price shown or paid at the event, shop currency."),
        Column("search_query", "VARCHAR", True, "What was typed, for search events."),
        Column("device", "VARCHAR", True, "One of " + ", ".join(DEVICES) + "."),
        Column("channel", "VARCHAR", True, "Traffic channel of the visit: " + ", ".join(CHANNELS) + "."),
        Column("order_id", "VARCHAR", True, "Order (basket, transaction) a purchase event belongs to, when known."),
    ),
)

PRODUCTS = Table(
    name="products",
    description="The catalogue.",
    required=False,
    primary_key=("product_id",),
    columns=(
        Column("product_id", "VARCHAR", False, "Product id."),
        Column("title", "VARCHAR", True, "Display title; may be Chinese or English."),
        Column("category_path", "VARCHAR", True, "Category path, levels joined by ' > ', top level first."),
        Column("brand", "VARCHAR", True, "Brand name."),
        Column("list_price", "DOUBLE", True, "Regular unit price before discounts, shop currency."),
    ),
)

USERS = Table(
    name="users",
    description="Visitors and customers.",
    required=False,
    primary_key=("user_id",),
    columns=(
        Column("user_id", "VARCHAR", False, "Visitor or customer id."),
        Column("first_seen_at", "TIMESTAMP", True, "First visit, UTC; derived from events when missing."),
        Column("acquisition_channel", "VARCHAR", True, "Channel of the first visit."),
        Column("region", "VARCHAR", True, "Region of the customer."),
    ),
)

ORDERS = Table(
    name="orders",
    description="One row per order.",
    required=False,
    primary_key=("order_id",),
    columns=(
        Column("order_id", "VARCHAR", False, "Order id."),
        Column("user_id", "VARCHAR", False, "Customer who ordered."),
        Column("session_id", "VARCHAR", True, "Visit the order was placed in."),
        Column("ordered_at", "TIMESTAMP", False, "When the order was placed, UTC."),
        Column("channel", "VARCHAR", True, "Channel of the ordering visit."),
        Column("device", "VARCHAR", True, "Device of the ordering visit."),
    ),
)

ORDER_ITEMS = Table(
    name="order_items",
    description="One row per order line. Line revenue = quantity * unit_price - discount_amount.",
    required=False,
    primary_key=("order_id", "line_number"),
    columns=(
        Column("order_id", "VARCHAR", False, "Order id."),
        Column("line_number", "INTEGER", False, "Line number within the order, from 1."),
        Column("product_id", "VARCHAR", False, "Product bought."),
        Column("quantity", "INTEGER", False, "Units bought; negative for returns."),
        Column("unit_price", "DOUBLE", False, "Regular unit price, shop currency."),
        Column("discount_amount", "DOUBLE", False, "Discount on the whole line, shop currency, >= 0."),
    ),
)

PROMOTIONS = Table(
    name="promotions",
    description="Planned or past promotions. A promotion is known in advance only if it is in this table.",
    required=False,
    primary_key=("promotion_id",),
    columns=(
        Column("promotion_id", "VARCHAR", False, "Promotion id."),
        Column("name", "VARCHAR", False, "Display name, e.g. 'Singles Day'."),
        Column("start_date", "DATE", False, "First day, inclusive."),
        Column("end_date", "DATE", False, "Last day, inclusive."),
        Column("scope", "VARCHAR", False, "What is discounted: " + ", ".join(PROMOTION_SCOPES) + "."),
        Column("scope_value", "VARCHAR", True, "Top-level category or product id; empty for 'all'."),
        Column("discount_rate", "DOUBLE", False, "Fraction taken off the list price, 0 to 1."),
    ),
)

TABLES: tuple[Table, ...] = (EVENTS, PRODUCTS, USERS, ORDERS, ORDER_ITEMS, PROMOTIONS)
TABLES_BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}
