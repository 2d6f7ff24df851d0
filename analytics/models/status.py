"""What the models of a data version are doing: per model status, and one progress line for people.

A record's stored status is what the worker last wrote; the status shown also reads the
markers and whether the worker lives: a queued job someone cancelled is "failed" (cancelled)
already, a ready model asked to retrain is "queued", and a "training" job whose worker died is
"queued" (the next worker runs it again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analytics.models.registry import Registry
from analytics.models.scheduling import worker_running
from analytics.models.store import CANCELLED, JobRecord, ModelStore

# When a job takes longer than its last run, its remaining time is shown as this share of that run.
OVERRUN_SHARE = 0.1


@dataclass(frozen=True)
class ModelStatus:
    """One job's state, as `shoplens models` and the pages report it.

    Attributes:
        name: the model (job) name.
        job_id: the job's id ("<name>-<params hash>").
        status: "queued", "training", "ready" or "failed".
        data_version: the build it belongs to.
        trained_at: when its stored artifact was trained (UTC ISO 8601), or None.
        seconds: wall time of its last run, or None.
        reason: one line when failed, else "".
        is_default: the model's default parameters (what every page opens with).
        params: the canonical parameters.
        has_artifact: a trained artifact is stored (it serves while the job is retrained).
        progress_done, progress_total, progress_step: the running job's last step.
        started_at: when its last run started (UTC ISO 8601), or None.
    """

    name: str
    job_id: str
    status: str
    data_version: str
    trained_at: str | None
    seconds: float | None
    reason: str
    is_default: bool
    params: dict[str, Any]
    has_artifact: bool
    progress_done: int = 0
    progress_total: int = 0
    progress_step: str = ""
    started_at: str | None = None

    def contract(self) -> dict[str, Any]:
        """The row of `shoplens models --format json`: name, status, data_version, trained_at, seconds (+ reason)."""
        row = {"name": self.name, "status": self.status, "data_version": self.data_version,
               "trained_at": self.trained_at, "seconds": self.seconds}
        if self.status == "failed":
            row["reason"] = self.reason
        return row


def effective_status(store: ModelStore, record: JobRecord, is_worker_running: bool) -> str:
    """The status to show for `record` (see the module docstring)."""
    version, job_id = record.data_version, record.job_id
    if record.status == "queued" and store.has_mark(version, job_id, "cancel"):
        return "failed"
    if record.status == "training" and not is_worker_running:
        return "queued"
    if record.status in ("ready", "failed") and store.has_mark(version, job_id, "retrain"):
        return "queued"
    return record.status if record.status in ("queued", "training", "ready", "failed") else "failed"


def status_of(store: ModelStore, record: JobRecord, *, is_default: bool, is_worker_running: bool) -> ModelStatus:
    """A record as a ModelStatus."""
    status = effective_status(store, record, is_worker_running)
    reason = record.reason
    if status == "failed" and record.status == "queued":
        reason = CANCELLED
    return ModelStatus(
        name=record.name, job_id=record.job_id, status=status, data_version=record.data_version,
        trained_at=record.trained_at, seconds=record.seconds, reason=reason if status == "failed" else "",
        is_default=is_default, params=record.params,
        has_artifact=store.artifact_stamp(record.data_version, record.job_id) is not None,
        progress_done=record.progress_done, progress_total=record.progress_total,
        progress_step=record.progress_step, started_at=record.started_at,
    )


def model_statuses(store: ModelStore, data_version: str, registry: Registry | None = None, *,
                   include_variants: bool = False) -> list[ModelStatus]:
    """Every default model of the version (registry order), then the requested variants when asked.

    A registered model with no record yet (the worker has not queued this version's defaults)
    is listed as "queued" with no job id; see `worker_running` for whether anyone will train it.

    Args:
        store: the warehouse's store.
        data_version: the version to report.
        registry: the jobs, to list models not queued yet; None lists only what is recorded.
        include_variants: also list jobs with other parameters than the defaults.
    """
    running = worker_running(store)
    defaults = store.defaults(data_version)
    by_id = {record.job_id: record for record in store.records(data_version)}
    names = ([spec.name for spec in registry if spec.default_params is not None] if registry is not None
             else list(defaults))
    statuses = []
    for name in names:
        record = by_id.get(defaults.get(name, ""))
        if record is None:
            statuses.append(ModelStatus(name, "", "queued", data_version, None, None, "", True, {}, False))
        else:
            statuses.append(status_of(store, record, is_default=True, is_worker_running=running))
    if include_variants:
        default_ids = set(defaults.values())
        statuses += [status_of(store, record, is_default=False, is_worker_running=running)
                     for record in by_id.values() if record.job_id not in default_ids]
    return statuses


@dataclass(frozen=True)
class TrainingProgress:
    """How far training of a data version has come, for the "training… 3 of 6 models" line.

    Attributes:
        ready: jobs ready; failed: jobs failed; total: every job of the version.
        training: the model being trained, or None.
        seconds_left: estimated from each model's last successful run; None when a pending
            model has never run.
        is_worker_running: a worker holds the lock.
    """

    ready: int
    failed: int
    total: int
    training: str | None
    seconds_left: float | None
    is_worker_running: bool

    @property
    def pending(self) -> int:
        return self.total - self.ready - self.failed

    @property
    def line(self) -> str:
        """One line for people, e.g. "training… 3 of 6 models, about 40 s left"."""
        if self.total == 0:
            return "no models queued yet"
        if self.pending == 0:
            failed = f", {self.failed} failed" if self.failed else ""
            return f"all {self.total} models ready" if not self.failed else f"{self.ready} of {self.total} models ready{failed}"
        if not self.is_worker_running:
            return f"waiting for the worker… {self.ready} of {self.total} models ready"
        left = f", {format_seconds_left(self.seconds_left)}" if self.seconds_left is not None else ""
        return f"training… {self.ready} of {self.total} models{left}"


def training_progress(statuses: list[ModelStatus], timings: dict[str, float], is_worker_running: bool,
                      now: datetime | None = None) -> TrainingProgress:
    """Summarise `statuses` (one per job) into a TrainingProgress.

    Args:
        statuses: from `model_statuses`.
        timings: model name -> seconds of its last successful run (`ModelStore.timings`).
        is_worker_running: whether a worker is alive.
        now: the current time (UTC); for tests.
    """
    now = now or datetime.now().astimezone()
    left: float | None = 0.0
    training = None
    for status in statuses:
        if status.status in ("ready", "failed"):
            continue
        expected = timings.get(status.name)
        if status.status == "training":
            training = status.name
        if expected is None or left is None:
            left = None
            continue
        if status.status == "training" and status.started_at:
            elapsed = (now - datetime.fromisoformat(status.started_at)).total_seconds()
            left += max(expected - elapsed, expected * OVERRUN_SHARE)
        else:
            left += expected
    return TrainingProgress(
        ready=sum(status.status == "ready" for status in statuses),
        failed=sum(status.status == "failed" for status in statuses),
        total=len(statuses), training=training, seconds_left=left, is_worker_running=is_worker_running,
    )


def format_seconds_left(seconds: float) -> str:
    """"about 40 s left", "about 3 min left", "less than 5 s left"."""
    if seconds < 5:
        return "less than 5 s left"
    if seconds < 90:
        return f"about {round(seconds / 5) * 5:.0f} s left"
    return f"about {round(seconds / 60):.0f} min left"
