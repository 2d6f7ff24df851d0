"""Open model-backed pages in AppTest with their models trained, as the background worker would.

Pages never train: they load from the model store and queue what is missing. In tests no worker
process is started (`SHOPLENS_MODEL_WORKER=off`); `settle` trains what the page queued in this
process (`analytics.models.worker.run_queued`) and runs the page again, until it queues nothing more
(a forecast's panel asks for its global model once the run is there).
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from analytics.models.loading import current_data_version
from analytics.models.store import ModelStore
from analytics.models.worker import run_queued
from tests.page_runner import open_page

MAX_ROUNDS = 4


def queued_jobs(warehouse: Path) -> list[str]:
    """The names of the jobs queued for the warehouse's current data version."""
    store = ModelStore(warehouse)
    version = current_data_version(warehouse)
    return [record.name for record in store.records(version)
            if record.status == "queued" or store.has_mark(version, record.job_id, "retrain")]


def settle(app: AppTest, warehouse: Path) -> AppTest:
    """Train what the page queued and run it again, until it queues nothing more."""
    for _ in range(MAX_ROUNDS):
        if not queued_jobs(warehouse):
            return app
        run_queued(warehouse)
        app.run()
    assert not queued_jobs(warehouse), f"the page keeps queueing jobs: {queued_jobs(warehouse)}"
    return app


def open_page_with_models(monkeypatch, warehouse: Path, page: str, query: dict | None = None, *,
                          timeout_seconds: float = 120) -> AppTest:
    """`open_page` with no worker process, then `settle`: the page as it looks once its models are trained."""
    monkeypatch.setenv("SHOPLENS_MODEL_WORKER", "off")
    app = open_page(monkeypatch, warehouse, page, query, timeout_seconds=timeout_seconds)
    return settle(app, warehouse)
