"""Benchmark of `shoplens import`: 10M rows of REES46-shaped CSV, The Complete Journey, and a gzip bomb.

Run with `python -m benchmarks.importing` (add `--rows 1000000` for a quick run; `--only
completejourney` or `--only bomb` for one part; `--before PATH` also runs the bomb with the
ShopLens checkout at PATH, the release before, as the peer).
The CSV is made once from the generated 10M-event sample (benchmarks/.data/sample-10M,
made by benchmarks.foundation) in the REES46 layout (`2019-10-01 00:00:00 UTC` times,
dotted category codes, prices, user sessions) and cached in benchmarks/.data/.
The import runs as the real command in a child process, so the wall time is what a
user waits for (validation, the transactional load, every model rebuild and the
metadata) and the peak memory is the child's maximum resident set size.

Targets on the 2-core reference machine: under 60 s and under 4 GiB peak memory.
The result is written to BENCHMARKS.md between the markers of its section.

The Complete Journey (../shared/data/completejourney, or $SHOPLENS_SHARED_DATA) is imported
with the `completejourney` preset as the real command: rows in, rows kept, seconds, peak memory.
The gzip bomb is made here (1 GiB of valid Taobao rows in about 3 MB of repeated gzip members)
and imported as the real command, which must refuse it: seconds and peak memory until refused.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
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


def measure(csv_path: Path, code_root: Path = ROOT) -> tuple[float, int, int, float]:
    """Import `csv_path` with the CLI of the code at `code_root` in a child process.

    Returns:
        (wall seconds, peak bytes of that child, rows loaded, CPU seconds).
    """
    with tempfile.TemporaryDirectory(prefix="shoplens-bench-import-") as scratch:
        warehouse = Path(scratch) / "warehouse.duckdb"
        result = run_measured([sys.executable, "-m", "analytics", "import", str(csv_path), "--preset", "rees46",
                               "--warehouse", str(warehouse)], code_root)
        if result["returncode"] != 0:
            raise SystemExit(f"the import failed: {result['stderr']}")
        with duckdb.connect(str(warehouse), read_only=True) as con:
            loaded = con.execute("select count(*) from source_events").fetchone()[0]
    return result["seconds"], result["peak_bytes"], loaded, result["cpu_seconds"]


# Runs a command and reports its wall time and peak resident memory (of it and its children).
_MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": time.perf_counter() - started, "returncode": done.returncode,
                  "cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_bytes": usage.ru_maxrss * 1024,
                  "stderr": done.stderr[-2000:]}))
"""


def run_measured(command: list[str], code_root: Path = ROOT) -> dict:
    """Run `command` with `code_root` on PYTHONPATH.

    Returns:
        seconds (wall), cpu_seconds (user + system, which other work on a busy machine disturbs less),
        returncode, peak_bytes (resident) and the end of stderr.
    """
    done = subprocess.run([sys.executable, "-c", _MEASURE, *command], cwd=code_root, check=True,
                          env={**os.environ, "PYTHONPATH": str(code_root)}, capture_output=True, text=True)
    return json.loads(done.stdout)


def shared_data() -> Path:
    """The shared data folder: $SHOPLENS_SHARED_DATA, else ../shared/data beside the repository."""
    return Path(os.environ.get("SHOPLENS_SHARED_DATA") or ROOT.parent / "shared" / "data")


def measure_completejourney() -> dict | None:
    """Import The Complete Journey with its preset into a new warehouse; None when the data is absent."""
    folder = shared_data() / "completejourney"
    if not (folder / "transactions.csv.gz").is_file():
        print(f"{folder} is absent; skipping The Complete Journey", flush=True)
        return None
    with tempfile.TemporaryDirectory(prefix="shoplens-bench-cj-") as scratch:
        warehouse = Path(scratch) / "warehouse.duckdb"
        result = run_measured([sys.executable, "-m", "analytics", "import", str(folder), "--preset", "completejourney",
                               "--warehouse", str(warehouse)])
        if result["returncode"] != 0:
            raise SystemExit(f"the Complete Journey import failed: {result['stderr']}")
        with duckdb.connect(str(warehouse), read_only=True) as con:
            result["rows_in"], result["rows_kept"], result["rows_rejected"] = con.execute(
                "select sum(rows_read), sum(rows_loaded), sum(rows_rejected) from meta_imports "
                "where layout = 'completejourney_transactions'").fetchone()
            result["orders"], result["revenue"] = con.execute("select count(*), sum(revenue) from fct_orders").fetchone()
            result["events"] = con.execute("select count(*) from source_events").fetchone()[0]
            result["products"] = con.execute("select count(*) from source_products").fetchone()[0]
            result["complete_data_end"] = con.execute("select complete_data_end_date from meta_warehouse").fetchone()[0]
    return result


