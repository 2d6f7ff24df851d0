"""`shoplens build` and `shoplens sample`: make a warehouse from canonical files or from the generator."""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from analytics.commands.arguments import iso_date, positive_int, progress_bar, warehouse_parent, warehouse_path
from analytics.errors import ShopLensError

DEFAULT_SAMPLE_FOLDER = Path("sample_data")


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `build` and `sample` commands."""
    build = commands.add_parser(
        "build", parents=[warehouse_parent()], help="build the warehouse from a folder of canonical Parquet/CSV files",
        description="Build (or rebuild) the warehouse from canonical tables; the old warehouse is replaced only on success.",
    )
    build.add_argument("source", nargs="?", type=Path, default=DEFAULT_SAMPLE_FOLDER,
                       help="folder with events.parquet or events.csv and the other tables (default: sample_data)")
    build.add_argument(
        "--if-needed", action="store_true",
        help="build only when the warehouse is missing, or holds a sample older than the source files "
             "or from another schema version; a warehouse of other data is never replaced, and one that "
             "cannot be read is restored from its newest readable kept version instead of rebuilt",
    )
    build.set_defaults(handler=run_build)

    sample = commands.add_parser(
        "sample", parents=[warehouse_parent()], help="generate a realistic sample shop and build a warehouse from it",
        description="Generate a seeded sample shop as canonical Parquet files, then build a warehouse from them.",
    )
    sample.add_argument("--users", type=positive_int, default=None, help="number of users (default: the committed sample's)")
    sample.add_argument("--days", type=positive_int, default=None, help="days of activity (default: 365)")
    sample.add_argument("--seed", type=int, default=None, help="random seed; the same seed gives the same shop")
    sample.add_argument("--start", type=iso_date, default=None, help="first day, YYYY-MM-DD (default: 2025-01-01)")
    sample.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="where to write the Parquet files (default: a temporary folder)")
    sample.add_argument("--no-build", action="store_true", help="only write the files; needs --out")
    sample.set_defaults(handler=run_sample)


def build_with_progress(source: Path, target: Path, *, is_sample: bool, label: str | None = None) -> int:
    """Build `target` from `source` with a progress bar and a one-line summary on stderr."""
    from analytics.warehouse import build_warehouse

    update, close = progress_bar("building warehouse")
    try:
        report = build_warehouse(source, target, is_sample=is_sample, source_label=label,
                                 progress=lambda step, done, total: update(done, total))
    finally:
        close()
    rows = ", ".join(f"{name} {count:,}" for name, count in report.source_rows.items())
    print(f"built {report.path} in {report.seconds:.1f} s ({rows})", file=sys.stderr)
    if report.stale_files_removed:
        print(f"removed {report.stale_files_removed} partial file(s) left by a killed build or import", file=sys.stderr)
    if report.replaced is not None:
        print(f"the warehouse it replaced is kept as version {report.replaced.version_id}; "
              f"`shoplens restore {report.replaced.version_id}` brings it back", file=sys.stderr)
    unsupported = [c.analysis for c in report.capabilities if not c.is_supported]
    if unsupported:
        print(f"note: this data does not support: {', '.join(unsupported)} (see `shoplens info`)", file=sys.stderr)
    _schedule_training(target)
    return 0


def _schedule_training(target: Path) -> None:
    """Start training the pages' models for the new data, so no page visit waits on training."""
    from analytics.models.scheduling import schedule_after_change

    print(schedule_after_change(target), file=sys.stderr)


def run_build(arguments: argparse.Namespace) -> int:
    from analytics.warehouse import WarehouseState, inspect_warehouse, needs_sample_rebuild
    from analytics.warehouse_files import list_versions

    target = warehouse_path(arguments)
    source = arguments.source
    unreadable = inspect_warehouse(target).state is WarehouseState.UNREADABLE
    readable_versions = [version for version in list_versions(target) if version.is_readable] if unreadable else []
    if arguments.if_needed:
        if unreadable and readable_versions:
            return _restore_instead(target, readable_versions[0].version_id)
        reason = needs_sample_rebuild(target, source)
        if reason is None:
            print(f"warehouse {target} is up to date; nothing to do", file=sys.stderr)
            return 0
        if unreadable:
            reason += " and no earlier version is kept, so it is rebuilt (imported data must be imported again)"
        print(f"building {target}: {reason}", file=sys.stderr)
    elif readable_versions:
        print(f"note: {target} cannot be read; the build replaces it, but its newest readable kept version "
              f"{readable_versions[0].version_id} may hold imported rows: `shoplens restore "
              f"{readable_versions[0].version_id}` brings it back", file=sys.stderr)
    is_sample = source.resolve() == DEFAULT_SAMPLE_FOLDER.resolve()
    return build_with_progress(source, target, is_sample=is_sample, label="ShopLens sample data" if is_sample else None)


def _restore_instead(target: Path, version_id: str) -> int:
    from analytics.warehouse import restore_warehouse

    report = restore_warehouse(target, version_id)
    kept = (f"; the unreadable file is kept as version {report.replaced.version_id}" if report.replaced else "")
    print(f"{target} could not be read, so instead of rebuilding it (which would lose imported rows) the newest "
          f"readable kept version was restored: {report.restored.describe()}{kept}", file=sys.stderr)
    _schedule_training(target)
    return 0


def run_sample(arguments: argparse.Namespace) -> int:
    from analytics.sample import SampleConfig, write_sample

    if arguments.no_build and arguments.out is None:
        raise ShopLensError("--no-build needs --out, or the generated files would be thrown away")
    overrides = {"users": arguments.users, "days": arguments.days, "seed": arguments.seed, "start_date": arguments.start}
    config = replace(SampleConfig(), **{key: value for key, value in overrides.items() if value is not None})
    with tempfile.TemporaryDirectory(prefix="shoplens-sample-") as scratch:
        folder = arguments.out if arguments.out is not None else Path(scratch)
        update, close = progress_bar("generating users")
        try:
            counts = write_sample(config, folder, progress=update)
        finally:
            close()
        summary = ", ".join(f"{name} {count:,}" for name, count in counts.items())
        print(f"generated {summary} (seed {config.seed}) in {folder}", file=sys.stderr)
        if arguments.no_build:
            return 0
        label = f"generated sample (users={config.users}, days={config.days}, seed={config.seed})"
        return build_with_progress(folder, warehouse_path(arguments), is_sample=True, label=label)
