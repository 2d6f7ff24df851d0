"""Benchmark of the forecast arena: accuracy against default Prophet and seasonal naive, and speed.

Run with `python -m benchmarks.forecasts` (`--quick` skips the 500-series speed run).

Accuracy (issue 6): hold out the last 28 days (12 months for the monthly series), choose each
series' champion by a 3-fold rolling-origin backtest on the training part only, forecast the
holdout with it, and score MASE (season 7, or 12 for monthly data) scaled on the training part;
average over the series. Peers in the same run: default Prophet (`Prophet()` on the raw training
values, nothing tuned) and seasonal naive. Bars: champion mean MASE <= 0.90 x default Prophet's,
and below seasonal naive's. Data: the UCI Online Retail top-30 items (missing days filled with 0),
the sample warehouse's categories, and the US Census monthly retail series. AutoARIMA is left out
of the accuracy arenas: it takes ~8 s a fit on a year of days, 120 fits per table.

Speed: 500 generated daily series of 2 years (cached in benchmarks/.data), 3-fold backtest of 28
days plus the forecast, with the large-run arena (seasonal naive, fast ETS, global LightGBM and
their ensemble) on 2 worker processes. The peer is serial default Prophet over the same 2,000 fits,
timed on a subset of series and extrapolated linearly (said in the table).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from analytics.forecasting.metrics import mase
from analytics.forecasting.models import (
    AUTO_ETS,
    FAST_MODELS,
    LIGHTGBM,
    MSTL,
    PROPHET,
    SEASONAL_NAIVE,
    silence_prophet,
)
from analytics.forecasting.run import forecast_series
from analytics.forecasting.series import SeriesSet, fill_missing, series_from_frame
from benchmarks.common import DATA, ROOT, machine, write_section

SHARED = ROOT.parent / "shared" / "data"
UCI = SHARED / "uci_online_retail_top30_daily" / "online_retail_top30_items_daily_qty.csv"
CENSUS = SHARED / "us_census_retail_sales_monthly" / "example_retail_sales.csv"
ACCURACY_MODELS = (SEASONAL_NAIVE, AUTO_ETS, MSTL, PROPHET, LIGHTGBM)
SPEED_SERIES, SPEED_DAYS, PROPHET_SUBSET = 500, 730, 10


def uci_series() -> SeriesSet:
    """The 30 items, every day from the data's first to its last, missing days as 0."""
    raw = pd.read_csv(UCI, dtype={"item": str})
    frame = raw.rename(columns={"item": "unique_id"})[["unique_id", "ds", "y"]]
    frame["ds"] = pd.to_datetime(frame["ds"])
    # Every item starts on the data's first day, so a late first sale counts as zero days before it.
    first = frame["ds"].min()
    starts = pd.DataFrame({"unique_id": frame["unique_id"].unique(), "ds": first, "y": 0.0})
    frame = pd.concat([starts, frame]).groupby(["unique_id", "ds"], as_index=False)["y"].sum()
    return SeriesSet(fill_missing(frame, "D"), "D", 7, "csv", "units", {})


def sample_series() -> SeriesSet:
    """The sample warehouse's daily units per category."""
    from analytics.forecasting.series import load_series
    from analytics.warehouse import build_warehouse, connect

    target = DATA / "forecasts-sample.duckdb"
    if not target.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        build_warehouse(ROOT / "sample_data", target, is_sample=True)
    with connect(target) as con:
        return load_series(con, "category", "units")


def census_series() -> SeriesSet:
    """US monthly retail sales, one series."""
    frame = pd.read_csv(CENSUS).assign(unique_id="US retail")
    return series_from_frame(frame[["unique_id", "ds", "y"]], source=CENSUS.name)


def split(series: SeriesSet, holdout: int) -> tuple[SeriesSet, pd.DataFrame]:
    """Training SeriesSet and the held-out last `holdout` steps of every series."""
    cut = series.last_ds - pd.tseries.frequencies.to_offset(series.freq) * holdout
    train = series.frame[series.frame["ds"] <= cut].reset_index(drop=True)
    test = series.frame[series.frame["ds"] > cut].reset_index(drop=True)
    return SeriesSet(train, series.freq, series.season_length, series.level, series.measure, {}), test


def default_prophet(train: pd.DataFrame, future_ds: pd.DatetimeIndex) -> np.ndarray:
    """Prophet with every default, on the raw values: the peer."""
    from prophet import Prophet

    silence_prophet()
    model = Prophet().fit(train[["ds", "y"]])
    return model.predict(pd.DataFrame({"ds": future_ds}))["yhat"].to_numpy(float)


