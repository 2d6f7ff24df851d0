"""`shoplens models`: the background-trained models of the current data version.

    shoplens models [--variants] --format json     {"models": [{"name", "status", "data_version", "trained_at",
                                                    "seconds"} (+ "reason" when failed)], ...}
    shoplens models train [--wait] [--only NAME] [--retrain]
    shoplens models cancel NAME

Status is one of queued, training, ready, failed. `train` queues every model's default job (or
only NAME) and starts the worker in the background; with --wait it shows progress on stderr until
every one is ready or failed (Ctrl-C stops waiting, not the worker) and exits 2 when any failed.
See docs/models.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from analytics.commands.arguments import format_parent, warehouse_parent, warehouse_path
from analytics.output import FORMATS, render_frame, render_json

WAIT_POLL_SECONDS = 1.0
COLUMNS = ("name", "status", "data_version", "trained_at", "seconds", "reason")


def _action_parent() -> argparse.ArgumentParser:
    # The same options after the action (`models train --format json`); SUPPRESS keeps a value given
    # before the action from being reset to the default by the action's parser.
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--warehouse", type=Path, default=argparse.SUPPRESS, metavar="PATH",
                        help="warehouse file (default: $SHOPLENS_WAREHOUSE, else .shoplens/warehouse.duckdb)")
    parent.add_argument("--format", choices=FORMATS, default=argparse.SUPPRESS, help="output format (default: table)")
    return parent


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `models` command and its `train` and `cancel` actions."""
    parser = commands.add_parser(
        "models", parents=[warehouse_parent(), format_parent()],
        help="models trained in the background per data build: status, train, cancel",
        description="Every model-backed view loads its model from a store trained once per data build by a "
                    "background worker. Without an action: each model's status for the current data version "
                    "(queued, training, ready, failed); see docs/models.md.",
    )
    parser.add_argument("--variants", action="store_true",
                        help="also list models trained with other parameters than the pages' defaults")
    parser.set_defaults(handler=run_status, registry=None)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    train = actions.add_parser("train", parents=[_action_parent()], help="train the models now, in the background",
                               description="Queue every model's default job (those not trained for this data "
                                           "version yet) and start the worker; it keeps running after this "
                                           "command ends.")
    train.add_argument("--wait", action="store_true", help="wait until every model is ready or failed, with "
                                                           "progress on stderr; exit 2 when any failed")
    train.add_argument("--only", action="append", metavar="NAME", default=None,
                       help="train only this model (repeat for more)")
    train.add_argument("--retrain", action="store_true", help="train again even the models already trained")
    train.set_defaults(handler=run_train)
    cancel = actions.add_parser("cancel", parents=[_action_parent()], help="cancel a queued or running model",
                                description="Cancel the model's default job; it is recorded as failed, "
                                            "\"cancelled\".")
    cancel.add_argument("name", help="the model (see `shoplens models`)")
    cancel.set_defaults(handler=run_cancel)


def _registry(arguments: argparse.Namespace) -> str:
    from analytics.models.registry import DEFAULT_REGISTRY

    # Tests point the command at a registry of fake jobs through the namespace.
    return getattr(arguments, "registry", None) or DEFAULT_REGISTRY


def _rows(statuses: list[Any], variants: bool) -> list[dict[str, Any]]:
    rows = []
    for status in statuses:
        row = status.contract()
        if variants:
            row["is_default"] = status.is_default
            row["params"] = status.params
        rows.append(row)
    return rows


def _print_statuses(arguments: argparse.Namespace, path: Path, version: str, statuses: list[Any],
                    variants: bool = False) -> None:
    from analytics.models import loading
    from analytics.models.scheduling import worker_running
    from analytics.models.store import ModelStore

    running = worker_running(ModelStore(path))
    summary = loading.progress(path, version)
    rows = _rows(statuses, variants)
    if arguments.format == "json":
        sys.stdout.write(render_json({"data_version": version, "worker": {"running": running},
                                      "progress": summary.line, "models": rows}))
        return
    import pandas as pd

    frame = pd.DataFrame(rows, columns=[*COLUMNS, *(["is_default", "params"] if variants else [])])
    if arguments.format == "csv":
        sys.stdout.write(render_frame(frame, "csv"))
        return
    frame = frame.astype(object).where(frame.notna(), "—")
    sys.stdout.write(render_frame(frame, "table", title=f"Models for data version {version}: {summary.line}"))
    if not running and any(row["status"] in ("queued", "training") for row in rows):
        print("no worker is running; start one with `shoplens models train`", file=sys.stderr)


