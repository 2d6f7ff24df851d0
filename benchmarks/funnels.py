"""Benchmark of the funnel engine against ClickHouse's `windowFunnel` (embedded chdb), same data, same run.

Run with `python -m benchmarks.funnels` (10M sample; `--warehouse PATH` to use an existing build of it).
Both sides are warm: ClickHouse reads a Memory table holding fct_events' user_key, event time
(microseconds) and event type; ShopLens reads the warehouse as `shoplens funnel` does
(`analytics.funnels.count_funnel`, a read-only connection, global filters applied). Each side is
timed over the same funnels and the counts are checked to be equal before any time is written.
The ratio is ClickHouse time / ShopLens time: above 1x ShopLens is faster.

Targets (issue 4): a 3-step ordered funnel at most 1.0x ClickHouse's time, and a 10-step funnel at
most 3x our 3-step time.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

from analytics.filters import Filters
from analytics.funnels import FunnelExclusion, FunnelQuery, count_funnel, parse_steps, run_funnel
from analytics.overview import filter_options
from analytics.warehouse import build_warehouse
from benchmarks.common import DATA, machine, median_seconds, write_section

THREE_STEPS = "view,cart,purchase"
TEN_STEPS = "view,cart,purchase,view,cart,purchase,view,cart,purchase,view"
WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Result:
    """One measured row of the results table."""

    measure: str
    steps: int
    mode: str
    ours_seconds: float
    clickhouse_seconds: float
    runs: int
    target: str


class ClickHouseFunnel:
    """The peer: fct_events' funnel columns in a chdb Memory table, funnels with windowFunnel."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        from chdb import session

        # chdb's Python(events) table function finds this frame by its variable name.
        events = con.execute(  # noqa: F841
            "select user_key::uinteger as user_key, epoch_us(event_time)::ubigint as event_time_us, event_type "
            "from fct_events"
        ).df()
        self.session = session.Session()
        self.session.query("create table events (user_key UInt32, event_time_us UInt64, "
                           "event_type LowCardinality(String)) engine = Memory")
        self.session.query("insert into events select user_key, event_time_us, event_type from Python(events)")
        self.rows = int(self.session.query("select count() from events", "CSV").bytes())

    def counts(self, steps: list[str], window_us: int, mode: str) -> list[int]:
        """Users reaching at least each step, as windowFunnel counts them."""
        option = ", 'strict_order'" if mode == "strict" else ""
        conditions = ", ".join(f"event_type = '{step}'" for step in steps)  # benchmark constants
        # Strict mode must see every event (others end an attempt); ordered reads only step events.
        where = "" if mode == "strict" else "where event_type in (" + ", ".join(f"'{s}'" for s in set(steps)) + ")"
        rows = self.session.query(
            f"select level, count() from (select user_key, windowFunnel({window_us}{option})(event_time_us, "
            f"{conditions}) as level from events {where} group by user_key) group by level", "CSV"
        ).bytes().decode().split()
        by_level = {int(level): int(count) for level, count in (row.split(",") for row in rows)}
        return [sum(count for level, count in by_level.items() if level >= number)
                for number in range(1, len(steps) + 1)]


