"""The Funnels page's cached analyses, computed from the build's events held in memory.

The page asks many funnels of one build, so the events are read once into an
`analytics.funnels.EventStore` (`st.cache_resource`, keyed on the data version, one build
at a time, shared by every session and never modified) and each funnel is answered from it
(`st.cache_data`, keyed on the data version and the question), as `common.cached` does for
other analyses. The store is passed as an underscore argument, so it is never hashed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analytics.filters import Filters
from analytics.funnels import EventStore, FunnelQuery, FunnelResult, compare_periods, load_event_store, run_funnel
from dashboard import common


def _warehouse() -> common.OpenWarehouse:
    return common.ready_warehouse()


@st.cache_resource(max_entries=1, show_spinner="Loading the events into memory (once per data build)…")
def _event_store(data_version: str, *, _connection: Any) -> EventStore:
    # `data_version` is the key; one build at a time, so a rebuild releases the previous store.
    return load_event_store(_connection)


def event_store() -> EventStore:
    """The current build's events in memory, loaded on first use."""
    warehouse = _warehouse()
    return _event_store(warehouse.info.data_version, _connection=warehouse.connection)


@st.cache_data(max_entries=256, show_spinner=False)
def _funnel(data_version: str, query: FunnelQuery, filters: Filters, period: str, *, _connection: Any,
            _store: EventStore) -> FunnelResult:
    return run_funnel(_connection, query, filters, period, store=_store)


def funnel(query: FunnelQuery, filters: Filters, period: str) -> FunnelResult:
    """`run_funnel` over the in-memory events, once per build and question."""
    warehouse = _warehouse()
    return _funnel(warehouse.info.data_version, query, filters, period, _connection=warehouse.connection,
                   _store=event_store())


@st.cache_data(max_entries=64, show_spinner=False)
def _comparison(data_version: str, query: FunnelQuery, filters: Filters, *, _connection: Any,
                _store: EventStore) -> pd.DataFrame:
    return compare_periods(_connection, query, filters, store=_store)


def comparison(query: FunnelQuery, filters: Filters) -> pd.DataFrame:
    """`compare_periods` over the in-memory events, once per build and question."""
    warehouse = _warehouse()
    return _comparison(warehouse.info.data_version, query, filters, _connection=warehouse.connection,
                       _store=event_store())
