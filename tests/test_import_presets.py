"""Presets without a real sample here, on small fixtures written from each format's public documentation,
and the generic mapping saved and loaded as TOML. Expected values are worked out by hand in the comments."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from analytics.cli import main
from analytics.errors import ShopLensError
from analytics.importing import (
    Mapping,
    get_preset,
    import_files,
    load_mapping,
    preset_from_mapping,
    save_mapping,
)
from analytics.importing.mapping import mapping_from_dict
from analytics.importing.presets import PRESETS


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _query(warehouse: Path, sql: str):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


# RetailRocket events.csv (Kaggle "Retailrocket recommender system dataset"): ms timestamps.
RETAILROCKET = """timestamp,visitorid,event,itemid,transactionid
1433221332117,257597,view,355908,
1433224214164,992329,view,248676,
1433221999827,257597,addtocart,355908,
1433222276276,257597,transaction,355908,4000
"""


def test_retailrocket(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    import_files([_write(tmp_path, "events.csv", RETAILROCKET)], get_preset("retailrocket"), warehouse)

    assert dict(_query(warehouse, "select event_type, count(*) from fct_events group by all")) == {
        "view": 2, "cart": 1, "purchase": 1}
    # 1433221332117 ms = 2015-06-02 05:02:12.117 UTC.
    assert _query(warehouse, "select min(event_time) from fct_events")[0][0] == datetime(2015, 6, 2, 5, 2, 12, 117000)


# REES46 "eCommerce behavior data from multi category store": times carry " UTC"; category codes use dots.
REES46 = """event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session
2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde-8bb3-4e00-8c23-a032dfed738c
2019-10-01 00:00:00 UTC,view,3900821,2053013552326770905,appliances.environment.water_heater,aqua,33.20,554748717,9333dfbd-b87a-4708-9857-6336556b0fcc
2019-10-01 00:00:01 UTC,cart,3900821,2053013552326770905,appliances.environment.water_heater,aqua,33.20,554748717,9333dfbd-b87a-4708-9857-6336556b0fcc
2019-10-01 00:00:05 UTC,purchase,3900821,2053013552326770905,appliances.environment.water_heater,aqua,33.20,554748717,9333dfbd-b87a-4708-9857-6336556b0fcc
2019-10-01 00:00:09 UTC,remove_from_cart,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde-8bb3-4e00-8c23-a032dfed738c
2019-10-01 00:00:10 UTC,view,1004237,2053013555631882655,electronics.smartphone,apple,-1.00,541312140,72d76fde-8bb3-4e00-8c23-a032dfed738c
"""


def test_rees46(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    report = import_files([_write(tmp_path, "2019-Oct.csv", REES46)], get_preset("rees46"), warehouse)

    # The last row has a negative price: rejected, on line 7.
    assert report.rows_loaded == 5
    assert [(r.rule, r.count, r.examples[0][1]) for r in report.rules] == [("negative or zero price", 1, 7)]
    assert _query(warehouse, "select count(distinct session_id) from fct_sessions")[0][0] == 2
    assert _query(warehouse, "select category, subcategory from dim_products where product_id = '3900821'")[0] == (
        "appliances", "environment")
    assert _query(warehouse, "select sum(price) from fct_events where event_type = 'purchase'")[0][0] == pytest.approx(33.2)


# Shopify "Export orders" CSV: one row per line item; "Created at" carries the shop's UTC offset.
SHOPIFY = """Name,Email,Financial Status,Paid at,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Lineitem discount,Total
#1001,ann@example.com,paid,2023-01-15 10:24:01 -0500,2023-01-15 10:23:45 -0500,2,Mug,12.50,MUG-1,0.00,40.00
#1001,ann@example.com,paid,,2023-01-15 10:23:45 -0500,1,Tea,15.00,TEA-1,0.00,
#1002,bob@example.com,paid,2023-01-16 09:00:30 -0500,2023-01-16 09:00:00 -0500,1,Mug,12.50,MUG-1,2.50,10.00
"""


def test_shopify(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    import_files([_write(tmp_path, "orders_export.csv", SHOPIFY)], get_preset("shopify"), warehouse)

    # Revenue: 2 * 12.50 + 15.00 = 40.00 for #1001, 12.50 - 2.50 = 10.00 for #1002.
    assert sorted(_query(warehouse, "select order_id, line_count, revenue from fct_orders")) == [
        ("#1001", 2, 40.0), ("#1002", 1, 10.0)]
    # 10:23:45 at -05:00 is 15:23:45 UTC.
    assert _query(warehouse, "select ordered_at from fct_orders where order_id = '#1001'")[0][0] == datetime(
        2023, 1, 15, 15, 23, 45)
    assert _query(warehouse, "select title from dim_products where product_id = 'TEA-1'")[0][0] == "Tea"


# GA4 BigQuery export flattened to one row per event and item; event_timestamp in microseconds.
GA4 = """event_name,event_timestamp,user_pseudo_id,ga_session_id,item_id,item_category,item_brand,price,quantity,search_term,device_category
session_start,1700000000000000,123.456,1700000000,,,,,,,desktop
view_item,1700000001000000,123.456,1700000000,SKU1,Shoes,Acme,59.9,,,desktop
add_to_cart,1700000002000000,123.456,1700000000,SKU1,Shoes,Acme,59.9,1,,desktop
view_search_results,1700000003000000,123.456,1700000000,,,,,,red shoes,desktop
purchase,1700000004000000,123.456,1700000000,SKU1,Shoes,Acme,59.9,1,,desktop
"""


def test_ga4_skips_non_shop_events(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    report = import_files([_write(tmp_path, "ga4.csv", GA4)], get_preset("ga4"), warehouse)

    assert (report.rows_loaded, report.files[0].rows_ignored, report.rows_rejected) == (4, 1, 0)
    assert sorted(_query(warehouse, "select event_type from fct_events")) == [
        ("cart",), ("purchase",), ("search",), ("view",)]
    # 1700000001000000 µs = 2023-11-14 22:13:21 UTC.
    assert _query(warehouse, "select min(event_time) from fct_events")[0][0] == datetime(2023, 11, 14, 22, 13, 21)
    assert _query(warehouse, "select search_query, device from fct_events where event_type = 'search'")[0] == (
        "red shoes", "desktop")


# UCI Online Retail invoice lines: m/d/Y times; "C" invoices are cancellations.
UCI = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom
C536379,D,Discount,-1,12/1/2010 9:41,27.5,14527,United Kingdom
536414,22139,,56,12/1/2010 11:52,0,,United Kingdom
"""


