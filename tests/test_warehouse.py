"""Building, validating and inspecting the warehouse."""

from __future__ import annotations

import json
import os

import duckdb
import pytest

from analytics.errors import ShopLensError, SourceDataError, WarehouseNotReady
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


# --------------------------------------------------------------------------- where the data ends


def _daily_events(counts: list[int]) -> "pd.DataFrame":
    """Events for consecutive days from 2025-03-01, `counts[i]` views on day i, one user per event."""
    import pandas as pd

    rows = []
    for day, count in enumerate(counts):
        for number in range(count):
            rows.append((len(rows) + 1, f"U{number}", None, pd.Timestamp("2025-03-01 10:00") + pd.Timedelta(days=day),
                         "view", "P1", None, None, None, None, None))
    return pd.DataFrame(rows, columns=tiny_shop.EVENTS.columns).astype({"quantity": "Int32", "price": float})


@pytest.mark.parametrize("counts,partial,share", [
    # Ten days of 20 events, then 9: 9 / median 20 = 0.45 < 0.5, so the last day (03-11) is partial.
    ([20] * 10 + [9], True, 0.45),
    # 10 of 20 is exactly half: a slow day, not a partial one.
    ([20] * 10 + [10], False, 0.5),
    # Only six earlier days: nothing to compare with, so the last day is taken as complete.
    ([20] * 6 + [1], False, None),
])
def test_a_partial_last_day_is_flagged_and_analyses_end_the_day_before(tmp_path, counts, partial, share):
    from datetime import date, timedelta

    tables = dict(tiny_shop.TABLES, events=_daily_events(counts), orders=tiny_shop.ORDERS.iloc[:0],
                  order_items=tiny_shop.ORDER_ITEMS.iloc[:0])
    report = build(tmp_path, tables)

    info = inspect_warehouse(report.path)
    last = date(2025, 3, 1) + timedelta(days=len(counts) - 1)
    assert info.data_end.data_end_date == last
    assert info.data_end.is_last_day_partial is partial
    assert info.complete_data_end == (last - timedelta(days=1) if partial else last)
    assert info.data_end.last_day_share == (pytest.approx(share) if share is not None else None)
    assert ("is partial" in info.message) is partial
    # The models trained by default learn from the same days the pages' default period shows.
    from analytics.models.jobs import whole_history
    from analytics.warehouse import connect

    with connect(report.path) as connection:
        assert whole_history(connection).end_date == info.complete_data_end


def test_the_cli_period_ends_on_the_last_complete_day(tmp_path, capsys):
    import json

    from analytics.cli import main

    tables = dict(tiny_shop.TABLES, events=_daily_events([20] * 10 + [9]), orders=tiny_shop.ORDERS.iloc[:0],
                  order_items=tiny_shop.ORDER_ITEMS.iloc[:0])
    report = build(tmp_path, tables)

    assert main(["kpis", "--warehouse", str(report.path), "--last", "7d", "--format", "json"]) == 0
    # The data ends on 03-11, a partial day: the default week is 03-04 to 03-10.
    assert json.loads(capsys.readouterr().out)["period"] == {"start_date": "2025-03-04", "end_date": "2025-03-10"}


# --------------------------------------------------------------------------- kept versions and restore


def test_every_build_keeps_the_warehouse_it_replaces_up_to_the_configured_number(tmp_path, monkeypatch):
    from analytics.warehouse_files import list_versions

    reports = [build(tmp_path) for _ in range(5)]

    versions = list_versions(reports[-1].path)
    # Four replacements, three kept (the default): the newest three replaced builds, newest first.
    assert [version.data_version for version in versions] == [r.data_version for r in reports[1:4][::-1]]
    assert reports[0].replaced is None and reports[4].replaced.data_version == reports[3].data_version
    monkeypatch.setenv("SHOPLENS_KEEP_VERSIONS", "1")
    build(tmp_path)
    assert len(list_versions(reports[-1].path)) == 1
    monkeypatch.setenv("SHOPLENS_KEEP_VERSIONS", "several")
    with pytest.raises(ShopLensError, match="SHOPLENS_KEEP_VERSIONS='several' is not a whole number"):
        build(tmp_path)


