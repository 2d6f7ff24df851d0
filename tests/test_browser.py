"""The running app in headless Chromium: every page and tab, in a fresh session, on the sample, Taobao and thin data.

Starts the dashboard as `make run` does (`dashboard/server.py`) and opens every page that
`dashboard.navigation.available_pages` lists (the list app.py builds its navigation from, so a new page is
covered at once), each in a new browser context, then every tab on it. A page fails on an exception or
error box, a traceback, a console error, a failed request, or any request to a host other than the app's
own (the app must work behind a firewall). Screenshots of every page and tab go to
test-output/screenshots/<data>/ for people to look at.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Iterator

import duckdb
import pytest

from analytics.filters import Filters
from analytics.overview import filter_options, load_overview
from analytics.warehouse import build_warehouse, inspect_warehouse
from dashboard.navigation import PageSpec, available_pages
from tests.thin_shop import write_thin_shop
from tools.browser import (
    CHROMIUM,
    chromium_browser,
    dashboard_server,
    fresh_page,
    open_and_settle,
    screenshot,
    settle,
    shown_errors,
    visit_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO_ROOT / "test-output" / "screenshots"
TAOBAO = REPO_ROOT.parent / "shared" / "data" / "taobao_userbehavior_excerpt" / "userbehavior_excerpt.csv.gz"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is not installed; install Debian's chromium package to run browser tests")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    with chromium_browser() as launched:
        yield launched


@pytest.fixture(scope="module")
def app_url(browser, sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard over the sample warehouse, its models trained, for this module."""
    _train_models(sample_warehouse)
    with dashboard_server(sample_warehouse, tmp_path_factory.mktemp("server") / "sample.log") as url:
        yield url


@pytest.fixture(scope="module")
def thin_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's last two hours: one day, few decided carts, no returning customers."""
    folder = tmp_path_factory.mktemp("thin")
    target = folder / "warehouse.duckdb"
    build_warehouse(write_thin_shop(folder / "source"), target)
    return target


# --------------------------------------------------------------------------- tests


def test_every_page_and_tab_on_the_sample(browser, app_url, sample_warehouse):
    listed = _listed(sample_warehouse)
    assert listed, "the sample warehouse should support at least the Overview"
    for spec in listed:
        _visit(browser, app_url, spec, "sample", start=True)


def test_every_page_and_tab_on_thin_data(browser, thin_warehouse, tmp_path):
    listed = _listed(thin_warehouse)
    titles = [spec.title for spec in listed]
    # Two hours hold no week of orders and no 56 days to forecast: those pages are not offered.
    assert "Customers" not in titles and "Forecasts" not in titles
    assert "Funnels" in titles and "Cart drop-off" in titles
    _train_models(thin_warehouse)
    with dashboard_server(thin_warehouse, tmp_path / "thin.log") as url:
        for spec in listed:
            _visit(browser, url, spec, "thin", start=False)
        with fresh_page(browser, url) as (page, problems):
            open_and_settle(page, f"{url}/cart_dropoff")
            # 24 h windows cannot close within 2 hours: no rate, and a sentence saying why.
            assert "too few for a rate" in page.locator('[data-testid="stMain"]').inner_text()
            assert not problems.all()


def test_every_page_and_tab_on_imported_taobao_data(browser, tmp_path):
    """Real marketplace data, imported as a user would: 1.1M events, no prices, no orders table.

    Only the cart model is trained here (the others take minutes on this data): the other model-backed
    views show their queue status, which is what a page shows before the background worker is done.
    """
    if not TAOBAO.is_file():
        pytest.skip(f"{TAOBAO} is absent (the shared data sets are not on this machine)")
    from analytics.importing import get_preset, import_files

    warehouse = tmp_path / "taobao.duckdb"
    import_files([TAOBAO], get_preset("taobao"), warehouse)
    _train_models(warehouse, only=("cart_conversion",))
    listed = _listed(warehouse)
    assert "Funnels" in [spec.title for spec in listed]
    with dashboard_server(warehouse, tmp_path / "taobao.log") as url:
        # First the journey that raised "window shape cannot be larger than input array shape": the 1 h
        # window. The page queues its 1 h model; it is trained here as the worker would, then reopened.
        from analytics.models.worker import run_queued

        with fresh_page(browser, url) as (page, problems):
            open_and_settle(page, f"{url}/cart_dropoff?cart_within=1h")
            _check(page, problems, "taobao cart drop-off, 1 h, queued")
        run_queued(warehouse)
        with fresh_page(browser, url) as (page, problems):
            open_and_settle(page, f"{url}/cart_dropoff?cart_within=1h")
            _check(page, problems, "taobao cart drop-off, 1 h")
            assert "ValueError" not in page.locator('[data-testid="stMain"]').inner_text()
            screenshot(page, SCREENSHOTS / "taobao" / "cart_dropoff-1h.png")
        for spec in listed:
            _visit(browser, url, spec, "taobao", start=False)