def run_status(arguments: argparse.Namespace) -> int:
    from analytics.models import loading

    path = warehouse_path(arguments)
    version = loading.current_data_version(path)
    statuses = loading.statuses(warehouse=path, data_version=version, registry=_registry(arguments),
                                include_variants=arguments.variants)
    _print_statuses(arguments, path, version, statuses, arguments.variants)
    return 0


def run_train(arguments: argparse.Namespace) -> int:
    from analytics.errors import ShopLensError
    from analytics.models import loading, scheduling
    from analytics.models.registry import find_job, load_registry
    from analytics.models.store import ModelStore
    from analytics.warehouse import connect

    path = warehouse_path(arguments)
    arguments.format = getattr(arguments, "format", "table")
    registry = _registry(arguments)
    jobs = load_registry(registry)
    names = tuple(arguments.only) if arguments.only else None
    for name in names or ():
        if find_job(jobs, name).default_params is None:
            raise ShopLensError(f"the model {name!r} only trains when a page asks for it; choose a model with "
                                "defaults (see `shoplens models`)")
    version = loading.current_data_version(path)
    if arguments.retrain:
        loading.retrain(list(names) if names else None, warehouse=path, registry=registry)
    else:
        store = ModelStore(path)
        with connect(path) as connection:
            records = scheduling.enqueue_defaults(store, jobs, connection, version, names)
        if any(record.status in ("queued", "training") for record in records):
            scheduling.start_worker(path, registry)
    if arguments.wait:
        statuses = _wait(path, version, registry, names)
    else:
        statuses = _selected(path, version, registry, names)
    _print_statuses(arguments, path, version, statuses)
    failed = [status for status in statuses if status.status == "failed"]
    if arguments.wait and failed:
        raise ShopLensError(f"{len(failed)} of {len(statuses)} models failed: "
                            + "; ".join(f"{status.name}: {status.reason}" for status in failed))
    return 0


def _selected(path: Path, version: str, registry: str, names: tuple[str, ...] | None) -> list[Any]:
    from analytics.models import loading

    statuses = loading.statuses(warehouse=path, data_version=version, registry=registry)
    return [status for status in statuses if names is None or status.name in names]


def _wait(path: Path, version: str, registry: str, names: tuple[str, ...] | None) -> list[Any]:
    from analytics.models import scheduling
    from analytics.models.status import training_progress
    from analytics.models.store import ModelStore

    store = ModelStore(path)
    last_line = ""
    try:
        while True:
            statuses = _selected(path, version, registry, names)
            running = scheduling.worker_running(store)
            summary = training_progress(statuses, store.timings(), running)
            current = next((status for status in statuses if status.status == "training"), None)
            line = summary.line + (f" ({current.name}: {current.progress_step})"
                                   if current is not None and current.progress_step else "")
            if line != last_line:
                print(line, file=sys.stderr, flush=True)
                last_line = line
            if summary.pending == 0:
                return statuses
            if not running:
                # The worker exits when idle; a job queued meanwhile needs a new one.
                scheduling.start_worker(path, registry)
            time.sleep(WAIT_POLL_SECONDS)
    except KeyboardInterrupt:
        print("stopped waiting; the worker keeps training in the background (`shoplens models` shows it)",
              file=sys.stderr)
        raise SystemExit(130) from None


def run_cancel(arguments: argparse.Namespace) -> int:
    from analytics.errors import ShopLensError
    from analytics.models import loading

    path = warehouse_path(arguments)
    arguments.format = getattr(arguments, "format", "table")
    status = loading.cancel(arguments.name, warehouse=path, registry=_registry(arguments))
    if status is None:
        raise ShopLensError(f"the model {arguments.name!r} has no job for the current data version; "
                            "nothing to cancel")
    if status.status in ("ready", "failed"):
        print(f"{arguments.name} is {status.status}; nothing to cancel", file=sys.stderr)
    else:
        print(f"cancelling {arguments.name} ({status.status}); it will be recorded as failed, \"cancelled\"",
              file=sys.stderr)
    return 0
