"""Benchmark of the model store: background training of every model, and loading each artifact.

Run with `nice -n 10 python -m benchmarks.models`. The committed sample is built into a fresh
warehouse under `benchmarks/.data/models/` (a new data version, so nothing is trained yet), then:

- background training: `analytics.models.schedule_training` starts the detached worker, as a build
  or an import does, and the benchmark polls `shoplens models`'s status until every default model is
  ready or failed. Reported: each model's seconds as its record has them (the worker's wall time for
  the job, SHAP and card included) and the wall time from the call to the last model. Target
  (issue 14): every model of the sample warehouse under 3 minutes.
- loading, per default artifact, with the data version given as pages give it: the first
  `analytics.models.load(name)` in a new Python process (reading the record and unpickling, with the
  imports of the libraries the artifact's classes live in), then a second load from disk in that
  process (what a running server pays once for a newly trained model), each the median of
  `--cold-runs` processes; warm is `load(name)` through a reader that caches decoded artifacts by
  path and stamp, as `dashboard/model_status.py`'s `st.cache_resource` does (what every later page
  view costs), median of `--warm-runs`. `--reuse` measures loading again on the last run's models. The peer is what a page visit cost
  before this store: training the model on the visit (its training seconds from the same run).
  Target: every model-backed view settles in under 2 s, so loading must be a small part of that.

The machine is shared: the load average at the start and end is printed with the results.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import DATA, ROOT, machine, median_seconds, write_section

TARGET_SECONDS = 180.0
POLL_SECONDS = 1.0

# The first load in a new process, as a fresh server's first page view does it: the page already
# imported analytics.models and knows the data version; unpickling imports what the artifact needs.
COLD_SCRIPT = """
import json, sys, time
from analytics.models import load, Ready
started = time.perf_counter()
result = load(sys.argv[2], warehouse=sys.argv[1], data_version=sys.argv[3], request_missing=False)
first = time.perf_counter() - started
# Again from disk, now that the modules are imported: what a warm server pays for a newly trained model.
started = time.perf_counter()
load(sys.argv[2], warehouse=sys.argv[1], data_version=sys.argv[3], request_missing=False)
print(json.dumps({"seconds": first, "decode": time.perf_counter() - started, "ready": isinstance(result, Ready)}))
"""


def build_fresh(folder: Path) -> Path:
    """A new sample warehouse in `folder` (its model store emptied)."""
    from analytics.warehouse import build_warehouse

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    target = folder / "warehouse.duckdb"
    build_warehouse(ROOT / "sample_data", target, is_sample=True)
    return target


def train_in_background(warehouse: Path) -> tuple[list, float]:
    """Schedule training and wait; returns (statuses, wall seconds from the call to the last model)."""
    from analytics.models import schedule_training, statuses

    started = time.perf_counter()
    schedule_training(warehouse)
    last = ""
    while True:
        current = statuses(warehouse=warehouse)
        line = " ".join(f"{status.name}:{status.status}" for status in current)
        if line != last:
            print(f"{time.perf_counter() - started:6.0f} s  {line}", file=sys.stderr, flush=True)
            last = line
        if all(status.status in ("ready", "failed") for status in current):
            return current, time.perf_counter() - started
        time.sleep(POLL_SECONDS)


def cold_load_seconds(warehouse: Path, version: str, name: str, runs: int) -> tuple[float, float]:
    """Median seconds of the first load in a fresh process, and of reading it again there (modules imported)."""
    times, decodes = [], []
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    for _ in range(runs):
        output = subprocess.run([sys.executable, "-c", COLD_SCRIPT, str(warehouse), name, version], capture_output=True,
                                text=True, check=True, env=environment).stdout
        result = json.loads(output.strip().splitlines()[-1])
        if not result["ready"]:
            raise SystemExit(f"{name} was not ready when loaded cold")
        times.append(result["seconds"])
        decodes.append(result["decode"])
    return statistics.median(times), statistics.median(decodes)


def warm_load_seconds(warehouse: Path, version: str, name: str, runs: int) -> float:
    """Median seconds of `load` once the decoded artifact is cached, as the page layer caches it."""
    from analytics.models import Ready, load
    from analytics.models.loading import _unpickle

    cache: dict = {}

    def reader(path: Path, stamp: tuple[int, int]):
        key = (str(path), stamp)
        if key not in cache:
            cache[key] = _unpickle(path, stamp)
        return cache[key]

    def work() -> None:
        if not isinstance(load(name, warehouse=warehouse, data_version=version, reader=reader), Ready):
            raise SystemExit(f"{name} was not ready")

    return median_seconds(work, runs, warmup=1)


def _milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-runs", type=int, default=3, help="fresh processes per cold load (default 3)")
    parser.add_argument("--warm-runs", type=int, default=50, help="warm loads per model (default 50)")
    parser.add_argument("--reuse", action="store_true",
                        help="measure loading only, on the models the last run trained (its training figures stay)")
    arguments = parser.parse_args()

    load_before = os.getloadavg()
    if arguments.reuse and (DATA / "models" / "warehouse.duckdb").is_file():
        from analytics.models import statuses as model_statuses

        warehouse = DATA / "models" / "warehouse.duckdb"
        statuses, wall = model_statuses(warehouse=warehouse), None
    else:
        warehouse = build_fresh(DATA / "models")
        statuses, wall = train_in_background(warehouse)
    from analytics.models import current_data_version

    version = current_data_version(warehouse)
    rows = []
    for status in statuses:
        if status.status != "ready":
            rows.append(f"| {status.name} | failed: {status.reason} | | | | |")
            continue
        cold, decode = cold_load_seconds(warehouse, version, status.name, arguments.cold_runs)
        warm = warm_load_seconds(warehouse, version, status.name, arguments.warm_runs)
        ratio = status.seconds / warm if warm > 0 else float("inf")
        rows.append(f"| {status.name} | {status.seconds:,.1f} s | {_milliseconds(cold)} | {_milliseconds(decode)} | "
                    f"{_milliseconds(warm)} | {ratio:,.0f}× |")
    load_after = os.getloadavg()
    slowest = sorted((status for status in statuses if status.seconds), key=lambda status: -status.seconds)[:3]
    total_jobs = sum(status.seconds or 0 for status in statuses)
    if wall is None:
        training = (f"Training figures are from the run that trained these models (`--reuse`); the jobs' own "
                    f"seconds add up to {total_jobs:,.0f} s.")
    else:
        verdict = "met" if wall <= TARGET_SECONDS and all(s.status == "ready" for s in statuses) else "not met"
        training = (f"Background training of every default model of the sample warehouse: **{wall:,.0f} s** from "
                    f"`schedule_training` to the last model (target < {TARGET_SECONDS:.0f} s: {verdict}); the jobs' "
                    f"own seconds add up to {total_jobs:,.0f} s.")
    body = "\n".join([
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()}; load average "
        f"{load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end (the machine is shared).",
        "Command: `nice -n 10 python -m benchmarks.models" + (" --reuse" if wall is None else "")
        + "` (the worker inherits the niceness).",
        "",
        training + " Slowest: " + ", ".join(f"{status.name} {status.seconds:,.0f} s" for status in slowest) + ".",
        "",
        "The peer is what a page visit cost before the store: training the model on the visit, which took what "
        "the worker took (second column).",
        "",
        "| model | trained in the worker (= a page visit before) | first load in a new process (imports included) | "
        "read from disk again (modules imported) | load, warm (cached) | before / warm |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
    ])
    print(write_section("models", body))


if __name__ == "__main__":
    main()
