"""The background worker with fake jobs: queue order, status, failures, cancel, the lock, stale versions."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import duckdb
import pytest

from analytics.models import loading, scheduling
from analytics.models.registry import JobSpec
from analytics.models.scheduling import new_record
from analytics.models.store import ModelStore
from analytics.models.worker import MAX_ATTEMPTS, Worker
from analytics.warehouse import build_warehouse, data_version
from tests.models_fakes import JOBS, REGISTRY
from tests.tiny_shop import write_tiny_shop


@pytest.fixture(autouse=True)
def worker_on(monkeypatch):
    """These tests start real worker processes (the suite's default is off: see conftest)."""
    monkeypatch.setenv("SHOPLENS_MODEL_WORKER", "")


@pytest.fixture()
def warehouse(tiny_warehouse: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny warehouse, so each test has its own model store."""
    target = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_warehouse, target)
    return target


def version_of(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        return data_version(con)


def queue(path: Path, name: str, params: dict, *, wanted: bool = False) -> str:
    record = scheduling.request(name, params, warehouse=path, data_version=version_of(path), registry=REGISTRY,
                                start=False)
    if not wanted:
        ModelStore(path).clear_mark(record.data_version, record.job_id, "wanted")
    return record.job_id


def work(path: Path, registry=JOBS) -> Worker:
    worker = Worker(path, registry, idle_seconds=0.0)
    assert worker.run() == 0
    return worker


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# --------------------------------------------------------------------------- status and order


def test_a_job_goes_queued_training_ready_and_its_artifact_loads(warehouse):
    version = version_of(warehouse)
    job_id = queue(warehouse, "alpha", {"value": 7})
    store = ModelStore(warehouse)
    assert store.read_record(version, job_id).status == "queued"

    work(warehouse)

    record = store.read_record(version, job_id)
    assert record.status == "ready" and record.reason == "" and record.attempts == 1
    assert record.seconds is not None and record.trained_at is not None
    # The job saw its own record as "training" while it ran.
    result = loading.load("alpha", {"value": 7}, warehouse=warehouse, data_version=version, registry=REGISTRY)
    assert isinstance(result, loading.Ready)
    assert result.artifact["value"] == 7 and result.artifact["status_while_running"] == "training"
    assert result.status.status == "ready"
    assert store.timings()["alpha"] == pytest.approx(record.seconds)


def test_jobs_run_in_queue_order_but_a_job_a_page_waits_on_goes_first(warehouse):
    order = []

    def recording(context, params):
        order.append(params["value"])
        return params["value"]

    registry = (JobSpec("alpha", "Alpha", "Test", recording, None),)
    for value in (1, 2, 3):
        queue(warehouse, "alpha", {"value": value})
    # A page asks for the third; the second was asked for later still.
    time.sleep(0.01)
    queue(warehouse, "alpha", {"value": 3}, wanted=True)
    time.sleep(0.01)
    queue(warehouse, "alpha", {"value": 2}, wanted=True)

    work(warehouse, registry)

    assert order == [3, 2, 1]


def test_a_failed_job_records_a_one_line_reason_and_the_worker_goes_on(warehouse):
    version = version_of(warehouse)
    broken = queue(warehouse, "broken", {})
    buggy = queue(warehouse, "buggy", {})
    fine = queue(warehouse, "alpha", {"value": 1})

    work(warehouse)

    store = ModelStore(warehouse)
    assert store.read_record(version, broken).status == "failed"
    assert store.read_record(version, broken).reason == "the data has only 3 carts; the model needs 50"
    assert store.read_record(version, buggy).reason == "ZeroDivisionError: division by zero"
    assert store.read_record(version, fine).status == "ready"
    result = loading.load("broken", {}, warehouse=warehouse, data_version=version, registry=REGISTRY)
    assert isinstance(result, loading.Failed) and result.reason.startswith("the data has only 3 carts")
    # The traceback of the unexpected failure is in the log, not in the reason.
    assert "ZeroDivisionError" not in store.read_record(version, broken).reason


def test_a_job_reads_another_jobs_artifact(warehouse):
    version = version_of(warehouse)
    queue(warehouse, "alpha", {"value": 1})
    dependent = queue(warehouse, "dependent", {})
    work(warehouse)
    assert ModelStore(warehouse).read_artifact(version, dependent) == 101


# --------------------------------------------------------------------------- cancel


def test_a_cancelled_queued_job_is_skipped_and_recorded_as_cancelled(warehouse):
    version = version_of(warehouse)
    job_id = queue(warehouse, "alpha", {"value": 1})
    status = loading.cancel("alpha", {"value": 1}, warehouse=warehouse, registry=REGISTRY)
    assert status.status == "queued"
    # Shown as failed at once, before any worker ran.
    assert loading.statuses(warehouse=warehouse, registry=REGISTRY, include_variants=True)[-1].status == "failed"

    work(warehouse)

    record = ModelStore(warehouse).read_record(version, job_id)
    assert record.status == "failed" and record.reason == "cancelled" and record.attempts == 0
    assert not ModelStore(warehouse).has_mark(version, job_id, "cancel")


def test_a_running_job_stops_at_its_next_step_when_cancelled(warehouse, tmp_path):
    version = version_of(warehouse)
    params = {"gate": str(tmp_path / "never-opened")}
    job_id = queue(warehouse, "gated", params)
    store = ModelStore(warehouse)
    thread = threading.Thread(target=work, args=(warehouse,))
    thread.start()
    try:
        wait_until(lambda: store.read_record(version, job_id).status == "training")
        loading.cancel("gated", params, warehouse=warehouse, registry=REGISTRY)
        thread.join(timeout=30)
    finally:
        (tmp_path / "never-opened").touch()
        thread.join()
    record = store.read_record(version, job_id)
    assert record.status == "failed" and record.reason == "cancelled"
    assert store.artifact_stamp(version, job_id) is None


def test_cancelling_a_ready_model_changes_nothing(warehouse):
    queue(warehouse, "alpha", {"value": 1})
    work(warehouse)
    assert loading.cancel("alpha", {"value": 1}, warehouse=warehouse, registry=REGISTRY).status == "ready"
    assert loading.cancel("beta", {"value": 5}, warehouse=warehouse, registry=REGISTRY) is None


# --------------------------------------------------------------------------- the lock


def test_one_worker_per_warehouse(warehouse):
    first, second = Worker(warehouse, JOBS), Worker(warehouse, JOBS)
    assert first.acquire()
    try:
        assert scheduling.worker_running(ModelStore(warehouse))
        assert not second.acquire(patience=0.2)
        # A worker that finds the lock taken leaves at once, having run nothing.
        job_id = queue(warehouse, "alpha", {"value": 1})
        assert second.run() == 0
        assert ModelStore(warehouse).read_record(version_of(warehouse), job_id).status == "queued"
    finally:
        first.release()
    assert not scheduling.worker_running(ModelStore(warehouse))
    assert second.acquire()
    second.release()


def test_a_job_left_training_by_a_dead_worker_runs_once_more_then_fails(warehouse):
    version = version_of(warehouse)
    store = ModelStore(warehouse)
    retried, given_up = new_record("alpha", {"value": 1}, version), new_record("alpha", {"value": 3}, version)
    retried.status, retried.attempts = "training", 1
    given_up.status, given_up.attempts = "training", MAX_ATTEMPTS
    store.write_record(retried)
    store.write_record(given_up)
    # No worker holds the lock, so the status shows them as queued, not stuck "training".
    assert {status.status for status in loading.statuses(warehouse=warehouse, registry=REGISTRY,
                                                         include_variants=True)[2:]} == {"queued"}

    work(warehouse)

    assert store.read_record(version, retried.job_id).status == "ready"
    assert store.read_record(version, retried.job_id).attempts == 2
    failed = store.read_record(version, given_up.job_id)
    assert failed.status == "failed" and "stopped 2 times" in failed.reason


# --------------------------------------------------------------------------- data versions


def test_a_new_data_version_drops_stale_jobs_and_trains_the_new_defaults(warehouse, tmp_path):
    old_version = version_of(warehouse)
    store = ModelStore(warehouse)
    gate = tmp_path / "gate"
    running = queue(warehouse, "gated", {"gate": str(gate)})
    stale = queue(warehouse, "alpha", {"value": 5})
    thread = threading.Thread(target=work, args=(warehouse,))
    thread.start()
    try:
        wait_until(lambda: store.read_record(old_version, running).status == "training")
        # An import or a rebuild replaces the warehouse while the worker trains.
        build_warehouse(write_tiny_shop(tmp_path / "source"), warehouse)
    finally:
        gate.touch()
        thread.join(timeout=60)
    new_version = version_of(warehouse)
    assert new_version != old_version
    assert store.versions() == [new_version]
    assert store.read_record(old_version, stale) is None
    statuses = loading.statuses(warehouse=warehouse, registry=REGISTRY)
    assert [(status.name, status.status, status.data_version) for status in statuses] == [
        ("alpha", "ready", new_version), ("beta", "ready", new_version)]


def test_the_train_request_queues_every_default_once(warehouse):
    store = ModelStore(warehouse)
    store.root.mkdir(parents=True)
    store.train_request_path.touch()
    work(warehouse)
    version = version_of(warehouse)
    first = {status.name: status.trained_at for status in loading.statuses(warehouse=warehouse, registry=REGISTRY)}
    assert set(first) == {"alpha", "beta"} and None not in first.values()
    assert not store.train_request_path.exists()
    artifact = store.read_artifact(version, store.defaults(version)["alpha"])
    assert artifact["is_default"] is True

    # Asked again for the same data and code: nothing is retrained.
    store.train_request_path.touch()
    work(warehouse)
    again = {status.name: status.trained_at for status in loading.statuses(warehouse=warehouse, registry=REGISTRY)}
    assert again == first
    assert [record.attempts for record in store.records(version)] == [1, 1]


def test_retrain_keeps_serving_the_old_artifact_until_the_new_one_is_ready(warehouse):
    version = version_of(warehouse)
    store = ModelStore(warehouse)
    store.root.mkdir(parents=True)
    store.train_request_path.touch()
    work(warehouse)
    job_id = store.defaults(version)["alpha"]
    before = store.artifact_stamp(version, job_id)

    scheduling.retrain(store, version, [job_id], registry="tests.models_fakes:NO_SUCH_REGISTRY")
    result = loading.load("alpha", warehouse=warehouse, data_version=version, registry=REGISTRY,
                          request_missing=False)
    assert isinstance(result, loading.Ready) and result.status.status == "queued"

    work(warehouse)
    assert store.read_record(version, job_id).attempts == 2
    assert store.artifact_stamp(version, job_id) != before


# --------------------------------------------------------------------------- the detached process


def test_a_detached_worker_trains_and_a_signal_cancels_a_job_without_progress_steps(warehouse):
    version = version_of(warehouse)
    store = ModelStore(warehouse)
    sleepy = queue(warehouse, "sleepy", {"seconds": 60})
    assert scheduling.start_worker(warehouse, REGISTRY, idle_seconds=0.5)
    try:
        wait_until(lambda: store.read_record(version, sleepy).status == "training")
        assert scheduling.worker_running(store)
        # A second start while it runs starts nothing.
        assert not scheduling.start_worker(warehouse, REGISTRY, idle_seconds=0.5)
        started = time.monotonic()
        loading.cancel("sleepy", {"seconds": 60}, warehouse=warehouse, registry=REGISTRY)
        wait_until(lambda: store.read_record(version, sleepy).status == "failed", timeout=20)
        assert time.monotonic() - started < 10
        assert store.read_record(version, sleepy).reason == "cancelled"
        # It then exits on its own once idle.
        wait_until(lambda: not scheduling.worker_running(store), timeout=20)
    finally:
        _stop_worker(store)


def test_schedule_training_returns_at_once_and_the_worker_outlives_the_call(warehouse):
    store = ModelStore(warehouse)
    started = time.monotonic()
    scheduling.schedule_training(warehouse, REGISTRY)
    assert time.monotonic() - started < 1.0
    try:
        wait_until(lambda: [status.status for status in loading.statuses(warehouse=warehouse, registry=REGISTRY)]
                   == ["ready", "ready"])
        alpha = loading.load("alpha", warehouse=warehouse, registry=REGISTRY)
        assert isinstance(alpha, loading.Ready)
        import os

        assert alpha.artifact["pid"] != os.getpid()
    finally:
        _stop_worker(store)


def test_loading_a_model_nobody_asked_for_queues_it_and_starts_a_worker(warehouse):
    store = ModelStore(warehouse)
    try:
        first = loading.load("beta", {"value": 4}, warehouse=warehouse, registry=REGISTRY)
        assert isinstance(first, loading.Pending) and first.status.status in ("queued", "training")
        wait_until(lambda: isinstance(loading.load("beta", {"value": 4}, warehouse=warehouse, registry=REGISTRY),
                                      loading.Ready))
    finally:
        _stop_worker(store)
    missing = loading.load("beta", {"value": 6}, warehouse=warehouse, registry=REGISTRY, request_missing=False)
    assert isinstance(missing, loading.NotRequested)


def _stop_worker(store: ModelStore) -> None:
    import json
    import os
    import signal

    if scheduling.worker_running(store):
        pid = json.loads(store.worker_path.read_text())["pid"]
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not scheduling.worker_running(store), timeout=20)


def test_with_the_worker_off_jobs_wait_until_someone_runs_them(warehouse, monkeypatch):
    from analytics.models.worker import run_queued

    monkeypatch.setenv("SHOPLENS_MODEL_WORKER", "off")
    pending = loading.load("alpha", {"value": 3}, warehouse=warehouse, registry=REGISTRY)
    assert isinstance(pending, loading.Pending)
    assert pending.progress.line == "waiting for the worker… 0 of 1 models ready"
    time.sleep(0.3)
    assert not scheduling.worker_running(ModelStore(warehouse))

    records = run_queued(warehouse, REGISTRY)

    assert [(record.name, record.status) for record in records] == [("alpha", "ready")]
    ready = loading.load("alpha", {"value": 3}, warehouse=warehouse, registry=REGISTRY)
    assert isinstance(ready, loading.Ready) and ready.artifact["value"] == 3


def test_a_default_a_page_asked_for_first_is_recorded_as_the_default(warehouse):
    version = version_of(warehouse)
    job_id = queue(warehouse, "alpha", {"value": 1})
    work(warehouse)
    store = ModelStore(warehouse)
    assert store.read_artifact(version, job_id)["is_default"] is True
    assert store.defaults(version) == {"alpha": job_id}
    statuses = loading.statuses(warehouse=warehouse, registry=REGISTRY)
    assert [(status.name, status.status) for status in statuses] == [("alpha", "ready"), ("beta", "queued")]