def test_uci_invoice_lines_turn_cancellations_into_returns(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    report = import_files([_write(tmp_path, "Online Retail.csv", UCI)], get_preset("uci_online_retail"), warehouse)

    assert report.files[0].layout == "uci_online_retail"
    # The last line has no customer (and a zero price): rejected as a missing id.
    assert [(r.rule, r.examples[0][1]) for r in report.rules] == [("missing id", 5)]
    # 6 * 2.55 + 6 * 3.39 - 1 * 27.5 = 8.14
    assert _query(warehouse, "select sum(revenue) from fct_orders")[0][0] == pytest.approx(8.14)
    assert _query(warehouse, "select quantity from fct_order_items where order_id = 'C536379'")[0][0] == -1
    assert _query(warehouse, "select ordered_at from fct_orders where order_id = '536365'")[0][0] == datetime(
        2010, 12, 1, 8, 26)


def test_every_preset_is_tested_here_or_on_a_real_sample():
    tested = {"retailrocket", "rees46", "shopify", "ga4", "uci_online_retail", "taobao", "cdnow", "diginetica"}
    assert set(PRESETS) == tested


def test_a_mapping_round_trips_through_toml(tmp_path):
    mapping = Mapping(
        name="my_shop", target="events", columns=("ts", "who", "what", "sku \"x\""),
        fields={"event_time": "ts", "user_id": "who", "event_type": "what", "product_id": "sku \"x\""},
        delimiter="|", header="no", time_format="%d/%m/%Y %H:%M", event_types={"Click": "view", "Buy": "purchase"},
        null_values=("", "-"), description="a shop's log",
    )

    assert load_mapping(save_mapping(mapping, tmp_path / "mappings" / "my_shop.toml")) == mapping


def test_a_saved_mapping_imports_a_custom_export(tmp_path, capsys):
    (tmp_path / "shop.toml").write_text(
        'name = "shop_log"\ntarget = "events"\ndelimiter = "|"\nheader = "no"\n'
        'columns = ["when", "visitor", "action", "sku"]\ntime_format = "%d/%m/%Y %H:%M"\n'
        '[fields]\nevent_time = "when"\nuser_id = "visitor"\nevent_type = "action"\nproduct_id = "sku"\n'
        '[event_types]\nClick = "view"\nBasket = "cart"\nOrder = "purchase"\n',
        encoding="utf-8",
    )
    export = _write(tmp_path, "log.txt", "03/02/2024 10:00|u1|Click|A\n03/02/2024 10:05|u1|Basket|A\n"
                                          "03/02/2024 10:09|u1|Order|A\n31/02/2024 10:00|u2|Click|B\n")
    warehouse = tmp_path / "w.duckdb"

    assert main(["import", str(export), "--mapping", str(tmp_path / "shop.toml"), "--warehouse", str(warehouse)]) == 0

    # Day first: 3 February. 31/02 does not exist: rejected on line 4.
    assert _query(warehouse, "select min(event_time), count(*) from fct_events")[0] == (datetime(2024, 2, 3, 10, 0), 3)
    assert _query(warehouse, "select line, reason from rejects") == [(4, "unparseable timestamp")]


def test_save_mapping_writes_the_preset_for_editing(tmp_path, capsys):
    target = tmp_path / "taobao.toml"
    export = _write(tmp_path, "ub.csv", "1,10,100,pv,1511658000\n")

    assert main(["import", str(export), "--preset", "taobao", "--save-mapping", str(target),
                 "--warehouse", str(tmp_path / "w.duckdb")]) == 0

    assert preset_from_mapping(load_mapping(target)).variants[0] == get_preset("taobao").variants[0]


@pytest.mark.parametrize(("document", "message"), [
    ({"name": "x", "target": "events", "fields": {"when": "t"}}, "unknown canonical field"),
    ({"name": "x", "target": "events", "fields": {"user_id": "u"}}, "map a source column to event_time"),
    ({"name": "x", "target": "rows", "fields": {}}, "target must be one of"),
    ({"name": "x", "target": "events", "fields": {"user_id": "u", "event_time": "t"}}, "event_type"),
    ({"name": "x", "target": "events", "fields": {"user_id": "u", "event_time": "t", "event_type": "e"},
      "event_types": {"a": "teleport"}}, "not canonical"),
    ({"name": "x", "target": "orders", "fields": {"ordered_at": "t"}, "colour": "red"}, "unknown key"),
])
def test_bad_mappings_name_the_problem(document, message):
    with pytest.raises(ShopLensError, match=message):
        mapping_from_dict(document)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ShopLensError, match="taobao"):
        get_preset("amazon")


