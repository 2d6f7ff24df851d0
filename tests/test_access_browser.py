"""Each role signs in through the test OpenID Connect provider in headless Chromium and sees what it may.

The app (dashboard/server.py, as `make run` serves it) runs with sign-in configured against
tests/oidc_provider.py; a person signs in as a user would: the app's "Sign in" button, the provider's
test form, back to the app. Then, per role:
- viewer: no Data page in the navigation (nor at its address), no list of users who dropped
  out, Overview and Funnels figures with their ± noise;
- analyst: exact figures, the "Users who dropped before" export, no Data page;
- admin: the Data page.
Screenshots go to test-output/screenshots/access-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.oidc_provider import USERS
from tests.test_access_sign_in import app_with_sign_in
from tools.browser import CHROMIUM, CHROMIUM_ARGS, screenshot, settle, shown_errors

PAGE_SECONDS = 240
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots" / "access"


def _wait_until_idle(page) -> None:
    settle(page)


def _assert_no_errors(page, where: str) -> None:
    assert not shown_errors(page), f"{where}: {shown_errors(page)}"
    assert not page.page_errors, f"{where}: JavaScript errors {page.page_errors}"


def _screenshot(page, name: str) -> None:
    screenshot(page, SCREENSHOTS / f"{name}.png")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def served(sample_warehouse, tmp_path_factory):
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is not installed; install Debian's chromium package to run browser tests")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    # Its own copy of the sample warehouse, so the privacy ledger and audit log start empty.
    folder = tmp_path_factory.mktemp("access_browser")
    warehouse = folder / "warehouse.duckdb"
    warehouse.write_bytes(Path(sample_warehouse).read_bytes())
    with app_with_sign_in(warehouse, folder) as (url, provider, _):
        yield url, provider


@pytest.fixture(scope="module")
def browser(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _signed_in_page(browser, app_url: str, user: str):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(PAGE_SECONDS * 1000)
    page.page_errors = []
    page.on("pageerror", lambda error: page.page_errors.append(str(error)))
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/authorize\?.*"))
    assert "Test sign-in" in page.content()
    page.get_by_role("button", name=re.compile(re.escape(USERS[user]["name"]))).click()
    page.wait_for_url(re.compile(re.escape(app_url) + r"/?(\?.*)?$"))
    page.wait_for_selector('[data-testid="stMain"] h1')
    _wait_until_idle(page)
    return context, page


def _open(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stMain"] h1')
    _wait_until_idle(page)


def _navigation(page) -> list[str]:
    links = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
    return [text.strip().splitlines()[-1].strip() for text in links]


def _metrics(page) -> list[str]:
    # Every page these tests read tiles on draws them; on a busy machine they may come after a rerun.
    page.wait_for_selector('[data-testid="stMetricValue"]')
    return [text.strip() for text in page.locator('[data-testid="stMetricValue"]').all_inner_texts()]


def _main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_a_viewer_sees_noisy_aggregates_only(browser, served):
    app_url, _ = served
    context, page = _signed_in_page(browser, app_url, "viewer")
    try:
        assert "Vera Viewer · viewer" in page.locator('[data-testid="stSidebar"]').inner_text()
        assert "Data" not in _navigation(page) and "Overview" in _navigation(page)
        values = _metrics(page)
        assert len(values) == 6 and all("±" in value or value == "—" for value in values), values
        assert sum("±" in value for value in values) >= 4
        assert "Differentially private" in _main_text(page)
        assert page.locator('[data-testid="stPlotlyChart"]').count() == 0
        _assert_no_errors(page, "viewer overview")
        _screenshot(page, "access-viewer-overview")

        _open(page, f"{app_url}/funnels")
        assert "±" in _metrics(page)[0]
        assert "Users who dropped before" not in _main_text(page)
        _assert_no_errors(page, "viewer funnels")
        _screenshot(page, "access-viewer-funnels")

        _open(page, f"{app_url}/cart_dropoff")
        assert "Win-back list" not in _main_text(page)

        # The Data page is not in the viewer's navigation, so its address opens the first page instead.
        _open(page, f"{app_url}/data")
        assert "Import a file" not in _main_text(page) and not page.url.rstrip("/").endswith("/data")
        _screenshot(page, "access-viewer-data")
    finally:
        context.close()


def test_an_analyst_sees_exact_figures_and_exports_but_not_the_data_page(browser, served):
    app_url, _ = served
    context, page = _signed_in_page(browser, app_url, "analyst")
    try:
        assert "Data" not in _navigation(page)
        values = _metrics(page)
        assert values and not any("±" in value for value in values), values
        # Waited for rather than read at once: on a busy machine the last elements may still be arriving.
        _open(page, f"{app_url}/funnels")
        page.get_by_text("Users who dropped before").wait_for(timeout=60_000)
        _open(page, f"{app_url}/cart_dropoff")
        page.get_by_text(re.compile("Win-back list")).wait_for(timeout=60_000)
        _assert_no_errors(page, "analyst cart drop-off")
        _open(page, f"{app_url}/data")
        assert "Import a file" not in _main_text(page)
    finally:
        context.close()


def test_an_admin_has_the_data_page(browser, served):
    app_url, _ = served
    context, page = _signed_in_page(browser, app_url, "admin")
    try:
        assert "Data" in _navigation(page)
        _open(page, f"{app_url}/data")
        assert "Import a file" in _main_text(page)
        _assert_no_errors(page, "admin data")
        _screenshot(page, "access-admin-data")
        # Signing out returns to the sign-in page.
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_selector('button:has-text("Sign in")')
    finally:
        context.close()


def test_someone_on_no_list_gets_no_pages(browser, served):
    app_url, _ = served
    context, page = _signed_in_page(browser, app_url, "stranger")
    try:
        assert "gives this account no role" in _main_text(page)
        assert _navigation(page) == []
        _screenshot(page, "access-stranger")
    finally:
        context.close()
