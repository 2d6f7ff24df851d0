"""Issue 13's data-handling findings, each reproduced and now refused: server files named from the browser,
errors that quote files, a gzip bomb, uploads left behind, imports in the server's process, raw ids
leaking from pseudonymised imports, and a pseudonym key that depends on the working folder."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from analytics.cli import main
from analytics.errors import ShopLensError
from analytics.importing import ImportLimits, get_preset, import_files
from analytics.importing.jobs import cancel, cleanup, poll, start_import, start_validation, wait
from analytics.importing.paths import IMPORT_FOLDER_ENV, resolve_import_path
from analytics.importing.preview import preview_file
from analytics.importing.pseudonyms import KEY_FILE_ENV, key_path_for
from analytics.importing.uploads import UPLOAD_FOLDER_ENV, clean_stale_uploads, discard_upload, save_upload

REPO_ROOT = Path(__file__).resolve().parents[1]
HEADER = "user_id,item_id,category_id,behavior_type,timestamp\n"
GOOD = HEADER + "1,10,100,pv,1511658000\n2,11,100,buy,1511658060\n"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _query(warehouse: Path, sql: str):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


# --------------------------------------------------------------------------- paths typed in the browser


@pytest.fixture()
def import_folder(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "imports"
    folder.mkdir()
    monkeypatch.setenv(IMPORT_FOLDER_ENV, str(folder))
    return folder


def test_without_an_import_folder_no_typed_path_is_read(monkeypatch, tmp_path):
    monkeypatch.delenv(IMPORT_FOLDER_ENV, raising=False)
    export = _write(tmp_path, "fine.csv", GOOD)
    with pytest.raises(ShopLensError, match="turned off; upload the file instead"):
        resolve_import_path(str(export))


@pytest.mark.parametrize("typed", ["/etc/passwd", "../../../etc/passwd", "/proc/self/status", "..", "sub/../../x.csv"])
def test_paths_outside_the_import_folder_are_refused_without_a_word_of_their_content(import_folder, typed):
    with pytest.raises(ShopLensError) as refused:
        resolve_import_path(typed)
    message = str(refused.value)
    assert "outside the import folder" in message
    assert "root" not in message and "Name:" not in message and "/etc" not in message


def test_a_symlink_out_of_the_import_folder_is_refused(import_folder, tmp_path):
    secret = _write(tmp_path, "secret.csv", "password,hunter2\n")
    (import_folder / "innocent.csv").symlink_to(secret)
    (import_folder / "escape").symlink_to(tmp_path)

    with pytest.raises(ShopLensError, match="outside the import folder"):
        resolve_import_path("innocent.csv")
    with pytest.raises(ShopLensError, match="outside the import folder"):
        resolve_import_path("escape/secret.csv")


def test_files_inside_the_import_folder_are_resolved(import_folder):
    export = _write(import_folder, "export.csv", GOOD)
    (import_folder / "sub").mkdir()
    (import_folder / "link.csv").symlink_to(export)

    assert resolve_import_path("export.csv") == export.resolve()
    assert resolve_import_path(str(export)) == export.resolve()
    assert resolve_import_path("sub/../link.csv") == export.resolve()
    with pytest.raises(ShopLensError, match="not a regular file"):
        resolve_import_path("sub")
    with pytest.raises(ShopLensError, match="there is no file missing.csv in the import folder"):
        resolve_import_path("missing.csv")


# --------------------------------------------------------------------------- messages never quote the file


def test_a_file_in_the_wrong_layout_is_described_not_quoted(tmp_path):
    export = _write(tmp_path, "secret.csv", "SECRET-TOKEN-123,hunter2\nroot:x:0:0\n")

    with pytest.raises(ShopLensError) as refused:
        import_files([export], get_preset("taobao"), tmp_path / "w.duckdb")
    message = str(refused.value)
    assert "secret.csv: line 1 has 2 column name(s)" in message and "needs user_id" in message
    assert "SECRET" not in message and "hunter2" not in message and "root" not in message
    with pytest.raises(ShopLensError) as previewed:
        preview_file(export, get_preset("taobao"))
    assert "SECRET" not in str(previewed.value)


def test_a_json_lines_file_in_the_wrong_layout_is_not_quoted(tmp_path):
    export = _write(tmp_path, "status.jsonl", '{"Name": "python", "Uid": "SECRET-1000"}\n')
    with pytest.raises(ShopLensError) as refused:
        import_files([export], get_preset("ga4"), tmp_path / "w.duckdb")
    assert "SECRET" not in str(refused.value) and "python" not in str(refused.value)


def test_a_malformed_line_is_described_in_the_users_words(tmp_path):
    export = _write(tmp_path, "gaps.csv", HEADER + "1,10,100,pv,1511658000\n2,10,100,pv,1511658000,extra\n")

    report = import_files([export], get_preset("taobao"), tmp_path / "w.duckdb")

    rule = next(rule for rule in report.rules if rule.rule == "malformed line")
    assert rule.examples[0][1] == 3 and rule.examples[0][2].startswith("has 6 fields, the header has 5")


def test_a_truncated_gzip_says_so_without_an_io_error_or_a_temp_path(tmp_path):
    truncated = tmp_path / "cut.csv.gz"
    truncated.write_bytes(gzip.compress((GOOD * 2000).encode())[:-64])

    with pytest.raises(ShopLensError) as refused:
        import_files([truncated], get_preset("taobao"), tmp_path / "w.duckdb")
    assert str(refused.value) == "cut.csv.gz ends early: it looks truncated; upload (or copy) it again"


# --------------------------------------------------------------------------- limits before staging


def _gzip_bomb(path: Path, expanded_bytes: int) -> Path:
    """A gzip file of `expanded_bytes` of valid Taobao rows, made of repeated gzip members (a few MB on disk)."""
    line = b"1,10,100,pv,1511658000\n"
    chunk = line * ((1 << 20) // len(line))
    member = gzip.compress(chunk, compresslevel=9)
    with open(path, "wb") as sink:
        sink.write(gzip.compress(HEADER.encode()))
        for _ in range(expanded_bytes // len(chunk)):
            sink.write(member)
    return path


_BOMB_RUN = """
import json, sys, time
from pathlib import Path
from analytics.errors import ShopLensError
from analytics.importing import get_preset, import_files
started = time.monotonic()
try:
    import_files([Path(sys.argv[1])], get_preset("taobao"), Path(sys.argv[2]))
    outcome = "imported"
