"""Benchmark of `shoplens import`: 10M rows of REES46-shaped CSV into a new warehouse.

Run with `python -m benchmarks.importing` (add `--rows 1000000` for a quick run).
The CSV is made once from the generated 10M-event sample (benchmarks/.data/sample-10M,
made by benchmarks.foundation) in the REES46 layout (`2019-10-01 00:00:00 UTC` times,
dotted category codes, prices, user sessions) and cached in benchmarks/.data/.
The import runs as the real command in a child process, so the wall time is what a
user waits for (validation, the transactional load, every model rebuild and the
metadata) and the peak memory is the child's maximum resident set size.

Targets on the 2-core reference machine: under 60 s and under 4 GiB peak memory.
The result is written to BENCHMARKS.md between the markers of its section.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from benchmarks.common import DATA, ROOT, machine, write_section

SOURCE = DATA / "sample-10M"
TARGET_SECONDS = 60
TARGET_BYTES = 4 << 30

REES46_SQL = """
copy (
    select
        strftime(events.event_time, '%Y-%m-%d %H:%M:%S') || ' UTC' as event_time,
        case when events.event_type in ('view', 'cart', 'remove_from_cart', 'purchase') then events.event_type
             else 'view' end as event_type,
        coalesce(events.product_id, 'landing') as product_id,
        hash(products.category_path) % 1000000 as category_id,
        lower(replace(replace(products.category_path, ' > ', '.'), ' ', '_')) as category_code,
        lower(products.brand) as brand,
        round(coalesce(events.price, products.list_price, 9.99), 2) as price,
        events.user_id,
        events.session_id as user_session
    from read_parquet($events) as events
    left join read_parquet($products) as products using (product_id)
    order by events.event_time
    limit $rows
) to '{target}' (header, delimiter ',')
"""


def make_csv(rows: int) -> Path:
    """Write (once) `rows` REES46-shaped rows made from the 10M sample; returns the CSV path."""
    target = DATA / f"rees46-{rows}.csv"
    if target.is_file():
        return target
    if not (SOURCE / "events.parquet").is_file():
        raise SystemExit(f"{SOURCE} is missing; run `python -m benchmarks.foundation --sizes 10M` first")
    print(f"writing {target} ...", flush=True)
    with duckdb.connect() as con:
        # The target path is ours (a fixed folder and a number), not user input; COPY cannot bind it.
        con.execute(REES46_SQL.format(target=str(target)),
                    {"events": str(SOURCE / "events.parquet"), "products": str(SOURCE / "products.parquet"),
                     "rows": rows})
    return target


def measure(csv_path: Path) -> tuple[float, int, int]:
    """Import `csv_path` with the CLI in a child process; return (seconds, peak bytes, rows loaded)."""
    with tempfile.TemporaryDirectory(prefix="shoplens-bench-import-") as scratch:
        warehouse = Path(scratch) / "warehouse.duckdb"
        command = [sys.executable, "-m", "analytics", "import", str(csv_path), "--preset", "rees46",
                   "--warehouse", str(warehouse)]
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
        seconds = time.perf_counter() - started
        # ru_maxrss is in KiB on Linux: the largest child's peak resident set.
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        with duckdb.connect(str(warehouse), read_only=True) as con:
            loaded = con.execute("select count(*) from source_events").fetchone()[0]
    return seconds, peak, loaded


def write_results(rows: int, seconds: float, peak: int, loaded: int, command: str) -> str:
    """Rewrite this benchmark's section of BENCHMARKS.md and return it."""
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, DuckDB {duckdb.__version__}; one run.",
        f"Command: `{command}`.",
        "",
        "| rows in the CSV | rows loaded | wall time | target | peak memory (RSS) | target |",
        "|---:|---:|---:|---|---:|---|",
        (f"| {rows:,} | {loaded:,} | {seconds:.1f} s | < {TARGET_SECONDS} s | {peak / (1 << 30):.2f} GiB | "
         f"< {TARGET_BYTES >> 30} GiB |"),
    ]
    return write_section("import", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of REES46-shaped CSV (default 10M)")
    parser.add_argument("--no-write", action="store_true", help="print the result; leave BENCHMARKS.md alone")
    arguments = parser.parse_args()
    csv_path = make_csv(arguments.rows)
    seconds, peak, loaded = measure(csv_path)
    print(f"imported {loaded:,} of {arguments.rows:,} rows in {seconds:.1f} s, peak {peak / (1 << 30):.2f} GiB")
    if not arguments.no_write:
        command = "python -m benchmarks.importing" + (f" --rows {arguments.rows}" if arguments.rows != 10_000_000 else "")
        print(write_results(arguments.rows, seconds, peak, loaded, command))


if __name__ == "__main__":
    main()
