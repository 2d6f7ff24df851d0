"""Warehouse settings (the currency), kept beside the warehouse, and `shoplens settings`."""

from __future__ import annotations

import json

import pytest

from analytics.cli import main
from analytics.errors import ShopLensError
from analytics.settings import Settings, load_settings, save_settings, settings_file


def test_a_saved_currency_is_read_back_and_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.delenv("SHOPLENS_CURRENCY", raising=False)
    warehouse = tmp_path / "warehouse.duckdb"
    assert load_settings(warehouse) == Settings(currency="")

    save_settings(warehouse, Settings(currency=" ¥ "))
    assert load_settings(warehouse).currency == "¥"
    assert settings_file(warehouse).parent == tmp_path

    monkeypatch.setenv("SHOPLENS_CURRENCY", "€")
    assert load_settings(warehouse).currency == "€"


@pytest.mark.parametrize("symbol", ["dollars", 'x"y', "a\nb"])
def test_something_that_is_not_a_symbol_is_refused(tmp_path, symbol):
    with pytest.raises(ShopLensError, match="not a symbol"):
        save_settings(tmp_path / "w.duckdb", Settings(currency=symbol))
    assert not settings_file(tmp_path / "w.duckdb").exists()


def test_the_command_sets_and_shows_the_currency(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SHOPLENS_CURRENCY", raising=False)
    warehouse = str(tmp_path / "warehouse.duckdb")
    assert main(["settings", "--warehouse", warehouse, "--currency", "£", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"currency": "£"}
    assert main(["settings", "--warehouse", warehouse, "--currency", "pounds sterling"]) == 2
    assert "not a symbol" in capsys.readouterr().err
