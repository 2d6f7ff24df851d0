"""Models for pages: loaded from the background worker's store, never trained in the app's process.

    report = model_status.artifact("cart_conversion", cart_params(filters, 24.0), what="the cart model",
                                   key="cart")
    if report is None:
        st.stop()   # or return: a status box is drawn and the page reruns itself when the model is ready

`artifact` returns the trained artifact when the model of the current data version is stored.
Otherwise it draws why not: a status box with the job's state, its progress and the line
"training… 3 of 6 models, about 40 s left", which re-checks every few seconds
(`st.fragment(run_every=...)`) and reruns the page once the model is ready or failed; or, when
the job failed, its one-line reason (and "Retrain" for admins). A model nobody asked for yet is
queued for the worker, so other settings than the defaults (another cart window, another
calibration end) train in the background too.

Decoded artifacts are cached per process with `st.cache_resource`, keyed on the artifact's path
and stamp (a retrain replaces the file, so the key changes): shared by every session, read-only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from analytics import models
from analytics.models.loading import Result
from dashboard import access, common

# Seconds between two looks at a pending job.
POLL_SECONDS = 2.0
# Decoded artifacts kept per process: every default model plus a few variants per page.
MAX_ARTIFACTS = 48


@st.cache_resource(max_entries=MAX_ARTIFACTS, show_spinner=False)
def _decoded(path: str, stamp: tuple[int, int]) -> Any:
    # `stamp` (mtime, size) is only part of the key: a retrained artifact is read again.
    import pickle

    with open(path, "rb") as handle:
        return pickle.load(handle)


def _read(path: Path, stamp: tuple[int, int]) -> Any:
    return _decoded(str(path), tuple(stamp))


def _warehouse() -> common.OpenWarehouse:
    return common.ready_warehouse()


def result(name: str, params: dict[str, Any] | None = None, *, request_missing: bool = True) -> Result:
    """`analytics.models.load` for the current warehouse and data version, through the artifact cache."""
    warehouse = _warehouse()
    return models.load(name, params, warehouse=warehouse.info.path, data_version=warehouse.info.data_version,
                       request_missing=request_missing, reader=_read)


def artifact(name: str, params: dict[str, Any] | None = None, *, what: str, key: str,
             failed_title: str = "Not enough data for a model") -> Any | None:
    """The trained artifact, or None after drawing why not (pending box or failure).

    Args:
        name: the job (see `analytics.models.jobs`).
        params: its parameters (the `*_params` helpers there); None for the defaults.
        what: what the model is, for people ("the cart model").
        key: a prefix for widget keys, unique on the page.
        failed_title: the heading of the box shown when the job failed.
    """
    found = result(name, params)
    if isinstance(found, models.Ready):
        return found.artifact
    if isinstance(found, models.Failed):
        failed_box(found, what=what, key=key, title=failed_title, name=name, params=params)
    else:
        pending_box(name, params, what=what)
    return None


def pending_box(name: str, params: dict[str, Any] | None, *, what: str) -> None:
    """A status box for a queued or training job that reruns the page when the job is done."""
    warehouse = _warehouse()
    _waiting(name, params, what, str(warehouse.info.path), warehouse.info.data_version)


@st.fragment(run_every=POLL_SECONDS)
def _waiting(name: str, params: dict[str, Any] | None, what: str, warehouse_path: str, data_version: str) -> None:
    found = models.load(name, params, warehouse=warehouse_path, data_version=data_version, reader=_read)
    if not isinstance(found, models.Pending):
        # Ready or failed: the whole page draws itself again, now with the model (or the reason).
        st.rerun()
    status, progress = found.status, found.progress
    training = status.status == "training"
    label = f"Training {what}…" if training else f"Waiting to train {what}…"
    with st.status(label, state="running", expanded=True):
        if training and status.progress_total:
            st.progress(min(status.progress_done / status.progress_total, 1.0),
                        text=common.plain(status.progress_step.capitalize()) or None)
        st.caption(f"{common.plain(progress.line.capitalize())}. Models are trained once per data build in the "
                   "background and shared by everyone; this page shows the result by itself when it is ready.")


def failed_box(found: models.Failed, *, what: str, key: str, title: str, name: str,
               params: dict[str, Any] | None) -> None:
    """The job's one-line reason, and a way to try again: anyone for their own settings, admins for the defaults."""
    # Reasons are written to follow "failed:" in logs; on the page they are a sentence of their own.
    reason = found.reason[:1].upper() + found.reason[1:]
    common.empty_state(reason, title=title, icon=":material/model_training:")
    if found.status.is_default:
        retrain_button(name, params, key=f"{key}_retrain", label=f"Train {what} again")
    else:
        try_again_button(name, params, key=f"{key}_try_again", label=f"Train {what} again")


def may_retrain() -> bool:
    """Whether the signed-in user may retrain the models every page opens with (admins; open access is admin)."""
    return bool(access.allowed("retrain_models"))


def retrain_button(name: str | None = None, params: dict[str, Any] | None = None, *, key: str,
                   label: str = "Retrain") -> None:
    """A button that retrains `name` (None: every model) in the background; the current models serve meanwhile."""
    if not may_retrain():
        return
    # A callback runs before the rerun it causes, so the click is never lost to a rerun of bound widgets.
    st.button(label, key=key, icon=":material/model_training:", on_click=retrain,
              args=(name, params, str(_warehouse().info.path)),
              help="Train again in the background; the current model keeps serving until the new one is ready.")


def try_again_button(name: str, params: dict[str, Any] | None, *, key: str, label: str = "Try again") -> None:
    """A button that queues a failed or cancelled job with other settings than the defaults again (anyone's)."""
    st.button(label, key=key, icon=":material/refresh:", on_click=try_again,
              args=(name, params, str(_warehouse().info.path)),
              help="Queue it again for the background worker.")


def request_button(label: str, name: str, params: dict[str, Any] | None = None, *, key: str, **button: Any) -> None:
    """A button that queues `name` with `params` for the worker (the page then shows it as pending)."""
    warehouse = _warehouse()
    st.button(label, key=key, on_click=request, args=(name, params, str(warehouse.info.path),
                                                       warehouse.info.data_version), **button)


def cancel_button(label: str, name: str, params: dict[str, Any] | None = None, *, key: str, **button: Any) -> None:
    """A button that cancels the queued or running job `name` with `params`."""
    st.button(label, key=key, on_click=cancel, args=(name, params, str(_warehouse().info.path)), **button)


# Callbacks get the warehouse as arguments: they run before the script, outside the page's own set-up.


def request(name: str, params: dict[str, Any] | None, warehouse_path: str, data_version: str) -> None:
    """Queue `name` with `params` for the worker (a button's callback)."""
    models.request(name, params, warehouse=warehouse_path, data_version=data_version)


def cancel(name: str, params: dict[str, Any] | None, warehouse_path: str) -> None:
    """Cancel the queued or running job `name` with `params` (a button's callback)."""
    models.cancel(name, params, warehouse=warehouse_path)


def try_again(name: str, params: dict[str, Any] | None, warehouse_path: str) -> None:
    """Queue a job with non-default settings again (a button's callback); the defaults stay admins' to retrain."""
    models.retrain([name], params=params, warehouse=warehouse_path)


def retrain(name: str | None, params: dict[str, Any] | None, warehouse_path: str) -> None:
    """Retrain `name` (None: every model) in the background, if the user may (a button's callback)."""
    if may_retrain():
        models.retrain([name] if name else None, params=params, warehouse=warehouse_path)
