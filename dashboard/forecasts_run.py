"""Running and caching forecasts for the Forecasts page: on demand, with progress, cancellable.

A run is cached in a store shared by every session (`st.cache_resource`), keyed on the warehouse's
data version and the frozen request, so the same question is never fitted twice per build and
results are never modified after they are stored. The run itself happens only when the manager
presses Run: fitting dozens of models is too slow to happen on every rerun.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import pandas as pd
import streamlit as st

from analytics.errors import ShopLensError
from analytics.forecasting.day_explanation import ForecastDayExplanation, explain_forecast_days
from analytics.forecasting.run import ForecastRequest, ForecastRun, prophet_components, run_forecast
from dashboard import common

MAX_RUNS = 16


@st.cache_resource(show_spinner=False)
def _store() -> tuple[OrderedDict, threading.Lock]:
    return OrderedDict(), threading.Lock()


def _key(request: Any) -> tuple:
    warehouse = common.open_warehouse()
    if not warehouse.ready:
        raise ShopLensError(warehouse.info.message)
    return warehouse.info.data_version, request


def cached_run(request: ForecastRequest) -> ForecastRun | None:
    """The run for this request on the current build, or None when it has not been run yet."""
    store, lock = _store()
    with lock:
        return store.get(_key(request))


def run_with_status(request: ForecastRequest) -> ForecastRun:
    """Run the arena under an st.status that shows progress per series; a rerun (Stop) cancels it."""
    warehouse = common.open_warehouse()
    with st.status("Forecasting…", expanded=True) as status:
        bar = st.progress(0.0, text="Loading the series")

        def progress(done: int, total: int, what: str) -> None:
            # Each update is a Streamlit call, where a Stop click (a rerun) interrupts the run.
            bar.progress(done / total, text=f"{what} done ({done} of {total})")

        run = run_forecast(warehouse.connection, request, progress=progress)
        status.update(label=f"Forecast {len(run.arena.champions)} series in {run.arena.seconds:.1f} s",
                      state="complete", expanded=False)
    store, lock = _store()
    with lock:
        store[_key(request)] = run
        while len(store) > MAX_RUNS:
            store.popitem(last=False)
    return run


def cached_components(run: ForecastRun, request: ForecastRequest, unique_id: str) -> pd.DataFrame:
    """Prophet's components of one series of a run, fitted once per build, request and series."""
    store, lock = _store()
    key = (*_key(request), "components", unique_id)
    with lock:
        found = store.get(key)
    if found is not None:
        return found
    with st.spinner("Fitting Prophet to show the drivers…"):
        components = prophet_components(run, unique_id)
    with lock:
        store[key] = components
    return components


def cached_day_explanation(run: ForecastRun, request: ForecastRequest, unique_id: str) -> ForecastDayExplanation:
    """SHAP of the global model's forecast days for one series of a run, computed once per build, request and series.

    Raises:
        ShopLensError: the run has no global LightGBM model or it did not forecast the series.
    """
    if run.arena.global_model is None:
        raise ShopLensError("this run has no global LightGBM model; run the arena with it to explain forecast days")
    store, lock = _store()
    key = (*_key(request), "day_explanation", unique_id)
    with lock:
        found = store.get(key)
    if found is not None:
        return found
    explanation = explain_forecast_days(run.arena.global_model, unique_id, unit=run.series.measure)
    with lock:
        store[key] = explanation
    return explanation
