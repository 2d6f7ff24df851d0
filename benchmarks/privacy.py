"""Benchmark: what the differentially private figures add to a viewer's page.

Run with `make bench` or `python -m benchmarks.privacy --sizes sample 1M 10M`. The sample is the
committed sample shop; 1M and 10M are the foundation benchmark's generated shops (made if missing).

Measured, for the last 30 days of data:
- "DP tiles, new figures": everything a viewer's Overview adds for a set of filters not seen today:
  the bounded-contribution SQL, five OpenDP draws and the ledger transaction that stores and charges
  them (each run asks under a new data version, so every run is a fresh release);
- "DP tiles, seen today": the same figures again (the ledger returns the stored answer);
- "DP funnel steps, new": the furthest-step histogram of a view > cart > purchase funnel from the
  events held in memory (as the Funnels page holds them), its noise, the monotone fit and the ledger.
The peer is the seed article's proposal, Laplace noise from numpy added to the exact KPI totals
(`reports/overview_kpis.sql`): no contribution bounds, no ledger, not private. Target: DP tiles add
under 50 ms to a page: a viewer's Overview shows them instead of the exact page, so what they add is
their time over the exact totals they replace (the peer).
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import numpy as np

from analytics.filters import Filters
from analytics.funnels import FunnelQuery, FunnelStep, load_event_store
from analytics.overview import filter_options, load_overview
from analytics.privacy.funnel import private_funnel
from analytics.privacy.ledger import PrivacyLedger
from analytics.privacy.overview import private_overview
from analytics.privacy.settings import PrivacySettings
from analytics.queries import run_report
from analytics.warehouse import build_warehouse
from benchmarks.common import DATA, ROOT, machine, median_seconds, write_section

TARGET_SECONDS = 0.050
SIZES = ("sample", "1M", "10M")


def warehouse_for(size: str) -> Path:
    """The warehouse of `size`: the sample shop, or the foundation benchmark's generated shop."""
    if size == "sample":
        target = DATA / "warehouse-sample.duckdb"
        if not target.exists():
            build_warehouse(ROOT / "sample_data", target, is_sample=True)
        return target
    target = DATA / f"warehouse-{size}.duckdb"
    if not target.exists():
        from benchmarks.foundation import measured_events_per_user, sample_folder

        build_warehouse(sample_folder(size, measured_events_per_user()), target, is_sample=True)
    return target


def measure(size: str, runs: int) -> list[tuple[str, str, int, float, float | None]]:
    """Rows (size, measure, events, median seconds, peer median seconds or None)."""
    settings = PrivacySettings(daily_epsilon=1e9)
    query = FunnelQuery((FunnelStep("view"), FunnelStep("cart"), FunnelStep("purchase")), timedelta(hours=1))
    rows = []
    with duckdb.connect(str(warehouse_for(size)), read_only=True) as con, tempfile.TemporaryDirectory() as folder:
        events = con.execute("select count(*) from fct_events").fetchone()[0]
        last = filter_options(con).last_date
        filters = Filters(last - timedelta(days=29), last)
        ledger = PrivacyLedger(Path(folder) / "ledger.sqlite", settings.daily_epsilon)
        versions = (f"bench-{number}" for number in itertools.count())

        def fresh_tiles():
            return private_overview(con, filters, data_version=next(versions), viewer="bench@example.com",
                                    ledger=ledger, settings=settings)

        def seen_tiles():
            return private_overview(con, filters, data_version="seen", viewer="bench@example.com", ledger=ledger,
                                    settings=settings)

        # The Funnels page holds the build's events in memory (loaded once per build) and passes them.
        store = load_event_store(con)

        def fresh_funnel():
            return private_funnel(con, query, filters, data_version=next(versions), viewer="bench@example.com",
                                  ledger=ledger, settings=settings, store=store)

        parameters = filters.sql_parameters() | {"previous_start_date": filters.previous_period().start_date,
                                                  "previous_end_date": filters.previous_period().end_date}
        rng = np.random.default_rng()

        def naive_tiles():
            totals = run_report(con, "overview_kpis", parameters).set_index("period").loc["current"]
            return {name: float(totals[name]) + rng.laplace(0, 10.0) for name in
                    ("sessions", "users", "converted_sessions", "orders", "revenue")}

        peer = median_seconds(naive_tiles, runs, warmup=2)
        rows.append((size, "Exact Overview page (all its queries), for scale", events,
                     median_seconds(lambda: load_overview(con, filters), runs, warmup=2), None))
        rows.append((size, "DP tiles, new figures", events, median_seconds(fresh_tiles, runs, warmup=2), peer))
        rows.append((size, "DP tiles, seen today", events, median_seconds(seen_tiles, runs, warmup=2), peer))
        rows.append((size, "DP funnel steps, new", events, median_seconds(fresh_funnel, max(3, runs // 3), warmup=1),
                     None))
    return rows


def write_results(rows: list[tuple[str, str, int, float, float | None]], command: str) -> str:
    """The BENCHMARKS.md section."""
    load = os.getloadavg()[0]
    lines = [
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}, DuckDB {duckdb.__version__}; "
        f"load average {load:.1f} at the end (above 2 on 2 cores, every time here is inflated by waiting).",
        f"Command: `{command}`" + (")." if "(" in command else "."),
        "",
        "A viewer's Overview shows the DP tiles instead of the exact page (no exact chart may undo the noise), so",
        "what the tiles add to a page is their time over the exact totals they replace, the peer's query: the",
        "*added* column, against the target.",
        "",
        "| data | events | measure | median | peer: numpy Laplace on exact totals | added over the exact totals "
        "(target < 50 ms) | peer / ShopLens |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for size, label, events, seconds, peer in rows:
        peer_text = f"{peer * 1000:,.1f} ms" if peer is not None else "—"
        added = f"{(seconds - peer) * 1000:+,.1f} ms" if peer is not None and label.startswith("DP tiles") else "—"
        ratio = f"{peer / seconds:.2f}×" if peer is not None else "—"
        lines.append(f"| {size} | {events:,} | {label} | {seconds * 1000:,.1f} ms | {peer_text} | {added} | {ratio} |")
    return write_section("privacy", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", choices=SIZES, default=list(SIZES))
    parser.add_argument("--runs", type=int, default=30)
    arguments = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    rows = []
    for size in arguments.sizes:
        measured = measure(size, arguments.runs)
        rows.extend(measured)
        print(f"[{size}] " + "; ".join(f"{label}: {seconds * 1000:.1f} ms" for _, label, _, seconds, _ in measured),
              flush=True)
    command = ("make bench` (this section alone: `python -m benchmarks.privacy" if arguments.sizes == list(SIZES)
               else f"python -m benchmarks.privacy --sizes {' '.join(arguments.sizes)}")
    print(write_results(rows, command))


if __name__ == "__main__":
    main()
