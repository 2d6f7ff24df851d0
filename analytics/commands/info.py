"""`shoplens info`: the warehouse's state and which analyses its data supports."""

from __future__ import annotations

import argparse
import sys

from analytics.commands.arguments import format_parent, warehouse_parent, warehouse_path
from analytics.errors import ShopLensError
from analytics.output import render_frame, render_json


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `info` command."""
    info = commands.add_parser("info", parents=[warehouse_parent(), format_parent()],
                               help="show the warehouse's state and what its data supports")
    info.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    import pandas as pd

    from analytics.warehouse import WarehouseState, inspect_warehouse

    info = inspect_warehouse(warehouse_path(arguments))
    if info.state is not WarehouseState.READY:
        raise ShopLensError(info.message)
    capabilities = pd.DataFrame(
        [{"analysis": c.analysis, "is_supported": c.is_supported, "reason": c.reason} for c in info.capabilities.values()]
    )
    if arguments.format == "json":
        from analytics.warehouse_files import list_versions

        end = info.data_end
        sys.stdout.write(render_json({
            "path": str(info.path), "schema_version": info.schema_version, "data_version": info.data_version,
            "built_at": info.built_at, "source": info.source, "is_sample": info.is_sample,
            "data_end_date": end.data_end_date if end else None,
            "complete_data_end_date": end.complete_data_end_date if end else None,
            "is_last_day_partial": end.is_last_day_partial if end else None,
            "kept_versions": [version.version_id for version in list_versions(info.path)],
            "capabilities": capabilities.to_dict("records"),
        }))
    else:
        title = f"{info.message}\n" if arguments.format == "table" else None
        sys.stdout.write(render_frame(capabilities, arguments.format, title=title))
    return 0
