"""The model store on disk: job records, artifacts and markers, per warehouse and data version.

Layout, beside the warehouse file (for the default warehouse, under `.shoplens/models/`):

    models/
      timings.json                     last successful seconds per model name (for "about 40 s left")
      <warehouse file>.worker.lock     held (flock) by the one worker of that warehouse
      <warehouse file>.worker.json     that worker's pid, start time and current job
      <warehouse file>.train           "train the defaults": left by schedule_training, taken by the worker
      worker.log                       what workers printed (tracebacks of failed jobs)
      <data_version>/
        manifest.json                  which warehouse this version belongs to (for pruning)
        defaults.json                  model name -> the job id of its default parameters
        <card name>.json               model cards (`analytics.explain.cards.save_card`)
        jobs/<job id>.json             the job record (`JobRecord`)
        jobs/<job id>.cancel|.retrain|.wanted   markers anyone may leave; only the worker removes them
        artifacts/<job id>.pickle      the trained artifact

Every file is written whole to a temporary name and moved into place with `os.replace`
(or `os.link`, which also refuses to overwrite), so a reader never sees half a file.
Records are created by whoever asks first and updated only by the worker (it holds the
lock); everyone else leaves markers, so no two processes ever rewrite the same file.
Artifacts are pickles: they are loaded only from this folder, which only ShopLens writes,
and are as trusted as the warehouse beside them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import shutil
import uuid
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import analytics

MODELS_FOLDER = "models"
STATUSES: tuple[str, ...] = ("queued", "training", "ready", "failed")
MARKERS: tuple[str, ...] = ("cancel", "retrain", "wanted")
# The reason a cancelled job records.
CANCELLED = "cancelled"


def utc_now() -> str:
    """Now, UTC, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A fingerprint of the engine's code (every analytics/**/*.py and the release).

    An artifact trained by other code may not unpickle, or may mean something else, so the
    worker retrains defaults whose record carries another code version.
    """
    digest = hashlib.sha256(analytics.__version__.encode())
    root = Path(analytics.__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class JobRecord:
    """One job for one data version, as stored in `jobs/<job id>.json`.

    Attributes:
        job_id: "<name>-<hash of params>" (see `analytics.models.params.job_id`).
        name: the registered job name.
        params: the canonical JSON of the parameters (`params.encode`).
        data_version: the build it trains on.
        status: "queued", "training", "ready" or "failed".
        sequence: queue order (nanoseconds since the epoch when queued).
        queued_at, started_at, finished_at: UTC ISO 8601 of the last run (None until it happened).
        trained_at: when the stored artifact was trained (UTC ISO 8601); kept while it is retrained.
        seconds: wall time of the last run, when finished.
        reason: one line saying why it failed ("" otherwise).
        progress_done, progress_total, progress_step: the running job's last reported step.
        attempts: runs started (a worker that died mid-run leaves a job to retry once).
        code_version: the engine code that trained the stored artifact.
        artifact_bytes: size of the stored artifact.
    """

    job_id: str
    name: str
    params: dict[str, Any]
    data_version: str
    status: str = "queued"
    sequence: int = 0
    queued_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    trained_at: str | None = None
    seconds: float | None = None
    reason: str = ""
    progress_done: int = 0
    progress_total: int = 0
    progress_step: str = ""
    attempts: int = 0
    code_version: str | None = None
    artifact_bytes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> JobRecord:
        """A record read back; keys from other releases are ignored."""
        known = {item.name for item in fields(cls)}
        return cls(**{key: value for key, value in document.items() if key in known})


class ModelStore:
    """The store of one warehouse file (see the module docstring for the layout).

    Args:
        warehouse: the warehouse file; the store lives in `<its folder>/models/`.
    """

    def __init__(self, warehouse: Path) -> None:
        self.warehouse = Path(warehouse).resolve()
        self.root = self.warehouse.parent / MODELS_FOLDER

    # ----------------------------------------------------------------------- paths

    def version_folder(self, data_version: str) -> Path:
        return self.root / _safe_name(data_version)

    def record_path(self, data_version: str, job_id: str) -> Path:
        return self.version_folder(data_version) / "jobs" / f"{_safe_name(job_id)}.json"

    def artifact_path(self, data_version: str, job_id: str) -> Path:
        return self.version_folder(data_version) / "artifacts" / f"{_safe_name(job_id)}.pickle"

    def marker_path(self, data_version: str, job_id: str, kind: str) -> Path:
        if kind not in MARKERS:
            raise ValueError(f"unknown marker {kind!r}")
        return self.version_folder(data_version) / "jobs" / f"{_safe_name(job_id)}.{kind}"

    @property
    def lock_path(self) -> Path:
        return self.root / f"{self.warehouse.name}.worker.lock"

    @property
    def worker_path(self) -> Path:
        return self.root / f"{self.warehouse.name}.worker.json"

    @property
    def train_request_path(self) -> Path:
        return self.root / f"{self.warehouse.name}.train"

    @property
    def log_path(self) -> Path:
        return self.root / "worker.log"

    @property
    def timings_path(self) -> Path:
        return self.root / "timings.json"

    # ----------------------------------------------------------------------- records

    def read_record(self, data_version: str, job_id: str) -> JobRecord | None:
        """The job's record, or None when there is none (or it cannot be read)."""
        document = read_json(self.record_path(data_version, job_id))
        return JobRecord.from_dict(document) if isinstance(document, dict) else None

    def create_record(self, record: JobRecord) -> bool:
        """Store a new record unless one exists already; True when this call created it."""
        self._ensure_version(record.data_version)
        return write_new(self.record_path(record.data_version, record.job_id), _json_bytes(record.to_dict()))

    def write_record(self, record: JobRecord) -> None:
        """Replace the record (the worker's updates)."""
        self._ensure_version(record.data_version)
        write_atomic(self.record_path(record.data_version, record.job_id), _json_bytes(record.to_dict()))

    def records(self, data_version: str) -> list[JobRecord]:
        """Every readable record of the version, in queue order."""
        folder = self.version_folder(data_version) / "jobs"
        found = [self.read_record(data_version, path.stem) for path in folder.glob("*.json")] if folder.is_dir() else []
        return sorted((record for record in found if record is not None), key=lambda record: record.sequence)

    def delete_record(self, data_version: str, job_id: str) -> None:
        """Remove a job with its markers and artifact."""
        for path in (self.record_path(data_version, job_id), self.artifact_path(data_version, job_id),
                     *(self.marker_path(data_version, job_id, kind) for kind in MARKERS)):
            path.unlink(missing_ok=True)

    # ----------------------------------------------------------------------- defaults

    def defaults(self, data_version: str) -> dict[str, str]:
        """Model name -> job id of its default parameters, as the worker recorded them."""
        document = read_json(self.version_folder(data_version) / "defaults.json")
        return {str(key): str(value) for key, value in document.items()} if isinstance(document, dict) else {}

    def write_defaults(self, data_version: str, defaults: dict[str, str]) -> None:
        self._ensure_version(data_version)
        write_atomic(self.version_folder(data_version) / "defaults.json", _json_bytes(defaults))

    # ----------------------------------------------------------------------- artifacts

    def write_artifact(self, data_version: str, job_id: str, artifact: Any) -> int:
        """Pickle the artifact into place atomically; returns its size in bytes."""
        self._ensure_version(data_version)
        payload = pickle.dumps(artifact, protocol=pickle.HIGHEST_PROTOCOL)
        write_atomic(self.artifact_path(data_version, job_id), payload)
        return len(payload)

    def read_artifact(self, data_version: str, job_id: str) -> Any:
        """Unpickle the stored artifact.

        Raises:
            FileNotFoundError: none is stored; anything unpickling raises for a damaged file.
        """
        with self.artifact_path(data_version, job_id).open("rb") as handle:
            return pickle.load(handle)

    def artifact_stamp(self, data_version: str, job_id: str) -> tuple[int, int] | None:
        """(mtime in ns, size) of the stored artifact, or None: a cache key that changes on every retrain."""
        try:
            stat = self.artifact_path(data_version, job_id).stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    # ----------------------------------------------------------------------- markers

    def mark(self, data_version: str, job_id: str, kind: str) -> None:
        """Leave a marker (idempotent); a "wanted" marker keeps the time of the first ask."""
        path = self.marker_path(data_version, job_id, kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("x"):
                pass
        except FileExistsError:
            pass

    def has_mark(self, data_version: str, job_id: str, kind: str) -> bool:
        return self.marker_path(data_version, job_id, kind).exists()

    def mark_time(self, data_version: str, job_id: str, kind: str) -> float | None:
        """When the marker was left (seconds since the epoch), or None."""
        try:
            return self.marker_path(data_version, job_id, kind).stat().st_mtime
        except OSError:
            return None

    def clear_mark(self, data_version: str, job_id: str, kind: str) -> None:
        self.marker_path(data_version, job_id, kind).unlink(missing_ok=True)

    # ----------------------------------------------------------------------- versions

    def _ensure_version(self, data_version: str) -> None:
        folder = self.version_folder(data_version)
        manifest = folder / "manifest.json"
        if not manifest.exists():
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(manifest, _json_bytes({"warehouse": str(self.warehouse), "data_version": data_version,
                                                "created_at": utc_now()}))

    def versions(self) -> list[str]:
        """The data versions of this warehouse that have a folder (by their manifest)."""
        found = []
        for manifest in self.root.glob("*/manifest.json") if self.root.is_dir() else []:
            document = read_json(manifest)
            if isinstance(document, dict) and document.get("warehouse") == str(self.warehouse):
                found.append(str(document.get("data_version", manifest.parent.name)))
        return sorted(found)

    def prune(self, current_version: str | None) -> list[str]:
        """Delete every version folder of this warehouse except `current_version`'s.

        Only folders whose manifest names this warehouse are touched, so other warehouses in the
        same folder keep theirs. Returns the versions removed.
        """
        removed = []
        for version in self.versions():
            if version != current_version:
                shutil.rmtree(self.version_folder(version), ignore_errors=True)
                removed.append(version)
        return removed

    # ----------------------------------------------------------------------- timings

    def timings(self) -> dict[str, float]:
        """Model name -> seconds its last successful run took."""
        document = read_json(self.timings_path)
        return {str(key): float(value) for key, value in document.items()} if isinstance(document, dict) else {}

    def record_timing(self, name: str, seconds: float) -> None:
        """Remember how long `name` took (the worker's only writer of this file)."""
        timings = self.timings() | {name: round(float(seconds), 3)}
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomic(self.timings_path, _json_bytes(timings))


# --------------------------------------------------------------------------- files


def _written_beside(path: Path, payload: bytes) -> Path:
    """`payload` written and synced to a new temporary file beside `path` (the caller removes it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)  # a disk-full write leaves no partial file behind
        raise
    return temporary


def write_atomic(path: Path, payload: bytes) -> None:
    """Write `payload` to a temporary file beside `path`, then move it over `path` in one step."""
    temporary = _written_beside(path, payload)
    try:
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_new(path: Path, payload: bytes) -> bool:
    """Write `payload` to `path` only if `path` does not exist; never a half-written file. True when written."""
    temporary = _written_beside(path, payload)
    try:
        # link() fails when the target exists: of two processes creating the same record, one wins.
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        except OSError:
            # A file system without hard links: an exclusive create, filled in before anyone reads it
            # is not guaranteed, so readers treat an unreadable record as absent for that moment.
            with path.open("xb") as handle:
                handle.write(payload)
        return True
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)


def read_json(path: Path) -> Any:
    """The JSON document at `path`, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _json_bytes(document: Any) -> bytes:
    return (json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _safe_name(text: str) -> str:
    # Data versions are uuid hex and job ids are name-hash, but a file name must never climb out.
    cleaned = "".join(character for character in str(text) if character.isalnum() or character in "-_.")
    if not cleaned or cleaned.startswith("."):
        raise ValueError(f"{text!r} cannot name a file in the model store")
    return cleaned
