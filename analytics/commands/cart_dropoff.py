"""`shoplens cart-dropoff`: how many carts are abandoned within a window, overall or by a breakdown."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

from analytics.commands.arguments import duration, format_parent, warehouse_parent, warehouse_path
from analytics.commands.filters import add_filter_arguments, resolve_filters
from analytics.output import render_frame, render_json

if TYPE_CHECKING:
    import pandas as pd

BREAKDOWN_CHOICES = ("category", "device", "price_band", "hour", "is_returning")


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `cart-dropoff` command."""
    parser = commands.add_parser(
        "cart-dropoff", parents=[warehouse_parent(), format_parent()],
        help="carts abandoned within a window (censoring-aware), by breakdown, or the win-back list",
        description="Carts carted in the period: bought within the window, abandoned, still open at the data end "
                    "(censored, not counted as abandoned), and recovered later; see docs/cart-dropoff.md.",
    )
    add_filter_arguments(parser)
    parser.add_argument("--within", type=duration, default=timedelta(hours=24), metavar="DURATION",
                        help="the abandonment window, like 24h, 90m or 2d (default: 24h)")
    parser.add_argument("--by", choices=BREAKDOWN_CHOICES, default=None,
                        help="one row per category, device, price band, hour of day or new vs returning")
    parser.add_argument("--winback", action="store_true",
                        help="list the carts not bought within the window (user, product, ...) instead")
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    import pandas as pd

    from analytics.cart_dropoff import hours_of, load_cart_dropoff, load_winback_segment
    from analytics.warehouse import connect

    within_hours = hours_of(arguments.within)
    with connect(warehouse_path(arguments)) as con:
        filters = resolve_filters(con, arguments)
        if arguments.winback:
            segment = load_winback_segment(con, filters, within_hours)
            sys.stdout.write(render_frame(segment, arguments.format,
                                          title=f"Carts not bought within {within_hours:g} h"))
            return 0
        dropoff = load_cart_dropoff(con, filters, within_hours)
    summary = {
        "carts": dropoff.carts,
        "bought_within": dropoff.bought_within,
        "abandoned": dropoff.abandoned,
        "open": dropoff.open,
        "recovered": dropoff.recovered,
        "abandonment_rate": dropoff.abandonment_rate,
        "km_abandonment_rate": dropoff.km_abandonment_rate,
        "recovered_rate": dropoff.recovered_rate,
    }
    breakdown = dropoff.breakdowns[arguments.by] if arguments.by else None
    if arguments.format == "json":
        document = {
            "period": {"start_date": filters.start_date, "end_date": filters.end_date},
            "filters": {"categories": filters.categories, "channels": filters.channels, "devices": filters.devices},
            "within_hours": within_hours,
            "data_end_at": dropoff.data_end_at,
            **summary,
        }
        if breakdown is not None:
            document["by"] = arguments.by
            document["breakdown"] = breakdown.to_dict("records")
        sys.stdout.write(render_json(document))
    elif breakdown is not None:
        title = f"Carts {filters.start_date} to {filters.end_date} by {arguments.by}, window {within_hours:g} h"
        sys.stdout.write(render_frame(breakdown, arguments.format, title=title))
    elif arguments.format == "csv":
        sys.stdout.write(render_frame(pd.DataFrame([summary]), "csv"))
    else:
        title = (f"Carts {filters.start_date} to {filters.end_date}, window {within_hours:g} h "
                 f"(data ends {dropoff.data_end_at:%Y-%m-%d %H:%M} UTC)" if dropoff.data_end_at else "No data")
        sys.stdout.write(render_frame(_summary_table(summary), "table", title=title))
    return 0


def _summary_table(summary: dict) -> pd.DataFrame:
    import pandas as pd

    from analytics.output import format_exact

    labels = {
        "carts": ("Carts", "count"), "bought_within": ("Bought within the window", "count"),
        "abandoned": ("Abandoned", "count"), "open": ("Still open at the data end (censored)", "count"),
        "recovered": ("Recovered after the window", "count"), "abandonment_rate": ("Abandonment rate", "ratio"),
        "km_abandonment_rate": ("Abandonment rate, Kaplan–Meier", "ratio"),
        "recovered_rate": ("Recovered rate", "ratio"),
    }
    return pd.DataFrame([{"measure": labels[name][0], "value": format_exact(value, labels[name][1])}
                         for name, value in summary.items()])
