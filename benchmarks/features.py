"""Benchmark of the feature store: materialising point-in-time user and product features at 10M events.

Run with `python -m benchmarks.features` (the 10M sample of benchmarks/foundation.py, built and
cached in benchmarks/.data/ when missing; `--warehouse PATH` to use another build of it).

"Materialise" is what `shoplens features` and the model trainers do on a cache miss: run the
feature SQL as of the day after the last event and write the Parquet file beside the warehouse
(here a temporary folder). Each measurement starts from a fresh connection-level cursor; DuckDB's
own caches stay warm, as in the app.

The peer is what a team would write first: pandas over fct_events and fct_orders already in memory
(load time excluded, which favours the peer), computing only the core subset of the user features
(views and distinct categories viewed in 7 and 30 days, visits in 7 and 30 days and in total,
days since the last event, orders, revenue and days since the last order: 11 of 33 columns, which
favours the peer again). The ratio is peer time / ShopLens time: above 1x ShopLens is faster.

Target (issue 8): feature materialisation at 10M events under 30 s.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pandas as pd

from analytics.features.predictive import data_end_point
from analytics.features.store import compute_features
from analytics.warehouse import build_warehouse
from benchmarks.common import DATA, machine, median_seconds, write_section
from benchmarks.foundation import measured_events_per_user, sample_folder

DEFAULT_WAREHOUSE = DATA / "warehouse-10M.duckdb"


@dataclass(frozen=True)
class Result:
    """One measured row of the results table."""

    measure: str
    rows: int
    median_seconds: float
    cpu_seconds: float
    runs: int
    target: str = ""
    peer_seconds: float | None = None


def materialise(con: duckdb.DuckDBPyConnection, as_of: datetime, entity: str, folder: Path) -> int:
    """Compute the features as of `as_of` and write them as Parquet; returns the row count."""
    frame = compute_features(con, as_of, entity)  # type: ignore[arg-type]
    frame.to_parquet(folder / f"{entity}.parquet", index=False)
    return len(frame)


class PandasUserFeatures:
    """The peer: the core user features with pandas over in-memory event and order tables."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.events = con.execute(
            "select user_key, session_id, event_time, event_type, category from fct_events"
        ).df()
        # Categorical codes, as a careful pandas user would prepare them once.
        for column in ("session_id", "event_type", "category"):
            self.events[column] = self.events[column].astype("category")
        self.orders = con.execute(
            "select users.user_key, orders.ordered_at, orders.revenue from fct_orders as orders "
            "inner join (select distinct user_id, user_key from fct_sessions) as users using (user_id)"
        ).df()

    def features(self, as_of: datetime) -> pd.DataFrame:
        events = self.events.loc[self.events["event_time"] < as_of]
        last_7 = events["event_time"] >= as_of - timedelta(days=7)
        last_30 = events["event_time"] >= as_of - timedelta(days=30)
        views = events["event_type"] == "view"
        by_user = events.groupby("user_key", sort=False)
        sessions = events.groupby(["user_key", "session_id"], observed=True, sort=False)["event_time"].min()
        session_users = sessions.index.get_level_values("user_key")
        frame = pd.DataFrame({
            "days_since_last_event": (as_of - by_user["event_time"].max()).dt.total_seconds() / 86400,
            "views_7d": (views & last_7).groupby(events["user_key"], sort=False).sum(),
            "views_30d": (views & last_30).groupby(events["user_key"], sort=False).sum(),
            "categories_viewed_7d": events.loc[views & last_7].groupby("user_key", sort=False)["category"].nunique(),
            "categories_viewed_30d": events.loc[views & last_30].groupby("user_key", sort=False)["category"].nunique(),
            "sessions_total": pd.Series(1, index=session_users).groupby(level=0, sort=False).sum(),
            "sessions_7d": pd.Series((sessions >= as_of - timedelta(days=7)).to_numpy(), index=session_users)
            .groupby(level=0, sort=False).sum(),
            "sessions_30d": pd.Series((sessions >= as_of - timedelta(days=30)).to_numpy(), index=session_users)
            .groupby(level=0, sort=False).sum(),
        })
        orders = self.orders.loc[self.orders["ordered_at"] < as_of].groupby("user_key", sort=False)
        frame = frame.join(pd.DataFrame({
            "orders_total": orders.size(),
            "revenue_total": orders["revenue"].sum(),
            "days_since_last_purchase": (as_of - orders["ordered_at"].max()).dt.total_seconds() / 86400,
        }))
        return frame.fillna({"categories_viewed_7d": 0, "categories_viewed_30d": 0, "orders_total": 0,
                             "revenue_total": 0.0})


