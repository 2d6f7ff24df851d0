"""A registry of tiny fake jobs for the model-store tests (`tests.models_fakes:JOBS`).

- alpha, beta: default jobs returning what they saw: their value, their own record's status
  while running, and the worker's pid. `seconds` in the params makes them take that long.
- gated: runs until the file `params["gate"]` exists, reporting progress every 20 ms (so a
  cancel marker stops it at its next step).
- sleepy: sleeps `params["seconds"]` without any progress step (only the worker's signal
  handler can cancel it).
- broken: refuses the data with a two-line ShopLensError; buggy: divides by zero.
- dependent: reads alpha's default artifact (a job that needs another).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from analytics.errors import ShopLensError
from analytics.models.registry import JobContext, JobSpec
from analytics.models.store import ModelStore

REGISTRY = "tests.models_fakes:JOBS"


def run_value(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    context.progress(0, 2, "starting")
    record = ModelStore(context.warehouse).read_record(context.data_version, context.job_id)
    time.sleep(float(params.get("seconds", 0)))
    context.progress(1, 2, "finishing")
    return {"value": params.get("value"), "status_while_running": record.status if record else None,
            "pid": os.getpid(), "is_default": context.is_default}


def run_gated(context: JobContext, params: dict[str, Any]) -> str:
    step = 0
    while not Path(params["gate"]).exists():
        context.progress(step, step + 1, "waiting at the gate")
        step += 1
        time.sleep(0.02)
    return "through the gate"


def run_sleepy(context: JobContext, params: dict[str, Any]) -> str:
    time.sleep(float(params["seconds"]))
    return "slept"


def run_broken(context: JobContext, params: dict[str, Any]) -> None:
    raise ShopLensError("the data has only 3 carts;\nthe model needs 50")


def run_buggy(context: JobContext, params: dict[str, Any]) -> float:
    return 1 / 0


def run_dependent(context: JobContext, params: dict[str, Any]) -> int:
    return context.artifact("alpha", {"value": 1})["value"] + 100


JOBS: tuple[JobSpec, ...] = (
    JobSpec("alpha", "Alpha", "Test", run_value, lambda connection: {"value": 1}),
    JobSpec("beta", "Beta", "Test", run_value, lambda connection: {"value": 2}),
    JobSpec("gated", "Gated", "Test", run_gated, None),
    JobSpec("sleepy", "Sleepy", "Test", run_sleepy, None),
    JobSpec("broken", "Broken", "Test", run_broken, None),
    JobSpec("buggy", "Buggy", "Test", run_buggy, None),
    JobSpec("dependent", "Dependent", "Test", run_dependent, None),
)
