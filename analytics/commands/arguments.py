"""Argument types and helpers every `shoplens` command shares."""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Callable

from analytics.durations import parse_duration
from analytics.errors import ShopLensError
from analytics.output import FORMATS
from analytics.warehouse import default_warehouse_path


def iso_date(text: str) -> date:
    """argparse type: a YYYY-MM-DD date."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write it as YYYY-MM-DD") from None


# Counts (users, rows, steps, list lengths) above this are mistakes, and larger ones overflow
# the 32-bit integers of DuckDB and numpy further down instead of failing here with a sentence.
MAX_COUNT = 2**31 - 1
# Durations (windows, horizons) longer than this are mistakes: no shop's data spans a century,
# and nanosecond arithmetic on 64 bits overflows at about 292 years.
MAX_DURATION = timedelta(days=36_500)


def positive_int(text: str) -> int:
    """argparse type: a whole number from 1 to MAX_COUNT."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than zero")
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{text!r} is too large; give at most {MAX_COUNT:,}")
    return value


def duration(text: str) -> timedelta:
    """argparse type: a duration such as 30m, 1h, 7d or 2w, at most MAX_DURATION."""
    try:
        value = parse_duration(text)
    except ShopLensError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    except OverflowError:
        value = None
    if value is None or value > MAX_DURATION:
        raise argparse.ArgumentTypeError(
            f"the duration {text!r} is too long; give at most {MAX_DURATION.days}d (100 years)")
    return value


def duration_days(text: str) -> int:
    """argparse type: a whole number of days written as a duration, like 7d or 4w."""
    value = duration(text)
    if value < timedelta(days=1) or value % timedelta(days=1):
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number of days, like 7d or 4w")
    return value.days


def warehouse_parent() -> argparse.ArgumentParser:
    """Parent parser adding `--warehouse PATH`."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--warehouse", type=Path, default=None, metavar="PATH",
        help="warehouse file (default: $SHOPLENS_WAREHOUSE, else .shoplens/warehouse.duckdb)",
    )
    return parent


def format_parent() -> argparse.ArgumentParser:
    """Parent parser adding `--format table|json|csv`."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    return parent


def warehouse_path(arguments: argparse.Namespace) -> Path:
    """The warehouse the command works on: `--warehouse`, else the default."""
    return arguments.warehouse if arguments.warehouse is not None else default_warehouse_path()


def progress_bar(description: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A stderr progress bar: returns `update(done, total)` and `close()`; silent when not a terminal."""
    from tqdm import tqdm

    bar = tqdm(desc=description, unit="step", file=sys.stderr, disable=None, leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close