def measure(con: duckdb.DuckDBPyConnection, peer: ClickHouseFunnel, filters: Filters, runs: int) -> list[Result]:
    results = []
    for label, steps_text, mode, target in (
        ("3-step ordered funnel", THREE_STEPS, "ordered", "≤ 1.0× ClickHouse time"),
        ("10-step ordered funnel", TEN_STEPS, "ordered", "≤ 3× our 3-step time"),
        ("3-step strict funnel", THREE_STEPS, "strict", ""),
    ):
        query = FunnelQuery(parse_steps(steps_text), WINDOW, mode=mode)
        steps = steps_text.split(",")
        ours = count_funnel(con, query, filters)["users"].tolist()
        theirs = peer.counts(steps, query.window_microseconds, mode)
        if ours != theirs:
            raise SystemExit(f"{label}: counts differ, ShopLens {ours} vs ClickHouse {theirs}; nothing written")
        print(f"{label}: counts equal {ours}", flush=True)
        # Alternate the two so background load on the shared machine hits both alike.
        our_times, their_times = [], []
        for _ in range(2):
            count_funnel(con, query, filters)
            peer.counts(steps, query.window_microseconds, mode)
        for _ in range(runs):
            our_times.append(median_seconds(lambda: count_funnel(con, query, filters), 1, warmup=0))
            their_times.append(median_seconds(lambda: peer.counts(steps, query.window_microseconds, mode), 1, warmup=0))
        results.append(Result(label, len(steps), mode, statistics.median(our_times),
                              statistics.median(their_times), runs, target))
        print(f"{label}: ShopLens {results[-1].ours_seconds * 1000:.0f} ms, "
              f"ClickHouse {results[-1].clickhouse_seconds * 1000:.0f} ms", flush=True)
    return results


def write_results(results: list[Result], events: int, command: str) -> str:
    import chdb

    three = next(result for result in results if result.steps == 3 and result.mode == "ordered")
    lines = [
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}, "
        f"DuckDB {duckdb.__version__}, chdb {chdb.__version__}.",
        f"Command: `{command}`. Data: the 10M sample ({events:,} events), the whole year, window 1 h; "
        "counts checked equal before timing.",
        "",
        "| measure | ShopLens | ClickHouse windowFunnel | runs | ClickHouse / ShopLens | target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for result in results:
        note = result.target
        if result.steps == 10:
            note += f" (now {result.ours_seconds / three.ours_seconds:.1f}×)"
        lines.append(f"| {result.measure} | {result.ours_seconds * 1000:,.0f} ms | "
                     f"{result.clickhouse_seconds * 1000:,.0f} ms | {result.runs} | "
                     f"{result.clickhouse_seconds / result.ours_seconds:.2f}× | {note} |")
    return write_section("funnels", "\n".join(lines))


# The Funnels page's heaviest views over the whole range (issue 4: every interaction under 1 s warm).
PAGE_VIEWS: dict[str, dict[str, object]] = {
    "users": {},
    "users by device": {"breakdown": "device"},
    "sessions": {"count_by": "sessions"},
    "conversions": {"count_by": "conversions"},
    "users, excluding remove_from_cart 2-3": {"exclusions": (FunnelExclusion("remove_from_cart", 2, 3),)},
}


def measure_page_views(con: duckdb.DuckDBPyConnection, filters: Filters, runs: int) -> list[tuple[str, float]]:
    """Warm median seconds of `run_funnel` (what the Funnels page computes) for each of PAGE_VIEWS."""
    timings = []
    for name, fields in PAGE_VIEWS.items():
        query = FunnelQuery(parse_steps(THREE_STEPS), WINDOW, **fields)
        timings.append((name, median_seconds(lambda: run_funnel(con, query, filters), runs, warmup=2)))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=DATA / "warehouse-10M.duckdb",
                        help="a warehouse built from benchmarks/.data/sample-10M (built there when missing)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--page-views", action="store_true",
                        help="only time the Funnels page's views (run_funnel, whole range) and print them")
    arguments = parser.parse_args()
    if not arguments.warehouse.is_file():
        build_warehouse(DATA / "sample-10M", arguments.warehouse, is_sample=True)
    with duckdb.connect(str(arguments.warehouse), read_only=True) as con:
        options = filter_options(con)
        filters = Filters(options.first_date, options.last_date)
        if arguments.page_views:
            for name, seconds in measure_page_views(con, filters, min(arguments.runs, 5)):
                print(f"{name}: {seconds:.2f} s")
            return
        peer = ClickHouseFunnel(con)
        results = measure(con, peer, filters, arguments.runs)
    command = "python -m benchmarks.funnels" + (f" --warehouse {arguments.warehouse}"
                                                if arguments.warehouse != DATA / "warehouse-10M.duckdb" else "")
    print(write_results(results, peer.rows, command))


if __name__ == "__main__":
    main()
