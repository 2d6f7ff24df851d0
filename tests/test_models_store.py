"""The model store's files: canonical parameters and job ids, atomic writes, records, pruning."""

from __future__ import annotations

import json
import os
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.errors import ShopLensError
from analytics.filters import Filters
from analytics.models import params as job_params
from analytics.models.scheduling import new_record
from analytics.models.store import JobRecord, ModelStore, write_atomic, write_new

FILTERS = Filters(date(2025, 1, 1), date(2025, 12, 31), ("Home",), (), ("mobile",))


# --------------------------------------------------------------------------- parameters


def test_equal_parameters_give_one_job_id_whatever_their_order_and_sequence_type():
    first = job_params.job_id("cart_conversion", {"filters": FILTERS, "within_hours": 24.0})
    # Same values: keys in another order, the filter's tuples given as lists.
    second = job_params.job_id("cart_conversion", {
        "within_hours": 24.0,
        "filters": Filters(date(2025, 1, 1), date(2025, 12, 31), ["Home"], [], ["mobile"]),
    })
    assert first == second
    assert first.startswith("cart_conversion-") and len(first) == len("cart_conversion-") + 12


def test_different_parameters_give_different_job_ids():
    base = job_params.job_id("cart_conversion", {"filters": FILTERS, "within_hours": 24.0})
    assert job_params.job_id("cart_conversion", {"filters": FILTERS, "within_hours": 48.0}) != base
    assert job_params.job_id("clv", {"filters": FILTERS, "within_hours": 24.0}) != base


def test_parameters_survive_the_json_record():
    from analytics.forecasting.drivers import Promotion
    from analytics.forecasting.run import ForecastRequest

    request = ForecastRequest(level="product", horizon=14, models=("seasonal_naive", "lightgbm_global"),
                              planned_promotions=(Promotion(date(2026, 1, 2), date(2026, 1, 4), 0.2),),
                              filters=FILTERS)
    params = {"request": request, "unique_id": "P1", "k": 10, "share": 0.25, "flag": True, "nothing": None}
    stored = json.loads(json.dumps(job_params.encode(params)))
    assert job_params.decode(stored) == params


def test_a_record_cannot_make_the_worker_build_an_arbitrary_class():
    with pytest.raises(ShopLensError, match="cannot take"):
        job_params.decode({"__type__": "subprocess:Popen", "args": ["true"]})
    with pytest.raises(ShopLensError, match="cannot take"):
        job_params.encode({"path": object()})


@given(st.dictionaries(st.text(min_size=1, max_size=8),
                       st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(),
                                 st.booleans(), st.lists(st.integers(), max_size=4).map(tuple)), max_size=5))
def test_decode_inverts_encode_for_plain_values(params):
    assert job_params.decode(json.loads(json.dumps(job_params.encode(params)))) == params


# --------------------------------------------------------------------------- atomic files


def test_a_failed_replace_leaves_the_old_artifact_whole_and_no_temporary_file(tmp_path, monkeypatch):
    store = ModelStore(tmp_path / "warehouse.duckdb")
    store.write_artifact("v1", "alpha-1", {"model": "old"})

    def broken_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.write_artifact("v1", "alpha-1", {"model": "new"})
    monkeypatch.undo()
    assert store.read_artifact("v1", "alpha-1") == {"model": "old"}
    assert [path.name for path in store.artifact_path("v1", "alpha-1").parent.iterdir()] == ["alpha-1.pickle"]


def test_write_atomic_replaces_in_one_step(tmp_path):
    target = tmp_path / "card.json"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert os.listdir(tmp_path) == ["card.json"]


def test_write_new_refuses_to_overwrite(tmp_path):
    target = tmp_path / "jobs" / "alpha.json"
    assert write_new(target, b"first") is True
    assert write_new(target, b"second") is False
    assert target.read_bytes() == b"first"
    assert os.listdir(target.parent) == ["alpha.json"]


def test_the_first_creator_of_a_record_wins_and_records_read_back(tmp_path):
    store = ModelStore(tmp_path / "warehouse.duckdb")
    first = new_record("alpha", {"value": 1}, "v1")
    assert store.create_record(first) is True
    second = new_record("alpha", {"value": 1}, "v1")
    assert second.job_id == first.job_id
    assert store.create_record(second) is False
    assert store.read_record("v1", first.job_id) == first
    assert store.records("v1") == [first]


def test_a_record_from_another_release_keeps_the_known_fields(tmp_path):
    document = new_record("alpha", {}, "v1").to_dict() | {"from_the_future": 1}
    assert JobRecord.from_dict(document).name == "alpha"


def test_names_that_would_leave_the_store_are_refused(tmp_path):
    store = ModelStore(tmp_path / "warehouse.duckdb")
    for version, job_id in (("..", "alpha"), ("v1", "../../etc/passwd"), ("", "alpha")):
        with pytest.raises(ValueError):
            store.record_path(version, job_id)
    # Separators are dropped from anything else, so a name stays inside its folder.
    assert store.record_path("v1", "alpha/../beta").parent == store.version_folder("v1") / "jobs"


# --------------------------------------------------------------------------- versions and timings


def test_prune_removes_this_warehouses_other_versions_only(tmp_path):
    ours, theirs = ModelStore(tmp_path / "warehouse.duckdb"), ModelStore(tmp_path / "other.duckdb")
    for version in ("old", "current"):
        ours.create_record(new_record("alpha", {}, version))
    theirs.create_record(new_record("alpha", {}, "elsewhere"))

    assert ours.prune("current") == ["old"]
    assert ours.versions() == ["current"]
    assert theirs.versions() == ["elsewhere"]
    assert not ours.version_folder("old").exists()


def test_timings_keep_the_last_run_per_model(tmp_path):
    store = ModelStore(tmp_path / "warehouse.duckdb")
    store.record_timing("alpha", 12.5)
    store.record_timing("beta", 3)
    store.record_timing("alpha", 10.0)
    assert store.timings() == {"alpha": 10.0, "beta": 3.0}


def test_markers_are_idempotent_and_the_first_ask_keeps_its_time(tmp_path):
    store = ModelStore(tmp_path / "warehouse.duckdb")
    store.mark("v1", "alpha-1", "wanted")
    first = store.mark_time("v1", "alpha-1", "wanted")
    os.utime(store.marker_path("v1", "alpha-1", "wanted"), (first - 60, first - 60))
    store.mark("v1", "alpha-1", "wanted")
    assert store.mark_time("v1", "alpha-1", "wanted") == pytest.approx(first - 60)
    store.clear_mark("v1", "alpha-1", "wanted")
    assert not store.has_mark("v1", "alpha-1", "wanted")
    with pytest.raises(ValueError):
        store.mark("v1", "alpha-1", "explode")
