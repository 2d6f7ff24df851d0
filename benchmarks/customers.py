"""Benchmarks of the Customers engine: retention and RFM warm query time, CLV fit time, CDNOW fit.

Run with `python -m benchmarks.customers` (`--skip-cdnow`, `--runs N`). Data:

- Retention: the 10M-event sample warehouse of the foundation benchmark (generated and built once
  into benchmarks/.data/ by `benchmarks.foundation.sample_folder`), the whole year, weekly and
  monthly cohorts, entry and return on any event.
- RFM: a generated order-line table of 1M customers (benchmarks/.data/rfm-1M.duckdb, built once),
  the whole period, plus the 10M sample.
- CLV: 100k customers simulated from a BG/NBD + Gamma-Gamma process with known parameters (so the
  fit's recovery is checked too), 39 calibration weeks.
- CDNOW: the full 23,570-customer master file in ../shared/data/cdnow, calibration to 1997-09-30,
  holdout weeks 40-78.

Peers, measured in the same run: pandas for retention and RFM (the same result computed from the
same rows already in memory, load time excluded, which favours the peer), and a direct scipy
maximum-likelihood fit of the closed-form likelihoods for CLV. Ratios are peer time / ShopLens time.
"""

from __future__ import annotations

import argparse
import shutil
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.customers.clv import (
    ClvModel, analyse_clv, bgnbd_log_likelihood, gamma_gamma_log_likelihood, purchase_summary, read_transactions_csv,
)
from analytics.customers.retention import load_retention
from analytics.customers.rfm import load_rfm
from analytics.filters import Filters
from analytics.overview import filter_options
from analytics.sample import SampleConfig, write_sample
from analytics.sql_files import read_sql
from analytics.warehouse import build_warehouse
from benchmarks.common import DATA, machine, median_seconds, write_section
from benchmarks.foundation import measured_events_per_user, sample_folder

CDNOW = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "cdnow" / "cdnow_transactions.csv.gz"
TRUE_BGNBD = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
TRUE_GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "v": 15.0}


def warehouse_10m() -> Path:
    """The foundation benchmark's 10M-event warehouse, generated and built when missing."""
    target = DATA / "warehouse-10M.duckdb"
    if not target.is_file():
        folder = sample_folder("10M", measured_events_per_user())
        build_warehouse(folder, target, is_sample=True)
    return target


def warehouse_1m_users() -> Path:
    """A 10M-event sample warehouse with 1M users (130 days, so each user has about 10 events), built once."""
    target = DATA / "warehouse-1M-users.duckdb"
    if not target.is_file():
        folder = DATA / "sample-1M-users"
        if not (folder / "events.parquet").is_file():
            write_sample(SampleConfig(users=1_000_000, days=130, seed=11), folder)
        build_warehouse(folder, target, is_sample=True)
    return target


def rfm_warehouse(customers: int = 1_000_000, lines_per_customer: int = 16) -> Path:
    """A DuckDB file with generated `fct_order_items` and `fct_orders` of `customers` customers and the filter macro.

    Every generated line is its own order, so `fct_orders` is the lines with the order columns;
    the file of the previous version (order lines only) is reused when present.
    """
    target = DATA / f"rfm-v3-{customers // 1_000_000}M.duckdb"
    if target.is_file():
        return target
    previous = DATA / f"rfm-v2-{customers // 1_000_000}M.duckdb"
    building = target.with_suffix(".building")
    if previous.is_file():
        shutil.copyfile(previous, building)
    with duckdb.connect(str(building)) as con:
        if not previous.is_file():
            print(f"generating {customers:,} customers' order lines ...", flush=True)
            # Deterministic (hash-based) draws, so every rebuild makes the same table.
            con.execute("""
                create table fct_order_items as
                with lines as (
                    select customer, line, hash(customer, line) as draw
                    from range($customers) as customers(customer), range(1, 1 + $lines) as lines(line)
                )
                select
                    'U' || lpad(customer::varchar, 8, '0') as user_id,
                    'O' || lpad(customer::varchar, 8, '0') || '-' || line::varchar as order_id,
                    1 as line_number,
                    date '2025-01-01' + cast(floor(365 * pow((draw % 100000) / 100000.0, 0.7)) as integer)
                        as order_date,
                    (['direct', 'email', 'social', 'organic_search'])[1 + (hash(customer) % 4)::integer] as channel,
                    (['desktop', 'mobile', 'app'])[1 + (hash(customer + 7) % 3)::integer] as device,
                    (['Books', 'Home', 'Beauty', 'Toys', 'Sports'])[1 + (draw % 5)::integer] as category,
                    round(5 + 200 * pow(((draw // 100000) % 1000) / 1000.0, 3), 2) as revenue
                from lines
                where line = 1 or (draw // 1000) % 100 < $keep_percent
            """, {"customers": customers, "lines": lines_per_customer, "keep_percent": 60})
            con.execute(read_sql("macros/filtered_order_items"))
        con.execute("""
            create table fct_orders as
            select order_id, user_id, order_date, channel, device, revenue from fct_order_items
        """)
    building.rename(target)
    return target


