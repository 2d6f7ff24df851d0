"""`shoplens forecast`: backtested forecasts per series, the leaderboard, each series' champion."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics.commands.arguments import (
    format_parent,
    iso_date,
    positive_int,
    progress_bar,
    warehouse_parent,
    warehouse_path,
)
from analytics.output import render_frame, render_json

LEADERBOARD_KEYS = ("unique_id", "model", "mase", "msis", "smape", "wape", "bias", "coverage_80", "coverage_95",
                    "coverage_warning", "days", "folds", "rank", "is_champion")


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `forecast` command."""
    from analytics.forecasting.models import ALL_MODELS
    from analytics.forecasting.series import LEVELS, MEASURES

    parser = commands.add_parser(
        "forecast", parents=[warehouse_parent(), format_parent()],
        help="backtested forecasts per series: leaderboard, champion and the forecast after the data",
        description="Backtests every model on every series (rolling origin), picks each series' champion and "
                    "forecasts the horizon after the data ends with it; see docs/forecasts.md.",
    )
    parser.add_argument("--level", choices=LEVELS, default="category", help="series level (default: category)")
    parser.add_argument("--measure", choices=MEASURES, default="units", help="what to forecast (default: units)")
    parser.add_argument("--series", action="append", default=[], metavar="ID",
                        help="forecast only this series of the level, e.g. a category or product id (repeatable)")
    parser.add_argument("--top", type=positive_int, default=10, metavar="N",
                        help="at --level product, the N products with the most units (default: 10)")
    parser.add_argument("--series-csv", type=Path, default=None, metavar="PATH",
                        help="forecast the series in this CSV (columns unique_id, ds, y) instead of the warehouse")
    parser.add_argument("--drivers-csv", type=Path, default=None, metavar="PATH",
                        help="other drivers (weather, ...): columns ds, optional unique_id, one per driver")
    parser.add_argument("--from", dest="start_date", type=iso_date, default=None, metavar="YYYY-MM-DD",
                        help="first day of the history to learn from (default: the first day of the data)")
    parser.add_argument("--to", dest="end_date", type=iso_date, default=None, metavar="YYYY-MM-DD",
                        help="last day of the history; the forecast starts the step after it (default: the data's "
                             "last day)")
    parser.add_argument("--horizon", type=positive_int, default=28, help="steps to forecast (default: 28)")
    parser.add_argument("--folds", type=positive_int, default=3, help="rolling-origin backtest folds (default: 3)")
    parser.add_argument("--country", default="US", help="public holidays of this country, e.g. US, CN (default: US; "
                                                        "'none' for none)")
    parser.add_argument("--model", action="append", default=[], choices=ALL_MODELS, dest="models",
                        help="take part in the arena (repeatable; default: all for up to 50 series, the fast set "
                             "beyond)")
    parser.add_argument("--jobs", type=positive_int, default=2, help="worker processes (default: 2)")
    parser.add_argument("--show", choices=("leaderboard", "forecast", "champions"), default="champions",
                        help="what --format table/csv prints (json prints everything; default: champions)")
    parser.add_argument("--why", default=None, metavar="SERIES",
                        help="instead of the forecast, explain the global LightGBM model's forecast for one day of "
                             "this series (SHAP waterfall in the measure's unit); needs lightgbm_global in the arena")
    parser.add_argument("--day", default=None, metavar="YYYY-MM-DD",
                        help="with --why: the forecast day to explain (default: the highest LightGBM forecast day)")
    parser.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    from analytics.forecasting.drivers import read_driver_csv
    from analytics.errors import ShopLensError
    from analytics.filters import Filters
    from analytics.forecasting.run import ForecastRequest, forecast_series, run_forecast
    from analytics.forecasting.series import read_series_csv, trim_history

    country = None if arguments.country.lower() == "none" else arguments.country.upper()
    models = tuple(arguments.models) or None
    drivers = read_driver_csv(arguments.drivers_csv) if arguments.drivers_csv else None
    if arguments.start_date and arguments.end_date and arguments.start_date > arguments.end_date:
        raise ShopLensError(f"--from {arguments.start_date} is after --to {arguments.end_date}; swap them")
    update, close = progress_bar("Forecasting series")

    def progress(done: int, total: int, what: str) -> None:
        update(done, total)

    try:
        if arguments.series_csv is not None:
            series = trim_history(read_series_csv(arguments.series_csv), arguments.start_date, arguments.end_date)
            if arguments.series:
                series = _subset(series, tuple(arguments.series))
            result = forecast_series(series, horizon=arguments.horizon, folds=arguments.folds, country=country,
                                     models=models, drivers=drivers, progress=progress, n_jobs=arguments.jobs)
        else:
            from analytics.warehouse import connect

            # Only the end date of the filters applies to a forecast; the start is `history_start`.
            filters = (Filters(start_date=arguments.end_date, end_date=arguments.end_date)
                       if arguments.end_date else None)
            request = ForecastRequest(level=arguments.level, measure=arguments.measure, horizon=arguments.horizon,
                                      folds=arguments.folds, country=country, models=models,
                                      series_ids=tuple(arguments.series), top_n=arguments.top, filters=filters,
                                      history_start=arguments.start_date)
            with connect(warehouse_path(arguments)) as con:
                result = run_forecast(con, request, progress=progress, drivers=drivers, n_jobs=arguments.jobs)
    except KeyboardInterrupt:
        close()
        sys.stderr.write("forecast cancelled\n")
        return 130
    close()
    if arguments.why is not None:
        return _print_why(result, arguments)
    document = forecast_document(result)
    if arguments.format == "json":
        sys.stdout.write(render_json(document))
        return 0
    import pandas as pd

    frame = pd.DataFrame({"leaderboard": document["leaderboard"], "forecast": document["forecast"],
                          "champions": [{"unique_id": key, **value} for key, value in document["champion"].items()]}
                         [arguments.show])
    title = {"leaderboard": "Backtest leaderboard (lower MASE is better)",
             "forecast": "Champion forecast after the data ends (80% interval)",
             "champions": "Champion per series: lowest backtest MASE among models whose intervals held"}[
        arguments.show]
    sys.stdout.write(render_frame(frame, arguments.format, title=title))
    return 0


