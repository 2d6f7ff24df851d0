"""Benchmark of the forecast arena: accuracy, interval coverage on unseen data, and speed.

Run with `python -m benchmarks.forecasts` (`--quick` skips the 500-series speed run and the default run).

Accuracy (issue 6): hold out the last 28 days (12 months for the monthly series), choose each
series' champion by a 3-fold rolling-origin backtest on the training part only, forecast the
holdout with it, and score MASE (season 7, or 12 for monthly data) scaled on the training part;
average over the series. Peers in the same run: default Prophet (`Prophet()` on the raw training
values, nothing tuned) and seasonal naive. Bars: champion mean MASE <= 0.90 x default Prophet's,
and below seasonal naive's. AutoARIMA is left out of the accuracy arenas: it takes ~8 s a fit on a
year of days, 120 fits per table.

Coverage (issue 15): the same protocol repeated on consecutive holdout windows (3 windows of 28 days
for daily data, 6 of 12 months for monthly data), each with an arena run on the data before it only,
so the conformal calibration never sees a holdout day. Per data set: the share of holdout days inside
each champion's 80% and 95% intervals (pooled over series and windows), with the champions' own model
intervals beside them (before calibration). Target: within 5 points of nominal.

Data: the UCI Online Retail top-30 items (missing days filled with 0), The Complete Journey's daily
sales per department (departments that sold on at least half the days), the sample warehouse's
categories, the US Census monthly retail series and the monthly airline passengers series that
statsforecast ships (`statsforecast.utils.AirPassengersDF`, 1949-1960).

Speed: 500 generated daily series of 2 years (cached in benchmarks/.data), 3-fold backtest of 28
days plus the forecast, with the large-run arena (seasonal naive, fast ETS, global LightGBM and
their ensemble) on 2 worker processes. The peer is serial default Prophet over the same 2,000 fits,
timed on a subset of series and extrapolated linearly (said in the table). The default run: what
`shoplens forecast` (and the page's *Run forecast*) does on the sample warehouse with every default.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

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
from analytics.forecasting.run import ForecastRun, forecast_series
from analytics.forecasting.series import SeriesSet, fill_missing, series_from_frame
from benchmarks.common import DATA, ROOT, machine, write_section


def shared_data() -> Path:
    """../shared/data beside the repository (a checkout in /work/main), or two levels up (a worktree)."""
    candidates = (ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data")
    return next((path for path in candidates if path.is_dir()), candidates[0])


SHARED = shared_data()
UCI = SHARED / "uci_online_retail_top30_daily" / "online_retail_top30_items_daily_qty.csv"
CENSUS = SHARED / "us_census_retail_sales_monthly" / "example_retail_sales.csv"
COMPLETE_JOURNEY = SHARED / "completejourney"
ACCURACY_MODELS = (SEASONAL_NAIVE, AUTO_ETS, MSTL, PROPHET, LIGHTGBM)
SPEED_SERIES, SPEED_DAYS, PROPHET_SUBSET = 500, 730, 10
REPEATS = 3  # speed figures are medians of this many runs
NOMINAL = {80: 0.80, 95: 0.95}
COVERAGE_POINTS = 0.05


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


def complete_journey_series() -> SeriesSet:
    """Daily sales (`sales_value`) per department of The Complete Journey, by store-local (New York) day.

    The timestamps are UTC (see the data's PROVENANCE.md); in New York time the year is 2017-01-01 to
    2017-12-31 with no partial last day. Departments that sold on fewer than half the days (a few
    sales a year: toys, postal centre, ...) are left out; 19 of 30 remain.
    """
    transactions = pd.read_csv(COMPLETE_JOURNEY / "transactions.csv.gz",
                               usecols=["product_id", "sales_value", "transaction_timestamp"])
    products = pd.read_csv(COMPLETE_JOURNEY / "products.csv.gz", usecols=["product_id", "department"])
    lines = transactions.merge(products, on="product_id", how="inner")
    local = pd.to_datetime(lines["transaction_timestamp"]).dt.tz_localize("UTC").dt.tz_convert("America/New_York")
    lines["ds"] = local.dt.tz_localize(None).dt.normalize()
    daily = lines.groupby(["department", "ds"], as_index=False)["sales_value"].sum()
    selling_days = daily.groupby("department")["ds"].nunique()
    kept = selling_days[selling_days >= selling_days.max() / 2].index
    frame = daily[daily["department"].isin(kept)].rename(columns={"department": "unique_id", "sales_value": "y"})
    return SeriesSet(fill_missing(frame[["unique_id", "ds", "y"]], "D"), "D", 7, "csv", "revenue", {})


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


def airline_series() -> SeriesSet:
    """Monthly international airline passengers 1949-1960 (Box & Jenkins), as shipped in statsforecast."""
    from statsforecast.utils import AirPassengersDF

    frame = AirPassengersDF.assign(unique_id="Air passengers")
    return series_from_frame(frame[["unique_id", "ds", "y"]], source="AirPassengersDF")


def split(series: SeriesSet, holdout: int, windows_back: int = 0) -> tuple[SeriesSet, pd.DataFrame]:
    """Training SeriesSet and the `holdout` steps after it, `windows_back` holdouts before the data's end."""
    step = pd.tseries.frequencies.to_offset(series.freq)
    end = series.last_ds - step * (holdout * windows_back)
    cut = end - step * holdout
    train = series.frame[series.frame["ds"] <= cut].reset_index(drop=True)
    test = series.frame[(series.frame["ds"] > cut) & (series.frame["ds"] <= end)].reset_index(drop=True)
    return SeriesSet(train, series.freq, series.season_length, series.level, series.measure, {}), test


def default_prophet(train: pd.DataFrame, future_ds: pd.DatetimeIndex) -> np.ndarray:
    """Prophet with every default, on the raw values: the peer."""
    from prophet import Prophet

    silence_prophet()
    model = Prophet().fit(train[["ds", "y"]])
    return model.predict(pd.DataFrame({"ds": future_ds}))["yhat"].to_numpy(float)


@dataclass(frozen=True)
class Window:
    """One holdout window: the arena run on the data before it and the held-out actuals."""

    train: SeriesSet
    test: pd.DataFrame
    run: ForecastRun
    seconds: float


def run_windows(series: SeriesSet, holdout: int, country: str | None, windows: int) -> list[Window]:
    """Arena runs for `windows` consecutive holdouts, oldest first, each on the data before it only."""
    results = []
    for back in range(windows - 1, -1, -1):
        train, test = split(series, holdout, back)
        started = time.perf_counter()
        run = forecast_series(train, horizon=holdout, folds=3, country=country, models=ACCURACY_MODELS)
        results.append(Window(train, test, run, time.perf_counter() - started))
    return results


def accuracy(name: str, series: SeriesSet, window: Window) -> dict:
    """Mean holdout MASE of the champion, every arena model and default Prophet on one window."""
    train, test, run = window.train, window.test, window.run
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
    return {"name": name, "series": len(actuals), "holdout": len(test) // max(len(actuals), 1), "means": means,
            "champions": run.arena.champions["model"].value_counts().to_dict(), "arena_seconds": window.seconds}


def inside(frame: pd.DataFrame, level: int) -> np.ndarray:
    """Whether each actual `y` lies inside the row's `level`% interval."""
    return ((frame["y"] >= frame[f"yhat_lower_{level}"]) & (frame["y"] <= frame[f"yhat_upper_{level}"])).to_numpy()


def coverage(name: str, windows: list[Window]) -> dict:
    """Holdout coverage of the champions' calibrated and own intervals, pooled and per window."""
    calibrated, own, per_window, champions = {80: [], 95: []}, {80: [], 95: []}, [], {}
    for window in windows:
        arena = window.run.arena
        chosen = arena.champions[["unique_id", "model"]]
        for model in chosen["model"]:
            champions[model] = champions.get(model, 0) + 1
        after = arena.forecast.merge(chosen).merge(window.test, on=["unique_id", "ds"])
        before = arena.uncalibrated_forecast.merge(chosen).merge(window.test, on=["unique_id", "ds"])
        for level in NOMINAL:
            calibrated[level].append(inside(after, level))
            own[level].append(inside(before, level))
        per_window.append((window.test["ds"].min(), window.test["ds"].max(), inside(after, 80).mean(),
                           inside(after, 95).mean(), len(after)))
    pooled = {level: float(np.concatenate(calibrated[level]).mean()) for level in NOMINAL}
    before = {level: float(np.concatenate(own[level]).mean()) for level in NOMINAL}
    points = int(sum(len(part) for part in calibrated[80]))
    return {"name": name, "points": points, "covered": pooled, "own": before, "windows": per_window,
            "champions": champions}


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


def coverage_table(results: list[dict]) -> str:
    lines = ["| data | holdout days | nominal | covered (calibrated) | within 5 points | models' own intervals | "
             "champions chosen (all windows) |", "|---|---|---|---|---|---|---|"]
    for result in results:
        chosen = ", ".join(f"{model} {count}" for model, count in sorted(result["champions"].items(),
                                                                         key=lambda item: -item[1]))
        for level, nominal in NOMINAL.items():
            covered = result["covered"][level]
            met = abs(covered - nominal) <= COVERAGE_POINTS + 1e-9
            lines.append(f"| {result['name']} | {result['points']} | {level}% | {covered:.1%} | "
                         f"{'yes' if met else 'no'} | {result['own'][level]:.1%} | {chosen} |")
    lines += ["", "Per holdout window (champions' calibrated intervals):", "",
              "| data | window | days | 80% covered | 95% covered |", "|---|---|---|---|---|"]
    for result in results:
        for first, last, covered_80, covered_95, points in result["windows"]:
            lines.append(f"| {result['name']} | {first:%Y-%m-%d} to {last:%Y-%m-%d} | {points} | {covered_80:.1%} | "
                         f"{covered_95:.1%} |")
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


def default_run() -> dict:
    """The background worker's default `forecast` job on the sample warehouse (what the Forecasts page opens
    with): category level, units, 28 days, 3 folds, every model (AutoARIMA included), US holidays, 2 worker
    processes, then the SHAP of every forecast day and of the run's global model; wall and CPU seconds."""
    from joblib.externals.loky import get_reusable_executor

    from analytics.models.jobs import default_forecast_request, forecast_params, run_forecast
    from analytics.models.registry import JobContext
    from analytics.warehouse import connect, data_version

    sample_series()  # builds the benchmark's copy of the sample warehouse when missing
    path = DATA / "forecasts-sample.duckdb"
    # Workers left by earlier runs would be reaped (and their CPU counted) inside this measurement.
    get_reusable_executor().shutdown(wait=True)
    load = os.getloadavg()[0]
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    with connect(path) as con:
        context = JobContext(con, path, data_version(con), False, lambda done, total, step: None,
                             lambda name, params: None)
        artifact = run_forecast(context, forecast_params(default_forecast_request(con)))
    wall = time.perf_counter() - started
    get_reusable_executor().shutdown(wait=True)
    run = artifact.run
    return {"wall": wall, "cpu": _cpu_seconds() - cpu_before, "load": load, "series": len(run.arena.champions),
            "models": run.arena.settings.models,
            "warnings": int(run.arena.champions["coverage_warning"].notna().sum())}


DATASETS = (
    # name, loader, holdout steps, holiday country, coverage windows, is it there
    ("UCI Online Retail top-30 items, daily units", uci_series, 28, "GB", 3, lambda: UCI.exists()),
    ("Complete Journey departments, daily sales", complete_journey_series, 28, "US", 3,
     lambda: (COMPLETE_JOURNEY / "transactions.csv.gz").exists()),
    ("Sample warehouse categories, daily units", sample_series, 28, "US", 3, lambda: True),
    ("US Census retail sales, monthly", census_series, 12, None, 6, lambda: CENSUS.exists()),
    ("Air passengers (statsforecast), monthly", airline_series, 12, None, 6, lambda: True),
)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="accuracy and coverage only: no 500-series speed run "
                                                             "and no default run")
    arguments = parser.parse_args(argv)
    accuracies, coverages = [], []
    for name, loader, holdout, country, windows, available in DATASETS:
        if not available():
            continue
        series = loader()
        runs = run_windows(series, holdout, country, windows)
        accuracies.append(accuracy(name, series, runs[-1]))
        coverages.append(coverage(name, runs))
    body = [f"## Forecasts\n\nMachine: {machine()}. Run `python -m benchmarks.forecasts`. Protocol in "
            "benchmarks/forecasts.py and docs/forecasts.md: holdout of the last 28 days (12 months for the "
            "monthly series), champion chosen by a 3-fold backtest on the training part, MASE (season 7, or 12) "
            "scaled on the training part, mean over the series. Bars: champion <= 0.90x default Prophet and "
            "below seasonal naive. Arena: " + ", ".join(ACCURACY_MODELS) + " and their median ensemble "
            "(AutoARIMA left out for time).", "", accuracy_table(accuracies), "",
            "### Interval coverage on days the calibration never saw", "",
            "Each holdout window's arena ran on the data before it only; its intervals are conformal, calibrated "
            "on that run's backtest residuals (see docs/forecasts.md). Covered = share of holdout days inside the "
            "champion's interval, pooled over series and windows (3 windows of 28 days for daily data, 6 of 12 "
            "months for monthly). Target: within 5 points of nominal. *Models' own intervals*: the same champions' "
            "intervals before calibration.", "", coverage_table(coverages)]
    if not arguments.quick:
        runs = [default_run() for _ in range(REPEATS)]
        timings = [speed() for _ in range(REPEATS)]
        run = runs[0] | {key: float(np.median([each[key] for each in runs])) for key in ("wall", "cpu", "load")}
        timing = timings[0] | {key: float(np.median([each[key] for each in timings]))
                               for key in ("ours", "cpu", "load", "prophet_subset", "prophet_all", "prophet_cpu")}
        run_walls = ", ".join(f"{each['wall']:.1f}" for each in runs)
        speed_walls = ", ".join(f"{each['ours']:.1f}" for each in timings)
        ratio = timing["prophet_all"] / timing["ours"]
        cpu_ratio = timing["prophet_cpu"] / timing["cpu"]
        body += ["", "### Speed", "",
                 f"Default run (the background worker's default `forecast` job on the sample warehouse, what the "
                 f"Forecasts page opens with: {run['series']} categories, 28 days, 3 folds, "
                 f"{', '.join(run['models'])} + ensemble, 2 worker processes, then SHAP of every forecast day and "
                 "of the run's global model): "
                 f"**{run['wall']:.1f} s wall** (median of {REPEATS} runs: "
                 f"{run_walls} s), "
                 f"{run['cpu']:.1f} CPU seconds over all processes (median); median load average "
                 f"{run['load']:.1f} on 2 cores when they started; {run['warnings']} of {run['series']} series with a "
                 "coverage warning (champion's backtest coverage more than 5 points off nominal).",
                 "",
                 f"{SPEED_SERIES} daily series of {SPEED_DAYS} days, 3-fold backtest of 28 days plus the "
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
                 f"Every figure is the median of {REPEATS} runs (ShopLens wall: "
                 f"{speed_walls} s). "
                 f"Median load average when the speed runs started: {timing['load']:.1f} on 2 cores (other jobs share "
                 "the machine), which inflates wall times; CPU seconds are not inflated."]
    section = write_section("forecasts", "\n".join(body))
    print(section)
    return section


if __name__ == "__main__":
    main()
