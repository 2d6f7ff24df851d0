"""Pickers for one product or one shopper out of a whole shop: type part of a title or an id, then choose.

A selectbox cannot hold a real catalogue, so a search box narrows the choice to the best 50 matches
(`analytics.lookup`). The chosen id stays among the options whatever is typed, and is written to the URL
as the id itself: a selectbox bound to the URL would write the shown label (a title), which repeats and
changes; so the value is kept for the session and copied to the URL by hand.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.lookup import find_products, find_users, product_label
from dashboard import common

MATCHES = 50


def product_picker(label: str, key: str, categories: tuple[str, ...] = (), *, help: str | None = None) -> str | None:
    """A search box and a selectbox of products; returns the chosen product_id, or None when nothing matches.

    Args:
        label: the selectbox's label.
        key: the selectbox's key and URL parameter; the search box uses `<key>_search`.
        categories: the sidebar's categories: only their products are offered.
        help: the selectbox's tooltip.
    """
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        text = st.text_input("Find a product", key=f"{key}_search", placeholder="Words of the title, or an id",
                             width=260, help="Any part of a title (Chinese or English), a brand or a product id.")
        matches = common.cached(find_products, text.strip(), tuple(categories), MATCHES)
        chosen = _current(key)
        if chosen and chosen not in set(matches["product_id"]):
            # Keep the product the URL or the last choice names, if it exists in these categories.
            exact = common.cached(find_products, chosen, tuple(categories), 1)
            if len(exact) and exact["product_id"].iloc[0] == chosen:
                matches = pd.concat([exact, matches], ignore_index=True)
        if matches.empty:
            st.caption(common.plain(f"No product matches “{text}”" if text else "No products in these categories"))
            return None
        titles = matches["title"]
        repeated = set(titles[titles.duplicated(keep=False)].dropna())
        names = {row.product_id: product_label(row.product_id, row.title, repeated) for row in matches.itertuples()}
        return _choose(label, list(names), names.get, key, chosen, width=360, help=help)


def shopper_picker(label: str, key: str, *, help: str | None = None) -> str | None:
    """A search box and a selectbox of shoppers; returns the chosen user_id, or None when nothing matches.

    Args:
        label: the selectbox's label.
        key: the selectbox's key and URL parameter; the search box uses `<key>_search`.
        help: the selectbox's tooltip.
    """
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        text = st.text_input("Find a shopper", key=f"{key}_search", placeholder="Part of an id", width=220,
                             help="Any part of a shopper's id; without text, the most active shoppers.")
        matches = common.cached(find_users, text.strip(), MATCHES)
        chosen = _current(key)
        if chosen and chosen not in set(matches["user_id"]):
            exact = common.cached(find_users, chosen, 1)
            if len(exact) and exact["user_id"].iloc[0] == chosen:
                matches = pd.concat([exact, matches], ignore_index=True)
        if matches.empty:
            st.caption(common.plain(f"No shopper matches “{text}”"))
            return None
        sessions = dict(zip(matches["user_id"], matches["session_count"]))
        return _choose(label, list(sessions), lambda user_id: f"{user_id} · {sessions[user_id]:,} sessions", key,
                       chosen, width=260, help=help)


def _choose(label: str, options: list[str], format_func, key: str, chosen: str | None, *, width: int,
            help: str | None) -> str | None:
    if chosen in options and st.session_state.get(key) != chosen:
        st.session_state[key] = chosen
    elif st.session_state.get(key) not in options:
        st.session_state.pop(key, None)
    value = st.selectbox(label, options, format_func=format_func, key=key, persist_state="session", width=width,
                         help=help)
    if value is not None and st.query_params.get(key) != value:
        st.query_params[key] = value
    return value


def _current(key: str) -> str | None:
    # Before the selectbox runs, its value is in the session (after the first run) or in the URL.
    value = st.session_state.get(key) or st.query_params.get(key)
    return str(value) if value else None
