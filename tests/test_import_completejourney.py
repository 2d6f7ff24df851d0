"""The `completejourney` preset and the fixes found on The Complete Journey (issue 15, part 3).

A small hand-made copy of its three files (rows taken from the real data, see
../shared/data/completejourney/PROVENANCE.md) pins each fix with values worked
out by hand; the last test imports the real files when they are present and
compares with counts computed here with the csv module, independently of DuckDB.
"""

from __future__ import annotations

import csv
import gzip
import os
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from analytics.cli import main
from analytics.importing import Mapping, get_preset, import_files, preset_from_mapping

SHARED_DATA = Path(os.environ.get("SHOPLENS_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
REAL = SHARED_DATA / "completejourney"

TRANSACTIONS = """household_id,store_id,basket_id,product_id,quantity,sales_value,retail_disc,coupon_disc,coupon_match_disc,week,transaction_timestamp
900,330,31198570044,1095275,2,3.0,0.0,0.0,0.0,1,2017-01-01 11:53:26
1306,381,31747819917,942088,1,0.25,0.0,0.0,0.0,6,2017-02-05 04:22:10
1306,381,31747819918,942088,1,0.25,0.0,0.0,0.0,6,2017-02-05 04:22:10
1907,369,31502778568,866858,0,0.5,0.0,0.0,0.0,4,2017-01-20 20:44:40
143,324,31553913307,5995423,0,0.01,0.0,0.0,0.0,5,2017-01-25 05:41:04
1899,31782,31198500220,1079228,1,0.0,0.0,0.0,0.0,1,2017-01-01 15:48:12
1465,330,31198920207,861792,0,0.0,0.0,0.0,0.0,1,2017-01-01 14:46:04
"""
# Line 2: a normal line. Lines 3-4: two baskets of household 1306 in the same second with the
# same product (real lines; the old duplicate rule dropped one). Lines 5-6: quantity 0 with sales
# 0.50 and 0.01 (revenue adjustments). Line 7: a free item (sales 0). Line 8: quantity 0, no sales.

PRODUCTS = """product_id,manufacturer_id,department,brand,product_category,product_type,package_size
1095275,2,GROCERY,National,FRZN ICE,ICE - CRUSHED/CUBED,22 LB
942088,69,PASTRY,Private,BREAD,BREAD:ITALIAN/FRENCH,
1079228,2,MISCELLANEOUS,National,,,
"""

CAMPAIGNS = """campaign_id,campaign_type,start_date,end_date
1,Type B,2017-03-03,2017-04-09
3,Type C,2017-03-13,2017-05-08
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _query(warehouse: Path, sql: str):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture()
def journey(tmp_path: Path) -> Path:
    """A folder with the three files, gzip-compressed as they are shipped."""
    folder = tmp_path / "completejourney"
    folder.mkdir()
    _write(folder, "transactions.csv.gz", TRANSACTIONS)
    _write(folder, "products.csv.gz", PRODUCTS)
    _write(folder, "campaign_descriptions.csv.gz", CAMPAIGNS)
    _write(folder, "demographics.csv.gz", "household_id,age\n1,65+\n")
    return folder


def test_the_preset_reads_transactions_products_and_campaigns_in_one_import(tmp_path, journey, capsys):
    warehouse = tmp_path / "w.duckdb"

    assert main(["import", str(journey), "--preset", "completejourney", "--warehouse", str(warehouse)]) == 0

    err = capsys.readouterr().err
    # The folder's other files are named, not imported.
    assert "not in the preset's layouts: demographics.csv.gz" in err
    # 7 lines: 4 kept (lines 2, 3, 4, 7); 2 revenue adjustments and 1 zero-quantity line rejected.
    assert "transactions.csv.gz (completejourney_transactions): 7 rows read, 4 loaded" in err
    assert "3 rejected" in err
    assert "products.csv.gz (completejourney_products): 3 rows read, 3 loaded" in err
    assert "campaign_descriptions.csv.gz (completejourney_campaigns): 2 rows read, 2 loaded" in err


def test_two_baskets_in_the_same_second_are_two_orders_not_a_duplicate(tmp_path, journey):
    warehouse = tmp_path / "w.duckdb"
    import_files([journey / "transactions.csv.gz"], get_preset("completejourney"), warehouse)

    assert _query(warehouse, "select order_id, units, revenue from fct_orders where user_id = '1306' "
                             "order by order_id") == [("31747819917", 1, 0.25), ("31747819918", 1, 0.25)]
    # The purchase events made from them keep their basket, so they stay two events too.
    assert _query(warehouse, "select order_id from source_events where user_id = '1306' order by order_id") == [
        ("31747819917",), ("31747819918",)]


def test_an_events_import_with_a_basket_id_keeps_both_baskets(tmp_path):
    # The case: the same transactions read as purchase events, with the basket as order id.
    events = Mapping(
        name="journey_events", target="events", event_type="purchase",
        fields={"user_id": "household_id", "product_id": "product_id", "event_time": "transaction_timestamp",
                "order_id": "basket_id", "quantity": "quantity"},
    )
    export = _write(tmp_path, "transactions.csv", TRANSACTIONS)
    warehouse = tmp_path / "w.duckdb"

    report = import_files([export], preset_from_mapping(events), warehouse)

    assert "duplicate row" not in {rule.rule for rule in report.rules}
    assert _query(warehouse, "select count(*) from source_events where user_id = '1306'")[0][0] == 2
    # Each basket becomes its own order (one order per transaction id).
    assert _query(warehouse, "select count(*) from fct_orders where user_id = '1306'")[0][0] == 2


def test_without_an_order_id_a_repeated_event_is_still_a_duplicate(tmp_path):
    events = Mapping(
        name="journey_events", target="events", event_type="purchase",
        fields={"user_id": "household_id", "product_id": "product_id", "event_time": "transaction_timestamp"},
    )
    export = _write(tmp_path, "transactions.csv", TRANSACTIONS)

    report = import_files([export], preset_from_mapping(events), tmp_path / "w.duckdb")

    # Lines 3 and 4 differ only in the basket, which this mapping does not read: the second repeats the first.
    duplicates = next(rule for rule in report.rules if rule.rule == "duplicate row")
    assert duplicates.count == 1 and duplicates.examples[0][1] == 4


def test_zero_quantity_lines_with_sales_are_reported_as_revenue_adjustments(tmp_path, journey, capsys):
    warehouse = tmp_path / "w.duckdb"

    report = import_files([journey / "transactions.csv.gz"], get_preset("completejourney"), warehouse)

    rules = {rule.rule: rule for rule in report.rules}
    # Lines 5 and 6: 0.50 + 0.01 = 0.51 of sales without units.
    assert report.revenue_adjustments == (2, pytest.approx(0.51))
    assert rules["revenue adjustment (zero quantity)"].count == 2
    assert [example[1] for example in rules["revenue adjustment (zero quantity)"].examples] == [5, 6]
    # Line 8 has neither units nor sales.
    assert rules["negative or zero quantity"].count == 1
    assert "2 line(s) with quantity 0 carry 0.51 of sales (revenue adjustments)" in report.summary()
    assert _query(warehouse, "select count(*) from rejects where reason = 'revenue adjustment (zero quantity)'")[0][0] == 2


def test_a_free_item_is_kept_and_revenue_is_what_the_retailer_received(tmp_path, journey):
    warehouse = tmp_path / "w.duckdb"
    import_files([journey / "transactions.csv.gz"], get_preset("completejourney"), warehouse)

    # Line 7: one item at 0.00 is a real purchase (revenue 0).
    assert _query(warehouse, "select units, revenue from fct_orders where order_id = '31198500220'") == [(1, 0.0)]
    # Revenue = sum of sales_value of kept lines: 3.00 + 0.25 + 0.25 + 0.00 = 3.50.
    assert _query(warehouse, "select count(*), sum(revenue), sum(units) from fct_orders")[0] == (4, pytest.approx(3.5), 5)
    # Line 2's unit price is 3.00 / 2 = 1.50.
    assert _query(warehouse, "select unit_price from source_order_items where order_id = '31198570044'")[0][0] == 1.5


def test_an_orders_only_import_derives_purchase_events_so_recommendations_are_offered(tmp_path, journey):
    warehouse = tmp_path / "w.duckdb"

    report = import_files([journey / "transactions.csv.gz"], get_preset("completejourney"), warehouse)

    # One purchase event per kept line with units: lines 2, 3, 4 and 7.
    assert report.derived_events == 4
    assert _query(warehouse, "select event_type, count(*), count(distinct product_id) from source_events "
                             "group by all") == [("purchase", 4, 3)]
    capabilities = dict(_query(warehouse, "select analysis, is_supported from meta_capabilities"))
    assert capabilities["recommendations"] is True
    # Still no views or carts: funnels stay unsupported, with the reason.
    assert capabilities["funnels"] is False


def test_reimporting_adds_nothing_and_derives_no_second_event(tmp_path, journey):
    warehouse = tmp_path / "w.duckdb"
    import_files([journey / "transactions.csv.gz"], get_preset("completejourney"), warehouse)

    again = import_files([journey / "transactions.csv.gz"], get_preset("completejourney"), warehouse)

    assert again.rows_loaded == 0 and again.files[0].rows_already_loaded == 4 and again.derived_events == 0
    assert _query(warehouse, "select count(*) from source_events")[0][0] == 4


def test_the_catalogue_gives_orders_their_categories(tmp_path, journey):
    warehouse = tmp_path / "w.duckdb"
    import_files([journey / "transactions.csv.gz"], get_preset("completejourney"), warehouse)
    # Before the catalogue, the orders' products have no category.
    assert _query(warehouse, "select category from fct_order_items where product_id = '942088' limit 1") == [
        ("Uncategorised",)]

    import_files([journey / "products.csv.gz"], get_preset("completejourney"), warehouse)

    assert _query(warehouse, "select category, subcategory, title, brand from dim_products "
                             "where product_id = '942088'") == [("PASTRY", "BREAD", "BREAD:ITALIAN/FRENCH", "Private")]
    # Department > category > type; the title joins type and package size.
    assert _query(warehouse, "select category_path, title from dim_products where product_id = '1095275'") == [
        ("GROCERY > FRZN ICE > ICE - CRUSHED/CUBED", "ICE - CRUSHED/CUBED 22 LB")]
    assert _query(warehouse, "select category_path, title from dim_products where product_id = '1079228'") == [
        ("MISCELLANEOUS", None)]
    # Revenue by category needs no hand-joining: 3.00 grocery, 0.50 pastry, 0.00 miscellaneous.
    assert _query(warehouse, "select category, sum(revenue) from fct_order_items group by all order by 1") == [
        ("GROCERY", 3.0), ("MISCELLANEOUS", 0.0), ("PASTRY", 0.5)]


def test_campaigns_become_promotions_with_their_dates(tmp_path, journey):
    warehouse = tmp_path / "w.duckdb"
    import_files([journey / "transactions.csv.gz", journey / "campaign_descriptions.csv.gz"],
                 get_preset("completejourney"), warehouse)

    assert _query(warehouse, "select promotion_id, name, start_date, end_date, scope, discount_rate "
                             "from stg_promotions order by promotion_id") == [
        ("1", "Type B", date(2017, 3, 3), date(2017, 4, 9), "all", 0.0),
        ("3", "Type C", date(2017, 3, 13), date(2017, 5, 8), "all", 0.0)]
    assert dict(_query(warehouse, "select analysis, is_supported from meta_capabilities"))["promotions"] is True


def test_the_time_zone_option_reads_naive_times_as_local_time(tmp_path, journey):
    warehouse = tmp_path / "w.duckdb"

    report = import_files([journey / "transactions.csv.gz"], get_preset("completejourney"), warehouse,
                          time_zone="America/New_York")

    # 2017-01-01 11:53:26 in New York (EST, UTC-5) is 16:53:26 UTC; 2017-02-05 04:22:10 EST is 09:22:10 UTC.
    assert _query(warehouse, "select ordered_at from source_orders where order_id = '31198570044'")[0][0] == datetime(
        2017, 1, 1, 16, 53, 26)
    assert _query(warehouse, "select ordered_at from source_orders where order_id = '31747819917'")[0][0] == datetime(
        2017, 2, 5, 9, 22, 10)
    assert "read as America/New_York time and stored as UTC" in report.summary()


@pytest.mark.slow
def test_the_real_complete_journey_keeps_every_real_row(tmp_path):
    if not (REAL / "transactions.csv.gz").is_file():
        pytest.skip(f"{REAL} is absent (set SHOPLENS_SHARED_DATA to the shared data folder)")
    with gzip.open(REAL / "transactions.csv.gz", "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    kept = [row for row in rows if int(row["quantity"]) > 0]
    adjustments = [row for row in rows if int(row["quantity"]) == 0 and float(row["sales_value"]) > 0]
    daily = Counter(row["transaction_timestamp"][:10] for row in kept)
    warehouse = tmp_path / "w.duckdb"

    report = import_files([REAL / "transactions.csv.gz", REAL / "products.csv.gz",
                           REAL / "campaign_descriptions.csv.gz"], get_preset("completejourney"), warehouse)

    transactions = next(file for file in report.files if file.target == "orders")
    assert transactions.rows_read == len(rows) == 1_469_307
    assert transactions.rows_loaded == len(kept)
    assert transactions.rows_rejected == len(rows) - len(kept)
    assert len(adjustments) == 49
    assert report.revenue_adjustments == (len(adjustments), pytest.approx(sum(float(r["sales_value"]) for r in adjustments)))
    assert report.revenue_adjustments[1] == pytest.approx(12.52, abs=0.005)
    (orders, customers, revenue), = _query(warehouse, "select count(*), count(distinct user_id), sum(revenue) "
                                                      "from fct_orders")
    assert orders == len({row["basket_id"] for row in kept})
    assert customers == len({row["household_id"] for row in kept}) == 2_469
    assert revenue == pytest.approx(sum(float(row["sales_value"]) for row in kept), rel=1e-9)
    assert _query(warehouse, "select count(*) from source_products")[0][0] == 92_331
    assert _query(warehouse, "select count(*) from source_promotions")[0][0] == 27
    assert _query(warehouse, "select count(*) from source_events")[0][0] == len(kept)
    # The last UTC day, 2018-01-01, holds a fraction of a normal day: flagged, and analyses end the day before.
    assert daily["2018-01-01"] < 0.5 * sorted(daily.values())[len(daily) // 2]
    assert _query(warehouse, "select data_end_date, complete_data_end_date from meta_warehouse")[0] == (
        date(2018, 1, 1), date(2017, 12, 31))