class PandasRetention:
    """The peer: weekly/monthly cohort retention with pandas over (user_id, session_date) rows in memory."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.activity = con.execute("select user_id, session_date from fct_sessions").df()
        self.activity["session_date"] = pd.to_datetime(self.activity["session_date"])

    def matrix(self, period: str) -> pd.DataFrame:
        activity = self.activity
        frequency = "W-SUN" if period == "week" else "M"
        activity_period = activity["session_date"].dt.to_period(frequency)
        cohort = activity_period.groupby(activity["user_id"]).transform("min")
        offsets = (activity_period - cohort).apply(lambda offset: offset.n)
        frame = pd.DataFrame({"user_id": activity["user_id"], "cohort": cohort, "k": offsets}).drop_duplicates()
        active = frame.groupby(["cohort", "k"]).size()
        last = frame.groupby(["user_id", "cohort"])["k"].max().reset_index().groupby(["cohort", "k"]).size()
        return pd.DataFrame({"active": active, "last": last}).fillna(0)


class PandasRfm:
    """The peer: RFM quintile scores with pandas over the orders (one row per order) in memory."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.orders = con.execute("select user_id, order_date, revenue from fct_orders").df()
        self.orders["order_date"] = pd.to_datetime(self.orders["order_date"])

    def scores(self, end: date) -> pd.DataFrame:
        customers = self.orders.groupby("user_id").agg(last=("order_date", "max"), orders=("order_date", "size"),
                                                       revenue=("revenue", "sum"))
        customers["recency_days"] = (pd.Timestamp(end) - customers["last"]).dt.days
        for column, name in (("recency_days", "r"), ("orders", "f"), ("revenue", "m")):
            ranks = customers[column].rank(method="min", ascending=column != "recency_days")
            customers[name] = 1 + np.floor(5 * (ranks - 1) / len(customers)).astype(int)
        return customers


def simulate_customers(customers: int, weeks: float = 78.0, seed: int = 3) -> pd.DataFrame:
    """Purchase days drawn from BG/NBD (`TRUE_BGNBD`) with Gamma-Gamma spend (`TRUE_GAMMA_GAMMA`).

    Customers make their first purchase uniformly in the first 12 weeks, buy at Poisson rate
    lambda ~ Gamma(r, alpha) while active, and drop out after each repeat purchase with
    p ~ Beta(a, b) (FHL 2005: a customer cannot leave right after the first purchase).
    """
    rng = np.random.default_rng(seed)
    r, alpha, a, b = (TRUE_BGNBD[name] for name in ("r", "alpha", "a", "b"))
    p, q, v = (TRUE_GAMMA_GAMMA[name] for name in ("p", "q", "v"))
    rates = rng.gamma(r, 1 / alpha, customers)
    dropout = rng.beta(a, b, customers)
    scale = 1 / rng.gamma(q, 1 / v, customers)  # nu ~ Gamma(q, v); spend ~ Gamma(p, nu)
    first = rng.integers(0, 84, customers)
    rows_user, rows_day, rows_value = [], [], []
    origin = pd.Timestamp("2024-01-01")
    for customer in range(customers):
        day = float(first[customer])
        is_first = True
        while True:
            rows_user.append(customer)
            rows_day.append(int(day))
            rows_value.append(rng.gamma(p, scale[customer]))
            if (not is_first and rng.random() < dropout[customer]) or rates[customer] <= 0:
                break
            is_first = False
            day += rng.exponential(7 / rates[customer])
            if day >= weeks * 7:
                break
    return pd.DataFrame({"user_id": np.array(rows_user).astype(str),
                         "order_date": (origin + pd.to_timedelta(rows_day, unit="D")).date,
                         "revenue": np.round(rows_value, 2)})


