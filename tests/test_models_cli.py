"""`shoplens models`: the JSON contract, the table and CSV, errors, and a real model trained end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from analytics.cli import main
from analytics.models import loading
from analytics.models.jobs import JOBS
from analytics.models.scheduling import new_record
from analytics.models.store import ModelStore
from analytics.warehouse import data_version

CONTRACT_KEYS = {"name", "status", "data_version", "trained_at", "seconds"}
DEFAULT_MODELS = [spec.name for spec in JOBS if spec.default_params is not None]


@pytest.fixture()
def warehouse(tiny_warehouse: Path, tmp_path: Path) -> Path:
    target = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_warehouse, target)
    return target


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def version_of(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        return data_version(con)


def test_json_lists_every_default_model_with_the_contract_fields(capsys, warehouse):
    version = version_of(warehouse)
    store = ModelStore(warehouse)
    ready = new_record("cart_conversion", {"x": 1}, version)
    ready.status, ready.trained_at, ready.seconds = "ready", "2026-01-02T03:04:05+00:00", 4.5
    store.write_artifact(version, ready.job_id, {"model": 1})
    failed = new_record("clv", {"x": 1}, version)
    failed.status, failed.reason, failed.seconds = "failed", "12 customers are too few", 0.3
    for record in (ready, failed):
        store.write_record(record)
    store.write_defaults(version, {"cart_conversion": ready.job_id, "clv": failed.job_id})

    code, out, _ = run(capsys, "models", "--warehouse", str(warehouse), "--format", "json")

    assert code == 0
    document = json.loads(out)
    rows = {row["name"]: row for row in document["models"]}
    assert list(rows) == DEFAULT_MODELS
    assert all(CONTRACT_KEYS <= set(row) for row in rows.values())
    assert rows["cart_conversion"] == {"name": "cart_conversion", "status": "ready", "data_version": version,
                                       "trained_at": "2026-01-02T03:04:05+00:00", "seconds": 4.5}
    assert rows["clv"]["status"] == "failed" and rows["clv"]["reason"] == "12 customers are too few"
    # Not queued by any worker yet: listed as queued, and the document says no worker runs.
    assert rows["purchase_7d"] == {"name": "purchase_7d", "status": "queued", "data_version": version,
                                   "trained_at": None, "seconds": None}
    assert {row["status"] for row in rows.values()} <= {"queued", "training", "ready", "failed"}
    assert document["worker"] == {"running": False} and document["data_version"] == version
    assert "reason" not in rows["cart_conversion"]


def test_table_and_csv(capsys, warehouse):
    code, out, err = run(capsys, "models", "--warehouse", str(warehouse))
    assert code == 0 and out.startswith(f"Models for data version {version_of(warehouse)}")
    assert "no worker is running" in err
    code, out, _ = run(capsys, "models", "--warehouse", str(warehouse), "--format", "csv")
    assert out.splitlines()[0] == "name,status,data_version,trained_at,seconds,reason"
    assert len(out.splitlines()) == 1 + len(DEFAULT_MODELS)


@pytest.mark.parametrize("argv,expected", [
    (["models", "train", "--only", "nonsense"], "there is no model 'nonsense'"),
    (["models", "train", "--only", "forecast_components"], "only trains when a page asks"),
    (["models", "cancel", "purchase_7d"], "nothing to cancel"),
])
def test_errors_are_one_line_with_exit_code_2(capsys, warehouse, argv, expected):
    code, _, err = run(capsys, *argv, "--warehouse", str(warehouse))
    assert code == 2 and expected in err and len(err.strip().splitlines()) == 1


def test_a_missing_warehouse_is_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "models", "--warehouse", str(tmp_path / "none.duckdb"), "--format", "json")
    assert code == 2 and "No warehouse at" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_the_worker_trains_the_purchase_model_and_a_page_loads_it_without_training(capsys, sample_warehouse,
                                                                                   tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, warehouse)

    code, out, err = run(capsys, "models", "train", "--only", "purchase_7d", "--wait", "--warehouse", str(warehouse),
                         "--format", "json")

    assert code == 0, err
    rows = {row["name"]: row for row in json.loads(out)["models"]}
    assert rows == {"purchase_7d": rows["purchase_7d"]} and rows["purchase_7d"]["status"] == "ready"
    assert "training… 0 of 1 models" in err and "all 1 models ready" in err

    # The page's process must not train: any call into the trainer here fails the test.
    from analytics.features import predictive

    def no_training(*args, **kwargs):
        raise AssertionError("the page trained a model")

    monkeypatch.setattr(predictive, "train_outcome_model", no_training)
    monkeypatch.setattr(predictive, "train_purchase_model", no_training)
    result = loading.load("purchase_7d", warehouse=warehouse)
    assert isinstance(result, loading.Ready)
    report = result.artifact
    assert report.trained.name == "purchase_7d" and report.card.name == "purchase_7d"
    assert 0.5 < report.trained.metrics["roc_auc"] <= 1
    assert report.explanation.shap_rows > 0 and report.fairness.rows > 0
    # Its card is recorded for `shoplens explain --list`, beside the warehouse.
    from analytics.explain.cards import load_cards

    assert "purchase_7d" in load_cards(warehouse, version_of(warehouse))
    # Only what was asked for was trained.
    statuses = {status.name: status.status for status in loading.statuses(warehouse=warehouse)}
    assert statuses["purchase_7d"] == "ready" and statuses["churn_28d"] == "queued"


def test_a_build_and_a_restore_ask_for_background_training(tmp_path, capsys):
    """After the data changes, the models are asked for at once: no page visit is the first to ask."""
    from tests.tiny_shop import write_tiny_shop

    target = tmp_path / "fresh.duckdb"
    source = write_tiny_shop(tmp_path / "source")
    store = ModelStore(target)
    code, _, err = run(capsys, "build", str(source), "--warehouse", str(target))
    assert code == 0 and store.train_request_path.exists()
    assert "models train when a worker runs" in err  # the suite runs with the worker off (conftest)

    store.train_request_path.unlink()
    run(capsys, "build", str(source), "--warehouse", str(target))  # keeps the first build as a version
    store.train_request_path.unlink()
    kept = json.loads(run(capsys, "restore", "--list", "--format", "json", "--warehouse", str(target))[1])[0]["version"]
    code, _, err = run(capsys, "restore", kept, "--warehouse", str(target))
    assert code == 0 and store.train_request_path.exists()
