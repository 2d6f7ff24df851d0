"""Finding products and shoppers by what a person types: an id, part of an id, or words of a title.

Pickers cannot list a real shop's catalogue (92,000 products in The Complete Journey) or its shoppers,
so they search: an exact id first, then ids and titles that start with the text, then those that
contain it, in any language (a Chinese title matches Chinese text; case is ignored).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from analytics.queries import run_report

DEFAULT_LIMIT = 50


def find_products(con: duckdb.DuckDBPyConnection, text: str = "", categories: tuple[str, ...] = (),
                  limit: int = DEFAULT_LIMIT) -> pd.DataFrame:
    """Products whose id, title or brand contains `text`, best matches first.

    Args:
        con: a warehouse connection.
        text: what was typed; empty lists the products ordered most.
        categories: top-level categories to keep; empty keeps all.
        limit: rows at most, >= 1.

    Returns:
        Columns product_id, title, category, brand, order_lines (order lines holding the product).
    """
    return run_report(con, "lookup/products", {"text": text or "", "categories": list(categories),
                                               "limit": max(1, int(limit))})


def find_users(con: duckdb.DuckDBPyConnection, text: str = "", limit: int = DEFAULT_LIMIT) -> pd.DataFrame:
    """Shoppers whose id contains `text`, best matches first.

    Args:
        con: a warehouse connection.
        text: what was typed; empty lists the shoppers with most sessions.
        limit: rows at most, >= 1.

    Returns:
        Columns user_id, session_count, order_count.
    """
    return run_report(con, "lookup/users", {"text": text or "", "limit": max(1, int(limit))})


def product_label(product_id: str, title: str | None, repeated_titles: set[str] = frozenset()) -> str:
    """How a product is named to people: its title, with the id where the title is missing or repeated."""
    if title is None or title != title or not str(title).strip():
        return str(product_id)
    return f"{title} ({product_id})" if title in repeated_titles else str(title)
