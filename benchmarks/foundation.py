"""Benchmarks of the foundation: warehouse build time and warm Overview query time.

Run with `make bench` (or `python -m benchmarks.foundation --sizes 1M 10M`). Generated
data sets are cached in `benchmarks/.data/` so reruns only time the work. The
results table is written to BENCHMARKS.md between the markers of its section.

Targets on the 2-core reference machine: a 10M-event build under 60 s, and all
Overview queries together under 300 ms warm at 10M events.

The peer is the dashboard most teams start with: the same KPIs computed with
pandas over the event and order tables already in memory (load time excluded,
which favours the peer). The ratio is peer time / ShopLens time.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pandas as pd

from analytics.filters import Filters
from analytics.overview import filter_options, load_overview
from analytics.sample import SampleConfig, write_sample
from analytics.warehouse import build_warehouse
from benchmarks.common import DATA, machine, median_seconds, write_section


# Users per size, so that a year of the sample shop yields about this many events.
SIZES: dict[str, int] = {"100k": 100_000, "1M": 1_000_000, "10M": 10_000_000}


@dataclass(frozen=True)
class Result:
    """One measured row of the results table."""

    size: str
    events: int
    measure: str
    median_seconds: float
    runs: int
    target: str = ""
    peer_seconds: float | None = None


def sample_folder(size: str, events_per_user: float) -> Path:
    """Generate (once) a year of the sample shop with about `SIZES[size]` events."""
    folder = DATA / f"sample-{size}"
    if not (folder / "events.parquet").is_file():
        users = max(100, round(SIZES[size] / events_per_user))
        print(f"[{size}] generating {users:,} users ...", flush=True)
        started = time.perf_counter()
        write_sample(SampleConfig(users=users, days=365, seed=11), folder)
        print(f"[{size}] generated in {time.perf_counter() - started:.1f} s", flush=True)
    return folder


def measure_build(size: str, folder: Path, runs: int) -> tuple[Path, Result, int]:
    target = DATA / f"warehouse-{size}.duckdb"
    seconds = median_seconds(lambda: build_warehouse(folder, target, is_sample=True), runs)
    with duckdb.connect(str(target), read_only=True) as con:
        events = con.execute("select count(*) from source_events").fetchone()[0]
    target_text = "< 60 s" if size == "10M" else ""
    return target, Result(size, events, "shoplens build", seconds, runs, target_text), events


def last_30_days(con: duckdb.DuckDBPyConnection) -> Filters:
    last = filter_options(con).last_date
    return Filters(last - timedelta(days=29), last)


def measure_overview(size: str, events: int, warehouse: Path, folder: Path, runs: int) -> list[Result]:
    results = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        filters = last_30_days(con)
        options = filter_options(con)
        variants = {
            "Overview, last 30 days": filters,
            "Overview, whole year": Filters(options.first_date, options.last_date),
            "Overview, 30 days, one category and device": Filters(
                filters.start_date, filters.end_date, categories=options.categories[:1], devices=options.devices[:1]
            ),
        }
        peer = PandasOverview(folder)
        for label, variant in variants.items():
            ours = median_seconds(lambda: load_overview(con, variant), runs, warmup=2)
            theirs = median_seconds(lambda: peer.overview(variant), max(3, runs // 5), warmup=1)
            target_text = "< 300 ms" if size == "10M" else ""
            results.append(Result(size, events, label, ours, runs, target_text, theirs))
    return results


class PandasOverview:
    """The peer: the same Overview with pandas over in-memory session and order-line tables.

    The session table is prepared once, as our marts are, so the timed part is
    the filtering and aggregation a page does on every rerun.
    """

    def __init__(self, folder: Path) -> None:
        products = pd.read_parquet(folder / "products.parquet", columns=["product_id", "title", "category_path"])
        products["category"] = products["category_path"].str.split(" > ").str[0]
        events = pd.read_parquet(
            folder / "events.parquet",
            columns=["user_id", "session_id", "event_time", "event_type", "product_id", "device", "channel"],
        ).merge(products[["product_id", "category"]], on="product_id", how="left")
        self.sessions = events.groupby("session_id").agg(
            user_id=("user_id", "first"), started_at=("event_time", "min"), device=("device", "first"),
            channel=("channel", "first"), is_converted=("event_type", lambda s: (s == "purchase").any()),
            categories=("category", lambda s: frozenset(s.dropna())),
        )
        self.sessions["session_date"] = self.sessions["started_at"].dt.normalize()
        items = pd.read_parquet(folder / "order_items.parquet")
        orders = pd.read_parquet(folder / "orders.parquet")
        self.items = items.merge(orders, on="order_id").merge(products, on="product_id", how="left")
        self.items["order_date"] = self.items["ordered_at"].dt.normalize()
        self.items["revenue"] = self.items["quantity"] * self.items["unit_price"] - self.items["discount_amount"]

    def _slice(self, filters: Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
        start, end = pd.Timestamp(filters.start_date), pd.Timestamp(filters.end_date)
        sessions = self.sessions[self.sessions.session_date.between(start, end)]
        items = self.items[self.items.order_date.between(start, end)]
        if filters.devices:
            sessions = sessions[sessions.device.isin(filters.devices)]
            items = items[items.device.isin(filters.devices)]
        if filters.categories:
            chosen = frozenset(filters.categories)
            sessions = sessions[sessions.categories.map(lambda c: bool(c & chosen))]
            items = items[items.category.isin(filters.categories)]
        return sessions, items

    def overview(self, filters: Filters) -> dict[str, object]:
        totals = {}
        for name, period in (("current", filters), ("previous", filters.previous_period())):
            sessions, items = self._slice(period)
            totals[name] = (len(sessions), sessions.user_id.nunique(), sessions.is_converted.sum(),
                            items.order_id.nunique(), items.revenue.sum())
        sessions, items = self._slice(filters)
        daily = sessions.groupby("session_date").agg(sessions=("user_id", "size"), users=("user_id", "nunique")).join(
            items.groupby("order_date").agg(orders=("order_id", "nunique"), revenue=("revenue", "sum")), how="outer"
        )
        categories = items.groupby("category").agg(revenue=("revenue", "sum"), orders=("order_id", "nunique"))
        products = items.groupby("product_id").agg(revenue=("revenue", "sum"), units=("quantity", "sum")).nlargest(10, "revenue")
        return {"totals": totals, "daily": daily, "categories": categories, "products": products}


def write_results(results: list[Result], command: str) -> str:
    lines = [
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}, "
        f"DuckDB {duckdb.__version__}, pandas {pd.__version__}.",
        f"Command: `{command}`.",
        "",
        "| data | events | measure | median | runs | target | peer: pandas in memory | peer / ShopLens |",
        "|---|---:|---|---:|---:|---|---:|---:|",
    ]
    for r in results:
        ours = _format_seconds(r.median_seconds)
        peer = _format_seconds(r.peer_seconds) if r.peer_seconds is not None else "—"
        ratio = f"{r.peer_seconds / r.median_seconds:,.0f}×" if r.peer_seconds is not None else "—"
        lines.append(f"| {r.size} | {r.events:,} | {r.measure} | {ours} | {r.runs} | {r.target} | {peer} | {ratio} |")
    return write_section("foundation", "\n".join(lines))


def _format_seconds(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["1M", "10M"])
    parser.add_argument("--build-runs", type=int, default=3)
    parser.add_argument("--query-runs", type=int, default=30)
    parser.add_argument("--events-per-user", type=float, default=None,
                        help="events a sample user makes in a year (default: measured on a small sample)")
    arguments = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    events_per_user = arguments.events_per_user or measured_events_per_user()
    results: list[Result] = []
    for size in arguments.sizes:
        folder = sample_folder(size, events_per_user)
        warehouse, build_result, events = measure_build(size, folder, arguments.build_runs)
        results.append(build_result)
        print(f"[{size}] build {build_result.median_seconds:.1f} s", flush=True)
        results.extend(measure_overview(size, events, warehouse, folder, arguments.query_runs))
    command = "make bench` (this section alone: `python -m benchmarks.foundation" if arguments.sizes == ["1M", "10M"] else f"python -m benchmarks.foundation --sizes {' '.join(arguments.sizes)}"
    print(write_results(results, command))


def measured_events_per_user() -> float:
    """Events per user in a year of the sample shop, from a small generated sample."""
    folder = DATA / "calibration"
    counts = write_sample(SampleConfig(users=5_000, days=365, seed=11), folder)
    return counts["events"] / 5_000


if __name__ == "__main__":
    main()
