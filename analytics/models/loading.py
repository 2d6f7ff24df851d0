"""Loading trained models for pages, the CLI and (later) an HTTP API; never trains in the caller's process.

    result = load("cart_conversion", cart_params(filters, 24.0), warehouse=path, data_version=version)
    if isinstance(result, Ready):   draw(result.artifact)
    elif isinstance(result, Pending): show result.status and result.progress.line; look again later
    else:                            say result.reason  (Failed)

`load` reads the job's small JSON record and, when an artifact is stored, unpickles it
(pass `reader` to cache decoded artifacts; `dashboard/model_status.py` keys its
`st.cache_resource` on the artifact's path and stamp). A job nobody asked for yet is queued
and the worker started (`request_missing=False` returns `NotRequested` instead, for views
that train only on a click). While a model is retrained its previous artifact keeps serving.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from analytics.errors import ShopLensError
from analytics.models import params as job_params
from analytics.models import scheduling
from analytics.models.registry import DEFAULT_REGISTRY, find_job, load_registry
from analytics.models.status import (
    ModelStatus,
    TrainingProgress,
    model_statuses,
    status_of,
    training_progress,
)
from analytics.models.store import ModelStore, code_version

# reader(artifact path, stamp) -> the artifact; the stamp changes whenever the file is replaced.
Reader = Callable[[Path, tuple[int, int]], Any]


@dataclass(frozen=True)
class Ready:
    """The trained artifact (shared: treat as read-only) and its job's status."""

    artifact: Any
    status: ModelStatus


@dataclass(frozen=True)
class Pending:
    """Queued or training; `progress` summarises every job of the data version."""

    status: ModelStatus
    progress: TrainingProgress


@dataclass(frozen=True)
class Failed:
    """The job failed; `reason` is one line for people."""

    reason: str
    status: ModelStatus


@dataclass(frozen=True)
class NotRequested:
    """Nobody asked for this job yet (only with `request_missing=False`)."""

    name: str
    params: dict[str, Any]


Result = Ready | Pending | Failed | NotRequested


def current_data_version(warehouse: Path) -> str:
    """The warehouse's data version.

    Raises:
        ShopLensError: the warehouse is missing, outdated or unreadable; says how to fix it.
    """
    from analytics.warehouse import WarehouseState, inspect_warehouse

    info = inspect_warehouse(Path(warehouse))
    if info.state is not WarehouseState.READY:
        raise ShopLensError(info.message)
    return info.data_version


def default_params(name: str, warehouse: Path, registry: str = DEFAULT_REGISTRY) -> dict[str, Any]:
    """The parameters every page opens `name` with, worked out from the warehouse's data."""
    from analytics.warehouse import connect

    spec = find_job(load_registry(registry), name)
    if spec.default_params is None:
        raise ShopLensError(f"the model {name!r} has no defaults; pass its parameters")
    with connect(Path(warehouse)) as connection:
        return spec.default_params(connection)


def resolve_job_id(name: str, params: dict[str, Any] | None, store: ModelStore, data_version: str,
                   registry: str = DEFAULT_REGISTRY) -> tuple[str, dict[str, Any] | None]:
    """The job id of `name` with `params` (None: its defaults), and the parameters when they had to be worked out."""
    if params is not None:
        return job_params.job_id(name, params), params
    recorded = store.defaults(data_version).get(name)
    if recorded is not None:
        return recorded, None
    params = default_params(name, store.warehouse, registry)
    return job_params.job_id(name, params), params


def load(name: str, params: dict[str, Any] | None = None, *, warehouse: Path | str | None = None,
         data_version: str | None = None, registry: str = DEFAULT_REGISTRY, request_missing: bool = True,
         reader: Reader | None = None) -> Result:
    """The model `name` trained with `params` on the warehouse's data version, or why not yet.

    Args:
        name: a registered job name (see `analytics.models.jobs.JOBS`).
        params: its parameters; None for the defaults every page opens with.
        warehouse: the warehouse file (default: `$SHOPLENS_WAREHOUSE` or `.shoplens/warehouse.duckdb`).
        data_version: the version the caller shows (read from the warehouse when None).
        registry: the job registry's dotted path.
        request_missing: queue the job (and start the worker) when nobody asked for it yet.
        reader: reads the stored artifact; default unpickles it every call.

    Returns:
        Ready, Pending, Failed, or NotRequested (only when `request_missing` is False).

    Raises:
        ShopLensError: unknown name, parameters jobs cannot take, or a warehouse that is not ready.
    """
    from analytics.warehouse import default_warehouse_path

    path = Path(warehouse) if warehouse is not None else default_warehouse_path()
    version = data_version or current_data_version(path)
    store = ModelStore(path)
    job_id, worked_out = resolve_job_id(name, params, store, version, registry)
    record = store.read_record(version, job_id)
    if record is None:
        if not request_missing:
            return NotRequested(name, params if params is not None else worked_out or {})
        record = scheduling.request(name, params if params is not None else worked_out, warehouse=path,
                                    data_version=version, registry=registry)
    is_default = store.defaults(version).get(name) == job_id or params is None
    running = scheduling.worker_running(store)
    status = status_of(store, record, is_default=is_default, is_worker_running=running)
    stamp = store.artifact_stamp(version, job_id)
    if stamp is not None:
        # Whatever the job does now (retraining, or a retrain that failed), the stored artifact serves.
        try:
            artifact = (reader or _unpickle)(store.artifact_path(version, job_id), stamp)
        except Exception as error:  # noqa: BLE001 - a damaged or foreign pickle must not break the page
            return _unreadable(store, record, status, error, registry)
        return Ready(artifact, status)
    if status.status == "failed":
        return Failed(status.reason or "the job failed", status)
    if status.status == "ready":
        # Recorded ready but the artifact is gone (deleted by hand): train it again.
        scheduling.retrain(store, version, [job_id], registry)
        status = status_of(store, record, is_default=is_default, is_worker_running=running)
    else:
        store.mark(version, job_id, "wanted")
        if not running:
            scheduling.start_worker(path, registry)
    return Pending(status, progress(path, version))


