"""Validations and imports for the Data page, run outside the server's process.

A large or hostile file must not slow or crash the dashboard, so the page
never imports in its own process. `start_validation` / `start_import` start a
worker process (`python -m analytics.importing.worker`) in its own session,
with an address-space limit (`$SHOPLENS_IMPORT_WORKER_MEMORY`, default 6 GiB)
and its temporary files in the job's own folder; they return at once with an
`ImportJob`. `poll(job)` says how far it is and, at the end, gives the
ImportReport or a one-line reason; `cancel(job)` stops it (an import killed at
any step changes nothing); `cleanup(job)` removes the job's folder.

Each user runs one job at a time: the job holds a lock named after the user
for as long as its process lives (the lock goes with the process, so a
crashed worker never blocks its user).

    job = start_validation(upload_path, "taobao", "ann@example.com")
    while (status := poll(job)).state == "running":
        show(status.step)
    report = status.report
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from analytics.errors import ShopLensError
from analytics.importing.limits import ImportLimits
from analytics.importing.mapping import mapping_to_toml
from analytics.importing.presets import PRESETS, Preset
from analytics.importing.report import ImportReport
from analytics.importing.uploads import STALE_SECONDS, upload_root

WORKER_MEMORY_ENV = "SHOPLENS_IMPORT_WORKER_MEMORY"
DEFAULT_WORKER_MEMORY = 6 << 30
STATES = ("running", "done", "failed", "cancelled")
CANCEL_GRACE_SECONDS = 5.0
# Popen objects of the jobs this process started, so that finished workers are reaped (no zombies).
_PROCESSES: dict[str, subprocess.Popen] = {}


@dataclass(frozen=True)
class ImportJob:
    """A validation or import running in a worker process.

    Attributes:
        job_id: unique id.
        kind: "validate" (a dry run) or "import" (commits).
        user: who started it.
        folder: the job's private folder (spec, status, result, temporary files).
        pid: the worker's process id (also its process group).
        started_at: when it started, UTC.
    """

    job_id: str
    kind: str
    user: str
    folder: Path
    pid: int
    started_at: datetime


@dataclass(frozen=True)
class JobStatus:
    """How a job stands.

    Attributes:
        state: "running", "done", "failed" or "cancelled".
        step: the import's last step ("read", "validate", "commit", "models", "replace"), or "starting".
        seconds: time since the job started.
        report: the ImportReport when done (and, for a refused strict import, the findings).
        message: one line for people when failed or cancelled.
    """

    state: str
    step: str
    seconds: float
    report: ImportReport | None = None
    message: str | None = None


def worker_memory_bytes() -> int:
    """The worker's address-space limit: `$SHOPLENS_IMPORT_WORKER_MEMORY` (bytes, or with K/M/G), else 6 GiB."""
    text = os.environ.get(WORKER_MEMORY_ENV, "").strip().upper()
    if not text:
        return DEFAULT_WORKER_MEMORY
    factor = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    try:
        value = int(float(text.rstrip("KMGB")) * factor)
    except ValueError:
        value = 0
    if value < (256 << 20):
        raise ShopLensError(f"{WORKER_MEMORY_ENV}={text!r} is not a memory size of at least 256M; use e.g. 6G")
    return value


def jobs_root() -> Path:
    """Where job folders live: `<upload root>/jobs`."""
    root = upload_root() / "jobs"
    root.mkdir(mode=0o700, exist_ok=True)
    return root


