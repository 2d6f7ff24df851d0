"""`shoplens explain`: list the app's models, print a model's card and SHAP importance, or explain one row."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from analytics.commands.arguments import format_parent, progress_bar, warehouse_parent, warehouse_path
from analytics.output import render_frame, render_json

if TYPE_CHECKING:
    import pandas as pd

    from analytics.explain.cards import ModelCard


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `explain` command."""
    parser = commands.add_parser(
        "explain", parents=[warehouse_parent(), format_parent()],
        help="model cards and SHAP explanations of the app's models",
        description="List the models (--list), train one and print its card with validation metrics and mean "
                    "|SHAP| per feature (--model NAME), or explain one row (--model NAME --row ID). Training "
                    "records the card under <warehouse folder>/models/<data version>/; see docs/explanations.md.",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--list", action="store_true", help="list the models, whether each is available, and "
                                                             "whether a card is recorded for the current data")
    action.add_argument("--model", metavar="NAME", help="the model to train and explain (see --list)")
    parser.add_argument("--row", metavar="ID", default=None,
                        help="with --model: explain this row (a cart_id, user_id, ... among the explained rows)")
    parser.add_argument("--shap-rows", type=int, default=None, metavar="N",
                        help="explain at most N validation rows with SHAP (default 2000)")
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    from analytics.errors import ShopLensError
    from analytics.warehouse import connect

    if arguments.row is not None and arguments.model is None:
        raise ShopLensError("--row needs --model NAME: say which model explains the row")
    if arguments.shap_rows is not None and arguments.shap_rows < 1:
        raise ShopLensError(f"--shap-rows is {arguments.shap_rows}; give a whole number of at least 1")
    path = warehouse_path(arguments)
    with connect(path) as con:
        if arguments.list:
            return _list(con, path, arguments.format)
        return _model(con, path, arguments)


def _list(con: Any, path: Any, output_format: str) -> int:
    import pandas as pd

    from analytics.explain.cards import load_cards
    from analytics.explain.registry import availability
    from analytics.warehouse import data_version

    version = data_version(con)
    cards = load_cards(path, version)
    rows = []
    for item in availability():
        card = item.spec.card_of(cards)
        rows.append({
            "name": item.spec.name, "title": item.spec.title, "task": item.spec.task, "page": item.spec.page,
            "is_available": item.is_available, "reason": item.reason,
            "is_trained": card is not None, "trained_at": card.trained_at if card else None,
            "metrics": card.metrics if card else {},
        })
    if output_format == "json":
        sys.stdout.write(render_json({"data_version": version, "models": rows}))
        return 0
    table = pd.DataFrame(rows).drop(columns=["metrics"])
    sys.stdout.write(render_frame(table, output_format, title=f"Models (data version {version})"))
    return 0


def _model(con: Any, path: Any, arguments: argparse.Namespace) -> int:
    from dataclasses import asdict

    from analytics.explain.cards import card_to_dict
    from analytics.explain.registry import train_and_record
    from analytics.explain.tree_shap import explain_row

    update, close = progress_bar(f"Training and explaining {arguments.model}")
    try:
        _, explanation, card = train_and_record(con, arguments.model, warehouse=path,
                                                max_rows=arguments.shap_rows, progress=update)
    finally:
        close()
    if arguments.row is not None:
        row = explain_row(explanation, arguments.row)
        if arguments.format == "json":
            document = {key: value for key, value in asdict(row).items() if key != "contributions"}
            document = {"model": card.name, **document, "contributions": row.contributions.to_dict("records")}
            sys.stdout.write(render_json(document))
        else:
            title = (f"{card.title}: row {row.row_id}, base {row.base_value:+.4f} -> output {row.raw_output:+.4f} "
                     f"{row.unit} (predicted {row.predicted:.4g}, actual {row.actual:g})")
            sys.stdout.write(render_frame(row.contributions, arguments.format, title=title))
        return 0
    if arguments.format == "json":
        sys.stdout.write(render_json(card_to_dict(card)))
    elif arguments.format == "csv":
        sys.stdout.write(render_frame(_importance(card), "csv"))
    else:
        sys.stdout.write(render_frame(_card_table(card), "table", title=f"Model card: {card.title} ({card.name})"))
        sys.stdout.write(render_frame(_importance(card), "table",
                                      title=f"Mean |SHAP| ({card.shap_unit}), {card.shap_rows:,} rows explained"))
    return 0


def _card_table(card: ModelCard) -> pd.DataFrame:
    import pandas as pd

    rows = [("Task", card.task), ("Predicts", card.target), ("Data version", card.data_version),
            ("Training window", f"{card.training_start} to {card.training_end} ({card.train_rows:,} rows)"),
            ("Validation window", f"{card.validation_start} to {card.validation_end} ({card.validation_rows:,} rows)")]
    rows += [(f"Metric: {name}", "—" if value is None else f"{value:.4f}") for name, value in card.metrics.items()]
    rows += [("Additivity error", f"{card.additivity_max_error:.2g} ({'ok' if card.is_additive else 'too large'})"),
             ("Fit seconds", f"{card.fit_seconds:.1f}")]
    return pd.DataFrame(rows, columns=["field", "value"])


def _importance(card: ModelCard) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({"feature": list(card.mean_abs_shap), "mean_abs_shap": list(card.mean_abs_shap.values())})