def cpu_and_wall(work, runs: int) -> tuple[float, float]:
    """(median wall seconds, median process CPU seconds) of `work` over `runs` calls."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return sorted(walls)[len(walls) // 2], sorted(cpus)[len(cpus) // 2]


def measure(con: duckdb.DuckDBPyConnection, runs: int, with_peer: bool) -> list[Result]:
    as_of = data_end_point(con)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for entity, target in (("user", "< 30 s"), ("product", "")):
            rows = materialise(con, as_of, entity, Path(folder))
            wall, cpu = cpu_and_wall(lambda: materialise(con, as_of, entity, Path(folder)), runs)
            peer = None
            if entity == "user" and with_peer:
                pandas_peer = PandasUserFeatures(con)
                peer = median_seconds(lambda: pandas_peer.features(as_of), max(1, runs), warmup=0)
                del pandas_peer
            results.append(Result(f"materialise {entity} features as of {as_of:%Y-%m-%d}", rows, wall, cpu, runs,
                                  target, peer))
            print(f"{entity}: {rows:,} rows, {wall:.1f} s wall, {cpu:.1f} s CPU"
                  + (f", pandas subset {peer:.1f} s" if peer else ""), flush=True)
    return results


def write_results(results: list[Result], events: int, command: str, load_average: float) -> str:
    lines = [
        "## Feature store (issue 8)",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}; `{command}`. "
        f"{events:,} events. Median wall time of a full "
        "materialisation (SQL as of the day after the last event, to pandas, to Parquet) and the median "
        "CPU seconds of the process (DuckDB uses every core, so CPU can exceed wall). Peer: pandas over the "
        "event and order tables already in memory, computing only 11 of the 33 user features; ratio = "
        f"peer time / ShopLens time. Load average at the start: {load_average:.1f}"
        + (" (above the core count: other work shared the machine and wall times are inflated)."
           if load_average > (os.cpu_count() or 1) else "."),
        "",
        "| measure | rows | median | CPU | runs | target | pandas subset | ratio |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for result in results:
        peer = f"{result.peer_seconds:.1f} s" if result.peer_seconds else "—"
        ratio = f"{result.peer_seconds / result.median_seconds:.2f}x" if result.peer_seconds else "—"
        lines.append(f"| {result.measure} | {result.rows:,} | {result.median_seconds:.1f} s | "
                     f"{result.cpu_seconds:.1f} s | {result.runs} | {result.target} | {peer} | {ratio} |")
    return write_section("features", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE,
                        help="a warehouse built from benchmarks/.data/sample-10M (built there when missing)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true", help="skip the pandas peer (it needs ~3 GB of memory)")
    arguments = parser.parse_args()
    if not arguments.warehouse.is_file():
        DATA.mkdir(exist_ok=True)
        build_warehouse(sample_folder("10M", measured_events_per_user()), arguments.warehouse, is_sample=True)
    load_average = os.getloadavg()[0]
    with duckdb.connect(str(arguments.warehouse), read_only=True) as con:
        events = con.execute("select count(*) from fct_events").fetchone()[0]
        results = measure(con, arguments.runs, not arguments.no_peer)
    command = "python -m benchmarks.features" + (f" --warehouse {arguments.warehouse}"
                                                 if arguments.warehouse != DEFAULT_WAREHOUSE else "")
    print(write_results(results, events, command, load_average))


if __name__ == "__main__":
    main()
