"""Saved views on a page: save the current settings under a name and reopen them.

A view is the values of the page's settings (the widget keys the page names) and, when asked, the
sidebar's filters; `analytics.saved_views` keeps them beside the warehouse, for every session. The
page's URL already reproduces the view, so a view is shared by opening it and copying the link.

Opening a view sets the widgets' values through session state in the picker's callback, which runs
before the page's next run: Streamlit refuses to set a bound widget's URL parameter directly, and a
widget whose state is deleted would take its old value back from the URL. So a view holds every
setting's value, defaults included.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Sequence

import streamlit as st

from analytics.errors import ShopLensError
from analytics.saved_views import delete_view, list_views, save_view
from dashboard import common

# The sidebar's filters, saved when the user asks for them.
FILTER_SETTINGS: tuple[str, ...] = (*common.FILTER_KEYS, common.COMPARISON_KEY)


def _key(page: str, name: str) -> str:
    # This module's own widget keys, apart from the page's settings (a page's prefix may be a prefix of them).
    return f"saved_views:{page}:{name}"


def saved_views_bar(page: str, settings: Sequence[str], *, noun: str = "view") -> None:
    """A row to open a saved view of `page`, and a popover to save (or delete) one.

    Args:
        page: the page's URL path ("funnels").
        settings: the widget keys whose values make a view, every one the page may draw.
        noun: what a view is called on this page ("funnel").
    """
    warehouse = common.open_warehouse().info.path
    try:
        views = list_views(warehouse, page)
    except ShopLensError as error:
        common.empty_state(str(error), title="Saved views are unavailable")
        return
    by_name = {view.name: view for view in views}
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        st.selectbox(f"Saved {noun}s", list(by_name), index=None, key=_key(page, "open"),
                     placeholder=f"Open a saved {noun}" if views else f"No saved {noun}s yet",
                     disabled=not views, width=280, on_change=_open, args=(page, by_name),
                     help=f"Reopens a {noun} saved on this server; copy the page's address to share it.")
        with st.popover(f"Save this {noun}", icon=":material/bookmark_add:"):
            st.text_input("Name", key=_key(page, "name"), max_chars=80, placeholder="e.g. Checkout on mobile")
            st.checkbox("Include the sidebar's dates and filters", key=_key(page, "with_filters"),
                        help="Off: the view opens with whatever dates and filters are chosen then.")
            # Callbacks run before the next script run, outside the page: they get the warehouse and user now.
            st.button("Save", key=_key(page, "save"), type="primary", icon=":material/save:",
                      on_click=_save, args=(page, tuple(settings), warehouse, common.signed_in_name()))
            if views:
                doomed = st.selectbox(f"Delete a saved {noun}", list(by_name), index=None,
                                      key=_key(page, "delete_choice"), placeholder="Choose one")
                st.button("Delete", key=_key(page, "delete"), icon=":material/delete:", disabled=doomed is None,
                          on_click=_delete, args=(page, doomed, warehouse))
    if message := st.session_state.pop(_key(page, "message"), None):
        st.toast(common.plain(message), icon=":material/bookmark:")


def _save(page: str, settings: tuple[str, ...], warehouse, user: str) -> None:
    keys = settings + (FILTER_SETTINGS if st.session_state.get(_key(page, "with_filters")) else ())
    values = {key: _to_json(st.session_state[key]) for key in keys if key in st.session_state}
    try:
        view = save_view(warehouse, page, st.session_state.get(_key(page, "name"), ""), values, saved_by=user)
    except ShopLensError as error:
        st.session_state[_key(page, "message")] = f"Not saved: {error}"
        return
    st.session_state[_key(page, "name")] = ""
    st.session_state[_key(page, "message")] = f"Saved “{view.name}”"


def _open(page: str, by_name: dict) -> None:
    view = by_name.get(st.session_state.get(_key(page, "open")))
    st.session_state[_key(page, "open")] = None
    if view is not None:
        for key, value in view.parameters.items():
            st.session_state[key] = _from_json(value)
        st.session_state[_key(page, "message")] = f"Opened “{view.name}”"


def _delete(page: str, name: str | None, warehouse) -> None:
    if name and delete_view(warehouse, page, name):
        st.session_state[_key(page, "message")] = f"Deleted “{name}”"


def _to_json(value: Any) -> Any:
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, tuple):
        return list(value)
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"date"}:
        return date.fromisoformat(value["date"])
    return value
