"""Models trained once per data build, in a background worker, and loaded by every page and session.

- `schedule_training(warehouse)`: after a build or an import, train every registered model for the
  new data version in a detached worker process; returns at once.
- `load(name, params=None)` -> `Ready(artifact) | Pending(status, progress) | Failed(reason)`:
  what pages call; queues a job nobody asked for yet, never trains in the caller's process.
- `request`, `retrain`, `cancel`, `statuses`, `progress`: queue a variant, retrain (admins),
  cancel, and report ("training… 3 of 6 models, about 40 s left").
- `jobs.JOBS`: the registered jobs and their default parameters; `store.ModelStore`: the files
  under `<warehouse folder>/models/<data version>/`; `worker`: the process that trains.

See docs/models.md.
"""

from analytics.models.loading import (
    Failed,
    NotRequested,
    Pending,
    Ready,
    cancel,
    current_data_version,
    load,
    progress,
    request,
    retrain,
    statuses,
)
from analytics.models.scheduling import schedule_training, start_worker, worker_running
from analytics.models.status import ModelStatus, TrainingProgress

__all__ = [
    "Failed", "ModelStatus", "NotRequested", "Pending", "Ready", "TrainingProgress", "cancel",
    "current_data_version", "load", "progress", "request", "retrain", "schedule_training", "start_worker",
    "statuses", "worker_running",
]
