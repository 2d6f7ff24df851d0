"""How fast pages settle in a real browser: a fresh session's first page, and every page, on the sample and at 10M events.

Run with `python -m benchmarks.pages [--runs 5] [--big-warehouse PATH | --no-big]`.

"Settled" is as a person waits for it: from asking for the page (Debian's Chromium through Playwright,
1440×900) until Streamlit's script has finished, no element still waits for its code and every chart
has drawn, and it stays so (`tools.browser.settle`). The server runs as `make run` serves it. Each page
is timed warm (opened once untimed, so the server's caches are filled as for every visitor after the
first) and reached three ways: a new tab of a browser that never visited, a new tab of one that did
(Streamlit's code in the browser cache), and a click in the sidebar of a page already open. The first
page of a server that has never served one is timed apart (cold). Targets (issue 12): a fresh
session's first page under 2 s on the sample warehouse; every page under 3 s at 10M events.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import DATA, machine, write_section
from tools.browser import browser_context, chromium_browser, dashboard_server, fresh_page, open_and_settle, settle

TARGET_FIRST_PAGE_SECONDS = 2.0
TARGET_PAGE_SECONDS_10M = 3.0


# Marks that the script started again after a click (a page switch reruns the same session's script).
_WATCH_RUNS = """() => {
    window.__shoplensRan = false;
    const app = document.querySelector('[data-testid="stApp"]');
    new MutationObserver(() => {
        if (app.getAttribute('data-test-script-state') === 'running') window.__shoplensRan = true;
    }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


@dataclass
class PageTimes:
    """Median seconds until one page settled, three ways a person reaches it, and what went wrong."""

    path: str
    new_browser: float
    returning_browser: float
    from_sidebar: float
    problems: list[str]


def new_tab_seconds(browser, url: str, path: str, runs: int, *, returning: bool) -> tuple[float, list[str]]:
    """Median seconds for `path` to settle in a new tab (after one untimed visit), and any problems.

    Args:
        returning: open every tab in one browser profile, whose cache then holds Streamlit's code (a
            person who used the dashboard before); otherwise each tab is a browser that never visited.
    """
    times, problems = [], []
    with browser_context(browser) as profile:
        for run in range(runs + 1):
            with fresh_page(browser, url, returning=profile if returning else None) as (page, watched):
                seconds = open_and_settle(page, f"{url}/{path}")
                problems += watched.all()
            if run:
                times.append(seconds)
    return statistics.median(times), problems


def sidebar_seconds(browser, url: str, start: str, path: str, runs: int) -> tuple[float, list[str]]:
    """Median seconds from clicking `path` in the sidebar of a settled `start` page until it settled."""
    times, problems = [], []
    with browser_context(browser) as profile:
        for run in range(runs + 1):
            with fresh_page(browser, url, returning=profile) as (page, watched):
                open_and_settle(page, f"{url}/{start}")
                page.evaluate(_WATCH_RUNS)
                started = time.perf_counter()
                page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]').first.click()
                page.wait_for_function("() => window.__shoplensRan")
                seconds = settle(page) - started
                problems += watched.all()
            if run:
                times.append(seconds)
    return statistics.median(times), problems


def measure(warehouse: Path, runs: int, log: Path, *, train: bool = True) -> tuple[float, list[PageTimes]]:
    """(cold first page seconds, times per page) for every page the data supports.

    Args:
        warehouse: the warehouse served.
        runs: timed sessions per page and way.
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
            new_browser, problems = new_tab_seconds(browser, url, path, runs, returning=False)
            returning_browser, more = new_tab_seconds(browser, url, path, runs, returning=True)
            start = pages[1] if path == pages[0] else pages[0]
            from_sidebar, still_more = sidebar_seconds(browser, url, start, path, runs)
            rows.append(PageTimes(path, new_browser, returning_browser, from_sidebar, problems + more + still_more))
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
    big_rows: list[PageTimes] = []
    big_cold = None
    if not arguments.no_big:
        if not arguments.big_warehouse.is_file():
            from benchmarks.funnels import sample_warehouse

            sample_warehouse("10M")
        big_cold, big_rows = measure(arguments.big_warehouse, arguments.runs, log_folder / "big.log", train=False)
    first = rows[0]
    lines = [
        "## Pages in a real browser",
        "",
        f"Command: `python -m benchmarks.pages --runs {arguments.runs}`. Machine: {machine()}. Each figure is the",
        "median time from asking for the page until the script has finished, no element waits for its code and",
        "every chart has drawn, with the server's caches warm (one untimed visit first), reached three ways:",
        "a **new tab of a browser that never visited** (Streamlit's code downloaded, 4.7 MB of it for Plotly),",
        "a **new tab of a browser that visited before** (the code from the browser's cache, evaluated again), and",
        "**from the sidebar** of a page already open (the same session: only the script and the drawing).",
        "The cold figure is the first page a newly started server serves. The sample's models are trained;",
        "at 10M events only the models trained before the run load (this run had the cart model), and the",
        "other model-backed views show their queue status.",
        "",
        f"- A fresh session's first page ({first.path}) on the sample: **{first.new_browser:.2f} s** in a new "
        f"browser, **{first.returning_browser:.2f} s** in a returning one (target < {TARGET_FIRST_PAGE_SECONDS:g} s); "
        f"cold server: {cold:.2f} s.",
    ]
    if big_rows:
        slowest = max(big_rows, key=lambda row: row.from_sidebar)
        slowest_tab = max(big_rows, key=lambda row: row.returning_browser)
        lines.append(f"- At 10M events, the slowest page from the sidebar ({slowest.path}): "
                     f"**{slowest.from_sidebar:.2f} s**; in a new tab of a returning browser "
                     f"({slowest_tab.path}): **{slowest_tab.returning_browser:.2f} s** "
                     f"(target < {TARGET_PAGE_SECONDS_10M:g} s each); cold server's first page: {big_cold:.2f} s.")
    lines += ["", "| page | sample: new browser | returning | sidebar | 10M: new browser | returning | sidebar "
                  "| problems |",
              "|---|---:|---:|---:|---:|---:|---:|---|"]
    big = {row.path: row for row in big_rows}
    for row in rows:
        other = big.get(row.path)
        figures = [row.new_browser, row.returning_browser, row.from_sidebar]
        figures += [other.new_browser, other.returning_browser, other.from_sidebar] if other else [None] * 3
        noted = "; ".join(sorted(set(row.problems + (other.problems if other else []))))[:200] or "none"
        cells = " | ".join("—" if value is None else f"{value:.2f}" for value in figures)
        lines.append(f"| {row.path} | {cells} | {noted} |")
    print(write_section("pages", "\n".join(lines)))


if __name__ == "__main__":
    main()
