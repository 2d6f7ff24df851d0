"""`shoplens kpis`: the Overview's headline KPIs, against the previous period or per day."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Sequence

from analytics.commands.arguments import format_parent, warehouse_parent, warehouse_path
from analytics.commands.filters import add_filter_arguments, resolve_filters
from analytics.output import render_frame, render_json

if TYPE_CHECKING:
    import pandas as pd

    from analytics.overview import Kpi


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `kpis` command."""
    kpis = commands.add_parser(
        "kpis", parents=[warehouse_parent(), format_parent()],
        help="headline KPIs against the previous period, or per day",
        description="Sessions, users, orders, revenue, conversion rate and average order value, "
                    "with the change against the equally long previous period.",
    )
    add_filter_arguments(kpis)
    kpis.add_argument("--by", choices=("period", "day"), default="period",
                      help="period: totals against the previous period; day: one row per day")
    kpis.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    import pandas as pd

    from analytics.overview import load_overview
    from analytics.warehouse import connect

    with connect(warehouse_path(arguments)) as con:
        filters = resolve_filters(con, arguments)
        overview = load_overview(con, filters)
    start, end = filters.start_date, filters.end_date
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
