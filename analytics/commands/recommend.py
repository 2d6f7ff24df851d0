"""`shoplens recommend`: evaluate the recommenders, or recommend for a user or a product.

    shoplens recommend evaluate --k 10 [--dataset movielens100k PATH | --dataset diginetica PATH] --format json
    shoplens recommend user USER_ID --k 10
    shoplens recommend item PRODUCT_ID --k 10

Training shows a progress bar on stderr, stops cleanly on Ctrl-C, and is cached
on disk next to the warehouse per data version and engine code (`recommenders-<version>-<code>.pickle`).
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path
from typing import Any

from analytics.commands.arguments import format_parent, positive_int, progress_bar, warehouse_parent, warehouse_path
from analytics.output import render_frame, render_json

DATASETS = ("warehouse", "movielens100k", "diginetica")
METRIC_COLUMNS = ("precision", "recall", "ndcg", "map", "hit_rate")


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `recommend` command and its `evaluate`, `user` and `item` subcommands."""
    parser = commands.add_parser(
        "recommend", help="recommendations: evaluate the models, or top-K for a user or a product",
        description="Popularity, co-occurrence, ALS, EASE, content and a LambdaRank hybrid with a reason per item; "
                    "see docs/recommendations.md.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    parents = [warehouse_parent(), format_parent()]

    evaluate = actions.add_parser("evaluate", parents=parents, help="offline leaderboard of every model",
                                  description="Fit every model on a training split and score its top-K on the "
                                              "held-out interactions.")
    evaluate.add_argument("--k", type=positive_int, default=10, help="list length (default: 10)")
    evaluate.add_argument("--dataset", nargs="+", metavar=("NAME", "PATH"), default=["warehouse"],
                          help="warehouse (default; time split), or movielens100k PATH, or diginetica PATH")
    evaluate.add_argument("--holdout-days", type=positive_int, default=28,
                          help="warehouse only: days held out at the end (default: 28)")
    evaluate.set_defaults(handler=run_evaluate)

    user = actions.add_parser("user", parents=parents, help="one user's top-K with reasons")
    user.add_argument("user_id", help="the user_id")
    user.add_argument("--k", type=positive_int, default=10, help="items (default: 10)")
    user.add_argument("--retrain", action="store_true", help="ignore the cached models and train again")
    user.set_defaults(handler=run_user)

    item = actions.add_parser("item", parents=parents, help="similar, bought-together and viewed-together items")
    item.add_argument("product_id", help="the product_id")
    item.add_argument("--k", type=positive_int, default=10, help="items per list (default: 10)")
    item.add_argument("--retrain", action="store_true", help="ignore the cached models and train again")
    item.set_defaults(handler=run_item)


def _progress(description: str):
    """A progress reporter for stderr: a bar on a terminal, otherwise one line per new step.

    Piped or logged runs (no terminal) still show what is running, so a long evaluation is never silent.
    """
    if sys.stderr.isatty():
        update, close = progress_bar(description)

        def report(step: str, done: int, total: int) -> None:
            update(done, total)

        return report, close
    last: list[str] = []

    def report_lines(step: str, done: int, total: int) -> None:
        if not last or last[-1] != step:
            last.append(step)
            sys.stderr.write(f"{description}: {step} ({done}/{total})\n")
            sys.stderr.flush()

    return report_lines, lambda: None


def run_evaluate(arguments: argparse.Namespace) -> int:
    from analytics.errors import ShopLensError
    from analytics.recommend import evaluate

    name, *rest = arguments.dataset
    if name not in DATASETS:
        raise ShopLensError(f"dataset {name!r} is unknown; use one of {', '.join(DATASETS)}")
    if name != "warehouse" and len(rest) != 1:
        raise ShopLensError(f"--dataset {name} needs the data folder: --dataset {name} PATH")
    report, close = _progress("Training and scoring")
    try:
        if name == "movielens100k":
            leaderboard = evaluate.evaluate_movielens(Path(rest[0]), arguments.k, progress=report)
        elif name == "diginetica":
            leaderboard = evaluate.evaluate_diginetica(Path(rest[0]), arguments.k, progress=report)
        else:
            from analytics.warehouse import connect

            with connect(warehouse_path(arguments)) as con:
                leaderboard = evaluate.evaluate_warehouse(con, arguments.k, arguments.holdout_days, progress=report)
    finally:
        close()
    k = arguments.k
    columns = ["model", *(f"{metric}@{k}" for metric in METRIC_COLUMNS), "map", "coverage", "novelty",
               "train_seconds", "inference_seconds", "users"]
    table = leaderboard.models[[column for column in columns if column in leaderboard.models]]
    if arguments.format == "json":
        cold = leaderboard.cold_start
        sys.stdout.write(render_json({
            "dataset": leaderboard.dataset, "protocol": leaderboard.protocol, "k": k,
            "champion": leaderboard.champion, "champion_note": leaderboard.champion_note,
            "models": table.to_dict("records"),
            "cold_start": cold.to_dict("records") if not cold.empty else [],
        }))
    else:
        title = f"{leaderboard.dataset}: {leaderboard.protocol}"
        if leaderboard.champion_note:
            title += f" {leaderboard.champion_note}"
        sys.stdout.write(render_frame(table, arguments.format, title=title))
    return 0


def load_or_train(arguments: argparse.Namespace) -> Any:
    """The trained recommenders for the warehouse: from the on-disk cache when its data version matches."""
    from analytics.recommend.service import train_recommenders
    from analytics.warehouse import connect, data_version

    path = warehouse_path(arguments)
    with connect(path) as con:
        version = data_version(con)
        # The code's fingerprint is in the name too: a pickle from older code is never loaded.
        cache = path.parent / f"recommenders-{version}-{_code_fingerprint()}.pickle"
        if cache.is_file() and not arguments.retrain:
            try:
                with cache.open("rb") as handle:
                    return pickle.load(handle)
            except Exception:  # noqa: BLE001 - a stale or partial cache is retrained, not fatal
                pass
        report, close = _progress("Training recommenders")
        try:
            trained = train_recommenders(con, progress=report)
        finally:
            close()
    try:
        for stale in path.parent.glob("recommenders-*.pickle"):
            stale.unlink(missing_ok=True)
        partial = cache.with_suffix(".partial")
        with partial.open("wb") as handle:
            pickle.dump(trained, handle, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(cache)
    except OSError:
        pass  # a read-only folder just means no cache
    return trained


def _code_fingerprint() -> str:
    import hashlib

    from analytics import recommend

    digest = hashlib.sha256()
    for source in sorted(Path(recommend.__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:12]


def run_user(arguments: argparse.Namespace) -> int:
    from analytics.recommend.service import recommend_for_user

    trained = load_or_train(arguments)
    recommendation = recommend_for_user(trained, arguments.user_id, arguments.k)
    columns = ["rank", "product_id", "title", "category", "brand", "score", "reason"]
    items = recommendation.items[columns]
    if arguments.format == "json":
        sys.stdout.write(render_json({
            "user_id": recommendation.user_id, "k": arguments.k, "data_end": trained.data_end,
            "model": recommendation.model,
            "recommendations": items.to_dict("records"),
            "history": recommendation.history.to_dict("records"),
        }))
    else:
        sys.stdout.write(render_frame(items, arguments.format,
                                      title=f"Top {arguments.k} for {recommendation.user_id} "
                                            f"(served by {recommendation.model})"))
    return 0


def run_item(arguments: argparse.Namespace) -> int:
    from analytics.recommend.service import related_items

    trained = load_or_train(arguments)
    related = related_items(trained, arguments.product_id, arguments.k)
    lists = {"similar": related.similar, "bought_together": related.bought_together,
             "viewed_together": related.viewed_together}
    if arguments.format == "json":
        sys.stdout.write(render_json({
            "product_id": related.product_id, "title": related.title, "k": arguments.k,
            **{name: frame.to_dict("records") for name, frame in lists.items()},
        }))
    elif arguments.format == "csv":
        import pandas as pd

        sys.stdout.write(render_frame(pd.concat([frame.assign(list=name) for name, frame in lists.items()]), "csv"))
    else:
        for name, frame in lists.items():
            sys.stdout.write(render_frame(frame, "table", title=f"{name.replace('_', ' ').capitalize()}: "
                                                                f"{related.title} ({related.product_id})"))
    return 0