def scipy_fit(summary: pd.DataFrame) -> float:
    """The CLV peer: maximise the closed-form likelihoods with scipy (Nelder-Mead on log-parameters)."""
    from scipy.optimize import minimize

    started = time.perf_counter()
    data = summary[summary["T"] > 0]
    x, t_x, big_t = (data[name].to_numpy(float) for name in ("frequency", "recency", "T"))
    minimize(lambda theta: -bgnbd_log_likelihood(np.exp(theta), x, t_x, big_t), np.zeros(4), method="Nelder-Mead",
             options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-6})
    repeat = data[(data["frequency"] > 0) & (data["monetary_value"] > 0)]
    minimize(lambda theta: -gamma_gamma_log_likelihood(np.exp(theta), repeat["frequency"].to_numpy(float),
                                                       repeat["monetary_value"].to_numpy(float)),
             np.zeros(3), method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-6})
    return time.perf_counter() - started


def measure_queries(runs: int) -> list[str]:
    rows = []
    with duckdb.connect(str(warehouse_10m()), read_only=True) as con:
        options = filter_options(con)
        year = Filters(options.first_date, options.last_date)
        users = con.execute("select count(*) from dim_users").fetchone()[0]
        events = con.execute("select count(*) from fct_events").fetchone()[0]
        peer = PandasRetention(con)
        for period in ("week", "month"):
            ours = median_seconds(lambda: load_retention(con, year, period), runs, warmup=1)
            theirs = median_seconds(lambda: peer.matrix(period), max(1, runs // 3), warmup=0)
            rows.append(f"| Retention matrix, {period}ly cohorts, whole year | {users:,} users, {events:,} events "
                        f"| {ours:.2f} s | < 2 s | {theirs:.2f} s | {theirs / ours:.1f}x |")
        ours = median_seconds(lambda: load_retention(con, year, "week", breakdown="first_category"), runs, warmup=1)
        rows.append(f"| Retention matrix, weekly cohorts by first category | {users:,} users, {events:,} events "
                    f"| {ours:.2f} s | < 2 s | | |")
        customers = con.execute("select count(distinct user_id) from fct_order_items").fetchone()[0]
        ours = median_seconds(lambda: load_rfm(con, year), runs, warmup=1)
        peer_sample = PandasRfm(con)
        theirs = median_seconds(lambda: peer_sample.scores(options.last_date), max(1, runs // 3))
        rows.append(f"| RFM, whole year (10M sample) | {customers:,} customers | {ours:.2f} s | < 2 s "
                    f"| {theirs:.2f} s | {theirs / ours:.1f}x |")
    with duckdb.connect(str(warehouse_1m_users()), read_only=True) as con:
        options = filter_options(con)
        span = Filters(options.first_date, options.last_date)
        users = con.execute("select count(*) from dim_users").fetchone()[0]
        events = con.execute("select count(*) from fct_events").fetchone()[0]
        peer = PandasRetention(con)
        for period, breakdown in (("week", "none"), ("month", "none"), ("week", "first_category")):
            ours = median_seconds(lambda: load_retention(con, span, period, breakdown=breakdown), runs, warmup=1)
            label = f"Retention matrix, {period}ly cohorts" + (" by first category" if breakdown != "none" else "")
            peer_cell = ""
            if breakdown == "none":
                theirs = median_seconds(lambda: peer.matrix(period), max(1, runs // 3), warmup=0)
                peer_cell = f"{theirs:.2f} s | {theirs / ours:.1f}x"
            rows.append(f"| {label}, 1M-user sample | {users:,} users, {events:,} events | {ours:.2f} s | < 2 s "
                        f"| {peer_cell or ' |'} |")
    with duckdb.connect(str(rfm_warehouse()), read_only=True) as con:
        customers, lines = con.execute("select count(distinct user_id), count(*) from fct_order_items").fetchone()
        year = Filters(date(2025, 1, 1), date(2025, 12, 31))
        ours = median_seconds(lambda: load_rfm(con, year), runs, warmup=1)
        peer_rfm = PandasRfm(con)
        theirs = median_seconds(lambda: peer_rfm.scores(year.end_date), max(1, runs // 3))
        rows.append(f"| RFM, generated order lines | {customers:,} customers, {lines:,} lines | {ours:.2f} s | < 2 s "
                    f"| {theirs:.2f} s | {theirs / ours:.1f}x |")
    return rows


def measure_clv(customers: int = 100_000) -> tuple[list[str], dict[str, float], dict[str, float]]:
    cache = DATA / f"clv-sim-v2-{customers}.parquet"
    if cache.is_file():
        transactions = pd.read_parquet(cache)
    else:
        print(f"simulating {customers:,} customers ...", flush=True)
        transactions = simulate_customers(customers)
        transactions.to_parquet(cache, index=False)
    calibration_end = (pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=39) - pd.Timedelta(days=1)).date()
    summary = purchase_summary(transactions, calibration_end, "week")
    import pymc_marketing.clv  # noqa: F401  (import time is not fit time)

    ClvModel("week", draws=0).fit(summary.head(2000))  # warm the compiled-function cache
    rows = []
    fitted = {}
    for draws in (0, 200):
        started = time.perf_counter()
        model = ClvModel("week", draws=draws).fit(summary)
        seconds = time.perf_counter() - started
        fitted = model.bgnbd_params_ | model.gamma_gamma_params_
        label = "CLV fit (BG/NBD + Gamma-Gamma MAP)" + (" + 200 Laplace draws" if draws else "")
        rows.append((label, seconds))
    started = time.perf_counter()
    model.predict(summary, horizon=52.0)
    predict_seconds = time.perf_counter() - started
    peer = scipy_fit(summary)
    lines = [f"| {label} | {len(summary):,} customers | {seconds:.2f} s | < 10 s | {peer:.2f} s | {peer / seconds:.1f}x |"
             for label, seconds in rows]
    lines.append(f"| CLV predictions (purchases, P(alive), CLV + 90% interval) | {len(summary):,} customers "
                 f"| {predict_seconds:.2f} s | | | |")
    return lines, fitted, TRUE_BGNBD | TRUE_GAMMA_GAMMA


def measure_cdnow() -> str:
    transactions = read_transactions_csv(CDNOW)
    clv = analyse_clv(transactions, date(1997, 9, 30), "week", draws=200)
    parameters = " · ".join(f"{name} = {value:.4f}" for name, value in (clv.bgnbd | clv.gamma_gamma).items())
    table = ["| Repeat purchases, weeks 1-39 | Customers | Actual mean, weeks 40-78 | Predicted mean |",
             "|---|---:|---:|---:|"]
    table += [f"| {row.frequency} | {row.customers:,} | {row.actual:.3f} | {row.predicted:.3f} |"
              for row in clv.holdout.itertuples()]
    totals = clv.holdout_totals
    return (f"CDNOW, all {clv.customers:,} customers, calibration 1997-01-01 to 1997-09-30 (weeks 1-39), "
            f"fitted in {clv.fit_seconds:.1f} s: {parameters}.\n\n"
            f"Holdout weeks 40-78 (1997-10-01 to 1998-06-30): {totals['actual_purchases']:,.0f} actual repeat "
            f"purchase days against {totals['predicted_purchases']:,.0f} predicted "
            f"({totals['predicted_purchases'] / totals['actual_purchases'] - 1:+.1%}).\n\n" + "\n".join(table))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--skip-cdnow", action="store_true")
    arguments = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    rows = measure_queries(arguments.runs)
    print("\n".join(rows), flush=True)
    clv_rows, fitted, truth = measure_clv()
    print("\n".join(clv_rows), flush=True)
    recovery = " · ".join(f"{name} {fitted[name]:.3f} (true {truth[name]:g})" for name in truth)
    cdnow = measure_cdnow() if not arguments.skip_cdnow and CDNOW.is_file() else "CDNOW data not found; skipped."
    body = "\n".join([
        "## Customers (retention, RFM, CLV)",
        "",
        f"Command: `python -m benchmarks.customers`. Machine: {machine()}. Medians of warm runs (queries: "
        f"{arguments.runs} runs after one warm-up); the peer is measured in the same run and the ratio is "
        "peer time / ShopLens time (above 1x ShopLens is faster).",
        "",
        "| Measure | Data | ShopLens | Target | Peer | Ratio |",
        "|---|---|---:|---|---:|---:|",
        *rows,
        *clv_rows,
        "",
        "Peers: pandas over the same rows already in memory (retention from sessions; RFM from fct_orders, "
        "one row per order); "
        "for CLV, scipy Nelder-Mead on the closed-form likelihoods (no intervals). CLV fit times exclude the "
        f"one-off PyMC import. Simulated-data recovery: {recovery}.",
        "",
        cdnow,
    ])
    print(write_section("customers", body))


if __name__ == "__main__":
    main()