def make_bomb(path: Path, expanded_bytes: int = 1 << 30) -> Path:
    """A gzip file of `expanded_bytes` of valid Taobao rows made of repeated gzip members (a few MB)."""
    import gzip

    line = b"1,10,100,pv,1511658000\n"
    chunk = line * ((1 << 20) // len(line))
    member = gzip.compress(chunk, compresslevel=9)
    with open(path, "wb") as sink:
        sink.write(gzip.compress(b"user_id,item_id,category_id,behavior_type,timestamp\n"))
        for _ in range(expanded_bytes // len(chunk)):
            sink.write(member)
    return path


def measure_bomb(code_root: Path = ROOT) -> dict:
    """Import the bomb with the code at `code_root`; seconds and peak memory until it is refused (or imported)."""
    with tempfile.TemporaryDirectory(prefix="shoplens-bench-bomb-") as scratch:
        bomb = make_bomb(Path(scratch) / "bomb.csv.gz")
        result = run_measured([sys.executable, "-m", "analytics", "import", str(bomb), "--preset", "taobao",
                               "--warehouse", str(Path(scratch) / "w.duckdb")], code_root)
        result["compressed_bytes"] = bomb.stat().st_size
        result["refused"] = result["returncode"] != 0
    return result


def write_completejourney(result: dict) -> str:
    """Rewrite The Complete Journey's section of BENCHMARKS.md and return it."""
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, DuckDB {duckdb.__version__}; one run.",
        "Command: `python -m benchmarks.importing --only completejourney` (runs `shoplens import "
        "../shared/data/completejourney --preset completejourney`).",
        "",
        "| transaction lines in | kept | rejected (of which revenue adjustments: 49) | orders | revenue | purchase events "
        "made | products | last complete day | wall time | peak memory (RSS) |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
        (f"| {result['rows_in']:,} | {result['rows_kept']:,} | {result['rows_rejected']:,} | {result['orders']:,} | "
         f"{result['revenue']:,.2f} | {result['events']:,} | {result['products']:,} | {result['complete_data_end']} | "
         f"{result['seconds']:.1f} s | {result['peak_bytes'] / (1 << 30):.2f} GiB |"),
    ]
    return write_section("import-completejourney", "\n".join(lines))


def _outcome(result: dict) -> str:
    """How a run ended, in a few words: imported, or the error's first words."""
    if result["returncode"] == 0:
        return "imported"
    last = (result["stderr"].strip().splitlines() or ["(no message)"])[-1]
    return "stopped: " + last.removeprefix("shoplens import: error: ")[:110].replace("|", "/")


def write_bomb(result: dict, before: dict | None) -> str:
    """Rewrite the gzip bomb's section of BENCHMARKS.md and return it."""
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, DuckDB {duckdb.__version__}; one run each.",
        "Command: `python -m benchmarks.importing --only bomb" + (" --before PATH`" if before else "`") +
        f" ({result['compressed_bytes'] / (1 << 20):.1f} MiB of gzip expanding to 1 GiB of valid Taobao rows).",
        "",
        "| code | outcome | wall time | peak memory (RSS) |",
        "|---|---|---:|---:|",
        (f"| this release | {_outcome(result)} | {result['seconds']:.1f} s | "
         f"{result['peak_bytes'] / (1 << 20):,.0f} MiB |"),
    ]
    if before:
        lines.append(f"| the release before (peer) | {_outcome(before)} | "
                     f"{before['seconds']:.1f} s | {before['peak_bytes'] / (1 << 20):,.0f} MiB |")
        lines.append("")
        lines.append(f"Ratio: {result['seconds'] / before['seconds']:.3f}x the time and "
                     f"{result['peak_bytes'] / before['peak_bytes']:.3f}x the peak memory of the release before.")
    return write_section("import-bomb", "\n".join(lines))


