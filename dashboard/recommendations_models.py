"""Training and evaluating the recommenders on demand, with progress, cached per data version.

The trained models and the leaderboard live in one `st.cache_resource` store
per data version, shared by every session and never modified once stored; a
rebuild of the warehouse (a new data version) starts empty.
"""

from __future__ import annotations

import threading
from typing import Any

import streamlit as st

from analytics.recommend.evaluate import Leaderboard, evaluate_warehouse
from analytics.recommend.service import TrainedRecommenders, train_recommenders

_lock = threading.Lock()


@st.cache_resource(max_entries=4, show_spinner=False)
def _store(data_version: str) -> dict[str, Any]:
    # One dict per data version: "trained" and "leaderboard" once computed.
    return {}


def trained(data_version: str) -> TrainedRecommenders | None:
    """The recommenders trained on this data version, or None when nobody trained them yet."""
    return _store(data_version).get("trained")


def evaluated(data_version: str) -> Leaderboard | None:
    """The leaderboard of this data version, or None when not evaluated yet."""
    return _store(data_version).get("leaderboard")


def _run_with_status(label: str, work, data_version: str, key: str) -> Any:
    store = _store(data_version)
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0)

        def report(step: str, done: int, total: int) -> None:
            bar.progress(min(done / max(total, 1), 1.0), text=step.capitalize())

        with _lock:
            # Another session may have finished the same work while this one waited.
            if key not in store:
                store[key] = work(report)
        status.update(label=f"{label.rstrip('…')}: done", state="complete", expanded=False)
    return store[key]


def train_with_status(data_version: str, connection: Any) -> TrainedRecommenders:
    """Train every model (once per data version) showing a progress bar in an st.status box."""
    return _run_with_status("Training the recommenders…", lambda report: train_recommenders(connection, report),
                            data_version, "trained")


def evaluate_with_status(data_version: str, connection: Any) -> Leaderboard:
    """Evaluate every model on the time split (once per data version) with progress."""
    return _run_with_status("Evaluating every model on the last 28 days…",
                            lambda report: evaluate_warehouse(connection, 10, progress=report),
                            data_version, "leaderboard")
