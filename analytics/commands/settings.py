"""`shoplens settings`: show or change the warehouse's settings (the currency money is shown in)."""

from __future__ import annotations

import argparse
import os
import sys

from analytics.commands.arguments import format_parent, warehouse_parent, warehouse_path
from analytics.output import render_frame, render_json


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `settings` command."""
    settings = commands.add_parser("settings", parents=[warehouse_parent(), format_parent()],
                                   help="show or change the warehouse's settings, such as the currency")
    settings.add_argument("--currency", metavar="SYMBOL",
                          help='the symbol shown before money, e.g. ¥, $, € or CHF; "" for none')
    settings.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    import pandas as pd

    from analytics.settings import CURRENCY_ENV, Settings, load_settings, save_settings

    warehouse = warehouse_path(arguments)
    if arguments.currency is not None:
        save_settings(warehouse, Settings(currency=arguments.currency))
    settings = load_settings(warehouse)
    if arguments.format == "json":
        sys.stdout.write(render_json({"currency": settings.currency}))
    else:
        note = f" (${CURRENCY_ENV} is set and wins over the file)" if os.environ.get(CURRENCY_ENV, "").strip() else ""
        sys.stdout.write(render_frame(pd.DataFrame([{"setting": "currency", "value": settings.currency + note}]),
                                      arguments.format))
    return 0
