"""`shoplens restore`: list the kept versions of the warehouse, or put one back."""

from __future__ import annotations

import argparse
import sys

from analytics.commands.arguments import format_parent, warehouse_parent, warehouse_path
from analytics.output import render_frame


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `restore` command."""
    parser = commands.add_parser(
        "restore", parents=[warehouse_parent(), format_parent()],
        help="list the kept earlier warehouses, or put one back",
        description="Every build, import and restore keeps the warehouse it replaces (the last "
                    "$SHOPLENS_KEEP_VERSIONS, default 3) in <warehouse>.versions/. `restore --list` shows them; "
                    "`restore VERSION` (or `restore latest`) puts one back, keeping the current warehouse as a "
                    "version too, so a restore can itself be undone.",
    )
    parser.add_argument("version", nargs="?", default=None, metavar="VERSION",
                        help="the version to put back (see --list), or 'latest' for the newest readable one")
    parser.add_argument("--list", action="store_true", help="list the kept versions, newest first")
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    import pandas as pd

    from analytics.errors import ShopLensError
    from analytics.warehouse import restore_warehouse
    from analytics.warehouse_files import list_versions

    warehouse = warehouse_path(arguments)
    if arguments.list or arguments.version is None:
        if arguments.version is not None:
            raise ShopLensError("give either --list or a VERSION, not both")
        versions = list_versions(warehouse)
        frame = pd.DataFrame([
            {"version": v.version_id, "replaced_at": v.kept_at.replace(tzinfo=None), "readable": v.is_readable,
             "built_at": v.built_at, "source": v.source, "is_sample": v.is_sample, "events": v.events,
             "orders": v.orders, "data_version": v.data_version}
            for v in versions
        ], columns=["version", "replaced_at", "readable", "built_at", "source", "is_sample", "events", "orders",
                    "data_version"])
        if frame.empty and arguments.format == "table":
            print(f"no earlier version of {warehouse} is kept", file=sys.stderr)
            return 0
        sys.stdout.write(render_frame(frame, arguments.format, title=f"Kept versions of {warehouse}, newest first"))
        return 0
    report = restore_warehouse(warehouse, arguments.version)
    print(f"restored {report.restored.describe()}", file=sys.stderr)
    if report.replaced is not None:
        print(f"the warehouse it replaced is kept as version {report.replaced.version_id}; "
              f"`shoplens restore {report.replaced.version_id}` undoes this restore", file=sys.stderr)
    from analytics.models.scheduling import schedule_after_change

    print(schedule_after_change(warehouse), file=sys.stderr)
    return 0
