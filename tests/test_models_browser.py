"""In a real browser: a page whose model is not trained yet shows the worker's progress and draws itself when ready.

The dashboard is served as `make run` serves it, over a copy of the sample warehouse with no trained
model. Opening Cart drop-off queues its model; the server starts the detached worker; the page shows
the status box and, without a reload, draws the model's panel once the worker has stored it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools.browser import CHROMIUM, chromium_browser, dashboard_server, fresh_page, open_and_settle, shown_errors

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT_MILLISECONDS = 600_000


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is not installed; install Debian's chromium package to run browser tests")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    with chromium_browser() as launched:
        yield launched


def test_the_cart_page_shows_progress_then_draws_its_model_by_itself(browser, sample_warehouse, tmp_path):
    from analytics.models import scheduling, statuses
    from analytics.models.store import ModelStore

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, warehouse)
    store = ModelStore(warehouse)
    try:
        with dashboard_server(warehouse, tmp_path / "server.log",
                              environment={"SHOPLENS_MODEL_WORKER": ""}) as url:
            with fresh_page(browser, url) as (page, problems):
                open_and_settle(page, f"{url}/cart_dropoff")
                main = page.locator('[data-testid="stMain"]')
                assert "the cart model" in main.inner_text()
                assert "ROC AUC" not in main.inner_text()
                # No reload: the status box looks again every few seconds and reruns the page when ready.
                page.wait_for_function(
                    """() => document.querySelector('[data-testid="stMain"]').innerText.includes('ROC AUC')""",
                    timeout=WAIT_MILLISECONDS)
                assert not shown_errors(page) and not problems.all(), (shown_errors(page), problems.all())
        cart = next(status for status in statuses(warehouse=warehouse) if status.name == "cart_conversion")
        assert cart.status == "ready"
    finally:
        _stop_worker(store, scheduling)


def _stop_worker(store, scheduling) -> None:
    """End the worker this test's server started, if it still runs (it would exit when idle anyway)."""
    import json
    import os
    import signal
    import time

    if scheduling.worker_running(store):
        os.kill(json.loads(store.worker_path.read_text())["pid"], signal.SIGTERM)
        deadline = time.monotonic() + 20
        while scheduling.worker_running(store) and time.monotonic() < deadline:
            time.sleep(0.1)
