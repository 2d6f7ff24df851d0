"""`shoplens predict`: per-customer P(purchase in 7 days) and P(churn in 28 days), with the models' metrics."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics.commands.arguments import format_parent, positive_int, progress_bar, warehouse_parent, warehouse_path
from analytics.output import render_frame, render_json, write_csv


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `predict` command."""
    parser = commands.add_parser(
        "predict", parents=[warehouse_parent(), format_parent()],
        help="per-customer purchase (7 days) and churn (28 days) probabilities, GA4-style",
        description="Trains the purchase and churn models on weekly point-in-time snapshots, validates them on a "
                    "later snapshot (AUC, log loss, calibration), and scores every user active in the 28 days "
                    "before --as-of; see docs/predictions.md.",
    )
    parser.add_argument("--as-of", dest="as_of", default=None, metavar="DATE",
                        help="score as of this day, YYYY-MM-DD (default: the day after the last event)")
    parser.add_argument("--customers-csv", dest="customers_csv", type=Path, default=None, metavar="PATH",
                        help="also write every scored user's probabilities to this CSV file")
    parser.add_argument("--limit", type=positive_int, default=None, metavar="N",
                        help="print only the N users most likely to churn (the CSV file keeps all)")
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    from analytics.features.predictive import score_customers, train_churn_model, train_purchase_model
    from analytics.warehouse import connect

    update, close = progress_bar("training")
    try:
        with connect(warehouse_path(arguments)) as con:
            purchase = train_purchase_model(con, progress=lambda step, done, total: update(done, 2 * total))
            churn = train_churn_model(
                con, progress=lambda step, done, total: update(total + done, 2 * total))
            scores = score_customers(con, arguments.as_of, purchase_model=purchase, churn_model=churn)
    finally:
        close()
    if arguments.customers_csv is not None:
        write_csv(scores, arguments.customers_csv)
    shown = scores.head(arguments.limit) if arguments.limit else scores
    as_of = scores["as_of"].iloc[0] if len(scores) else None
    if arguments.format == "json":
        sys.stdout.write(render_json({
            "as_of": as_of,
            "customers": len(scores),
            "models": {model.name: _card(model) for model in (purchase, churn)},
            "predictions": shown.drop(columns=["as_of"]).to_dict("records"),
        }))
    else:
        title = (f"{len(scores):,} users active in the 28 days before {as_of:%Y-%m-%d}; purchase model AUC "
                 f"{purchase.metrics['roc_auc']:.3f}, churn model AUC {churn.metrics['roc_auc']:.3f}"
                 if as_of is not None else "No active users to score")
        sys.stdout.write(render_frame(shown, arguments.format, title=title))
    return 0


def _card(model) -> dict:
    return {
        "title": model.title,
        "target": model.target,
        "metrics": model.metrics,
        "training_start": model.training_start,
        "training_end": model.training_end,
        "validation_start": model.validation_start,
        "validation_end": model.validation_end,
        "train_rows": model.train_rows,
        "validation_rows": model.validation_rows,
        "calibration": model.calibration.to_dict("records"),
        "data_version": model.data_version,
    }
