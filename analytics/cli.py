"""The `shoplens` command line (also `python -m analytics`).

Every analysis the app shows is available here without a browser, computed by
the same engine functions the pages call. Each command lives in its own module
under `analytics/commands/`. Problems a user can fix print one line on stderr
and exit with code 2; nothing prints a traceback for them.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn, Sequence

from analytics.commands import (
    build, cart_dropoff, customers, explain, features, forecast, funnel, importing, info, kpis, models, predict,
    recommend, settings,
)
from analytics.errors import ShopLensError

USAGE_ERROR = 2

# In the order `shoplens --help` lists them.
COMMANDS = (build, info, kpis, funnel, cart_dropoff, customers, predict, forecast, recommend, features, explain,
            importing, settings, models)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit with code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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
