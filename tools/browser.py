"""Driving the dashboard in a real browser: start a server, open pages and tabs, record what went wrong.

Shared by the browser tests (`tests/test_browser.py`), the screenshot gallery (`make screenshots`) and the
page benchmarks, so each opens pages the same way: Debian's Chromium, offline, 1440×900, a fresh browser
context (a fresh Streamlit session) per page.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium calls Google's hosts at start, which a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1440, "height": 900}
SERVER_START_SECONDS = 60
# Console messages that are the browser's, not the app's: WebGL driver notes from headless Chromium.
IGNORED_CONSOLE = ("GL Driver Message", "WebGL", "GPU stall")


@dataclass
class PageProblems:
    """What went wrong while a page was open.

    Attributes:
        console_errors: console messages of type error.
        page_errors: uncaught JavaScript exceptions.
        foreign_requests: requests to any host but the app's own.
        failed_responses: "status url" of responses with status >= 400.
    """

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        """Every problem, one line each."""
        return ([f"console error: {text}" for text in self.console_errors]
                + [f"JavaScript error: {text}" for text in self.page_errors]
                + [f"request to another host: {url}" for url in self.foreign_requests]
                + [f"failed response: {text}" for text in self.failed_responses])


def free_port() -> int:
    """A TCP port free on localhost now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def dashboard_server(warehouse: Path, log_path: Path, *, port: int | None = None,
                     environment: dict[str, str] | None = None) -> Iterator[str]:
    """Serve the dashboard (`dashboard/server.py`, as `make run` does) on localhost; yields its URL.

    Args:
        warehouse: the DuckDB file the app opens.
        log_path: where the server's output goes.
        port: the port, free by default.
        environment: extra environment variables for the server.
    """
    with dashboard_process(warehouse, log_path, port=port, environment=environment) as (url, _):
        yield url


def resident_megabytes(process_id: int) -> float:
    """The resident memory of a process and its children, in MB (from /proc; 0 where unreadable)."""
    total = 0.0
    for pid in [process_id, *_children(process_id)]:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def _children(process_id: int) -> list[int]:
    try:
        found = Path(f"/proc/{process_id}/task/{process_id}/children").read_text().split()
    except OSError:
        return []
    children = [int(pid) for pid in found]
    return children + [grandchild for child in children for grandchild in _children(child)]


