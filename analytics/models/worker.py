"""The background worker: trains the queued jobs of one warehouse, one at a time, then exits.

Run as `python -m analytics.models.worker --warehouse PATH` (`schedule_training` and
`request` start it detached). It

- takes the warehouse's lock, or exits at once when another worker has it;
- on a new data version (a rebuild or an import), deletes the store of every older version of
  this warehouse (their queued jobs are dropped with it) and queues the new version's defaults;
- queues the defaults whenever `schedule_training` left its request;
- picks the next job: the ones a page waits on first (oldest ask first), then in queue order;
- runs it on its own read-only connection, stores the artifact atomically, records ready (with
  the seconds it took, also kept per model for the next estimate) or failed with a one-line reason;
- cancels a job when its cancel marker appears (checked at each progress step, and at once on
  SIGUSR1); on SIGTERM puts the running job back in the queue and exits;
- exits when nothing has been queued for `--idle-seconds`;
- runs at a lower priority (niceness +10), so the app's pages stay responsive while it trains.

A worker that died mid-job (killed, out of memory) leaves the job "training"; the next worker
runs it once more and then records it as failed.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from analytics.errors import ShopLensError
from analytics.models import params as job_params
from analytics.models.registry import DEFAULT_REGISTRY, JobCancelled, JobContext, Registry, find_job, load_registry
from analytics.models.scheduling import enqueue_defaults, one_line
from analytics.models.store import CANCELLED, JobRecord, ModelStore, code_version, utc_now, write_atomic

DEFAULT_IDLE_SECONDS = 5.0
POLL_SECONDS = 0.25
LOCK_ATTEMPT_SECONDS = 2.0
# Progress is written at most this often, so a chatty trainer does not spend its time on disk writes.
PROGRESS_WRITE_SECONDS = 0.5
MAX_ATTEMPTS = 2
# The worker yields the cores to the app: pages stay responsive while models train.
NICENESS = 10


class WorkerStopped(BaseException):
    """SIGTERM arrived while a job ran: put the job back in the queue and exit."""


class Worker:
    """One warehouse's worker (see the module docstring).

    Args:
        warehouse: the warehouse file.
        registry: the jobs.
        idle_seconds: exit after this long without a job.
    """

    def __init__(self, warehouse: Path, registry: Registry, idle_seconds: float = DEFAULT_IDLE_SECONDS) -> None:
        self.store = ModelStore(warehouse)
        self.registry = registry
        self.idle_seconds = idle_seconds
        self.data_version: str | None = None
        self.running: JobRecord | None = None
        self.stopping = False
        self._lock_descriptor: int | None = None

    # ----------------------------------------------------------------------- the lock

    def acquire(self, patience: float = LOCK_ATTEMPT_SECONDS) -> bool:
        """Take the warehouse's lock, retrying for `patience` seconds (status probes hold it for microseconds)."""
        self.store.root.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.store.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + patience
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(descriptor)
                    return False
                time.sleep(0.05)
            else:
                self._lock_descriptor = descriptor
                self._write_state()
                return True

    def release(self) -> None:
        """Give the lock up (closing the descriptor releases the flock)."""
        if self._lock_descriptor is not None:
            self.store.worker_path.unlink(missing_ok=True)
            os.close(self._lock_descriptor)
            self._lock_descriptor = None

    def _write_state(self) -> None:
        write_atomic(self.store.worker_path, json.dumps({
            "pid": os.getpid(), "warehouse": str(self.store.warehouse), "data_version": self.data_version,
            "job_id": self.running.job_id if self.running else None, "updated_at": utc_now(),
        }).encode())

    # ----------------------------------------------------------------------- the loop

    def run(self) -> int:
        """Work until idle; returns the exit code (0, also when another worker had the lock)."""
        if not self.acquire():
            return 0
        previous = {}
        if threading.current_thread() is threading.main_thread():
            # Signals reach only the main thread; a worker run in a thread (tests) cancels at progress steps.
            previous = {number: signal.signal(number, handler) for number, handler in
                        ((signal.SIGUSR1, self._on_cancel_signal), (signal.SIGTERM, self._on_stop_signal))}
            # A process inherits its parent's blocked signals (a test runner's thread may block them).
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1, signal.SIGTERM})
        try:
            idle_since = time.monotonic()
            while not self.stopping:
                if not self._refresh_version():
                    return 0
                job = self.next_job()
                if job is not None:
                    self.run_job(job)
                    idle_since = time.monotonic()
                    continue
                if time.monotonic() - idle_since < self.idle_seconds:
                    time.sleep(POLL_SECONDS)
                    continue
                # Release, then look once more: a job queued while we released is either seen here,
                # or its requester found the lock free and started a worker of its own.
                self.release()
                if self._has_work() and self.acquire(patience=0.0):
                    idle_since = time.monotonic()
                    continue
                return 0
            return 0
        finally:
            self.release()
            # Run in another program's process (tests, `run_queued`), leave its signals as they were.
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _has_work(self) -> bool:
        version = _current_version(self.store.warehouse)
        if version is None:
            return False
        return (version != self.data_version or self.store.train_request_path.exists()
                or bool(self._candidates(version)))

    def _refresh_version(self) -> bool:
        """Follow the warehouse's data version; False when the warehouse cannot be read any more."""
        version = _current_version(self.store.warehouse)
        if version is None:
            _log(f"the warehouse {self.store.warehouse} is not ready; stopping")
            return False
        changed = version != self.data_version
        if changed:
            first = self.data_version is None
            self.data_version = version
            removed = self.store.prune(version)
            if removed:
                _log(f"data version {version}: dropped the models and queued jobs of {', '.join(removed)}")
            self._recover_interrupted()
            self._write_state()
        requested = self.store.train_request_path.exists()
        if requested or (changed and not first):
            self.store.train_request_path.unlink(missing_ok=True)
            self._enqueue_defaults()
        return True

    def _enqueue_defaults(self) -> None:
        from analytics.warehouse import connect

        try:
            with connect(self.store.warehouse) as connection:
                enqueue_defaults(self.store, self.registry, connection, self.data_version)
        except ShopLensError as error:
            _log(f"cannot queue the default models: {error}")

    def _recover_interrupted(self) -> None:
        # We hold the lock, so a "training" record is left over from a worker that died.
        for record in self.store.records(self.data_version):
            if record.status != "training":
                continue
            if record.attempts >= MAX_ATTEMPTS:
                record.status = "failed"
                record.reason = (f"the worker stopped {record.attempts} times while training this model (killed, "
                                 f"or out of memory); see {self.store.log_path}")
                record.finished_at = utc_now()
            else:
                record.status = "queued"
            self.store.write_record(record)

    def _candidates(self, version: str) -> list[JobRecord]:
        found = []
        for record in self.store.records(version):
            if record.status == "queued":
                found.append(record)
            elif record.status in ("ready", "failed") and self.store.has_mark(version, record.job_id, "retrain"):
                found.append(record)
        return found

    def next_job(self) -> JobRecord | None:
        """The next job to run, or None; cancelled queued jobs are recorded as failed on the way."""
        version = self.data_version
        waiting = []
        for record in self._candidates(version):
            if self.store.has_mark(version, record.job_id, "cancel"):
                self._finish_cancelled(record)
                continue
            wanted = self.store.mark_time(version, record.job_id, "wanted")
            waiting.append((0 if wanted is not None else 1, wanted or 0.0, record.sequence, record))
        return min(waiting, key=lambda item: item[:3])[3] if waiting else None

    def _finish_cancelled(self, record: JobRecord) -> None:
        record.status, record.reason, record.finished_at = "failed", CANCELLED, utc_now()
        self.store.write_record(record)
        for kind in ("cancel", "retrain", "wanted"):
            self.store.clear_mark(record.data_version, record.job_id, kind)

    # ----------------------------------------------------------------------- one job

    def run_job(self, record: JobRecord) -> JobRecord:
        """Run one job and record its outcome; returns the final record."""
        from analytics.warehouse import connect

        version = record.data_version
        record.status, record.started_at, record.reason = "training", utc_now(), ""
        record.attempts += 1
        record.progress_done, record.progress_total, record.progress_step = 0, 0, ""
        self.store.clear_mark(version, record.job_id, "retrain")
        self.running = record
        self._write_state()
        self.store.write_record(record)
        started = time.perf_counter()
        last_write = [0.0]

        def progress(done: int, total: int, step: str = "") -> None:
            if self.store.has_mark(version, record.job_id, "cancel"):
                raise JobCancelled()
            record.progress_done, record.progress_total, record.progress_step = int(done), int(total), str(step)
            now = time.monotonic()
            if now - last_write[0] >= PROGRESS_WRITE_SECONDS:
                last_write[0] = now
                self.store.write_record(record)

        def artifact(name: str, params: dict[str, Any]) -> Any:
            dependency = self.store.read_record(version, job_params.job_id(name, params))
            if dependency is None or self.store.artifact_stamp(version, dependency.job_id) is None:
                raise ShopLensError(f"the {name} model it needs is not trained yet; request it first")
            return self.store.read_artifact(version, dependency.job_id)

        outcome: Any = None
        try:
            spec = find_job(self.registry, record.name)
            params = job_params.decode(record.params)
            with connect(self.store.warehouse) as connection:
                is_default = self._is_default(spec, record, connection)
                context = JobContext(connection, self.store.warehouse, version, is_default, progress, artifact,
                                     record.job_id)
                try:
                    self._in_job = True
                    # A cancel signal that came before _in_job was set was ignored; its marker was not.
                    if self.store.has_mark(version, record.job_id, "cancel"):
                        raise JobCancelled()
                    outcome = spec.run(context, params)
                finally:
                    self._in_job = False
        except JobCancelled:
            record.status, record.reason = "failed", CANCELLED
        except WorkerStopped:
            record.status, record.attempts = "queued", record.attempts - 1
            self.stopping = True
        except ShopLensError as error:
            record.status, record.reason = "failed", one_line(error)
        except Exception as error:  # noqa: BLE001 - any trainer bug becomes the job's reason, never the worker's end
            record.status, record.reason = "failed", f"{type(error).__name__}: {one_line(error)}"
            _log(f"job {record.job_id} failed:\n{traceback.format_exc()}")
        else:
            if _current_version(self.store.warehouse) != version:
                # The data was rebuilt meanwhile; this version's folder is pruned on the next turn.
                record.status, record.reason = "failed", "the data was rebuilt while it trained"
            else:
                record.artifact_bytes = self.store.write_artifact(version, record.job_id, outcome)
                record.status, record.trained_at, record.code_version = "ready", utc_now(), code_version()
        finally:
            self.running = None
        outcome = None
        record.seconds = round(time.perf_counter() - started, 3)
        record.finished_at = utc_now()
        if record.status == "ready":
            record.progress_done = record.progress_total = max(record.progress_total, 1)
            self.store.record_timing(record.name, record.seconds)
        self.store.write_record(record)
        for kind in ("cancel", "wanted"):
            self.store.clear_mark(version, record.job_id, kind)
        self._write_state()
        return record

    _in_job = False

    def _is_default(self, spec: Any, record: JobRecord, connection: Any) -> bool:
        """Whether the job has its model's default parameters; a default a page asked for first is recorded so."""
        defaults = self.store.defaults(record.data_version)
        if defaults.get(record.name) == record.job_id:
            return True
        if spec.default_params is None or record.name in defaults:
            return False
        try:
            is_default = job_params.job_id(record.name, spec.default_params(connection)) == record.job_id
        except ShopLensError:
            return False
        if is_default:
            self.store.write_defaults(record.data_version, defaults | {record.name: record.job_id})
        return is_default

    def _on_cancel_signal(self, signum: int, frame: Any) -> None:
        running = self.running
        if self._in_job and running is not None and self.store.has_mark(running.data_version, running.job_id,
                                                                        "cancel"):
            raise JobCancelled()

    def _on_stop_signal(self, signum: int, frame: Any) -> None:
        self.stopping = True
        if self._in_job:
            raise WorkerStopped()


