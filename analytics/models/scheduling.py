"""Asking for training: queue jobs, start the one worker of a warehouse, retrain, cancel.

Everything here returns at once; the training happens in the worker
(`python -m analytics.models.worker`), a separate process started in its own
session so it outlives the page or command that started it. At most one worker
runs per warehouse: it holds an exclusive `flock` on `<models>/<warehouse>.worker.lock`
for as long as it lives, and the kernel releases it when the process ends, however it ends.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from analytics.errors import ShopLensError
from analytics.models import params as job_params
from analytics.models.registry import DEFAULT_REGISTRY, Registry, find_job, load_registry
from analytics.models.store import JobRecord, ModelStore, code_version, read_json, utc_now

# Another start within this many seconds is skipped: twenty sessions noticing at once start one worker.
SPAWN_GRACE_SECONDS = 1.0
# "off" queues jobs without starting workers: a supervisor (or a test) runs `python -m analytics.models.worker`.
WORKER_SETTING = "SHOPLENS_MODEL_WORKER"


def worker_running(store: ModelStore) -> bool:
    """Whether a worker holds the warehouse's lock right now."""
    try:
        descriptor = os.open(store.lock_path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        # A shared lock is refused while the worker holds its exclusive one; held for microseconds,
        # and a starting worker retries its own lock for a while, so this probe never keeps it out.
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        return False
    finally:
        os.close(descriptor)


def start_worker(warehouse: Path, registry: str = DEFAULT_REGISTRY, *, idle_seconds: float | None = None) -> bool:
    """Start the warehouse's worker, detached, unless one is running or was started a moment ago.

    Args:
        warehouse: the warehouse file.
        registry: the job registry's dotted path, for the worker to import.
        idle_seconds: how long the worker waits for more jobs before it exits (its default when None).

    Returns:
        True when a worker process was started; never when `$SHOPLENS_MODEL_WORKER` is "off".
    """
    store = ModelStore(warehouse)
    if os.environ.get(WORKER_SETTING, "").strip().lower() in ("off", "0", "no", "false") or worker_running(store):
        return False
    stamp = store.root / f"{store.warehouse.name}.worker.started"
    store.root.mkdir(parents=True, exist_ok=True)
    try:
        if time.time() - stamp.stat().st_mtime < SPAWN_GRACE_SECONDS:
            return False
    except FileNotFoundError:
        pass
    stamp.touch()
    command = [sys.executable, "-m", "analytics.models.worker", "--warehouse", str(store.warehouse),
               "--registry", registry]
    if idle_seconds is not None:
        command += ["--idle-seconds", str(idle_seconds)]
    with store.log_path.open("ab") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   start_new_session=True, env=_worker_environment())
    # Reap it when it ends, so a long-lived app leaves no zombie per worker run.
    threading.Thread(target=process.wait, name="shoplens-worker-reaper", daemon=True).start()
    return True


def _worker_environment() -> dict[str, str]:
    environment = dict(os.environ)
    # The worker imports this very code, wherever it was imported from (a checkout without install).
    root = str(Path(__file__).resolve().parents[2])
    paths = [path for path in environment.get("PYTHONPATH", "").split(os.pathsep) if path]
    if root not in paths:
        environment["PYTHONPATH"] = os.pathsep.join([*paths, root])
    return environment


def schedule_training(warehouse_path: Path | str, registry: str = DEFAULT_REGISTRY) -> None:
    """Train every registered model for the warehouse's current data version, in the background.

    Call it after a build or an import. It leaves a "train the defaults" request for the worker and
    starts the worker when none is running; it returns at once. Models already trained for this
    data version by the same code are not trained again.

    Args:
        warehouse_path: the warehouse file.
        registry: the job registry's dotted path (tests pass a registry of fake jobs).
    """
    store = ModelStore(Path(warehouse_path))
    store.root.mkdir(parents=True, exist_ok=True)
    store.train_request_path.touch()
    start_worker(store.warehouse, registry)


def schedule_after_change(warehouse_path: Path | str) -> str:
    """Ask for background training after the data changed (a build, an import, a restore).

    Args:
        warehouse_path: the warehouse that changed.

    Returns:
        One sentence for the person who changed the data: training started, or how to start it.
    """
    schedule_training(warehouse_path)
    if os.environ.get(WORKER_SETTING, "").strip().lower() in ("off", "0", "no", "false"):
        return ("models train when a worker runs ($SHOPLENS_MODEL_WORKER is off): "
                "`python -m analytics.models.worker --warehouse PATH`")
    return "models train in the background now; `shoplens models` shows their progress"


