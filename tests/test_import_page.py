"""The Data page in-process (AppTest): preview, mapping, validation report, explicit commit, history, rejects."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from analytics.importing import get_preset, import_files
from tests.page_runner import shown
from tests.tiny_shop import EVENTS

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = str(REPO_ROOT / "app.py")
HEADER = "user_id,item_id,category_id,behavior_type,timestamp\n"
FIRST = HEADER + "1,10,100,pv,1511658000\n2,11,100,pv,1511658060\n"
TINY_EVENTS = len(EVENTS)
SECOND = HEADER + "3,12,200,pv,1511744400\n4,12,200,buy,not-a-time\n3,12,200,cart,1511744460\n"


def _events(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("select count(*) from source_events").fetchone()[0]


@pytest.fixture()
def imported(tmp_path: Path, tiny_warehouse: Path) -> Path:
    """The tiny shop (built from canonical files, so not a sample) plus FIRST imported into it."""
    # The tiny shop has channels and devices, which the Overview's filters need (see the lead's note on
    # analytics.overview.filter_options for warehouses without them).
    warehouse = tmp_path / "w.duckdb"
    shutil.copyfile(tiny_warehouse, warehouse)
    first = tmp_path / "first.csv"
    first.write_text(FIRST, encoding="utf-8")
    import_files([first], get_preset("taobao"), warehouse)
    return warehouse


def _table(app: AppTest, column: str):
    """The first table on the page with `column` (AppTest does not expose dataframe keys)."""
    return next(frame.value for frame in app.dataframe if column in frame.value.columns)


def _data_page(monkeypatch: pytest.MonkeyPatch, warehouse: Path, import_folder: Path | None = None) -> AppTest:
    monkeypatch.setenv("SHOPLENS_WAREHOUSE", str(warehouse))
    if import_folder is not None:
        monkeypatch.setenv("SHOPLENS_IMPORT_FOLDER", str(import_folder))
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("pages/data.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _finish_job(app: AppTest) -> None:
    """Wait for the worker the page started, then draw the page as its status poll would."""
    from analytics.importing.jobs import wait

    _, job = app.session_state["data_job"]
    wait(job, timeout_seconds=120)
    app.run()
    assert not app.exception, [e.value for e in app.exception]


def test_validate_then_commit_appends_and_lists_history_and_rejects(monkeypatch, tmp_path, imported):
    second = tmp_path / "second.csv"
    second.write_text(SECOND, encoding="utf-8")
    app = _data_page(monkeypatch, imported, import_folder=tmp_path)

    app.radio(key="data_source").set_value("From the import folder").run()
    app.text_input(key="data_path").set_value("second.csv").run()
    app.selectbox(key="data_preset").set_value("taobao").run()
    preview = _table(app, "behavior_type")
    assert list(preview.columns) == ["user_id", "item_id", "category_id", "behavior_type", "timestamp"]
    assert len(preview) == 3
    mapping = _table(app, "canonical_field")
    assert ("user_id", "user_id") in set(zip(mapping["canonical_field"], mapping["source_column"]))

    app.button(key="data_validate").click().run()
    _finish_job(app)
    rules = _table(app, "examples")
    assert list(rules["rule"]) == ["unparseable timestamp"] and list(rules["rows"]) == [1]
    assert "second.csv:3" in rules["examples"][0]
    before = _events(imported)
    assert before == TINY_EVENTS + 2  # validating changes nothing

    app.button(key="data_commit").click().run()
    _finish_job(app)
    assert _events(imported) == before + 2
    assert any("Imported 2 rows (1 rejected)" in shown(s.value) for s in app.success)
    history = _table(app, "file_sha256")
    assert list(history["file_name"]) == ["second.csv", "first.csv"]
    rejects = _table(app, "reason")
    assert list(zip(rejects["line"], rejects["reason"])) == [(3, "unparseable timestamp")]


def test_a_file_in_the_wrong_format_shows_the_problem_not_a_traceback(monkeypatch, tmp_path, imported):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a;b;c\n1;2;3\n", encoding="utf-8")
    app = _data_page(monkeypatch, imported, import_folder=tmp_path)

    app.radio(key="data_source").set_value("From the import folder").run()
    app.text_input(key="data_path").set_value("wrong.csv").run()

    assert not app.exception
    assert any("wrong.csv" in shown(error.value) and "the 'taobao' layout needs" in shown(error.value)
               for error in app.error)
    # The message says what is expected, never what the file holds.
    assert not any("a;b;c" in error.value for error in app.error)
    assert _events(imported) == TINY_EVENTS + 2


def test_no_file_chosen_explains_what_to_do(monkeypatch, imported):
    app = _data_page(monkeypatch, imported)

    assert any("nothing is imported until you commit" in info.value for info in app.info)
    assert list(_table(app, "file_sha256")["rows_loaded"]) == [2]


def test_the_overview_shows_orders_derived_from_purchase_events(tmp_path, monkeypatch):
    from tests.test_import_presets import REES46_PURCHASES, RETAILROCKET_TRANSACTIONS

    shown = {}
    for preset, text in (("rees46", REES46_PURCHASES), ("retailrocket", RETAILROCKET_TRANSACTIONS)):
        export = tmp_path / f"{preset}.csv"
        export.write_text(text, encoding="utf-8")
        warehouse = tmp_path / f"{preset}.duckdb"
        import_files([export], get_preset(preset), warehouse)
        monkeypatch.setenv("SHOPLENS_WAREHOUSE", str(warehouse))
        app = AppTest.from_file(APP, default_timeout=30).run()
        assert not app.exception, [exception.value for exception in app.exception]
        shown[preset] = {metric.label: metric.value for metric in app.metric}

    # REES46 (worked out in test_import_presets): 4 orders, 1542.49 + 3 * 33.20 = 1,642.09, shown to the unit.
    assert (shown["rees46"]["Orders"], shown["rees46"]["Revenue"]) == ("4", "1,642")
    # RetailRocket: transactions 4000 and 4001, no prices, so no revenue tile.
    assert shown["retailrocket"]["Orders"] == "2" and "Revenue" not in shown["retailrocket"]


def test_server_paths_are_refused_without_an_import_folder_and_outside_it(monkeypatch, tmp_path, imported):
    app = _data_page(monkeypatch, imported)
    # No import folder configured: uploads only.
    assert app.radio(key="data_source").options == ["Upload"]

    inside = tmp_path / "exports"
    inside.mkdir()
    app = _data_page(monkeypatch, imported, import_folder=inside)
    app.radio(key="data_source").set_value("From the import folder").run()
    for attempt in ("/etc/passwd", "../../../etc/passwd", "/proc/self/status"):
        app.text_input(key="data_path").set_value(attempt).run()
        assert not app.exception
        assert app.error, attempt
        # Nothing of the file is shown, and no preview is drawn.
        assert not any("root:" in error.value for error in app.error)
        assert not any("behavior_type" in frame.value.columns for frame in app.dataframe)


def test_a_commit_can_be_undone_by_restoring_the_kept_version(monkeypatch, tmp_path, imported):
    second = tmp_path / "second.csv"
    second.write_text(SECOND, encoding="utf-8")
    app = _data_page(monkeypatch, imported, import_folder=tmp_path)
    before = _events(imported)
    app.radio(key="data_source").set_value("From the import folder").run()
    app.text_input(key="data_path").set_value("second.csv").run()
    app.button(key="data_validate").click().run()
    _finish_job(app)
    app.button(key="data_commit").click().run()
    _finish_job(app)
    assert _events(imported) == before + 2

    # The newest kept version is the warehouse the commit replaced.
    from analytics.warehouse_files import list_versions

    newest = list_versions(imported)[0]
    assert app.selectbox(key=f"data_version_{newest.version_id}").value == newest.version_id
    assert newest.events == before
    app.button(key="data_restore").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert _events(imported) == before
    assert any("Restored the warehouse" in shown(success.value) for success in app.success)
