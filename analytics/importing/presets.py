"""Mappings for public export formats, chosen with `--preset NAME`.

A preset may have several variants (Online Retail and Online Retail II name
their columns differently; the UCI daily top-30 aggregate is yet another
layout); the reader picks the variant whose columns the file's header names.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.errors import ShopLensError
from analytics.importing.mapping import Mapping


@dataclass(frozen=True)
class Preset:
    """A named export format.

    Attributes:
        name: what `--preset` takes.
        description: one line for people: the format and what it maps to.
        variants: the layouts it accepts; the first is used for a headerless file.
    """

    name: str
    description: str
    variants: tuple[Mapping, ...]


TAOBAO = Mapping(
    name="taobao", target="events",
    columns=("user_id", "item_id", "category_id", "behavior_type", "timestamp"),
    fields={"user_id": "user_id", "product_id": "item_id", "category": "category_id",
            "event_type": "behavior_type", "event_time": "timestamp"},
    time_format="unix_seconds",
    event_types={"pv": "view", "cart": "cart", "fav": "favorite", "buy": "purchase"},
    description="Taobao/Tianchi UserBehavior: pv/cart/fav/buy events, Unix seconds, with or without a header.",
)

RETAILROCKET = Mapping(
    name="retailrocket", target="events",
    columns=("timestamp", "visitorid", "event", "itemid", "transactionid"),
    fields={"event_time": "timestamp", "user_id": "visitorid", "event_type": "event", "product_id": "itemid",
            "order_id": "transactionid"},
    time_format="unix_milliseconds",
    event_types={"view": "view", "addtocart": "cart", "transaction": "purchase"},
    description="RetailRocket events.csv: view/addtocart/transaction, Unix milliseconds; each transactionid "
                "becomes an order (without prices).",
)

REES46 = Mapping(
    name="rees46", target="events",
    columns=("event_time", "event_type", "product_id", "category_id", "category_code", "brand", "price",
             "user_id", "user_session"),
    fields={"event_time": "event_time", "event_type": "event_type", "product_id": "product_id",
            "category": "category_code", "brand": "brand", "price": "price", "user_id": "user_id",
            "session_id": "user_session"},
    category_separator=".",
    description="REES46 multi-category store: view/cart/remove_from_cart/purchase with prices, times in UTC.",
)

DIGINETICA = Mapping(
    name="diginetica", target="events",
    columns=("session_id", "user_id", "item_id", "timeframe", "eventdate"),
    fields={"session_id": "session_id", "user_id": "user_id", "product_id": "item_id", "event_time": "eventdate"},
    delimiter=";", time_offset_milliseconds="timeframe", event_type="view",
    null_values=("", "NA"), anonymous_user_from="session_id",
    description="Diginetica train-item-views: item views, ';'-separated, NA for anonymous users "
                "(they become one visitor per session).",
)

CDNOW = Mapping(
    name="cdnow", target="orders",
    columns=("customer_id", "date", "number_of_cds", "dollar_value"),
    fields={"user_id": "customer_id", "ordered_at": "date", "quantity": "number_of_cds", "line_amount": "dollar_value"},
    description="CDNOW transactions: one order per customer, day and row; amount is the line total; no products.",
)

UCI_ONLINE_RETAIL = Mapping(
    name="uci_online_retail", target="orders",
    columns=("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"),
    fields={"order_id": "InvoiceNo", "product_id": "StockCode", "title": "Description", "quantity": "Quantity",
            "ordered_at": "InvoiceDate", "unit_price": "UnitPrice", "user_id": "CustomerID"},
    cancellation_prefix="C", time_format="%m/%d/%Y %H:%M",
    description="UCI Online Retail invoice lines; invoices starting with C are cancellations (returns).",
)

UCI_ONLINE_RETAIL_II = Mapping(
    name="uci_online_retail_ii", target="orders",
    columns=("Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"),
    fields={"order_id": "Invoice", "product_id": "StockCode", "title": "Description", "quantity": "Quantity",
            "ordered_at": "InvoiceDate", "unit_price": "Price", "user_id": "Customer ID"},
    cancellation_prefix="C",
    description="UCI Online Retail II invoice lines; invoices starting with C are cancellations (returns).",
)

UCI_DAILY = Mapping(
    name="uci_online_retail_daily", target="orders",
    columns=("item", "ds", "y"),
    fields={"product_id": "item", "ordered_at": "ds", "quantity": "y"},
    description="UCI Online Retail daily units per item (the Prophet top-30 aggregate): one order line per item "
                "and day, with no customers and no prices.",
)

SHOPIFY = Mapping(
    name="shopify", target="orders",
    columns=("Name", "Email", "Financial Status", "Created at", "Lineitem quantity", "Lineitem name",
             "Lineitem price", "Lineitem sku", "Lineitem discount"),
    fields={"order_id": "Name", "user_id": "Email", "ordered_at": "Created at", "quantity": "Lineitem quantity",
            "title": "Lineitem name", "unit_price": "Lineitem price", "product_id": "Lineitem sku",
            "discount_amount": "Lineitem discount"},
    description="Shopify orders export: one row per line item; customers are e-mail addresses "
                "(use --pseudonymize).",
)

GA4 = Mapping(
    name="ga4", target="events",
    columns=("event_name", "event_timestamp", "user_pseudo_id", "ga_session_id", "item_id", "item_category",
             "item_brand", "price", "quantity", "search_term", "device_category"),
    fields={"event_type": "event_name", "event_time": "event_timestamp", "user_id": "user_pseudo_id",
            "session_id": "ga_session_id", "product_id": "item_id", "category": "item_category",
            "brand": "item_brand", "price": "price", "quantity": "quantity", "search_query": "search_term",
            "device": "device_category"},
    time_format="unix_microseconds",
    event_types={"view_item": "view", "add_to_cart": "cart", "remove_from_cart": "remove_from_cart",
                 "purchase": "purchase", "view_search_results": "search", "add_to_wishlist": "favorite"},
    ignored_event_types=("session_start", "first_visit", "page_view", "user_engagement", "scroll",
                         "view_item_list", "select_item", "begin_checkout", "add_shipping_info",
                         "add_payment_info", "view_promotion", "select_promotion", "click"),
    description="GA4 BigQuery export flattened to one row per event and item: event_name, event_timestamp (µs), "
                "user_pseudo_id, ...; non-shop events are skipped.",
)

# The Complete Journey (84.51°): transactions are receipt lines (an order is a basket), the catalogue
# has a three-level hierarchy and no titles, and campaigns have dates but no discount rates. Times have
# no zone and appear to be UTC (see its PROVENANCE.md); `--timezone` reads them otherwise.
COMPLETEJOURNEY_TRANSACTIONS = Mapping(
    name="completejourney_transactions", target="orders",
    columns=("household_id", "store_id", "basket_id", "product_id", "quantity", "sales_value", "retail_disc",
             "coupon_disc", "coupon_match_disc", "week", "transaction_timestamp"),
    fields={"order_id": "basket_id", "user_id": "household_id", "product_id": "product_id", "quantity": "quantity",
            "line_amount": "sales_value", "ordered_at": "transaction_timestamp"},
    header="yes",
    description="Complete Journey transactions: one order per basket; revenue is sales_value (what the retailer "
                "receives); free items (sales 0) are kept; zero-quantity lines with sales are reported as revenue "
                "adjustments.",
)

COMPLETEJOURNEY_PRODUCTS = Mapping(
    name="completejourney_products", target="products",
    columns=("product_id", "manufacturer_id", "department", "brand", "product_category", "product_type",
             "package_size"),
    fields={"product_id": "product_id", "category": ("department", "product_category", "product_type"),
            "title": ("product_type", "package_size"), "brand": "brand"},
    header="yes",
    description="Complete Journey products: category department > product category > product type; the title "
                "is the product type and package size (the data has no product names).",
)

COMPLETEJOURNEY_CAMPAIGNS = Mapping(
    name="completejourney_campaigns", target="promotions",
    columns=("campaign_id", "campaign_type", "start_date", "end_date"),
    fields={"promotion_id": "campaign_id", "name": "campaign_type", "start_date": "start_date",
            "end_date": "end_date"},
    constants={"scope": "all", "discount_rate": "0"},
    header="yes",
    description="Complete Journey campaign_descriptions: each campaign becomes a promotion with its dates. The "
                "data gives no discount rate and campaigns target households, which the promotions table cannot "
                "hold: scope 'all', discount rate 0 (unknown).",
)

# A catalogue with canonical or common column names; every column but product_id may be missing.
PRODUCTS_CANONICAL = Mapping(
    name="products", target="products",
    fields={"product_id": "product_id", "title": "title", "category": "category_path", "brand": "brand",
            "list_price": "list_price"},
    optional_fields=("title", "category", "brand", "list_price"), header="yes",
    description="A product catalogue: product_id and any of title, category_path, brand, list_price.",
)
PRODUCTS_COMMON = Mapping(
    name="products_common_names", target="products",
    fields={"product_id": "product_id", "title": "title", "category": "category", "brand": "brand",
            "list_price": "price"},
    optional_fields=("title", "category", "brand", "list_price"), header="yes",
    description="A product catalogue: product_id and any of title, category (levels joined by ' > '), brand, price.",
)

PROMOTIONS_CANONICAL = Mapping(
    name="promotions", target="promotions",
    fields={"promotion_id": "promotion_id", "name": "name", "start_date": "start_date", "end_date": "end_date",
            "scope": "scope", "scope_value": "scope_value", "discount_rate": "discount_rate"},
    optional_fields=("name", "scope_value"), header="yes",
    description="Promotions with the canonical columns: promotion_id, name, start_date, end_date, scope "
                "(all, category, product), scope_value, discount_rate (0 to 1).",
)

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("taobao", TAOBAO.description, (TAOBAO,)),
        Preset("retailrocket", RETAILROCKET.description, (RETAILROCKET,)),
        Preset("rees46", REES46.description, (REES46,)),
        Preset("diginetica", DIGINETICA.description, (DIGINETICA,)),
        Preset("cdnow", CDNOW.description, (CDNOW,)),
        Preset("uci_online_retail",
               "UCI Online Retail / Online Retail II invoice lines (C-prefixed invoices are returns), "
               "or the Prophet daily top-30 aggregate (item, ds, y).",
               (UCI_ONLINE_RETAIL, UCI_ONLINE_RETAIL_II, UCI_DAILY)),
        Preset("shopify", SHOPIFY.description, (SHOPIFY,)),
        Preset("ga4", GA4.description, (GA4,)),
        Preset("completejourney",
               "The Complete Journey (84.51°): transactions.csv.gz (orders, one per basket), products.csv.gz "
               "(the catalogue) and campaign_descriptions.csv.gz (promotions), in one import or separately.",
               (COMPLETEJOURNEY_TRANSACTIONS, COMPLETEJOURNEY_PRODUCTS, COMPLETEJOURNEY_CAMPAIGNS)),
        Preset("products", "A product catalogue on its own (also `--table products`): product_id with any of "
                           "title, category_path or category, brand, list_price or price.",
               (PRODUCTS_CANONICAL, PRODUCTS_COMMON)),
        Preset("promotions", PROMOTIONS_CANONICAL.description + " Also `--table promotions`.",
               (PROMOTIONS_CANONICAL,)),
    )
}
# `shoplens import FILE --table NAME`: a file of one canonical table, read with this preset.
TABLE_PRESETS = {"products": "products", "promotions": "promotions"}


def get_preset(name: str) -> Preset:
    """Return the preset called `name`.

    Raises:
        ShopLensError: no such preset; the message lists them.
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise ShopLensError(
            f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}, or pass --mapping FILE.toml"
        ) from None


def preset_from_mapping(mapping: Mapping) -> Preset:
    """Wrap a user's mapping (from a TOML file) as a one-variant preset."""
    return Preset(mapping.name, mapping.description or f"custom mapping {mapping.name}", (mapping,))
