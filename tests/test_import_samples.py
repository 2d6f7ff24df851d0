"""Each preset on the real samples in ../shared/data: counts after import equal counts from the raw file.

The expected numbers are computed here with the csv module, independently
of DuckDB and of the importer's SQL. The tests skip when the folder is absent.
"""

from __future__ import annotations

import csv
import gzip
import os
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from analytics.cli import main
from analytics.importing import get_preset, import_files

# ../shared/data beside the repository, or wherever $SHOPLENS_SHARED_DATA points (a worktree elsewhere).
SHARED_DATA = Path(os.environ.get("SHOPLENS_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
TAOBAO = SHARED_DATA / "taobao_userbehavior_excerpt" / "userbehavior_excerpt.csv.gz"
CDNOW = SHARED_DATA / "cdnow" / "cdnow_transactions.csv.gz"
DIGINETICA = SHARED_DATA / "diginetica_sample" / "sample_train-item-views.csv"
UCI_DAILY = SHARED_DATA / "uci_online_retail_top30_daily" / "online_retail_top30_items_daily_qty.csv"


def _needs(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"{path} is absent (the shared data folder ../shared/data is not next to the repository)")


def _rows(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def _query(warehouse: Path, sql: str):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_taobao_counts_match_the_raw_file(tmp_path):
    _needs(TAOBAO)
    rows = _rows(TAOBAO)
    behaviour = {"pv": "view", "cart": "cart", "fav": "favorite", "buy": "purchase"}
    expected = Counter(behaviour[row["behavior_type"]] for row in rows)
    first = min(int(row["timestamp"]) for row in rows)
    warehouse = tmp_path / "w.duckdb"

    report = import_files([TAOBAO], get_preset("taobao"), warehouse)

    assert report.rows_loaded == len(rows) == 110_300
    assert report.rows_rejected == 0
    assert dict(_query(warehouse, "select event_type, count(*) from fct_events group by all")) == dict(expected)
    assert _query(warehouse, "select count(distinct user_id) from fct_events")[0][0] == len({r["user_id"] for r in rows})
    start = datetime.fromtimestamp(first, UTC).replace(tzinfo=None)
    assert _query(warehouse, "select min(event_time) from fct_events")[0][0] == start
    # Buys become orders: one per user and second (Taobao has no sessions), one line per buy, no prices.
    buys = [row for row in rows if row["behavior_type"] == "buy"]
    assert (report.derived_orders, report.derived_order_lines) == (
        len({(row["user_id"], row["timestamp"]) for row in buys}), len(buys))
    assert _query(warehouse, "select count(*), sum(units), sum(revenue) from fct_orders")[0] == (
        report.derived_orders, len(buys), 0.0)
    capabilities = dict(_query(warehouse, "select analysis, is_supported from meta_capabilities"))
    assert capabilities["funnels"] is True and capabilities["revenue"] is False
    assert _query(warehouse, "select is_sample from meta_warehouse")[0][0] is False


def test_taobao_chain_import_then_info_and_imports(tmp_path, capsys):
    _needs(TAOBAO)
    warehouse = tmp_path / "x.duckdb"

    assert main(["import", str(TAOBAO), "--preset", "taobao", "--warehouse", str(warehouse)]) == 0
    assert main(["imports", "--warehouse", str(warehouse), "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert '"rows_loaded": 110300' in out
    assert main(["info", "--warehouse", str(warehouse), "--format", "json"]) == 0
    assert '"is_sample": false' in capsys.readouterr().out


def test_cdnow_counts_and_revenue_match_the_raw_file(tmp_path):
    _needs(CDNOW)
    rows = _rows(CDNOW)
    def is_valid(row: dict[str, str]) -> bool:
        # A line of CDs bought for $0 is a real (free) purchase and is kept; only negative amounts are refused.
        return float(row["dollar_value"]) >= 0 and int(row["number_of_cds"]) > 0

    accepted = [row for row in rows if is_valid(row)]
    # Line 1 is the header, so the first data row is line 2.
    rejected_lines = [number for number, row in enumerate(rows, start=2) if not is_valid(row)]
    warehouse = tmp_path / "w.duckdb"

    report = import_files([CDNOW], get_preset("cdnow"), warehouse)

    assert report.rows_loaded == len(accepted) == len(rows)
    assert sum(float(row["dollar_value"]) == 0 for row in rows) == 80
    assert report.rows_rejected == len(rows) - len(accepted) == 0
    (orders, customers, units, revenue), = _query(
        warehouse, "select count(*), count(distinct user_id), sum(units), sum(revenue) from fct_orders")
    assert orders == len(accepted)
    assert customers == len({row["customer_id"] for row in accepted})
    assert units == sum(int(row["number_of_cds"]) for row in accepted)
    assert revenue == pytest.approx(sum(float(row["dollar_value"]) for row in accepted), rel=1e-9)
    lines = [line for (line,) in _query(warehouse, "select line from rejects order by line")]
    assert lines == rejected_lines
    capabilities = dict(_query(warehouse, "select analysis, is_supported from meta_capabilities"))
    assert capabilities["funnels"] is False and capabilities["customers"] is True and capabilities["revenue"] is True


def test_diginetica_counts_match_the_raw_file(tmp_path):
    _needs(DIGINETICA)
    rows = _rows(DIGINETICA, delimiter=";")
    warehouse = tmp_path / "w.duckdb"

    report = import_files([DIGINETICA], get_preset("diginetica"), warehouse)

    assert report.rows_loaded == len(rows)
    assert _query(warehouse, "select count(*), count(distinct session_id) from fct_events")[0] == (
        len(rows), len({row["session_id"] for row in rows}))
    anonymous = sum(row["user_id"] == "NA" for row in rows)
    assert _query(warehouse, "select count(*) from fct_events where user_id like 'anonymous:%'")[0][0] == anonymous
    expected_times = sorted(
        (row["session_id"], row["item_id"],
         datetime.fromisoformat(row["eventdate"]) + timedelta(milliseconds=int(row["timeframe"])))
        for row in rows
    )
    assert sorted(_query(warehouse, "select session_id, product_id, event_time from source_events")) == expected_times


def test_uci_daily_aggregate_becomes_units_per_item_and_day(tmp_path):
    _needs(UCI_DAILY)
    rows = _rows(UCI_DAILY)
    warehouse = tmp_path / "w.duckdb"

    report = import_files([UCI_DAILY], get_preset("uci_online_retail"), warehouse)

    assert report.files[0].layout == "uci_online_retail_daily"
    assert report.rows_loaded == len(rows) == 7_506
    assert _query(warehouse, "select sum(quantity), count(distinct product_id) from fct_order_items")[0] == (
        sum(int(row["y"]) for row in rows), len({row["item"] for row in rows}))
    first_day = min(date.fromisoformat(row["ds"]) for row in rows)
    assert _query(warehouse, "select min(order_date) from fct_orders")[0][0] == first_day
    capabilities = dict(_query(warehouse, "select analysis, is_supported from meta_capabilities"))
    # No prices and no customers in the aggregate: say so rather than show zero revenue or one giant customer.
    assert capabilities["revenue"] is False and capabilities["customers"] is False and capabilities["forecasts"] is True


def test_reimporting_a_real_sample_changes_no_data(tmp_path):
    _needs(CDNOW)
    warehouse = tmp_path / "w.duckdb"
    import_files([CDNOW], get_preset("cdnow"), warehouse)
    content = ("select count(*), bit_xor(hash(order_id, line_number, product_id, quantity, unit_price)) "
               "from source_order_items")
    before = _query(warehouse, content)

    again = import_files([CDNOW], get_preset("cdnow"), warehouse)

    assert again.rows_loaded == 0 and again.files[0].rows_already_loaded == 69_659
    assert _query(warehouse, content) == before
    assert _query(warehouse, "select count(*) from meta_imports")[0][0] == 2