except ShopLensError as error:
    outcome = str(error)
# VmHWM is this program's own peak (ru_maxrss would also count the pages of the process it was forked from).
peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"outcome": outcome, "seconds": time.monotonic() - started, "peak_bytes": peak}))
"""


def test_a_gzip_bomb_is_refused_before_staging_with_little_memory(tmp_path):
    bomb = _gzip_bomb(tmp_path / "bomb.csv.gz", 1 << 30)
    assert bomb.stat().st_size < 8 << 20  # a few MB that expand to 1 GiB
    warehouse = tmp_path / "w.duckdb"

    child = subprocess.run([sys.executable, "-c", _BOMB_RUN, str(bomb), str(warehouse)], cwd=REPO_ROOT,
                           env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True,
                           timeout=300, check=True)

    result = json.loads(child.stdout)
    assert "looks like a decompression bomb" in result["outcome"]
    # It stops reading after a few dozen MB: the process never holds the expanded file.
    assert result["peak_bytes"] < 1 << 30
    assert not warehouse.exists()


def test_rows_and_bytes_are_limited_and_the_message_says_how_to_allow_more(tmp_path):
    export = _write(tmp_path, "five.csv", HEADER + "1,10,100,pv,1511658000\n" * 5)

    with pytest.raises(ShopLensError, match="has more than 4 lines, the most an import reads; .*SHOPLENS_IMPORT_MAX_ROWS"):
        import_files([export], get_preset("taobao"), tmp_path / "w.duckdb", limits=ImportLimits(max_rows=4))
    with pytest.raises(ShopLensError, match="more than 100 bytes of text once decompressed.*SHOPLENS_IMPORT_MAX_BYTES"):
        import_files([export], get_preset("taobao"), tmp_path / "w.duckdb", limits=ImportLimits(max_bytes=100))
    # Six lines (a header and five rows) within a limit of six: imported.
    assert import_files([export], get_preset("taobao"), tmp_path / "w.duckdb",
                        limits=ImportLimits(max_rows=6)).files[0].rows_read == 5


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SHOPLENS_IMPORT_MAX_ROWS", "1000")
    monkeypatch.setenv("SHOPLENS_IMPORT_MAX_RATIO", "20")
    assert ImportLimits.from_environment() == ImportLimits(max_rows=1000, max_ratio=20.0)
    monkeypatch.setenv("SHOPLENS_IMPORT_MAX_BYTES", "lots")
    with pytest.raises(ShopLensError, match="SHOPLENS_IMPORT_MAX_BYTES='lots' is not a positive number"):
        ImportLimits.from_environment()


def test_a_parquet_file_is_judged_from_its_footer(tmp_path):
    export = tmp_path / "events.parquet"
    with duckdb.connect() as con:
        con.execute(f"copy (select '1' as user_id, '10' as item_id, '100' as category_id, 'pv' as behavior_type, "
                    f"'1511658000' as timestamp from range(10)) to '{export}' (format parquet)")
    with pytest.raises(ShopLensError, match="has 10 rows, more than the 9 an import reads"):
        import_files([export], get_preset("taobao"), tmp_path / "w.duckdb", limits=ImportLimits(max_rows=9))


# --------------------------------------------------------------------------- uploads and jobs


@pytest.fixture()
def upload_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "uploads"
    monkeypatch.setenv(UPLOAD_FOLDER_ENV, str(root))
    return root


def test_an_upload_is_streamed_to_its_own_private_folder_and_discarded(upload_root):
    path = save_upload(io.BytesIO(GOOD.encode()), "../../etc/My Export (1).csv.gz")

    assert path.name == "My_Export_1_.csv.gz" and path.parent.parent == upload_root.resolve()
    assert path.read_bytes() == GOOD.encode()
    assert path.parent.stat().st_mode & 0o777 == 0o700
    discard_upload(path)
    assert not path.parent.exists()


def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(upload_root):
    with pytest.raises(ShopLensError, match="larger than 0 MiB, the most an upload may be"):
        save_upload(io.BytesIO(b"x" * 5000), "big.csv", max_bytes=4096)
    assert list(upload_root.glob("upload-*")) == []


def test_uploads_left_behind_are_removed_after_a_day(upload_root):
    old = save_upload(io.BytesIO(b"a"), "old.csv")
    new = save_upload(io.BytesIO(b"b"), "new.csv")
    day_ago = time.time() - 25 * 3600
    os.utime(old.parent, (day_ago, day_ago))

    assert clean_stale_uploads() == 1
    assert not old.exists() and new.exists()


def test_a_validation_runs_in_a_worker_process_and_reports(upload_root, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    upload = save_upload(io.BytesIO(GOOD.encode()), "first.csv")

    job = start_validation(upload, "taobao", "ann@example.com", warehouse=warehouse)
    status = wait(job, timeout_seconds=120)

    assert job.pid != os.getpid()
    assert status.state == "done" and status.report is not None and not status.report.committed
    assert status.report.rows_loaded == 2 and not warehouse.exists()
    committed = wait(start_import(upload, "taobao", "ann@example.com", warehouse=warehouse), timeout_seconds=120)
    assert committed.state == "done" and committed.report.committed
    assert _query(warehouse, "select count(*) from source_events")[0][0] == 2
    cleanup(job)
    discard_upload(upload)
    assert not job.folder.exists() and not upload.exists()


def test_one_job_per_user_at_a_time_and_a_cancelled_import_changes_nothing(upload_root, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    import_files([_write(tmp_path, "first.csv", GOOD)], get_preset("taobao"), warehouse)
    before = warehouse.read_bytes()
    # Big enough to take a few seconds: 2M rows.
    big = tmp_path / "big.csv"
    with open(big, "w", encoding="utf-8") as sink:
        sink.write(HEADER)
        for block in range(200):
            sink.write("".join(f"{block * 10_000 + row},10,100,pv,1511658000\n" for row in range(10_000)))

    job = start_import(big, "taobao", "ann@example.com", warehouse=warehouse)
    with pytest.raises(ShopLensError, match="you already have a validation or import running"):
        start_validation(big, "taobao", "ann@example.com", warehouse=warehouse)
    other = start_validation(_write(tmp_path, "small.csv", GOOD), "taobao", "bob@example.com", warehouse=warehouse)
    cancel(job)

    assert poll(job).state == "cancelled" and "nothing was changed" in poll(job).message
    assert warehouse.read_bytes() == before
    assert wait(other, timeout_seconds=120).state == "done"
    # Ann may start again once her job has stopped.
    again = start_validation(_write(tmp_path, "small2.csv", GOOD), "taobao", "ann@example.com", warehouse=warehouse)
    assert wait(again, timeout_seconds=120).state == "done"
    for finished in (job, other, again):
        cleanup(finished)


def test_a_gzip_bomb_in_a_job_is_refused_in_the_worker(upload_root, tmp_path):
    bomb = _gzip_bomb(tmp_path / "bomb.csv.gz", 512 << 20)

    status = wait(start_validation(bomb, "taobao", "ann@example.com", warehouse=tmp_path / "w.duckdb"),
                  timeout_seconds=300)

    assert status.state == "failed" and "looks like a decompression bomb" in status.message


def test_a_worker_over_its_memory_limit_fails_with_a_sentence(upload_root, tmp_path):
    status = wait(start_validation(_write(tmp_path, "first.csv", GOOD), "taobao", "ann@example.com",
                                   warehouse=tmp_path / "w.duckdb", memory_bytes=300 << 20), timeout_seconds=120)

    assert status.state == "failed"
    assert "memory" in status.message and "nothing was changed" in status.message


# --------------------------------------------------------------------------- pseudonymisation that holds


SHOPIFY = """Name,Email,Financial Status,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Lineitem discount
#1001,ann@example.com,paid,2023-01-15 10:23:45 -0500,2,Mug,12.50,MUG-1,0.00
#1002,bob@example.com,paid,yesterday,1,Tea,15.00,TEA-1,0.00
#1003,cat@example.com,paid,2023-01-16 09:00:00 -0500,1,Tea,15.00,TEA-1,0.00,surplus
"""


def test_no_raw_id_is_stored_or_printed_after_pseudonymising(tmp_path, capsys):
    warehouse = tmp_path / "w.duckdb"
    export = _write(tmp_path, "orders_export.csv", SHOPIFY)

    assert main(["import", str(export), "--preset", "shopify", "--pseudonymize", "--warehouse", str(warehouse)]) == 0
    assert main(["rejects", "--warehouse", str(warehouse), "--format", "csv"]) == 0
    assert main(["imports", "--warehouse", str(warehouse), "--format", "json"]) == 0
    printed = capsys.readouterr()

    everything = [printed.out, printed.err, (tmp_path / "w.duckdb.audit.jsonl").read_text()]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for (table,) in con.execute("select table_name from duckdb_tables()").fetchall():
            everything.append(con.execute(f"select * from {table}").df().to_csv())
    assert not any("@example.com" in text for text in everything)
    # The rejected rows are still there to inspect, by pseudonym: line 3 (bad time), line 4 (a 10th field).
    key = key_path_for(warehouse).read_text().strip()
    bob = "p_" + hmac.new(bytes.fromhex(key), b"bob@example.com", hashlib.sha256).hexdigest()[:20]
    assert _query(warehouse, "select line, reason from rejects order by line") == [
        (3, "unparseable timestamp"), (4, "malformed line")]
    assert bob in _query(warehouse, "select row_text from rejects where line = 3")[0][0]
    assert _query(warehouse, "select row_text from rejects where line = 4")[0][0] == "has 10 fields, the header has 9"


def test_the_preview_hides_the_user_column_when_pseudonymising(tmp_path):
    export = _write(tmp_path, "orders_export.csv", SHOPIFY)
    preview = preview_file(export, get_preset("shopify"), hide_user_ids=True)
    assert set(preview.rows["Email"]) == {"(pseudonymised)"}
    assert "#1001" in set(preview.rows["Name"])


def test_the_key_lives_beside_the_warehouse_whatever_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    warehouse = tmp_path / "shop" / "w.duckdb"
    export = _write(tmp_path, "first.csv", GOOD)
    later = _write(tmp_path, "later.csv", HEADER + "1,12,100,pv,1511744400\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()

    monkeypatch.chdir(tmp_path / "a")
    import_files([export], get_preset("taobao"), Path(os.path.relpath(warehouse)), pseudonymize=True)
    monkeypatch.chdir(tmp_path / "b")
    import_files([later], get_preset("taobao"), Path(os.path.relpath(warehouse)), pseudonymize=True)

    assert key_path_for(warehouse) == tmp_path / "shop" / "w.duckdb.pseudonym-key"
    assert not (tmp_path / "a" / ".shoplens").exists() and not (tmp_path / "b" / ".shoplens").exists()
    # User 1 of both files is one customer.
    assert _query(warehouse, "select count(distinct user_id) from source_events")[0][0] == 2


def test_an_import_with_another_key_is_refused(tmp_path, monkeypatch):
    warehouse = tmp_path / "w.duckdb"
    import_files([_write(tmp_path, "first.csv", GOOD)], get_preset("taobao"), warehouse, pseudonymize=True)
    before = warehouse.read_bytes()
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "other.key"))

    with pytest.raises(ShopLensError, match="pseudonymised with another key .*use the key file it was made with"):
        import_files([_write(tmp_path, "later.csv", GOOD)], get_preset("taobao"), warehouse, pseudonymize=True)
    assert warehouse.read_bytes() == before


def test_a_relative_key_file_setting_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_FILE_ENV, "keys/secret.key")
    with pytest.raises(ShopLensError, match="is a relative path; give an absolute one"):
        import_files([_write(tmp_path, "first.csv", GOOD)], get_preset("taobao"), tmp_path / "w.duckdb",
                     pseudonymize=True)


def test_a_warehouse_pseudonymised_by_the_old_unkeyed_hash_is_refused(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    import_files([_write(tmp_path, "first.csv", GOOD)], get_preset("taobao"), warehouse, pseudonymize=True)
    with duckdb.connect(str(warehouse)) as con:  # as an earlier release left it: no fingerprint
        con.execute("drop table meta_pseudonymisation")

    with pytest.raises(ShopLensError, match="earlier ShopLens \\(an unkeyed hash\\)"):
        import_files([_write(tmp_path, "later.csv", GOOD)], get_preset("taobao"), warehouse, pseudonymize=True)