def accuracy(name: str, series: SeriesSet, holdout: int, country: str | None) -> dict:
    """Mean holdout MASE of the champion, every arena model and default Prophet (see module docstring)."""
    train, test = split(series, holdout)
    started = time.perf_counter()
    run = forecast_series(train, horizon=holdout, folds=3, country=country, models=ACCURACY_MODELS)
    arena_seconds = time.perf_counter() - started
    scores: dict[str, list[float]] = {}
    histories = {unique_id: rows for unique_id, rows in train.frame.groupby("unique_id")}
    actuals = {unique_id: rows["y"].to_numpy(float) for unique_id, rows in test.groupby("unique_id")}
    champion = run.arena.champion_forecast().assign(model="champion")
    for (unique_id, model), rows in pd.concat([run.arena.forecast, champion]).groupby(["unique_id", "model"]):
        history = histories[unique_id]["y"].to_numpy(float)
        scores.setdefault(model, []).append(mase(actuals[unique_id], rows.sort_values("ds")["yhat"], history,
                                                 series.season_length))
    for unique_id, rows in histories.items():
        future = pd.DatetimeIndex(test.loc[test["unique_id"] == unique_id, "ds"])
        scores.setdefault("default_prophet", []).append(
            mase(actuals[unique_id], default_prophet(rows, future), rows["y"].to_numpy(float), series.season_length))
    means = {model: float(np.nanmean(values)) for model, values in scores.items()}
    return {"name": name, "series": len(actuals), "holdout": holdout, "means": means,
            "champions": run.arena.champions["model"].value_counts().to_dict(), "arena_seconds": arena_seconds}


def accuracy_table(results: list[dict]) -> str:
    lines = ["| data | series | holdout | champion MASE | default Prophet MASE | ratio | seasonal naive MASE | "
             "bars met | champions chosen |", "|---|---|---|---|---|---|---|---|---|"]
    for result in results:
        means = result["means"]
        ratio = means["champion"] / means["default_prophet"]
        met = ratio <= 0.90 and means["champion"] < means[SEASONAL_NAIVE]
        chosen = ", ".join(f"{model} {count}" for model, count in result["champions"].items())
        lines.append(f"| {result['name']} | {result['series']} | {result['holdout']} | {means['champion']:.3f} | "
                     f"{means['default_prophet']:.3f} | {ratio:.2f}x | {means[SEASONAL_NAIVE]:.3f} | "
                     f"{'yes' if met else 'no'} | {chosen} |")
    lines += ["", "Every arena model on the same holdouts (mean MASE):", "",
              "| data | " + " | ".join(ACCURACY_MODELS) + " | ensemble |",
              "|---|" + "---|" * (len(ACCURACY_MODELS) + 1)]
    for result in results:
        means = result["means"]
        lines.append(f"| {result['name']} | " + " | ".join(
            f"{means.get(model, float('nan')):.3f}" for model in (*ACCURACY_MODELS, "ensemble")) + " |")
    return "\n".join(lines)


def speed_data() -> SeriesSet:
    """500 daily series of 2 years: level, trend, weekly and yearly seasons, promotions-like spikes, noise."""
    path = DATA / f"forecasts-speed-{SPEED_SERIES}x{SPEED_DAYS}.parquet"
    if path.exists():
        return SeriesSet(pd.read_parquet(path), "D", 7, "csv", "units", {})
    rng = np.random.default_rng(6)
    days = pd.date_range("2024-01-01", periods=SPEED_DAYS, freq="D")
    t = np.arange(SPEED_DAYS)
    frames = []
    for number in range(SPEED_SERIES):
        level = rng.lognormal(2.5, 1.0)
        weekly = 1 + rng.uniform(0, 0.5) * np.sin(2 * np.pi * (t + rng.integers(7)) / 7)
        yearly = 1 + rng.uniform(0, 0.4) * np.sin(2 * np.pi * (t + rng.integers(365)) / 365.25)
        trend = 1 + rng.normal(0, 0.3) * t / SPEED_DAYS
        spikes = 1 + (rng.random(SPEED_DAYS) < 0.02) * rng.uniform(0.5, 2.0, SPEED_DAYS)
        mean = np.maximum(level * weekly * yearly * trend * spikes, 0.01)
        frames.append(pd.DataFrame({"unique_id": f"S{number:03d}", "ds": days, "y": rng.poisson(mean).astype(float)}))
    frame = pd.concat(frames, ignore_index=True)
    DATA.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path)
    return SeriesSet(frame, "D", 7, "csv", "units", {})