def new_record(name: str, params: dict[str, Any], data_version: str) -> JobRecord:
    """A queued record for `name` with `params` on `data_version`."""
    return JobRecord(job_id=job_params.job_id(name, params), name=name, params=job_params.encode(params),
                     data_version=data_version, status="queued", sequence=time.time_ns(), queued_at=utc_now())


def enqueue_defaults(store: ModelStore, registry: Registry, connection: Any, data_version: str,
                     names: tuple[str, ...] | None = None) -> list[JobRecord]:
    """Queue each model's default job unless it is queued, trained by this code, or failed already.

    A default trained by other code is marked for retraining. A model whose defaults cannot be
    worked out (say, no dated events) gets a failed record with the reason.

    Args:
        store: the warehouse's store.
        registry: the jobs.
        connection: a read-only warehouse connection (default parameters read the data's dates).
        data_version: the warehouse's current data version.
        names: only these models (default: all).

    Returns:
        The default records, in registry order.
    """
    if names is not None:
        for name in names:
            find_job(registry, name)
    defaults = store.defaults(data_version)
    records = []
    for spec in registry:
        if spec.default_params is None or (names is not None and spec.name not in names):
            continue
        try:
            params = spec.default_params(connection)
        except ShopLensError as error:
            record = new_record(spec.name, {"unavailable": True}, data_version)
            record.status, record.reason, record.finished_at = "failed", one_line(error), utc_now()
            store.write_record(record)
        else:
            record = new_record(spec.name, params, data_version)
            if not store.create_record(record):
                record = store.read_record(data_version, record.job_id) or record
                if record.status == "ready" and record.code_version != code_version():
                    store.mark(data_version, record.job_id, "retrain")
        defaults[spec.name] = record.job_id
        records.append(record)
    store.write_defaults(data_version, defaults)
    return records


def request(name: str, params: dict[str, Any], *, warehouse: Path, data_version: str,
            registry: str = DEFAULT_REGISTRY, start: bool = True) -> JobRecord:
    """Queue the job `name` with `params` for `data_version` (once), put it first in line, start the worker.

    Args:
        name: a registered job name.
        params: its parameters (typed values; see `analytics.models.params`).
        warehouse: the warehouse file.
        data_version: the version the caller sees.
        registry: the job registry's dotted path.
        start: start the worker when none runs.

    Returns:
        The job's record (new, or the existing one).

    Raises:
        ShopLensError: unknown name or parameters jobs cannot take.
    """
    find_job(load_registry(registry), name)
    store = ModelStore(warehouse)
    record = new_record(name, params, data_version)
    if not store.create_record(record):
        record = store.read_record(data_version, record.job_id) or record
    if record.status in ("queued", "training"):
        # Whoever waits on a job moves it to the front; the first ask keeps its place.
        store.mark(data_version, record.job_id, "wanted")
    if start and record.status in ("queued", "training"):
        start_worker(store.warehouse, registry)
    return record


def retrain(store: ModelStore, data_version: str, job_ids: list[str], registry: str = DEFAULT_REGISTRY) -> None:
    """Train these jobs again; their current artifacts serve until the new ones are ready."""
    for job_id in job_ids:
        store.clear_mark(data_version, job_id, "cancel")
        store.mark(data_version, job_id, "retrain")
    start_worker(store.warehouse, registry)


def cancel(store: ModelStore, data_version: str, job_id: str) -> None:
    """Cancel a queued or running job: it ends as failed with the reason "cancelled".

    A queued job is skipped; a running one stops at its next step, or at once when the
    worker's signal handler catches it between two Python instructions.
    """
    store.mark(data_version, job_id, "cancel")
    worker = read_json(store.worker_path)
    # A signal is harmless when the job is not the one running: the handler checks the marker.
    if isinstance(worker, dict) and worker_running(store) and worker.get("pid") != os.getpid():
        try:
            os.kill(int(worker["pid"]), signal.SIGUSR1)
        except (OSError, ValueError, KeyError):
            pass


def one_line(error: BaseException) -> str:
    """The error's message on one line, for a job's reason."""
    text = " ".join(str(error).split())
    return text or type(error).__name__