def _subset(series, ids: tuple[str, ...]):
    from analytics.errors import ShopLensError
    from analytics.forecasting.series import SeriesSet

    unknown = sorted(set(ids) - set(series.ids))
    if unknown:
        raise ShopLensError(f"series {', '.join(unknown)} is not in the CSV; choose from {', '.join(series.ids)}")
    frame = series.frame[series.frame["unique_id"].isin(ids)].reset_index(drop=True)
    return SeriesSet(frame, series.freq, series.season_length, series.level, series.measure, series.labels)


def forecast_document(result) -> dict:
    """The JSON document: leaderboard rows, champion per series, and the champions' forecasts.

    Returns:
        {"leaderboard": [{LEADERBOARD_KEYS}], "champion": {unique_id: {model, mase, msis, smape, wape, bias,
        coverage_80, coverage_95, coverage_warning, days, reason, runner_up, runner_up_mase}},
        "forecast": [{unique_id, ds, yhat, yhat_lower, yhat_upper, yhat_lower_95, yhat_upper_95, model}]}
        with the calibrated 80% interval as yhat_lower/yhat_upper and ds as YYYY-MM-DD.
    """
    arena = result.arena
    leaderboard = arena.leaderboard[list(LEADERBOARD_KEYS)].to_dict("records")
    champion = {row.pop("unique_id"): row for row in arena.champions.to_dict("records")}
    forecast = arena.champion_forecast()
    rows = [{"unique_id": row.unique_id, "ds": row.ds.date().isoformat(), "yhat": row.yhat,
             "yhat_lower": row.yhat_lower_80, "yhat_upper": row.yhat_upper_80, "yhat_lower_95": row.yhat_lower_95,
             "yhat_upper_95": row.yhat_upper_95, "model": row.model}
            for row in forecast.itertuples()]
    return {"leaderboard": leaderboard, "champion": champion, "forecast": rows}


def why_document(result, unique_id: str, day: str | None = None) -> dict:
    """Why the global LightGBM model forecasts what it does on one day after the data ends.

    Args:
        result: a ForecastRun whose arena included lightgbm_global.
        unique_id: the series.
        day: "YYYY-MM-DD" in the horizon; None picks the day with the highest LightGBM forecast.

    Returns:
        {"unique_id", "day", "unit", "base_value", "forecast", "sentence", "contributions": [{feature, label,
        value, shap_value}]}, contributions largest |shap_value| first; base_value + the shap_values = forecast.

    Raises:
        ShopLensError: no global model in the run, an unknown series or a day outside the horizon.
    """
    from analytics.errors import ShopLensError
    from analytics.forecasting.day_explanation import explain_forecast_day, explain_forecast_days, top_drivers_sentence

    if result.arena.global_model is None:
        raise ShopLensError("--why explains the global LightGBM model; add --model lightgbm_global to the arena")
    days = explain_forecast_days(result.arena.global_model, unique_id, unit=result.series.measure)
    row = explain_forecast_day(days, day if day is not None else days.highest_day)
    return {"unique_id": unique_id, "day": row.row_id, "unit": row.unit, "base_value": row.base_value,
            "forecast": row.raw_output, "sentence": top_drivers_sentence(row, result.label(unique_id)),
            "contributions": row.contributions[["feature", "label", "value", "shap_value"]].to_dict("records")}


def _print_why(result, arguments: argparse.Namespace) -> int:
    import pandas as pd

    document = why_document(result, arguments.why, arguments.day)
    if arguments.format == "json":
        sys.stdout.write(render_json(document))
        return 0
    frame = pd.DataFrame(document["contributions"])
    sys.stdout.write(render_frame(frame, arguments.format, title=document["sentence"]))
    return 0