def test_restore_undoes_an_import_that_replaced_the_data_and_can_itself_be_undone(tmp_path, capsys):
    from analytics.cli import main
    from analytics.importing import get_preset, import_files

    sample = build(tmp_path, is_sample=True)
    export = tmp_path / "three.csv"
    export.write_text("user_id,item_id,category_id,behavior_type,timestamp\n1,10,100,pv,1511658000\n"
                      "2,10,100,pv,1511658000\n3,10,100,pv,1511658000\n")
    report = import_files([export], get_preset("taobao"), sample.path)
    assert report.replaced_sample and report.kept_version.data_version == sample.data_version
    assert _events(sample.path) == 3

    assert main(["restore", "--list", "--warehouse", str(sample.path), "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(row["data_version"], row["events"]) for row in listed] == [(sample.data_version, 14)]
    assert main(["restore", listed[0]["version"], "--warehouse", str(sample.path)]) == 0

    err = capsys.readouterr().err
    assert _events(sample.path) == 14 and inspect_warehouse(sample.path).data_version == sample.data_version
    assert "undoes this restore" in err
    assert main(["restore", "latest", "--warehouse", str(sample.path)]) == 0
    assert _events(sample.path) == 3


def test_restoring_a_version_that_is_not_kept_lists_the_kept_ones(tmp_path):
    from analytics.warehouse import restore_warehouse

    first = build(tmp_path)
    second = build(tmp_path)
    with pytest.raises(ShopLensError, match=f"no version 'x' of w.duckdb is kept \\(kept: {second.replaced.version_id}\\)"):
        restore_warehouse(first.path, "x")


def _events(path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select count(*) from source_events").fetchone()[0]


# --------------------------------------------------------------------------- one writer at a time


_HOLD_LOCK = """
import sys, time
from pathlib import Path
from analytics.warehouse_files import writer_lock
with writer_lock(Path(sys.argv[1]), "import"):
    Path(sys.argv[2]).write_text("held")
    while not Path(sys.argv[3]).exists():
        time.sleep(0.05)
"""


def test_a_build_waits_for_the_writer_lock_an_import_holds_in_another_process(tmp_path):
    import subprocess
    import sys
    import time

    from tests.conftest import REPO_ROOT

    first = build(tmp_path)
    held, release = tmp_path / "held", tmp_path / "release"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(first.path), str(held), str(release)],
                              cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        while not held.exists():
            time.sleep(0.05)
        source = tiny_shop.write_tiny_shop(tmp_path / "src-again")
        racing = subprocess.run([sys.executable, "-m", "analytics", "build", str(source), "--warehouse",
                                 str(first.path)], cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                                capture_output=True, text=True, timeout=120, check=False)
    finally:
        release.write_text("go")
        holder.wait(timeout=60)

    # The build refuses instead of replacing the file under the import: nothing of either is lost.
    assert racing.returncode == 2
    assert racing.stderr.count("\n") == 1 and "is being changed by a import (process" in racing.stderr
    assert inspect_warehouse(first.path).data_version == first.data_version


def test_two_imports_racing_in_two_processes_never_lose_rows(tmp_path):
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    warehouse = tmp_path / "w.duckdb"
    header = "user_id,item_id,category_id,behavior_type,timestamp\n"
    files = []
    for name, user in (("a.csv", 1), ("b.csv", 2)):
        path = tmp_path / name
        path.write_text(header + "".join(f"{user}{row},10,100,pv,1511658000\n" for row in range(20_000)))
        files.append(path)
    command = [sys.executable, "-m", "analytics", "import", "--preset", "taobao", "--warehouse", str(warehouse)]
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    racers = [subprocess.Popen([*command, str(path)], cwd=REPO_ROOT, env=environment, stderr=subprocess.PIPE,
                               text=True) for path in files]
    outcomes = [(racer.wait(timeout=300), racer.stderr.read()) for racer in racers]

    # Either both ran one after the other, or one was told to wait; the rows of every import that
    # said it succeeded are there.
    succeeded = [path for path, (code, _) in zip(files, outcomes) if code == 0]
    assert succeeded
    for code, err in outcomes:
        assert code == 0 or "is being changed by a import" in err
    assert _events(warehouse) == 20_000 * len(succeeded)


def test_a_writer_that_ignores_the_lock_is_caught_by_the_data_version_check(tmp_path):
    from analytics.importing import get_preset, import_files

    first = build(tmp_path)
    rogue = build(tmp_path, name="rogue.duckdb")
    export = tmp_path / "one.csv"
    export.write_text("user_id,item_id,category_id,behavior_type,timestamp\n1,10,100,pv,1511658000\n")

    def swap_behind_its_back(step: str) -> None:
        if step == "replace":  # as a writer that takes no lock would
            os.replace(rogue.path, first.path)

    with pytest.raises(ShopLensError, match="changed while this ran .* nothing was replaced"):
        import_files([export], get_preset("taobao"), first.path, progress=swap_behind_its_back)
    assert inspect_warehouse(first.path).data_version == rogue.data_version


# --------------------------------------------------------------------------- killed and corrupt warehouses


_KILL_BUILD = """
import os, signal, sys
from pathlib import Path
from analytics.warehouse import build_warehouse
def die(step, done, total):
    if step == "load sources":
        os.kill(os.getpid(), signal.SIGKILL)
build_warehouse(Path(sys.argv[1]), Path(sys.argv[2]), progress=die)
"""


def test_a_killed_build_leaves_partial_files_that_the_next_build_removes(tmp_path, capsys):
    import subprocess
    import sys

    from analytics.cli import main
    from tests.conftest import REPO_ROOT

    source = tiny_shop.write_tiny_shop(tmp_path / "src")
    target = tmp_path / "w.duckdb"
    killed = subprocess.run([sys.executable, "-c", _KILL_BUILD, str(source), str(target)], cwd=REPO_ROOT,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, timeout=120, check=False)
    assert killed.returncode == -9
    leftovers = [path.name for path in tmp_path.glob(".w.duckdb.*.building*")]
    assert leftovers and not target.exists()
    unrelated = tmp_path / ".w.duckdb.notes"
    unrelated.write_text("mine")

    assert main(["build", str(source), "--warehouse", str(target)]) == 0

    assert f"removed {len(leftovers)} partial file(s) left by a killed build or import" in capsys.readouterr().err
    assert list(tmp_path.glob(".w.duckdb.*.building*")) == [] and unrelated.exists()


def test_build_if_needed_restores_a_corrupt_warehouse_instead_of_calling_it_up_to_date(tmp_path, capsys):
    from analytics.cli import main
    from analytics.importing import get_preset, import_files

    source = tiny_shop.write_tiny_shop(tmp_path / "src")
    target = tmp_path / "w.duckdb"
    build_warehouse(source, target, is_sample=True)
    export = tmp_path / "one.csv"
    export.write_text("user_id,item_id,category_id,behavior_type,timestamp\n1,10,100,pv,1511658000\n")
    import_files([export], get_preset("taobao"), target)  # imported data, with the sample kept as a version
    import_files([export], get_preset("taobao"), target)  # again: now the imported data is kept as a version too
    target.write_bytes(b"this is not a database" * 100)  # corruption
    assert "shoplens restore latest" in inspect_warehouse(target).message

    assert main(["build", str(source), "--warehouse", str(target), "--if-needed"]) == 0

    err = capsys.readouterr().err
    assert "could not be read, so instead of rebuilding it (which would lose imported rows)" in err
    # The newest readable version holds the imported row, not the sample.
    assert _events(target) == 1 and not inspect_warehouse(target).is_sample


def test_build_if_needed_rebuilds_a_corrupt_warehouse_with_no_kept_version_and_says_so(tmp_path, capsys,
                                                                                     monkeypatch):
    from analytics.cli import main

    monkeypatch.setenv("SHOPLENS_KEEP_VERSIONS", "0")
    source = tiny_shop.write_tiny_shop(tmp_path / "src")
    target = tmp_path / "w.duckdb"
    target.write_bytes(b"garbage" * 100)

    assert main(["build", str(source), "--warehouse", str(target), "--if-needed"]) == 0

    assert "it cannot be read and no earlier version is kept, so it is rebuilt" in capsys.readouterr().err
    assert inspect_warehouse(target).state is WarehouseState.READY