def _cpu_seconds() -> float:
    """CPU seconds used by this process and its finished children (the worker processes)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def speed() -> dict:
    from joblib.externals.loky import get_reusable_executor

    import os

    series = speed_data()
    load = os.getloadavg()[0]
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    run = forecast_series(series, horizon=28, folds=3, country="US", models=None, n_jobs=2)
    ours = time.perf_counter() - started
    # Stop the workers so their CPU time is counted: wall time on a shared machine says little, CPU
    # seconds / 2 is what the run would take on 2 idle cores (the upper bound of its parallel time).
    get_reusable_executor().shutdown(wait=True)
    cpu = _cpu_seconds() - cpu_before
    assert set(run.arena.settings.models) == set(FAST_MODELS)
    # The peer: default Prophet, serial, 4 fits per series (3 folds + the forecast), timed on a subset.
    subset = series.ids[:PROPHET_SUBSET]
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    for unique_id in subset:
        rows = series.frame[series.frame["unique_id"] == unique_id]
        for back in (3, 2, 1, 0):
            train = rows.iloc[:len(rows) - back * 28]
            default_prophet(train, pd.date_range(train["ds"].iloc[-1], periods=29, freq="D")[1:])
    prophet_subset = time.perf_counter() - started
    prophet_cpu = (_cpu_seconds() - cpu_before) / len(subset) * SPEED_SERIES
    prophet_all = prophet_subset / len(subset) * SPEED_SERIES
    return {"ours": ours, "cpu": cpu, "load": load, "prophet_subset": prophet_subset, "prophet_all": prophet_all,
            "series": len(run.arena.champions), "models": run.arena.settings.models, "prophet_cpu": prophet_cpu,
            "mase": float(run.arena.champions["mase"].mean())}


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="accuracy tables only, no 500-series speed run")
    arguments = parser.parse_args(argv)
    results = []
    if UCI.exists():
        results.append(accuracy("UCI Online Retail top-30 items, daily units", uci_series(), 28, "GB"))
    results.append(accuracy("Sample warehouse categories, daily units", sample_series(), 28, "US"))
    if CENSUS.exists():
        results.append(accuracy("US Census retail sales, monthly", census_series(), 12, None))
    body = [f"## Forecasts\n\nMachine: {machine()}. Run `python -m benchmarks.forecasts`. Protocol in "
            "benchmarks/forecasts.py and docs/forecasts.md: holdout of the last 28 days (12 months for the "
            "monthly series), champion chosen by a 3-fold backtest on the training part, MASE (season 7, or 12) "
            "scaled on the training part, mean over the series. Bars: champion <= 0.90x default Prophet and "
            "below seasonal naive. Arena: " + ", ".join(ACCURACY_MODELS) + " and their median ensemble "
            "(AutoARIMA left out for time).", "", accuracy_table(results)]
    if not arguments.quick:
        timing = speed()
        ratio = timing["prophet_all"] / timing["ours"]
        cpu_ratio = timing["prophet_cpu"] / timing["cpu"]
        body += ["", f"Speed: {SPEED_SERIES} daily series of {SPEED_DAYS} days, 3-fold backtest of 28 days plus the "
                 f"forecast, arena {', '.join(timing['models'])} + ensemble, 2 worker processes.", "",
                 "| measure | seconds | target |", "|---|---|---|",
                 f"| ShopLens arena, {timing['series']} series, wall | {timing['ours']:.1f} | < 120 |",
                 f"| ShopLens arena, CPU seconds of all processes / 2 cores | {timing['cpu'] / 2:.1f} | < 120 |",
                 f"| default Prophet, serial, same 2,000 fits (timed on {PROPHET_SUBSET} series x 4 fits = "
                 f"{timing['prophet_subset']:.1f} s, extrapolated linearly) | {timing['prophet_all']:.0f} | — |",
                 f"| default Prophet, CPU seconds, extrapolated the same way | {timing['prophet_cpu']:.0f} | — |",
                 f"| ratio, wall (Prophet serial / ShopLens; above 1x ShopLens is faster) | {ratio:.1f}x | — |",
                 f"| ratio, CPU seconds (Prophet / ShopLens, both processes) | {cpu_ratio:.1f}x | — |",
                 "", f"Mean backtest MASE of the champions on the generated series: {timing['mase']:.3f}. "
                 "One run each (not a median of several): the speed run takes minutes. Load average when the speed "
                 f"run started: {timing['load']:.1f} on 2 cores (other jobs share the machine), which inflates wall "
                 "times; CPU seconds are not inflated."]
    section = write_section("forecasts", "\n".join(body))
    print(section)
    return section


if __name__ == "__main__":
    main()