def start_validation(paths: Path | list[Path], preset: Preset | str, user: str, *, warehouse: Path | None = None,
                     strict: bool = False, pseudonymize: bool = False, time_zone: str | None = None,
                     limits: ImportLimits | None = None, memory_bytes: int | None = None,
                     origin: str | None = None) -> ImportJob:
    """Start validating files against the warehouse (a dry run) in a worker process.

    Args:
        paths: the file(s): an upload from `save_upload`, or a path from `resolve_import_path`.
        preset: a preset name or Preset (a saved mapping wrapped by `preset_from_mapping` works too).
        user: who validates (e-mail from sign-in); one job per user at a time.
        warehouse: the warehouse (default: the configured one).
        strict, pseudonymize, time_zone, limits: as for `import_files`.
        memory_bytes: the worker's address-space limit (default: `worker_memory_bytes()`).
        origin: how the history records where the files came from (e.g. "upload by ann@example.com").

    Returns:
        The running ImportJob.

    Raises:
        ShopLensError: this user already has a job running, or the worker could not be started.
    """
    return _start("validate", paths, preset, user, warehouse=warehouse, strict=strict, pseudonymize=pseudonymize,
                  time_zone=time_zone, limits=limits, memory_bytes=memory_bytes, origin=origin)


def start_import(paths: Path | list[Path], preset: Preset | str, user: str, *, warehouse: Path | None = None,
                 strict: bool = False, pseudonymize: bool = False, time_zone: str | None = None,
                 limits: ImportLimits | None = None, memory_bytes: int | None = None,
                 origin: str | None = None) -> ImportJob:
    """Start importing (committing) files into the warehouse in a worker process; arguments as `start_validation`."""
    return _start("import", paths, preset, user, warehouse=warehouse, strict=strict, pseudonymize=pseudonymize,
                  time_zone=time_zone, limits=limits, memory_bytes=memory_bytes, origin=origin)


def _start(kind: str, paths: Path | list[Path], preset: Preset | str, user: str, **options) -> ImportJob:
    from analytics.warehouse import default_warehouse_path

    if not str(user).strip():
        raise ShopLensError("a validation needs the user who starts it")
    clean_stale_jobs()
    files = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    preset_spec = _preset_spec(preset)
    lock = open(_user_lock_path(user), "a")  # noqa: SIM115 - handed to the worker, see below
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ShopLensError("you already have a validation or import running; wait for it to finish, "
                                "or cancel it, before starting another") from None
        job_id = f"job-{uuid.uuid4().hex[:16]}"
        folder = jobs_root() / job_id
        (folder / "tmp").mkdir(parents=True, mode=0o700)
        limits = options["limits"] or ImportLimits.from_environment()
        spec = {
            "kind": kind, "user": user, "paths": [str(path) for path in files], "preset": preset_spec,
            "warehouse": str(options["warehouse"] or default_warehouse_path()), "strict": options["strict"],
            "pseudonymize": options["pseudonymize"], "time_zone": options["time_zone"],
            "limits": {"max_bytes": limits.max_bytes, "max_rows": limits.max_rows, "max_ratio": limits.max_ratio},
            "memory_bytes": options["memory_bytes"] or worker_memory_bytes(), "origin": options["origin"],
        }
        _write_json(folder / "spec.json", spec)
        _write_json(folder / "status.json", {"state": "running", "step": "starting"})
        environment = {**os.environ, "TMPDIR": str(folder / "tmp"),
                       "PYTHONPATH": os.pathsep.join(filter(None, [str(_repository_root()),
                                                                    os.environ.get("PYTHONPATH", "")]))}
        # The lock's descriptor is inherited: the worker holds the user's lock for as long as it lives.
        process = subprocess.Popen(
            [sys.executable, "-m", "analytics.importing.worker", str(folder)],
            env=environment, cwd=str(folder), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(folder / "worker.log", "wb"), start_new_session=True, pass_fds=(lock.fileno(),),
        )
    except OSError as error:
        raise ShopLensError("the validation could not be started on the server; try again later") from error
    finally:
        lock.close()
    _PROCESSES[job_id] = process
    return ImportJob(job_id, kind, user, folder, process.pid, datetime.now(UTC))


