"""Building, validating and inspecting the warehouse."""

from __future__ import annotations

import duckdb
import pytest

from analytics.errors import SourceDataError, WarehouseNotReady
from analytics.schema import SCHEMA_VERSION
from analytics.warehouse import (
    WarehouseState,
    build_warehouse,
    connect,
    inspect_warehouse,
    needs_sample_rebuild,
)
from tests import tiny_shop


def build(tmp_path, tables=None, name="w.duckdb", **options):
    target = tmp_path / name
    source = tiny_shop.write_tiny_shop(tmp_path / f"src-{name}", tables)
    return build_warehouse(source, target, **options)


def test_a_built_warehouse_is_ready_and_records_its_version(tmp_path):
    report = build(tmp_path)
    info = inspect_warehouse(report.path)
    assert info.state is WarehouseState.READY
    assert info.schema_version == SCHEMA_VERSION
    assert info.data_version == report.data_version
    assert info.supports("overview") and info.supports("funnels")
    # Only two orders, both from first-time customers: no repeat purchases to model.
    assert not info.supports("customers")


def test_every_build_gets_a_new_data_version(tmp_path):
    assert build(tmp_path).data_version != build(tmp_path).data_version


def test_missing_warehouse_explains_how_to_build_it(tmp_path):
    info = inspect_warehouse(tmp_path / "none.duckdb")
    assert info.state is WarehouseState.MISSING
    assert "shoplens build" in info.message
    with pytest.raises(WarehouseNotReady, match="shoplens build"):
        connect(tmp_path / "none.duckdb")


def test_foreign_or_old_warehouse_is_outdated(tmp_path):
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table events (x int)")
    assert inspect_warehouse(path).state is WarehouseState.OUTDATED


def test_other_schema_version_is_outdated_and_says_which(tmp_path):
    report = build(tmp_path)
    with duckdb.connect(str(report.path)) as con:
        con.execute("update meta_warehouse set schema_version = 0")
    info = inspect_warehouse(report.path)
    assert info.state is WarehouseState.OUTDATED
    assert "schema version 0" in info.message and f"version {SCHEMA_VERSION}" in info.message


def test_a_file_that_is_not_duckdb_is_unreadable_not_a_crash(tmp_path):
    path = tmp_path / "junk.duckdb"
    path.write_bytes(b"not a database at all" * 100)
    assert inspect_warehouse(path).state is WarehouseState.UNREADABLE


def test_failed_build_leaves_the_previous_warehouse_untouched(tmp_path):
    good = build(tmp_path)
    before = good.path.read_bytes()
    broken_events = tiny_shop.EVENTS.drop(columns=["event_time"])
    with pytest.raises(SourceDataError, match="event_time"):
        build(tmp_path, dict(tiny_shop.TABLES, events=broken_events))
    assert good.path.read_bytes() == before
    assert inspect_warehouse(good.path).data_version == good.data_version
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".building")] == []


def test_validation_names_the_rule_the_table_and_example_rows(tmp_path):
    events = tiny_shop.EVENTS.copy()
    events.loc[events.event_id == 4, "event_type"] = "teleport"
    events.loc[events.event_id == 5, "event_id"] = 4
    with pytest.raises(SourceDataError) as raised:
        build(tmp_path, dict(tiny_shop.TABLES, events=events))
    message = str(raised.value)
    assert "events.parquet: 2 row(s) where duplicate event_id" in message
    assert "event_type must be one of" in message


def test_unparseable_values_are_reported_with_their_column(tmp_path):
    source = tiny_shop.write_tiny_shop(tmp_path / "src")
    (source / "events.parquet").unlink()
    events = tiny_shop.EVENTS.astype({"event_time": str})
    events.loc[0, "event_time"] = "yesterday-ish"
    events.to_csv(source / "events.csv", index=False)
    with pytest.raises(SourceDataError, match="events.csv"):
        build_warehouse(source, tmp_path / "w.duckdb")


def test_optional_tables_and_nullable_columns_may_be_absent(tmp_path):
    events = tiny_shop.EVENTS.drop(columns=["session_id", "search_query", "device", "channel"])
    source = tiny_shop.write_tiny_shop(tmp_path / "src", {"events": events})
    report = build_warehouse(source, tmp_path / "w.duckdb")
    assert report.source_rows["orders"] == 0
    info = inspect_warehouse(report.path)
    assert info.supports("overview") and not info.supports("promotions")
    with duckdb.connect(str(report.path), read_only=True) as con:
        # Sessions are derived from 30 idle minutes for every user.
        assert con.execute("select count(*) from fct_sessions").fetchone()[0] == 5


def test_csv_sources_load_like_parquet(tmp_path):
    source = tmp_path / "csv"
    source.mkdir()
    for name, frame in tiny_shop.TABLES.items():
        frame.to_csv(source / f"{name}.csv", index=False)
    report = build_warehouse(source, tmp_path / "w.duckdb")
    with duckdb.connect(str(report.path), read_only=True) as con:
        assert con.execute("select sum(revenue) from fct_orders").fetchone()[0] == 130.0
        assert con.execute("select title from dim_products where product_id = 'P2'").fetchone()[0] == "陶瓷 马克杯 Mug"


def test_a_folder_without_events_is_refused(tmp_path):
    (tmp_path / "products.csv").write_text("product_id\nP1\n")
    with pytest.raises(SourceDataError, match="no events file"):
        build_warehouse(tmp_path, tmp_path / "w.duckdb")


def test_sample_rebuild_only_replaces_sample_warehouses(tmp_path):
    source = tiny_shop.write_tiny_shop(tmp_path / "src")
    target = tmp_path / "w.duckdb"
    assert needs_sample_rebuild(target, source) == "it is missing"
    build_warehouse(source, target, is_sample=True)
    assert needs_sample_rebuild(target, source) is None
    with duckdb.connect(str(target)) as con:
        con.execute("update meta_warehouse set schema_version = 0")
    assert "schema version 0" in needs_sample_rebuild(target, source)
    with duckdb.connect(str(target)) as con:
        con.execute("update meta_warehouse set schema_version = $version, models_fingerprint = 'older sql'",
                    {"version": SCHEMA_VERSION})
    assert needs_sample_rebuild(target, source) == "it was built by other SQL models than this release's"
    build_warehouse(source, target, is_sample=False)
    with duckdb.connect(str(target)) as con:
        con.execute("update meta_warehouse set schema_version = 0")
    assert needs_sample_rebuild(target, source) is None


def test_events_outside_the_canonical_types_are_refused(tmp_path):
    events = tiny_shop.EVENTS.copy()
    events["price"] = events["price"].astype(object)
    events.loc[0, "price"] = -5.0
    with pytest.raises(SourceDataError, match="price is negative"):
        build(tmp_path, dict(tiny_shop.TABLES, events=events.astype({"price": float})))
