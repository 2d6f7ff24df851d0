"""The `shoplens` command line (also `python -m analytics`).

Every analysis the app shows is available here without a browser, computed by
the same engine functions the pages call. Problems a user can fix print one
line on stderr and exit with code 2; nothing prints a traceback for them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NoReturn, Sequence

from analytics.durations import parse_duration
from analytics.errors import ShopLensError
from analytics.output import FORMATS, render_frame, render_json
from analytics.warehouse import default_warehouse_path

if TYPE_CHECKING:
    import pandas as pd

    from analytics.overview import Kpi

DEFAULT_SAMPLE_FOLDER = Path("sample_data")
USAGE_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit with code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write it as YYYY-MM-DD") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than zero")
    return value


def _duration_days(text: str) -> int:
    try:
        duration = parse_duration(text)
    except ShopLensError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if duration < timedelta(days=1) or duration % timedelta(days=1):
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number of days, like 7d or 4w")
    return duration.days


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for every `shoplens` command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--warehouse", type=Path, default=None, metavar="PATH",
        help="warehouse file (default: $SHOPLENS_WAREHOUSE, else .shoplens/warehouse.duckdb)",
    )
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")

    parser = _Parser(prog="shoplens", description="E-commerce analytics over a DuckDB warehouse.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    sample = commands.add_parser(
        "sample", parents=[common], help="generate a realistic sample shop and build a warehouse from it",
        description="Generate a seeded sample shop as canonical Parquet files, then build a warehouse from them.",
    )
    sample.add_argument("--users", type=_positive_int, default=None, help="number of users (default: the committed sample's)")
    sample.add_argument("--days", type=_positive_int, default=None, help="days of activity (default: 365)")
    sample.add_argument("--seed", type=int, default=None, help="random seed; the same seed gives the same shop")
    sample.add_argument("--start", type=_iso_date, default=None, help="first day, YYYY-MM-DD (default: 2025-01-01)")
    sample.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="where to write the Parquet files (default: a temporary folder)")
    sample.add_argument("--no-build", action="store_true", help="only write the files; needs --out")

    build = commands.add_parser(
        "build", parents=[common], help="build the warehouse from a folder of canonical Parquet/CSV files",
        description="Build (or rebuild) the warehouse from canonical tables; the old warehouse is replaced only on success.",
    )
    build.add_argument("source", nargs="?", type=Path, default=DEFAULT_SAMPLE_FOLDER,
                       help="folder with events.parquet or events.csv and the other tables (default: sample_data)")
    build.add_argument(
        "--if-needed", action="store_true",
        help="build only when the warehouse is missing, or holds a sample older than the source files "
             "or from another schema version; a warehouse of other data is never replaced",
    )

    info = commands.add_parser("info", parents=[common, output], help="show the warehouse's state and what its data supports")
    info.set_defaults(format="table")

    kpis = commands.add_parser(
        "kpis", parents=[common, output], help="headline KPIs against the previous period, or per day",
        description="Sessions, users, orders, revenue, conversion rate and average order value, "
                    "with the change against the equally long previous period.",
    )
    kpis.add_argument("--from", dest="start_date", type=_iso_date, help="first day, YYYY-MM-DD")
    kpis.add_argument("--to", dest="end_date", type=_iso_date, help="last day, YYYY-MM-DD (default: the data's last day)")
    kpis.add_argument("--last", type=_duration_days, default=None, metavar="DURATION",
                      help="instead of --from: the last N days up to --to, like 7d or 4w (default: 30d)")
    kpis.add_argument("--category", action="append", default=[], help="keep a top-level category (repeatable)")
    kpis.add_argument("--channel", action="append", default=[], help="keep a traffic channel (repeatable)")
    kpis.add_argument("--device", action="append", default=[], help="keep a device (repeatable)")
    kpis.add_argument("--by", choices=("period", "day"), default="period",
                      help="period: totals against the previous period; day: one row per day")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = _HANDLERS[arguments.command]
    try:
        return handler(arguments)
    except ShopLensError as error:
        print(f"shoplens {arguments.command}: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except OSError as error:
        # Unwritable folders and unreadable files are the user's to fix too.
        print(f"shoplens {arguments.command}: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print(f"shoplens {arguments.command}: cancelled; nothing was changed", file=sys.stderr)
        return 130


def _warehouse_path(arguments: argparse.Namespace) -> Path:
    return arguments.warehouse if arguments.warehouse is not None else default_warehouse_path()


def _progress_bar(description: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    from tqdm import tqdm

    bar = tqdm(desc=description, unit="step", file=sys.stderr, disable=None, leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close


def _build(source: Path, target: Path, *, is_sample: bool, label: str | None = None) -> int:
    from analytics.warehouse import build_warehouse

    update, close = _progress_bar("building warehouse")
    try:
        report = build_warehouse(source, target, is_sample=is_sample, source_label=label,
                                 progress=lambda step, done, total: update(done, total))
    finally:
        close()
    rows = ", ".join(f"{name} {count:,}" for name, count in report.source_rows.items())
    print(f"built {report.path} in {report.seconds:.1f} s ({rows})", file=sys.stderr)
    unsupported = [c.analysis for c in report.capabilities if not c.is_supported]
    if unsupported:
        print(f"note: this data does not support: {', '.join(unsupported)} (see `shoplens info`)", file=sys.stderr)
    return 0


def _command_sample(arguments: argparse.Namespace) -> int:
    from dataclasses import replace

    from analytics.sample import SampleConfig, write_sample

    if arguments.no_build and arguments.out is None:
        raise ShopLensError("--no-build needs --out, or the generated files would be thrown away")
    config = SampleConfig()
    overrides = {"users": arguments.users, "days": arguments.days, "seed": arguments.seed, "start_date": arguments.start}
    config = replace(config, **{key: value for key, value in overrides.items() if value is not None})
    with tempfile.TemporaryDirectory(prefix="shoplens-sample-") as scratch:
        folder = arguments.out if arguments.out is not None else Path(scratch)
        update, close = _progress_bar("generating users")
        try:
            counts = write_sample(config, folder, progress=update)
        finally:
            close()
        summary = ", ".join(f"{name} {count:,}" for name, count in counts.items())
        print(f"generated {summary} (seed {config.seed}) in {folder}", file=sys.stderr)
        if arguments.no_build:
            return 0
        label = f"generated sample (users={config.users}, days={config.days}, seed={config.seed})"
        return _build(folder, _warehouse_path(arguments), is_sample=True, label=label)


def _command_build(arguments: argparse.Namespace) -> int:
    from analytics.warehouse import needs_sample_rebuild

    target = _warehouse_path(arguments)
    source = arguments.source
    if arguments.if_needed:
        reason = needs_sample_rebuild(target, source)
        if reason is None:
            print(f"warehouse {target} is up to date; nothing to do", file=sys.stderr)
            return 0
        print(f"building {target}: {reason}", file=sys.stderr)
    is_sample = source.resolve() == DEFAULT_SAMPLE_FOLDER.resolve()
    return _build(source, target, is_sample=is_sample, label="ShopLens sample data" if is_sample else None)


def _command_info(arguments: argparse.Namespace) -> int:
    import pandas as pd

    from analytics.warehouse import WarehouseState, inspect_warehouse

    info = inspect_warehouse(_warehouse_path(arguments))
    if info.state is not WarehouseState.READY:
        raise ShopLensError(info.message)
    capabilities = pd.DataFrame(
        [{"analysis": c.analysis, "is_supported": c.is_supported, "reason": c.reason} for c in info.capabilities.values()]
    )
    if arguments.format == "json":
        sys.stdout.write(render_json({
            "path": str(info.path), "schema_version": info.schema_version, "data_version": info.data_version,
            "built_at": info.built_at, "source": info.source, "is_sample": info.is_sample,
            "capabilities": capabilities.to_dict("records"),
        }))
    else:
        title = f"{info.message}\n" if arguments.format == "table" else None
        sys.stdout.write(render_frame(capabilities, arguments.format, title=title))
    return 0


def _command_kpis(arguments: argparse.Namespace) -> int:
    import pandas as pd

    from analytics.filters import Filters
    from analytics.overview import filter_options, load_overview
    from analytics.warehouse import connect

    if arguments.start_date is not None and arguments.last is not None:
        raise ShopLensError("give either --from or --last, not both")
    with connect(_warehouse_path(arguments)) as con:
        options = filter_options(con)
        end = arguments.end_date or options.last_date
        if end is None:
            raise ShopLensError("the warehouse has no sessions or orders; build it from data with events or orders")
        start = arguments.start_date or end - timedelta(days=(arguments.last or 30) - 1)
        for flag, chosen, known in (
            ("--category", arguments.category, options.categories),
            ("--channel", arguments.channel, options.channels),
            ("--device", arguments.device, options.devices),
        ):
            unknown = sorted(set(chosen) - set(known))
            if unknown:
                raise ShopLensError(f"{flag} {', '.join(unknown)} is not in the data; choose from {', '.join(known)}")
        filters = Filters(start, end, tuple(arguments.category), tuple(arguments.channel), tuple(arguments.device))
        overview = load_overview(con, filters)
    if arguments.by == "day":
        sys.stdout.write(render_frame(overview.daily, arguments.format, title=f"Daily KPIs {start} to {end}"))
        return 0
    previous = filters.previous_period()
    rows = pd.DataFrame([
        {"kpi": kpi.name, "label": kpi.label, "value": kpi.value, "previous_value": kpi.previous_value,
         "change_ratio": kpi.change_ratio}
        for kpi in overview.kpis
    ])
    if arguments.format == "json":
        sys.stdout.write(render_json({
            "period": {"start_date": start, "end_date": end},
            "previous_period": {"start_date": previous.start_date, "end_date": previous.end_date},
            "filters": {"categories": filters.categories, "channels": filters.channels, "devices": filters.devices},
            "kpis": rows.to_dict("records"),
        }))
    elif arguments.format == "csv":
        sys.stdout.write(render_frame(rows, "csv"))
    else:
        title = f"KPIs {start} to {end}, against {previous.start_date} to {previous.end_date}"
        sys.stdout.write(render_frame(_kpi_table(overview.kpis), "table", title=title))
    return 0


def _kpi_table(kpis: Sequence[Kpi]) -> pd.DataFrame:
    import pandas as pd

    from analytics.formatting import format_change
    from analytics.output import format_exact

    return pd.DataFrame([
        {"KPI": kpi.label, "this period": format_exact(kpi.value, kpi.unit),
         "previous period": format_exact(kpi.previous_value, kpi.unit), "change": format_change(kpi.change_ratio)}
        for kpi in kpis
    ])


_HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "sample": _command_sample,
    "build": _command_build,
    "info": _command_info,
    "kpis": _command_kpis,
}
