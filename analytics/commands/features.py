"""`shoplens features`: export the point-in-time user or product features as of a date."""

from __future__ import annotations

import argparse
import sys

from analytics.commands.arguments import format_parent, positive_int, warehouse_parent, warehouse_path
from analytics.output import render_frame, render_json


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `features` command."""
    parser = commands.add_parser(
        "features", parents=[warehouse_parent(), format_parent()],
        help="export user or product features as of a point in time (feature store)",
        description="Features computed only from events and orders before --as-of, materialised once per data "
                    "version beside the warehouse (features/<data_version>/); see docs/feature-store.md.",
    )
    parser.add_argument("--as-of", dest="as_of", default=None, metavar="DATE",
                        help="the point in time, YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM "
                             "(default: the day after the last event)")
    parser.add_argument("--entity", choices=("user", "product"), default="user",
                        help="one row per user (with an event before --as-of) or per product (default: user)")
    parser.add_argument("--limit", type=positive_int, default=None, metavar="N",
                        help="print only the first N rows (by id)")
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    from analytics.features.predictive import data_end_point
    from analytics.features.store import as_of_timestamp, feature_file, load_features
    from analytics.warehouse import connect

    with connect(warehouse_path(arguments)) as con:
        as_of = as_of_timestamp(arguments.as_of) if arguments.as_of else data_end_point(con)
        features = load_features(con, as_of, arguments.entity)
        stored = feature_file(con, as_of, arguments.entity)
    rows = features.head(arguments.limit) if arguments.limit else features
    if arguments.format == "json":
        sys.stdout.write(render_json({
            "as_of": as_of, "entity": arguments.entity, "rows": len(features),
            "materialised_at": str(stored) if stored is not None else None,
            "features": rows.to_dict("records"),
        }))
    else:
        title = f"{arguments.entity.capitalize()} features as of {as_of:%Y-%m-%d %H:%M} UTC ({len(features):,} rows)"
        sys.stdout.write(render_frame(rows, arguments.format, title=title))
    return 0