def request(name: str, params: dict[str, Any] | None = None, *, warehouse: Path | str | None = None,
            data_version: str | None = None, registry: str = DEFAULT_REGISTRY) -> ModelStatus:
    """Queue `name` with `params` (None: its defaults) for the worker and start it; returns the job's status."""
    from analytics.warehouse import default_warehouse_path

    path = Path(warehouse) if warehouse is not None else default_warehouse_path()
    version = data_version or current_data_version(path)
    store = ModelStore(path)
    job_id, worked_out = resolve_job_id(name, params, store, version, registry)
    record = store.read_record(version, job_id) or scheduling.request(
        name, params if params is not None else worked_out, warehouse=path, data_version=version, registry=registry)
    if record.status in ("queued", "training"):
        store.mark(version, job_id, "wanted")
        scheduling.start_worker(path, registry)
    return status_of(store, record, is_default=params is None, is_worker_running=scheduling.worker_running(store))


def retrain(names: list[str] | tuple[str, ...] | None = None, *, params: dict[str, Any] | None = None,
            warehouse: Path | str | None = None, registry: str = DEFAULT_REGISTRY) -> list[ModelStatus]:
    """Retrain models of the current data version (an admin's action); the old ones serve until then.

    Args:
        names: the models (default: every registered model's defaults).
        params: with exactly one name, retrain that variant instead of the defaults.
        warehouse: the warehouse file (default: the configured one).
        registry: the job registry's dotted path.

    Returns:
        The statuses of the jobs to retrain.
    """
    from analytics.warehouse import connect, default_warehouse_path

    path = Path(warehouse) if warehouse is not None else default_warehouse_path()
    version = current_data_version(path)
    store = ModelStore(path)
    jobs = load_registry(registry)
    if params is not None:
        if not names or len(names) != 1:
            raise ShopLensError("retraining with parameters needs exactly one model name")
        record = scheduling.request(names[0], params, warehouse=path, data_version=version, registry=registry,
                                    start=False)
        records = [record]
    else:
        with connect(path) as connection:
            records = scheduling.enqueue_defaults(store, jobs, connection, version,
                                                  tuple(names) if names else None)
    scheduling.retrain(store, version, [record.job_id for record in records], registry)
    running = scheduling.worker_running(store)
    return [status_of(store, store.read_record(version, record.job_id) or record, is_default=params is None,
                      is_worker_running=running) for record in records]


def cancel(name: str, params: dict[str, Any] | None = None, *, warehouse: Path | str | None = None,
           registry: str = DEFAULT_REGISTRY) -> ModelStatus | None:
    """Cancel the queued or running job `name` with `params` (None: its defaults).

    Returns:
        Its status before the cancel took effect (a ready or failed job is left alone), or None
        when the job does not exist.
    """
    from analytics.warehouse import default_warehouse_path

    path = Path(warehouse) if warehouse is not None else default_warehouse_path()
    version = current_data_version(path)
    store = ModelStore(path)
    job_id, _ = resolve_job_id(name, params, store, version, registry)
    record = store.read_record(version, job_id)
    if record is None:
        return None
    running = scheduling.worker_running(store)
    status = status_of(store, record, is_default=params is None, is_worker_running=running)
    if status.status not in ("queued", "training"):
        return status
    scheduling.cancel(store, version, job_id)
    return status


def statuses(*, warehouse: Path | str | None = None, data_version: str | None = None,
             registry: str = DEFAULT_REGISTRY, include_variants: bool = False) -> list[ModelStatus]:
    """Every default model's status for the data version (then the variants, when asked)."""
    from analytics.warehouse import default_warehouse_path

    path = Path(warehouse) if warehouse is not None else default_warehouse_path()
    version = data_version or current_data_version(path)
    return model_statuses(ModelStore(path), version, load_registry(registry), include_variants=include_variants)


def progress(warehouse: Path | str, data_version: str) -> TrainingProgress:
    """How far training of `data_version` has come (every job of the version, variants included)."""
    store = ModelStore(Path(warehouse))
    recorded = model_statuses(store, data_version, None, include_variants=True)
    return training_progress(recorded, store.timings(), scheduling.worker_running(store))


def _unpickle(path: Path, stamp: tuple[int, int]) -> Any:
    import pickle

    with path.open("rb") as handle:
        return pickle.load(handle)


def _unreadable(store: ModelStore, record: Any, status: ModelStatus, error: Exception, registry: str) -> Result:
    if record.code_version == code_version():
        # Same code, so the file itself is damaged: train it again.
        scheduling.retrain(store, record.data_version, [record.job_id], registry)
        return Pending(status, progress(store.warehouse, record.data_version))
    return Failed(f"the stored model was trained by other ShopLens code than this process runs and cannot be read "
                  f"({type(error).__name__}); restart the app, or retrain it with `shoplens models train --retrain`",
                  status)
