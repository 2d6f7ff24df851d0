"""The `shoplens` command line (also `python -m analytics`).

Every analysis the app shows is available here without a browser, computed by
the same engine functions the pages call. Each command lives in its own module
under `analytics/commands/`. Every error prints one line on stderr and exits
with code 2: wrong arguments, bad data, a full disk, a number too large to
compute with. Nothing prints a traceback unless `SHOPLENS_DEBUG=1` asks for it.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import traceback
from typing import NoReturn, Sequence

from analytics.commands import (
    build, cart_dropoff, customers, explain, features, forecast, funnel, importing, info, kpis, models, predict,
    recommend, restore, settings,
)
from analytics.errors import ShopLensError

USAGE_ERROR = 2
CANCELLED = 130
DEBUG_ENV = "SHOPLENS_DEBUG"

# In the order `shoplens --help` lists them.
COMMANDS = (build, info, kpis, funnel, cart_dropoff, customers, predict, forecast, recommend, features, explain,
            importing, restore, settings, models)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit with code 2, and that never guesses options.

    `allow_abbrev=False`: argparse would otherwise read `--to` as `--top` when a command
    has `--top` but no `--to`, silently answering another question.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {_one_line(message)} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for every `shoplens` command."""
    parser = _Parser(prog="shoplens", description="E-commerce analytics over a DuckDB warehouse.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for module in COMMANDS:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    arguments = build_parser().parse_args(argv)
    try:
        return arguments.handler(arguments)
    except KeyboardInterrupt:
        print(f"shoplens {arguments.command}: cancelled; nothing was changed", file=sys.stderr)
        return CANCELLED
    except Exception as error:  # noqa: BLE001 - every failure becomes one line; see describe_error
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        print(f"shoplens {arguments.command}: error: {describe_error(error)}", file=sys.stderr)
        return USAGE_ERROR


def describe_error(error: BaseException) -> str:
    """Say in one line what went wrong and what to do, for any exception a command raises.

    ShopLensError messages are written for people already. A full disk, a number too
    large to compute with and running out of memory get a fixed sentence; other
    operating-system errors keep their own text. Anything else is a bug: its type and
    first line, with how to see the traceback.
    """
    import duckdb

    text = _one_line(str(error))
    if isinstance(error, ShopLensError):
        return text
    if isinstance(error, OSError) and error.errno == errno.ENOSPC or "No space left on device" in text:
        return "the disk is full; free some space and run the command again (a build or import changes nothing " \
               "until it has finished)"
    if isinstance(error, MemoryError) or isinstance(error, duckdb.OutOfMemoryException):
        return "out of memory; close other programs or use less data (a shorter period, fewer series)"
    if isinstance(error, OverflowError):
        return f"a number is too large to compute with ({text}); use a smaller value"
    if isinstance(error, OSError):
        return text
    return (f"internal error ({type(error).__name__}: {text}); this is a bug in ShopLens, please report it "
            f"(set {DEBUG_ENV}=1 to see the traceback)")


def _one_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"
