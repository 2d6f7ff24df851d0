"""Per model status from records and markers, and the "training… 3 of 6 models, about 40 s left" line."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from analytics.models.scheduling import new_record
from analytics.models.status import (
    ModelStatus,
    effective_status,
    format_seconds_left,
    training_progress,
)
from analytics.models.store import ModelStore

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def status(name: str, state: str, started_at: str | None = None) -> ModelStatus:
    return ModelStatus(name, f"{name}-1", state, "v1", None, None, "", True, {}, False, started_at=started_at)


@pytest.mark.parametrize("stored,marker,worker,shown", [
    ("queued", None, False, "queued"),
    ("queued", "cancel", True, "failed"),       # cancelled before any worker saw it
    ("training", None, True, "training"),
    ("training", None, False, "queued"),        # its worker died: the next one runs it again
    ("training", "cancel", True, "training"),   # stopping at its next step
    ("ready", None, False, "ready"),
    ("ready", "retrain", True, "queued"),       # the old artifact serves meanwhile
    ("failed", "retrain", False, "queued"),
    ("failed", None, True, "failed"),
])
def test_effective_status(tmp_path, stored, marker, worker, shown):
    store = ModelStore(tmp_path / "warehouse.duckdb")
    record = new_record("alpha", {}, "v1")
    record.status = stored
    store.write_record(record)
    if marker:
        store.mark("v1", record.job_id, marker)
    assert effective_status(store, record, worker) == shown


def test_the_estimate_adds_the_last_runs_of_what_is_left():
    statuses = [status("cart", "ready"), status("churn", "failed"),
                status("clv", "training", started_at="2026-01-01T11:59:48+00:00"), status("forecast", "queued")]
    timings = {"cart": 4.0, "churn": 9.0, "clv": 30.0, "forecast": 25.0}

    progress = training_progress(statuses, timings, is_worker_running=True, now=NOW)

    # clv started 12 s ago of its 30: 18 s left; forecast 25 s: 43 s, shown to the nearest 5.
    assert progress.seconds_left == pytest.approx(43.0)
    assert (progress.ready, progress.failed, progress.total, progress.pending) == (1, 1, 4, 2)
    assert progress.training == "clv"
    assert progress.line == "training… 1 of 4 models, about 45 s left"


def test_an_overrunning_job_counts_a_tenth_of_its_last_run():
    statuses = [status("clv", "training", started_at="2026-01-01T11:58:00+00:00")]
    # Started 120 s ago, last took 30 s: 3 s is shown rather than nothing or a negative time.
    progress = training_progress(statuses, {"clv": 30.0}, is_worker_running=True, now=NOW)
    assert progress.seconds_left == pytest.approx(3.0)
    assert progress.line == "training… 0 of 1 models, less than 5 s left"


def test_no_estimate_for_a_model_that_never_ran():
    progress = training_progress([status("cart", "queued"), status("new", "queued")], {"cart": 4.0}, True, NOW)
    assert progress.seconds_left is None
    assert progress.line == "training… 0 of 2 models"


def test_lines_when_done_or_without_a_worker():
    assert training_progress([status("a", "ready")] * 3, {}, False, NOW).line == "all 3 models ready"
    assert training_progress([status("a", "ready"), status("b", "failed")], {}, False, NOW).line == (
        "1 of 2 models ready, 1 failed")
    assert training_progress([status("a", "ready"), status("b", "queued")], {}, False, NOW).line == (
        "waiting for the worker… 1 of 2 models ready")
    assert training_progress([], {}, False, NOW).line == "no models queued yet"


@pytest.mark.parametrize("seconds,text", [(2, "less than 5 s left"), (43, "about 45 s left"),
                                          (89, "about 90 s left"), (200, "about 3 min left")])
def test_format_seconds_left(seconds, text):
    assert format_seconds_left(seconds) == text
