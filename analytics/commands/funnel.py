"""`shoplens funnel`: how many users (or sessions) reach each step of a funnel, as the Funnels page shows."""

from __future__ import annotations

import argparse
import sys

from analytics.commands.arguments import duration, format_parent, positive_int, warehouse_parent, warehouse_path
from analytics.commands.filters import add_filter_arguments, resolve_filters
from analytics.output import render_frame, render_json

ORDER_MODES = ("ordered", "strict", "unordered")
BREAKDOWNS = ("device", "channel", "category", "new_vs_returning")


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `funnel` command."""
    funnel = commands.add_parser(
        "funnel", parents=[warehouse_parent(), format_parent()],
        help="users reaching each step of a funnel, with conversion and drop-off",
        description="Counts the users (or sessions) that reach at least each step within the conversion "
                    "window, measured from the first step. Ordered and strict modes match ClickHouse's "
                    "windowFunnel and its strict_order; see docs/funnels.md.",
    )
    funnel.add_argument("--steps", required=True, metavar="STEPS",
                        help="event types in order, comma-separated, e.g. view,cart,purchase; "
                             "cart:Home narrows a step to a category")
    funnel.add_argument("--window", type=duration, default="1h", metavar="DURATION",
                        help="conversion window from the first step, like 30m, 1h or 7d (default: 1h)")
    funnel.add_argument("--mode", choices=ORDER_MODES, default="ordered",
                        help="ordered: other events may come between steps (default); strict: none may; "
                             "unordered: steps in any order")
    funnel.add_argument("--count", choices=("users", "sessions", "conversions"), default="users",
                        help="count users (default); sessions, each session its own attempt; or conversions, "
                             "every attempt of a user (an attempt starts at a step-1 event when none is in "
                             "progress and lasts until it completes or its window passes)")
    funnel.add_argument("--exclude", default="", metavar="EXCLUSIONS",
                        help="disqualify attempts with an excluded event between two steps: comma-separated "
                             "EVENT_TYPE[:CATEGORY]:FROM-TO, e.g. remove_from_cart:1-2 (after step 1 and at or "
                             "before step 2, the attempt ends and reaches no later step); unordered mode "
                             "ignores the step range")
    funnel.add_argument("--by", choices=BREAKDOWNS, default=None,
                        help="also break the funnel down by this, computed within each value")
    funnel.add_argument("--compare", action="store_true",
                        help="compare each step's conversion with the previous equally long period "
                             "(95%% intervals, two-proportion z-test)")
    funnel.add_argument("--dropped-before", type=positive_int, default=None, metavar="STEP",
                        help="instead of the funnel, list the users who reached step STEP - 1 but not STEP, "
                             "with the products of their step STEP - 1 events (a win-back list)")
    add_filter_arguments(funnel)
    funnel.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    from analytics.funnels import FunnelQuery, compare_periods, parse_steps, run_funnel
    from analytics.funnels.query import parse_exclusions
    from analytics.warehouse import connect

    query = FunnelQuery(parse_steps(arguments.steps), arguments.window, mode=arguments.mode,
                        count_by=arguments.count, breakdown=arguments.by,
                        exclusions=parse_exclusions(arguments.exclude)).validate()
    with connect(warehouse_path(arguments)) as con:
        filters = resolve_filters(con, arguments)
        if arguments.dropped_before is not None:
            from analytics.funnels.dropoff import dropped_users

            dropped = dropped_users(con, query, filters, arguments.dropped_before)
            reached, missed = query.labels[arguments.dropped_before - 2], query.labels[arguments.dropped_before - 1]
            title = f"Users who reached {reached} but not {missed}"
            sys.stdout.write(render_frame(dropped, arguments.format, title=title))
            return 0
        result = run_funnel(con, query, filters)
        comparison = compare_periods(con, query, filters) if arguments.compare else None
    steps = result.steps.drop(columns=["step_number", "event_type"])
    if arguments.format == "json":
        document = {
            "steps": steps.to_dict("records"),
            "query": {"steps": list(query.labels), "window_seconds": query.window.total_seconds(),
                      "mode": query.mode, "count": query.count_by, "by": query.breakdown,
                      "exclusions": [exclusion.label for exclusion in query.exclusions]},
            "period": {"start_date": filters.start_date, "end_date": filters.end_date},
            "filters": {"categories": filters.categories, "channels": filters.channels, "devices": filters.devices},
        }
        if result.breakdown is not None:
            document["breakdown"] = result.breakdown.drop(columns=["event_type"]).to_dict("records")
        if comparison is not None:
            previous = filters.previous_period()
            document["previous_period"] = {"start_date": previous.start_date, "end_date": previous.end_date}
            document["comparison"] = comparison.to_dict("records")
        sys.stdout.write(render_json(document))
    elif arguments.format == "csv":
        rows = comparison if comparison is not None else result.breakdown if result.breakdown is not None else steps
        sys.stdout.write(render_frame(rows, "csv"))
    else:
        title = (f"Funnel {filters.start_date} to {filters.end_date}, {query.mode}, "
                 f"window {arguments.window}, counting {query.count_by}"
                 + "".join(f", excluding {exclusion.label}" for exclusion in query.exclusions))
        sys.stdout.write(render_frame(_for_people(steps, query.count_by), "table", title=title))
        if result.breakdown is not None:
            sys.stdout.write("\n" + render_frame(_for_people(result.breakdown.drop(columns=["event_type"]),
                                                             query.count_by), "table", title=f"By {query.breakdown}"))
        if comparison is not None:
            previous = filters.previous_period()
            sys.stdout.write("\n" + render_frame(_comparison_for_people(comparison, query.count_by), "table",
                                                  title=f"Against {previous.start_date} to {previous.end_date}"))
    return 0


def _for_people(frame, count_column: str):
    from analytics.output import format_exact

    table = frame.copy()
    table[count_column] = [format_exact(value, "count") for value in table[count_column]]
    table["dropped"] = [format_exact(value, "count") for value in table["dropped"]]
    for column in ("conversion_from_start", "conversion_from_previous"):
        table[column] = [format_exact(value, "ratio") for value in table[column]]
    for column in ("median_seconds_to_convert", "p90_seconds_to_convert"):
        if column in table:
            table[column] = [format_exact(value, "count") for value in table[column]]
    return table


def _comparison_for_people(comparison, count_column: str):
    import pandas as pd

    from analytics.output import format_exact

    return pd.DataFrame({
        "step": comparison["step"],
        "conversion": [format_exact(value, "ratio") for value in comparison["conversion"]],
        "95% interval": [f"{format_exact(low, 'ratio')}–{format_exact(high, 'ratio')}"
                         for low, high in zip(comparison["conversion_low"], comparison["conversion_high"])],
        "previous": [format_exact(value, "ratio") for value in comparison["conversion_previous"]],
        count_column: [format_exact(value, "count") for value in comparison[count_column]],
        "previous " + count_column: [format_exact(value, "count") for value in comparison[f"{count_column}_previous"]],
        "p value": ["—" if value != value else f"{value:.3f}" for value in comparison["p_value"]],
    })