@contextmanager
def dashboard_process(warehouse: Path, log_path: Path, *, port: int | None = None,
                      environment: dict[str, str] | None = None,
                      arguments: Sequence[str] = ()) -> Iterator[tuple[str, subprocess.Popen]]:
    """As `dashboard_server`, yielding (URL, the server's process) for those who measure the server.

    Args:
        arguments: further `streamlit run` options, e.g. ("--secrets.files", path).
    """
    port = port or free_port()
    env = dict(os.environ)
    env["SHOPLENS_WAREHOUSE"] = str(warehouse)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.pop("SHOPLENS_CURRENCY", None)
    env.update(environment or {})
    command = [
        sys.executable, "-m", "streamlit", "run", "dashboard/server.py",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.showErrorDetails", "full",
        *arguments,
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_for_health(url, process, log_path)
            yield url, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_for_health(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"streamlit did not become healthy in {SERVER_START_SECONDS} s:\n"
                       f"{log_path.read_text(errors='replace')}")


@contextmanager
def chromium_browser() -> Iterator[object]:
    """Debian's headless Chromium through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def fresh_page(browser, app_url: str, timeout_seconds: float = 240, *,
               returning: object | None = None) -> Iterator[tuple[object, PageProblems]]:
    """A new Streamlit session in a page of its own, watching for problems.

    Args:
        browser: from `chromium_browser`.
        app_url: the app's address; requests elsewhere are problems.
        timeout_seconds: Playwright's default wait.
        returning: a browser context from `browser_context` to open the page in, as a new tab of a
            browser that visited before (its cache holds Streamlit's code); by default a new context,
            as a browser that never visited.
    """
    context = returning or _new_context(browser)
    page = context.new_page()
    page.set_default_timeout(timeout_seconds * 1000)
    problems = PageProblems()
    origin = app_url.rstrip("/")

    def on_console(message) -> None:
        if message.type == "error" and not any(part in message.text for part in IGNORED_CONSOLE):
            problems.console_errors.append(message.text)

    def on_request(request) -> None:
        if not request.url.startswith((origin, "data:", "blob:", "about:")):
            problems.foreign_requests.append(request.url)

    def on_response(response) -> None:
        if response.status >= 400:
            problems.failed_responses.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
    page.on("request", on_request)
    page.on("response", on_response)
    try:
        yield page, problems
    finally:
        (page if returning else context).close()


@contextmanager
def browser_context(browser) -> Iterator[object]:
    """One browser profile whose pages share a cache, for `fresh_page(..., returning=...)`."""
    context = _new_context(browser)
    try:
        yield context
    finally:
        context.close()


def _new_context(browser) -> object:
    # A browser profile of its own (own cache and cookies, so its own Streamlit session), at 1440×900.
    return browser.new_context(viewport=dict(VIEWPORT), device_scale_factor=1)


NOT_RUNNING = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# Drawn: no element still waits for its code (Streamlit loads each kind's code on first use and shows
# a skeleton meanwhile, so "every chart drawn" alone holds while the charts are still skeletons), and
# every chart has its SVG.
CHARTS_DRAWN = """() => !document.querySelector('[data-testid="stSkeleton"]')
                     && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                        .every(chart => chart.querySelector('.js-plotly-plot .main-svg'))"""
# How long a settled page must stay settled to count: bound URL values may rerun the script once.
STABLE_SECONDS = 0.3
STABLE_CHECKS = 2


def open_and_settle(page, url: str) -> float:
    """Load `url`, wait until the script has finished and every chart has drawn; returns the seconds it took.

    The seconds end when the page first reached the state that then held (`settle`), not after the
    pause that confirms it held.
    """
    started = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stMain"] h1')
    return settle(page) - started


def settle(page) -> float:
    """Wait until the script has finished and every chart has drawn, and it stays so; returns when it first was.

    Returns:
        The `time.perf_counter()` at which the page reached the state that then held for
        STABLE_CHECKS × STABLE_SECONDS (a rerun in between starts the wait again).
    """
    while True:
        page.wait_for_selector(NOT_RUNNING)
        page.wait_for_function(CHARTS_DRAWN)
        reached = time.perf_counter()
        if _stays_settled(page):
            return reached


def _stays_settled(page) -> bool:
    # Checked twice, STABLE_SECONDS apart: on a busy machine the rerun a bound URL value causes can
    # start well after the first run finished (a single check let a shared link's tiles be read early).
    for _ in range(STABLE_CHECKS):
        page.wait_for_timeout(STABLE_SECONDS * 1000)
        if not (page.locator(NOT_RUNNING).count() and page.evaluate(CHARTS_DRAWN)):
            return False
    return True


def shown_errors(page) -> list[str]:
    """Exception boxes, error boxes and tracebacks the page shows."""
    found = []
    for selector in ('[data-testid="stException"]', '[data-testid="stAlertContentError"]'):
        found += [text.strip()[:300] for text in page.locator(selector).all_inner_texts()]
    if "Traceback" in page.locator("body").inner_text():
        found.append("a traceback is shown")
    return found


def tab_names(page) -> list[str]:
    """The names of the tabs the page shows (st.tabs), in order."""
    return [text.strip() for text in page.get_by_role("tab").all_inner_texts()]


def open_tab(page, name: str) -> None:
    """Click the tab called `name` and wait for the page to settle."""
    page.get_by_role("tab", name=name, exact=True).click()
    settle(page)


def screenshot(page, path: Path) -> None:
    """The whole page at 1440 px wide: Streamlit scrolls inside its main element, so grow the viewport to fit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(
        """() => Math.max(...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"]')]
                   .map(element => element.scrollHeight))"""
    )
    original = page.viewport_size
    page.set_viewport_size({"width": original["width"], "height": max(original["height"], int(height))})
    page.wait_for_timeout(500)
    settle(page)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(original)


@dataclass(frozen=True)
class Shot:
    """One page or tab as a person saw it.

    Attributes:
        name: the page's URL path, with the view or tab ("customers-customers_tab-Value", "recommendations-for-a-product").
        seconds: from opening the page (or clicking the tab) until it settled.
        problems: what went wrong, one line each (shown errors, console errors, foreign or failed requests).
        path: the screenshot.
        charts: Plotly charts drawn on it.
    """

    name: str
    seconds: float
    problems: list[str]
    path: Path
    charts: int = 0


def visit_page(browser, app_url: str, spec, out_dir: Path, *, start: bool) -> list[Shot]:
    """Open a page (a `dashboard.navigation.PageSpec`) in a fresh session, then its views and tabs; screenshot each.

    Args:
        browser: from `chromium_browser`.
        app_url: the server's URL.
        spec: the page.
        out_dir: where the screenshots go.
        start: press the page's start button (training, a forecast run) as a user would, when it has one.

    Returns:
        One Shot per page, view and tab.
    """
    shots = []
    for query in ["", *(f"?{view}" for view in spec.views)]:
        name = spec.url_path + (f"-{query[1:].replace('=', '-')}" if query else "")
        with fresh_page(browser, app_url) as (page, problems):
            try:
                seconds = open_and_settle(page, f"{app_url}/{spec.url_path}{query}")
                if start and spec.start_button and not query:
                    if spec.start_query:
                        open_and_settle(page, f"{app_url}/{spec.url_path}?{spec.start_query}")
                    button = page.get_by_role("button", name=spec.start_button)
                    if button.count():
                        started = time.perf_counter()
                        button.click()
                        page.wait_for_selector('[data-testid="stPlotlyChart"]')
                        settle(page)
                        seconds += time.perf_counter() - started
            except Exception as error:  # noqa: BLE001 - a page that never settles is a problem to report
                shots.append(Shot(name, float("nan"), [f"did not settle: {type(error).__name__}: {error}"[:300]],
                                  out_dir / f"{name}.png"))
                continue
            path = out_dir / f"{name}.png"
            screenshot(page, path)
            shots.append(Shot(name, seconds, shown_errors(page) + problems.all(), path, _charts(page)))
            if query:
                continue
            for tab in tab_names(page)[1:]:
                before = len(problems.all())
                started = time.perf_counter()
                open_tab(page, tab)
                tab_name = f"{name}-{tab.lower().replace(' ', '-')}"
                path = out_dir / f"{tab_name}.png"
                screenshot(page, path)
                shots.append(Shot(tab_name, time.perf_counter() - started,
                                  shown_errors(page) + problems.all()[before:], path, _charts(page)))
    return shots


def _charts(page) -> int:
    return page.locator('[data-testid="stPlotlyChart"]').count()