@pytest.mark.parametrize("suffix", ["parquet", "jsonl", "tsv.gz"])
def test_parquet_json_lines_and_gzipped_tsv_read_natively(tmp_path, suffix):
    rows = [("1", "10", "100", "pv", "1511658000"), ("2", "11", "100", "buy", "1511658060"),
            ("3", "12", "200", "teleport", "1511658120")]
    export = tmp_path / f"ub.{suffix}"
    with duckdb.connect() as con:
        con.execute("create table ub (user_id varchar, item_id varchar, category_id varchar, "
                    "behavior_type varchar, timestamp varchar)")
        con.executemany("insert into ub values (?, ?, ?, ?, ?)", rows)
        options = {"parquet": "(format parquet)", "jsonl": "(format json)",
                   "tsv.gz": "(header, delimiter '\t', compression gzip)"}[suffix]
        con.execute(f"copy ub to '{export}' {options}")
    warehouse = tmp_path / "w.duckdb"

    report = import_files([export], get_preset("taobao"), warehouse)

    # Row 3 has an unknown event type; the native readers number rows from 1, the TSV counts its header line.
    assert report.rows_loaded == 2
    expected_line = 4 if suffix == "tsv.gz" else 3
    assert [(r.rule, r.examples[0][1]) for r in report.rules] == [("unknown event type", expected_line)]
    assert sorted(_query(warehouse, "select user_id, event_type from fct_events")) == [("1", "view"), ("2", "purchase")]