def test_each_page_keeps_its_own_settings(browser, app_url):
    with fresh_page(browser, app_url) as (page, problems):
        open_and_settle(page, f"{app_url}/funnels?funnel_by=Channel")
        _navigate(page, "Cart drop-off")
        assert "funnel_by" not in page.url
        assert _selected(page, "Break down by") == "Price band"
        _navigate(page, "Customers")
        # Segmented controls are radio groups (role "radio" on each choice).
        page.get_by_role("radio", name="Month", exact=True).first.click()
        settle(page)
        _navigate(page, "Funnels")
        # The funnel's breakdown is back, and the Customers cohorts' "Month" did not touch the funnel trend.
        assert "funnel_by=Channel" in page.url
        assert _selected(page, "Breakdown") == "Channel"
        assert "funnel_period" not in page.url
        _navigate(page, "Customers")
        assert "customers_period=Month" in page.url
        assert not problems.all(), problems.all()


def test_a_shared_link_applies_its_filters(browser, app_url, sample_warehouse):
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        options = filter_options(con)
        channel = options.channels[0]
        # Not the default dates: a bound parameter equal to its default is dropped from the URL.
        end = options.last_date - timedelta(days=1)
        filters = Filters(end - timedelta(days=6), end, channels=(channel,))
        expected = load_overview(con, filters)
    from dashboard import common

    query = f"from={filters.start_date:%Y-%m-%d}&to={filters.end_date:%Y-%m-%d}&channel={channel}"
    with fresh_page(browser, app_url) as (page, problems):
        # The root forwards to the first page at its own address, keeping the query.
        open_and_settle(page, f"{app_url}/?{query}")
        assert not shown_errors(page) and not problems.all(), (shown_errors(page), problems.all())
        assert "/overview?" in page.url and query in page.url, page.url
        main = page.locator('[data-testid="stMain"]')
        assert common.format_period(filters.start_date, filters.end_date) in main.inner_text()
        assert f"Channel: {channel}" in main.inner_text()
        from playwright.sync_api import expect

        # The link's values reach the tiles (on a busy machine the run with the link's filters can
        # follow a first run; it must end with exactly these figures).
        tiles = page.locator('[data-testid="stMetricValue"]')
        expect(tiles.nth(0)).to_have_text(common.format_count(expected.kpi("sessions").value), timeout=60_000)
        expect(tiles.nth(2)).to_have_text(common.format_count(expected.kpi("orders").value), timeout=60_000)
        screenshot(page, SCREENSHOTS / "sample" / "overview-shared-link.png")

        # A chart's CSV is written when it is downloaded (not on every rerun): it arrives, and holds the
        # plotted rows of this period.
        with page.expect_download() as download:
            page.get_by_role("button", name="CSV").first.click()
        lines = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
        assert lines and "," in lines[0] and len(lines) > 1, lines[:3]
        assert not problems.all(), problems.all()


# --------------------------------------------------------------------------- helpers


def _train_models(warehouse: Path, only: tuple[str, ...] | None = None) -> None:
    """Train the models the pages open with, as the background worker does after a build (so no page waits).

    The default forecast run is left out (it is the slowest job): the Forecasts page shows the history
    and queues it, and the test presses "Run forecast" on a faster request as a manager would.
    """
    from analytics.models.jobs import registered_jobs
    from analytics.models.loading import current_data_version
    from analytics.models.scheduling import enqueue_defaults
    from analytics.models.store import ModelStore
    from analytics.models.worker import run_queued
    from analytics.warehouse import connect

    jobs = registered_jobs()
    names = only or tuple(spec.name for spec in jobs if spec.default_params is not None and spec.name != "forecast")
    with connect(warehouse) as connection:
        enqueue_defaults(ModelStore(warehouse), jobs, connection, current_data_version(warehouse), names)
    run_queued(warehouse)


def _listed(warehouse: Path) -> list[PageSpec]:
    sections = available_pages(inspect_warehouse(warehouse))
    return [spec for specs in sections.values() for spec in specs]


def _visit(browser, app_url: str, spec: PageSpec, data: str, *, start: bool) -> None:
    """Open `spec` in a fresh session, then its views and tabs (tools.browser.visit_page), failing on any problem."""
    shots = visit_page(browser, app_url, spec, SCREENSHOTS / data, start=start)
    for shot in shots:
        assert not shot.problems, f"{data}: {shot.name}: {shot.problems}"
    if spec.has_charts and data == "sample":
        assert shots[0].charts > 0, f"{data}: {spec.url_path}: no charts"


def _check(page, problems, where: str) -> None:
    assert not shown_errors(page), f"{where}: {shown_errors(page)}"
    assert not problems.all(), f"{where}: {problems.all()}"


def _navigate(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).click()
    page.wait_for_function(f"() => document.querySelector('[data-testid=\"stMain\"] h1')?.innerText === {title!r}")
    settle(page)


def _selected(page, label: str) -> str:
    """The value a selectbox shows (its combobox input's value)."""
    return page.get_by_role("combobox", name=label, exact=True).first.input_value()
