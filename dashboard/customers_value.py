"""The Customers page's Value tab: CLV fitted once per warehouse build and settings, with progress.

The fit (PyMC-Marketing BG/NBD + Gamma-Gamma) takes seconds, so it is cached with
`st.cache_resource` keyed on the warehouse's data version and every argument, shared by all
sessions and never modified. The first fit runs inside `st.status`, which shows its stages; the
app's Stop button cancels it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any, Callable

import streamlit as st

from analytics.customers.clv import Clv, load_clv
from analytics.errors import ShopLensError
from analytics.filters import Filters
from dashboard import common


def cached_clv(filters: Filters, calibration_end: date, time_unit: str, horizon: float, clv_months: int,
               discount_rate: float) -> Clv:
    """Fit and predict once per warehouse build and arguments.

    Args:
        filters: end_date closes the data; category, channel and device filters apply (start_date is
            ignored by the model and left out of the cache key).
        calibration_end, time_unit, horizon, clv_months, discount_rate: as for `load_clv`.

    Returns:
        The shared `Clv`; treat it as read-only.
    """
    warehouse = common.open_warehouse()
    if not warehouse.ready:
        raise ShopLensError(warehouse.info.message)
    key_filters = replace(filters, start_date=filters.end_date)
    arguments = (key_filters, calibration_end, time_unit, horizon, clv_months, discount_rate)
    if _is_cached(warehouse.info.data_version, arguments):
        return _fit(warehouse.info.data_version, arguments, _connection=warehouse.connection)
    with st.status("Fitting BG/NBD and Gamma-Gamma…", expanded=False) as status:
        status.write(f"Purchases up to {common.format_day(filters.end_date)}, calibration to "
                     f"{common.format_day(calibration_end)}, time unit {time_unit}.")
        clv = _fit(warehouse.info.data_version, arguments, _connection=warehouse.connection,
                   _progress=lambda message: status.write(f"{message}…"))
        _fitted.add((warehouse.info.data_version, arguments))
        status.update(label=f"Fitted on {clv.fit_customers:,} customers in {clv.fit_seconds:.1f} s", state="complete")
    return clv


_fitted: set[tuple[str, tuple]] = set()


def _is_cached(data_version: str, arguments: tuple) -> bool:
    return (data_version, arguments) in _fitted


@st.cache_resource(max_entries=8, show_spinner=False)
def _fit(data_version: str, arguments: tuple, *, _connection: Any,
         _progress: Callable[[str], None] | None = None) -> Clv:
    # data_version and the arguments are the cache key; the connection and progress are not hashed.
    filters, calibration_end, time_unit, horizon, clv_months, discount_rate = arguments
    return load_clv(_connection, filters, calibration_end, time_unit, horizon, clv_months, discount_rate,
                    progress=_progress)
