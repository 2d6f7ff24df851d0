"""How fast pages settle in a real browser: a fresh session's first page, and every page, on the sample and at 10M events.

Run with `python -m benchmarks.pages [--runs 5] [--big-warehouse PATH | --no-big]`.

"Settled" is as a person waits for it: from asking for the page's address in a new browser session
(Debian's Chromium through Playwright, 1440×900) until Streamlit's script has finished twice in a row
and every chart has drawn (`tools.browser.open_and_settle`). The server runs as `make run` serves it.
Each page is timed warm: once opened untimed (the server's caches filled, as for every visitor after the
first), then timed over `--runs` fresh sessions; the first page of a server that has never served a page
is timed apart (cold). Targets (issue 12): a fresh session's first page under 2 s on the sample
warehouse; every page under 3 s at 10M events.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from benchmarks.common import DATA, machine, write_section
from tools.browser import chromium_browser, dashboard_server, fresh_page, open_and_settle

TARGET_FIRST_PAGE_SECONDS = 2.0
TARGET_PAGE_SECONDS_10M = 3.0


def page_settle_seconds(browser, url: str, path: str, runs: int) -> tuple[float, list[str]]:
    """Median seconds for `path` to settle in fresh sessions (after one untimed visit), and any problems."""
    times, problems = [], []
    for run in range(runs + 1):
        with fresh_page(browser, url) as (page, watched):
            seconds = open_and_settle(page, f"{url}/{path}")
            problems += watched.all()
        if run:
            times.append(seconds)
    return statistics.median(times), problems


def measure(warehouse: Path, runs: int, log: Path, *,
            train: bool = True) -> tuple[float, list[tuple[str, float, list[str]]]]:
    """(cold first page seconds, [(page, median warm seconds, problems)]) for every page the data supports.

    Args:
        warehouse: the warehouse served.
        runs: timed fresh sessions per page.
        log: the server's log file.
        train: let pages start the background worker; off for the 10M warehouse, whose models are not
            trained here (hours on 2 cores), so the model-backed views show their queue status and the
            worker does not compete with the pages for the cores.
    """
    from analytics.warehouse import inspect_warehouse
    from dashboard.navigation import available_pages

    pages = [spec.url_path for specs in available_pages(inspect_warehouse(warehouse)).values() for spec in specs]
    rows = []
    environment = None if train else {"SHOPLENS_MODEL_WORKER": "off"}
    with dashboard_server(warehouse, log, environment=environment) as url, chromium_browser() as browser:
        with fresh_page(browser, url) as (page, _):
            cold = open_and_settle(page, f"{url}/{pages[0]}")
        for path in pages:
            seconds, problems = page_settle_seconds(browser, url, path, runs)
            rows.append((path, seconds, problems))
    return cold, rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pages", allow_abbrev=False)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sample-warehouse", type=Path, default=None,
                        help="the sample warehouse (default: $SHOPLENS_WAREHOUSE or .shoplens/warehouse.duckdb)")
    parser.add_argument("--big-warehouse", type=Path, default=DATA / "warehouse-10M.duckdb",
                        help="a 10M-event warehouse (benchmarks.funnels builds it)")
    parser.add_argument("--no-big", action="store_true", help="skip the 10M-event warehouse")
    arguments = parser.parse_args()
    from analytics.warehouse import default_warehouse_path

    log_folder = Path(tempfile.mkdtemp(prefix="shoplens-pages-"))
    sample = (arguments.sample_warehouse or default_warehouse_path()).resolve()
    cold, rows = measure(sample, arguments.runs, log_folder / "sample.log")
    big_rows: list[tuple[str, float, list[str]]] = []
    big_cold = None
    if not arguments.no_big:
        if not arguments.big_warehouse.is_file():
            from benchmarks.funnels import sample_warehouse

            sample_warehouse("10M")
        big_cold, big_rows = measure(arguments.big_warehouse, arguments.runs, log_folder / "big.log", train=False)
    first = rows[0][1]
    lines = [
        "## Pages in a real browser",
        "",
        f"Command: `python -m benchmarks.pages --runs {arguments.runs}`. Machine: {machine()}. Each figure is the",
        "median over fresh browser sessions of the time from asking for the page until the script has finished and",
        "every chart has drawn, with the server's caches warm (one untimed visit first); the cold figure is the",
        "first page a newly started server serves. The sample's models are trained (`shoplens models train --wait`);",
        "at 10M events only the models trained before the run load (all of them take hours on 2 cores; this run had",
        "the cart model), and the other model-backed views show their queue status.",
        "",
        f"- A fresh session's first page ({rows[0][0]}) on the sample: **{first:.2f} s** "
        f"(target < {TARGET_FIRST_PAGE_SECONDS:g} s); cold server: {cold:.2f} s.",
    ]
    if big_rows:
        slowest = max(big_rows, key=lambda row: row[1])
        lines.append(f"- At 10M events, the slowest page ({slowest[0]}): **{slowest[1]:.2f} s** "
                     f"(target < {TARGET_PAGE_SECONDS_10M:g} s each); cold server's first page: {big_cold:.2f} s.")
    lines += ["", "| page | sample (s) | 10M events (s) | problems |", "|---|---:|---:|---|"]
    big = {path: (seconds, problems) for path, seconds, problems in big_rows}
    for path, seconds, problems in rows:
        big_seconds, big_problems = big.get(path, (None, []))
        noted = "; ".join(sorted(set(problems + big_problems)))[:200] or "none"
        lines.append(f"| {path} | {seconds:.2f} | {'—' if big_seconds is None else f'{big_seconds:.2f}'} | {noted} |")
    print(write_section("pages", "\n".join(lines)))


if __name__ == "__main__":
    main()