def poll(job: ImportJob) -> JobStatus:
    """How `job` stands now (cheap: reads two small files)."""
    seconds = (datetime.now(UTC) - job.started_at).total_seconds()
    status = _read_json(job.folder / "status.json") or {"state": "running", "step": "starting"}
    state, step = status.get("state", "running"), status.get("step", "starting")
    alive = _is_alive(job)
    if state in ("done", "failed") and alive:
        # The worker has written its result and is exiting; until it has, it still holds the user's lock.
        return JobStatus("running", "finishing", seconds)
    if state == "running" and not alive:
        status = _read_json(job.folder / "status.json") or {}
        state = status.get("state", "running")
        if state == "running":
            limit = _read_json(job.folder / "spec.json").get("memory_bytes", 0) if (job.folder / "spec.json").exists() else 0
            return JobStatus("failed", step, seconds, message=(
                f"the {_noun(job)} stopped unexpectedly (it may have needed more than its "
                f"{limit / (1 << 30):.1f} GiB of memory); nothing was changed"))
    report = None
    if state in ("done", "failed") and (job.folder / "result.pickle").exists():
        # Our own worker wrote this file in the job's private folder (mode 0700).
        with open(job.folder / "result.pickle", "rb") as handle:
            report = pickle.load(handle)  # noqa: S301
    return JobStatus(state, step, seconds, report, status.get("message"))


def wait(job: ImportJob, timeout_seconds: float = 3600.0, interval_seconds: float = 0.2) -> JobStatus:
    """Poll `job` until it is no longer running, or `timeout_seconds` pass (then it is cancelled)."""
    deadline = time.monotonic() + timeout_seconds
    while (status := poll(job)).state == "running":
        if time.monotonic() > deadline:
            cancel(job)
            return poll(job)
        time.sleep(interval_seconds)
    return status


def cancel(job: ImportJob) -> None:
    """Stop `job`'s worker (and anything it started); an import stopped at any step changes nothing."""
    if _is_alive(job):
        _write_json(job.folder / "status.json", {"state": "cancelled", "step": "cancelled",
                                                 "message": f"the {_noun(job)} was cancelled; nothing was changed"})
        for sent, wait_seconds in ((signal.SIGTERM, CANCEL_GRACE_SECONDS), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(job.pid, sent)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait_seconds
            while _is_alive(job) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not _is_alive(job):
                break


def cleanup(job: ImportJob) -> None:
    """Remove the job's folder (its status, result and temporary files); cancels it first if still running."""
    cancel(job)
    _PROCESSES.pop(job.job_id, None)
    shutil.rmtree(job.folder, ignore_errors=True)


def clean_stale_jobs(max_age_seconds: float = STALE_SECONDS) -> int:
    """Remove job folders older than `max_age_seconds` whose worker is gone; returns how many."""
    cutoff = time.time() - max_age_seconds
    removed = 0
    for folder in jobs_root().glob("job-*"):
        try:
            if folder.stat().st_mtime >= cutoff:
                continue
            pid = (_read_json(folder / "status.json") or {}).get("pid")
            if pid and _pid_alive(int(pid)):
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed


def _noun(job: ImportJob) -> str:
    return "validation" if job.kind == "validate" else "import"


def _preset_spec(preset: Preset | str) -> dict:
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise ShopLensError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        return {"name": preset}
    if PRESETS.get(preset.name) == preset:
        return {"name": preset.name}
    return {"name": preset.name, "description": preset.description,
            "mappings": [mapping_to_toml(variant) for variant in preset.variants]}


def _user_lock_path(user: str) -> Path:
    folder = jobs_root() / "users"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"{hashlib.sha256(user.encode('utf-8')).hexdigest()[:24]}.lock"


def _is_alive(job: ImportJob) -> bool:
    process = _PROCESSES.get(job.job_id)
    if process is not None:
        return process.poll() is None
    return _pid_alive(job.pid)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # A zombie (finished, not yet reaped by a parent that is not us) is not alive.
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def _write_json(path: Path, document: dict) -> None:
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    partial.write_text(json.dumps(document, default=str), encoding="utf-8")
    os.replace(partial, path)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _repository_root() -> Path:
    return Path(__file__).resolve().parents[2]
