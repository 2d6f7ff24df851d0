"""The running app in headless Chromium: every listed page renders its charts without errors.

Starts `streamlit run app.py` on a free port against the sample warehouse, opens
every page that `pages.available_pages` lists (the same list app.py builds its
navigation from, so new pages are covered automatically), opens a shared link
with filters in its query, and saves a full-page screenshot of each under
test-output/screenshots/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import duckdb
import pytest

from analytics.filters import Filters
from analytics.overview import filter_options, load_overview
from analytics.warehouse import inspect_warehouse
from dashboard.navigation import available_pages

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO_ROOT / "test-output" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_SECONDS = 30
# Generous, because 2 shared cores can be slow; a healthy page returns as soon as it is drawn (models are
# trained before the server starts, as a build's background training does, so no page trains).
PAGE_SECONDS = 240


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is not installed; install Debian's chromium package to run browser tests")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    return CHROMIUM


@pytest.fixture(scope="module")
def app_url(chromium: Path, sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Streamlit server on a free port serving the sample warehouse; stopped after the module."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = dict(os.environ)
    env["SHOPLENS_WAREHOUSE"] = str(sample_warehouse)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.pop("SHOPLENS_CURRENCY", None)
    _train_models(sample_warehouse)
    command = [
        sys.executable, "-m", "streamlit", "run", "dashboard/server.py",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.showErrorDetails", "full",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_for_health(url, process, log_path)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(chromium: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, device_scale_factor=1)
    tab = context.new_page()
    tab.set_default_timeout(PAGE_SECONDS * 1000)
    tab.page_errors = []
    tab.on("pageerror", lambda error: tab.page_errors.append(str(error)))
    try:
        yield tab
    finally:
        context.close()


# --------------------------------------------------------------------------- tests


def test_every_listed_page_renders_without_errors(page, app_url, sample_warehouse):
    sections = available_pages(inspect_warehouse(sample_warehouse))
    listed = [spec for specs in sections.values() for spec in specs]
    assert listed, "the sample warehouse should support at least the Overview"

    for index, spec in enumerate(listed):
        _open(page, f"{app_url}/{spec.url_path}")
        _assert_no_errors(page, spec.url_path)
        if spec.start_button:
            # On-demand work (training, a forecast run) starts from a button, as a user starts it.
            if spec.start_query:
                _open(page, f"{app_url}/{spec.url_path}?{spec.start_query}")
            page.get_by_role("button", name=spec.start_button).click()
            # The click's rerun may not have started yet; charts appearing is the sign it has.
            page.wait_for_selector('[data-testid="stPlotlyChart"]')
            _wait_for_charts(page)
            _assert_no_errors(page, f"{spec.url_path} after {spec.start_button!r}")
        charts = page.locator('[data-testid="stPlotlyChart"]')
        if spec.has_charts:
            assert charts.count() > 0, f"{spec.url_path}: no charts rendered"
        if index == 0:
            _assert_navigation_lists(page, listed)
        _screenshot(page, spec.url_path)
        for view in spec.views:
            name = f"{spec.url_path}-{view.replace('=', '-')}"
            _open(page, f"{app_url}/{spec.url_path}?{view}")
            _assert_no_errors(page, name)
            assert page.locator('[data-testid="stPlotlyChart"]').count() > 0, f"{name}: no charts rendered"
            _screenshot(page, name)


def test_a_shared_link_applies_its_filters(page, app_url, sample_warehouse):
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        options = filter_options(con)
        channel = options.channels[0]
        # Not the default dates: a bound parameter equal to its default is dropped from the URL.
        end = options.last_date - timedelta(days=1)
        filters = Filters(end - timedelta(days=6), end, channels=(channel,))
        expected = load_overview(con, filters)
    from dashboard import common

    query = f"from={filters.start_date:%Y-%m-%d}&to={filters.end_date:%Y-%m-%d}&channel={channel}"
    _open(page, f"{app_url}/?{query}")
    _assert_no_errors(page, "shared link")

    assert query in page.url, "the app dropped the shared filters from the URL"
    main = page.locator('[data-testid="stMain"]')
    assert common.format_period(filters.start_date, filters.end_date) in main.inner_text()
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert channel in sidebar.locator('[data-testid="stMultiSelect"]').nth(1).inner_text()
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    assert values[0].strip() == common.format_count(expected.kpi("sessions").value)
    assert values[2].strip() == common.format_count(expected.kpi("orders").value)
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 5
    _screenshot(page, "overview-shared-link")


# --------------------------------------------------------------------------- helpers


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _train_models(warehouse: Path) -> None:
    """Train the models the pages open with, as the background worker does after a build.

    The default forecast run is left out (it is the slowest job): the Forecasts page shows the history
    and queues it, and the test presses "Run forecast" on a faster request as a manager would.
    """
    from analytics.models.jobs import registered_jobs
    from analytics.models.loading import current_data_version
    from analytics.models.scheduling import enqueue_defaults
    from analytics.models.store import ModelStore
    from analytics.models.worker import run_queued
    from analytics.warehouse import connect

    names = tuple(spec.name for spec in registered_jobs() if spec.default_params is not None and spec.name != "forecast")
    with connect(warehouse) as connection:
        enqueue_defaults(ModelStore(warehouse), registered_jobs(), connection, current_data_version(warehouse), names)
    run_queued(warehouse)


def _wait_for_health(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with code {process.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"streamlit did not become healthy in {SERVER_START_SECONDS} s:\n{log_path.read_text(errors='replace')}")


def _open(page, url: str) -> None:
    """Load `url` and wait until the script has finished and every Plotly chart has drawn."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stMain"] h1')
    _wait_for_charts(page)


def _wait_for_charts(page) -> None:
    """Wait until the script has finished and every Plotly chart has drawn."""
    _wait_until_idle(page)
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                   .every(chart => chart.querySelector('.js-plotly-plot .main-svg'))"""
    )


def _wait_until_idle(page) -> None:
    # The script may rerun once (e.g. when bound query params settle): wait for two idle checks in a row.
    for _ in range(2):
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
        page.wait_for_timeout(300)


def _assert_no_errors(page, where: str) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, f"{where}: {exceptions.first.inner_text()}"
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, f"{where}: {errors.first.inner_text()}"
    assert "Traceback" not in page.locator("body").inner_text(), f"{where}: a traceback is shown"
    assert not page.page_errors, f"{where}: JavaScript errors {page.page_errors}"


def _assert_navigation_lists(page, listed) -> None:
    links = page.locator('[data-testid="stSidebarNav"] a')
    if len(listed) == 1:
        # Streamlit hides the menu when there is a single page.
        assert links.count() == 0, links.all_inner_texts()
        return
    # A link's text is the icon's ligature name, then the title.
    titles = [text.strip().splitlines()[-1].strip() for text in links.all_inner_texts()]
    assert sorted(titles) == sorted(spec.title for spec in listed)


def _screenshot(page, name: str) -> None:
    """Save the whole page: Streamlit scrolls inside its main element, so grow the viewport to fit it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(
        """() => Math.max(...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"]')]
                   .map(element => element.scrollHeight))"""
    )
    original = page.viewport_size
    page.set_viewport_size({"width": original["width"], "height": max(original["height"], int(height))})
    page.wait_for_timeout(500)
    _wait_until_idle(page)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(original)