def write_results(rows: int, seconds: float, peak: int, loaded: int, command: str, cpu: float,
                  before: tuple[float, int, int, float] | None = None) -> str:
    """Rewrite this benchmark's section of BENCHMARKS.md and return it."""
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, DuckDB {duckdb.__version__}; one run"
        + (" each, one after the other" if before else "") + f"; load average at the start: {LOAD_AT_START:.1f} "
        "(other work shared the machine: compare the two rows, not the target).",
        f"Command: `{command}`.",
        "",
        "| code | rows in the CSV | rows loaded | wall time | target | CPU time | peak memory (RSS) | target |",
        "|---|---:|---:|---:|---|---:|---:|---|",
        (f"| this release | {rows:,} | {loaded:,} | {seconds:.1f} s | < {TARGET_SECONDS} s | {cpu:.1f} s | "
         f"{peak / (1 << 30):.2f} GiB | < {TARGET_BYTES >> 30} GiB |"),
    ]
    if before:
        lines.append(f"| the release before (peer) | {rows:,} | {before[2]:,} | {before[0]:.1f} s | | {before[3]:.1f} s | "
                     f"{before[1] / (1 << 30):.2f} GiB | |")
        lines += ["", f"Ratio: {seconds / before[0]:.2f}x the wall time, {cpu / before[3]:.2f}x the CPU time and "
                      f"{peak / before[1]:.2f}x the peak memory of the release before, measured in the same run."]
    return write_section("import", "\n".join(lines))


LOAD_AT_START = os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of REES46-shaped CSV (default 10M)")
    parser.add_argument("--only", choices=("rees46", "completejourney", "bomb"), default=None,
                        help="run one part only")
    parser.add_argument("--before", type=Path, default=None, metavar="PATH",
                        help="a checkout of the previous release: also run the bomb with it, as the peer")
    parser.add_argument("--no-write", action="store_true", help="print the result; leave BENCHMARKS.md alone")
    arguments = parser.parse_args()
    if arguments.only in (None, "rees46"):
        csv_path = make_csv(arguments.rows)
        seconds, peak, loaded, cpu = measure(csv_path)
        print(f"imported {loaded:,} of {arguments.rows:,} rows in {seconds:.1f} s, peak {peak / (1 << 30):.2f} GiB")
        before = measure(csv_path, arguments.before.resolve()) if arguments.before else None
        if before:
            print(f"the release before: {before[0]:.1f} s, peak {before[1] / (1 << 30):.2f} GiB")
        if not arguments.no_write:
            command = ("python -m benchmarks.importing --only rees46"
                       + (f" --rows {arguments.rows}" if arguments.rows != 10_000_000 else "")
                       + (" --before PATH" if before else ""))
            print(write_results(arguments.rows, seconds, peak, loaded, command, cpu, before))
    if arguments.only in (None, "completejourney"):
        journey = measure_completejourney()
        if journey is not None:
            print(json.dumps({key: str(value) for key, value in journey.items() if key != "stderr"}))
            if not arguments.no_write:
                print(write_completejourney(journey))
    if arguments.only in (None, "bomb"):
        bomb = measure_bomb()
        before = measure_bomb(arguments.before.resolve()) if arguments.before else None
        print(json.dumps({"now": {k: v for k, v in bomb.items() if k != "stderr"},
                          "before": {k: v for k, v in before.items() if k != "stderr"} if before else None}))
        print(bomb["stderr"].strip().splitlines()[-1] if bomb["stderr"].strip() else "")
        if not arguments.no_write:
            print(write_bomb(bomb, before))


if __name__ == "__main__":
    main()
