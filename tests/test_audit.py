"""The audit log: append-only, beside the warehouse, surviving every swap, readable by event and user."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from analytics import audit
from analytics.errors import ShopLensError
from analytics.importing import get_preset, import_files
from analytics.warehouse import build_warehouse, restore_warehouse
from tests import tiny_shop
from tests.conftest import REPO_ROOT


def test_record_and_read_newest_first(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    audit.record("sign_in", "ann@example.com", {"method": "oidc"}, warehouse=warehouse)
    audit.record("export", "bob@example.com", {"file": "customers-at-risk.csv", "rows": 12}, warehouse=warehouse)

    log = audit.read(warehouse=warehouse)

    assert list(log["event"]) == ["export", "sign_in"] and list(log["user"]) == ["bob@example.com", "ann@example.com"]
    assert log["details"].iloc[0] == {"file": "customers-at-risk.csv", "rows": 12}
    assert list(audit.read(warehouse=warehouse, user="ann@example.com")["event"]) == ["sign_in"]
    assert audit.read(warehouse=warehouse, since=datetime.now(UTC) + timedelta(hours=1)).empty
    assert audit.audit_path(warehouse) == (tmp_path / "w.duckdb.audit.jsonl").absolute()
    assert audit.audit_path(warehouse).stat().st_mode & 0o777 == 0o600


def test_builds_imports_and_restores_are_recorded_and_the_log_survives_the_swaps(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    build_warehouse(tiny_shop.write_tiny_shop(tmp_path / "src"), warehouse, is_sample=True, user="admin@example.com")
    export = tmp_path / "one.csv"
    export.write_text("user_id,item_id,category_id,behavior_type,timestamp\n1,10,100,pv,1511658000\n")
    report = import_files([export], get_preset("taobao"), warehouse, user="ann@example.com")
    restore_warehouse(warehouse, "latest", user="admin@example.com")

    log = audit.read(warehouse=warehouse)

    assert list(zip(log["event"], log["user"])) == [
        ("restore", "admin@example.com"), ("import", "ann@example.com"), ("build", "admin@example.com")]
    imported = log["details"].iloc[1]
    assert imported["mode"] == "replace" and imported["rows_loaded"] == 1 and imported["files"] == ["one.csv"]
    assert imported["import_id"] == report.import_id
    assert log["details"].iloc[0]["restored_version"] == report.kept_version.version_id


def test_a_dry_run_is_not_recorded_and_the_command_line_user_is_named(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    export = tmp_path / "one.csv"
    export.write_text("user_id,item_id,category_id,behavior_type,timestamp\n1,10,100,pv,1511658000\n")
    import_files([export], get_preset("taobao"), warehouse, dry_run=True)
    assert audit.read(warehouse=warehouse).empty

    import_files([export], get_preset("taobao"), warehouse)
    assert audit.read(warehouse=warehouse)["user"].iloc[0] == audit.command_line_user()
    assert audit.command_line_user().startswith("cli:")


def test_bad_events_and_missing_users_are_refused(tmp_path):
    with pytest.raises(ShopLensError, match="lower-case letters"):
        audit.record("Sign In", "ann@example.com", warehouse=tmp_path / "w.duckdb")
    with pytest.raises(ShopLensError, match="needs the user who acted"):
        audit.record("sign_in", " ", warehouse=tmp_path / "w.duckdb")


def test_a_line_cut_short_by_a_crash_is_skipped_not_fatal(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    audit.record("sign_in", "ann@example.com", warehouse=warehouse)
    with open(audit.audit_path(warehouse), "a", encoding="utf-8") as handle:
        handle.write('{"recorded_at": "2025-01-0')
    audit.record("sign_in", "bob@example.com", warehouse=warehouse)

    assert list(audit.read(warehouse=warehouse)["user"]) == ["bob@example.com", "ann@example.com"]


_APPEND = """
import sys
from pathlib import Path
from analytics import audit
for number in range(200):
    audit.record("export", sys.argv[2], {"number": number, "padding": "x" * 2000}, warehouse=Path(sys.argv[1]))
"""


def test_two_processes_appending_at_once_never_interleave_lines(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    writers = [subprocess.Popen([sys.executable, "-c", _APPEND, str(warehouse), user], cwd=REPO_ROOT, env=environment)
               for user in ("ann@example.com", "bob@example.com")]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]

    lines = audit.audit_path(warehouse).read_text(encoding="utf-8").splitlines()
    parsed = [json.loads(line) for line in lines]
    assert len(parsed) == 400
    for user in ("ann@example.com", "bob@example.com"):
        assert [entry["details"]["number"] for entry in parsed if entry["user"] == user] == list(range(200))
