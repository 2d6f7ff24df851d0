"""Saved views: named page settings kept beside the warehouse."""

from __future__ import annotations

import json

import pytest

from analytics.errors import ShopLensError
from analytics.saved_views import delete_view, list_views, save_view, views_file


def test_a_saved_view_reopens_with_its_settings(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    settings = {"funnel_by": "Device", "funnel_steps": 4, "funnel_compare": True, "category": ["Home", "图书"],
                "from": {"date": "2025-12-01"}, "funnel_exclude_from": None}
    save_view(warehouse, "funnels", "  Checkout   by device ", settings, saved_by="ana@example.com")

    (view,) = list_views(warehouse, "funnels")
    assert view.name == "Checkout by device"  # spaces tidied
    assert view.parameters == settings
    assert view.saved_by == "ana@example.com"
    assert list_views(warehouse, "customers") == []


def test_saving_a_name_again_replaces_it_and_the_newest_comes_first(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    save_view(warehouse, "funnels", "A", {"funnel_window": "1h"})
    save_view(warehouse, "funnels", "B", {"funnel_window": "1d"})
    save_view(warehouse, "funnels", "A", {"funnel_window": "7d"})

    assert [(view.name, view.parameters["funnel_window"]) for view in list_views(warehouse, "funnels")] == [
        ("A", "7d"), ("B", "1d")]


def test_delete_removes_only_that_view(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    save_view(warehouse, "funnels", "A", {})
    save_view(warehouse, "cart_dropoff", "A", {})

    assert delete_view(warehouse, "funnels", "A") is True
    assert delete_view(warehouse, "funnels", "A") is False
    assert [view.page for view in json_views(warehouse)] == ["cart_dropoff"]


@pytest.mark.parametrize(("name", "parameters", "message"), [
    ("   ", {}, "give the view a name"),
    ("x" * 81, {}, "at most 80"),
    ("ok", {"../../etc": "x"}, "page settings only"),
    ("ok", {"funnel_by": object()}, "cannot keep"),
])
def test_bad_names_and_parameters_are_refused(tmp_path, name, parameters, message):
    with pytest.raises(ShopLensError, match=message):
        save_view(tmp_path / "w.duckdb", "funnels", name, parameters)
    assert not views_file(tmp_path / "w.duckdb").exists()


def test_a_corrupt_file_is_reported_not_overwritten(tmp_path):
    path = views_file(tmp_path / "w.duckdb")
    path.write_text("{not json")
    with pytest.raises(ShopLensError, match="cannot be read"):
        list_views(tmp_path / "w.duckdb", "funnels")
    with pytest.raises(ShopLensError):
        save_view(tmp_path / "w.duckdb", "funnels", "A", {})
    assert path.read_text() == "{not json"


def json_views(warehouse):
    from types import SimpleNamespace

    return [SimpleNamespace(**record) for record in json.loads(views_file(warehouse).read_text())]
