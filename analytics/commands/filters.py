"""The global filters as command-line options, resolved against the warehouse like the sidebar does."""

from __future__ import annotations

import argparse
from datetime import timedelta

import duckdb

from analytics.commands.arguments import duration_days, iso_date
from analytics.errors import ShopLensError
from analytics.filters import Filters

DEFAULT_DAYS = 30


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--from`, `--to`, `--last`, `--category`, `--channel` and `--device`."""
    parser.add_argument("--from", dest="start_date", type=iso_date, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end_date", type=iso_date,
                        help="last day, YYYY-MM-DD (default: the data's last complete day; see `shoplens info`)")
    parser.add_argument("--last", type=duration_days, default=None, metavar="DURATION",
                        help=f"instead of --from: the last N days up to --to, like 7d or 4w (default: {DEFAULT_DAYS}d)")
    parser.add_argument("--category", action="append", default=[], help="keep a top-level category (repeatable)")
    parser.add_argument("--channel", action="append", default=[], help="keep a traffic channel (repeatable)")
    parser.add_argument("--device", action="append", default=[], help="keep a device (repeatable)")


def resolve_filters(con: duckdb.DuckDBPyConnection, arguments: argparse.Namespace) -> Filters:
    """Turn the filter options into Filters, checking each value against the data.

    Raises:
        ShopLensError: contradictory dates, an empty warehouse, or a value not in the data.
    """
    from analytics.overview import filter_options

    if arguments.start_date is not None and arguments.last is not None:
        raise ShopLensError("give either --from or --last, not both")
    options = filter_options(con)
    end = arguments.end_date or _last_complete_day(con, options.last_date)
    if end is None:
        raise ShopLensError("the warehouse has no sessions or orders; build it from data with events or orders")
    start = arguments.start_date or end - timedelta(days=(arguments.last or DEFAULT_DAYS) - 1)
    for flag, chosen, known in (
        ("--category", arguments.category, options.categories),
        ("--channel", arguments.channel, options.channels),
        ("--device", arguments.device, options.devices),
    ):
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            raise ShopLensError(f"{flag} {', '.join(unknown)} is not in the data; choose from {', '.join(known)}")
    return Filters(start, end, tuple(arguments.category), tuple(arguments.channel), tuple(arguments.device))


def _last_complete_day(con: duckdb.DuckDBPyConnection, last_date):
    """The default end of a period: the data's last day, or the day before it when that day is partial.

    A partial last day (an export cut in the early hours) would be a period's worst day and an
    RFM or forecast's misleading end; `analytics.warehouse.data_end_summary` says how it is judged.
    """
    from analytics.warehouse import complete_data_end

    complete = complete_data_end(con)
    if last_date is None or complete is None:
        return last_date
    return min(last_date, complete)