def run_queued(warehouse: Path | str, registry: str = DEFAULT_REGISTRY, patience: float = 600.0) -> list[JobRecord]:
    """Run every queued job of the warehouse in this process, then return the current version's records.

    For tests and scripts that want the models now (the app never calls it). When another worker
    holds the lock, waits up to `patience` seconds for it to finish instead.

    Raises:
        ShopLensError: the lock stayed taken for `patience` seconds.
    """
    worker = Worker(Path(warehouse), load_registry(registry), idle_seconds=0.0)
    if not worker.acquire(patience=patience):
        raise ShopLensError(f"another worker kept the lock of {warehouse} for {patience:g} s")
    worker.release()
    worker.run()
    version = _current_version(worker.store.warehouse)
    return worker.store.records(version) if version else []


def _current_version(warehouse: Path) -> str | None:
    from analytics.warehouse import WarehouseState, inspect_warehouse

    info = inspect_warehouse(warehouse)
    return info.data_version if info.state is WarehouseState.READY else None


def _log(message: str) -> None:
    print(f"{utc_now()} worker {os.getpid()}: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """`python -m analytics.models.worker --warehouse PATH [--registry MODULE:ATTR] [--idle-seconds S]`."""
    parser = argparse.ArgumentParser(prog="python -m analytics.models.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True, help="the warehouse file")
    parser.add_argument("--registry", default=DEFAULT_REGISTRY, help=f"job registry (default {DEFAULT_REGISTRY})")
    parser.add_argument("--idle-seconds", type=float, default=DEFAULT_IDLE_SECONDS,
                        help=f"exit after this long without a job (default {DEFAULT_IDLE_SECONDS:g})")
    arguments = parser.parse_args(argv)
    try:
        registry = load_registry(arguments.registry)
    except ShopLensError as error:
        _log(str(error))
        return 2
    try:
        os.nice(NICENESS)
    except (AttributeError, OSError):  # not POSIX, or not allowed: train at the normal priority
        pass
    return Worker(arguments.warehouse, registry, arguments.idle_seconds).run()


if __name__ == "__main__":
    sys.exit(main())
