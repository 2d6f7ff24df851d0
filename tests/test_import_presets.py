"""Presets without a real sample here, on small fixtures written from each format's public documentation,
and the generic mapping saved and loaded as TOML. Expected values are worked out by hand in the comments."""

from __future__ import annotations

import hashlib
import hmac
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
    tested = {"retailrocket", "rees46", "shopify", "ga4", "uci_online_retail", "taobao", "cdnow", "diginetica",
              # tests/test_import_completejourney.py, tests/test_import_catalogue.py
              "completejourney", "products", "promotions"}
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


# Orders derived from purchase events (docs/importing.md, "Orders from purchase events").
def _derived_id(natural_key: str) -> str:
    # The documented id, computed independently of the SQL: "purchase-" + 24 hex digits of SHA-256.
    return "purchase-" + hashlib.sha256(natural_key.encode()).hexdigest()[:24]


def _capabilities(warehouse: Path) -> dict[str, bool]:
    return dict(_query(warehouse, "select analysis, is_supported from meta_capabilities"))


# Four REES46 orders by hand: user 541312140 buys two phones in one click at 08:01 (one order, two lines)
# and a water heater at 09:30 in the same session (a second order); user 554748717 buys a heater in two visits.
REES46_PURCHASES = """event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session
2019-10-01 08:00:00 UTC,view,1004237,2053013555631882655,electronics.smartphone,apple,1081.98,541312140,s-a
2019-10-01 08:01:00 UTC,purchase,1004237,2053013555631882655,electronics.smartphone,apple,1081.98,541312140,s-a
2019-10-01 08:01:00 UTC,purchase,1002544,2053013555631882655,electronics.smartphone,apple,460.51,541312140,s-a
2019-10-01 09:30:00 UTC,purchase,3900821,2053013552326770905,appliances.environment.water_heater,aqua,33.20,541312140,s-a
2019-10-02 10:00:00 UTC,purchase,3900821,2053013552326770905,appliances.environment.water_heater,aqua,33.20,554748717,s-b
2019-10-03 11:00:00 UTC,purchase,3900821,2053013552326770905,appliances.environment.water_heater,aqua,33.20,554748717,s-c
"""


def test_rees46_purchases_become_orders(tmp_path):
    warehouse = tmp_path / "w.duckdb"

    report = import_files([_write(tmp_path, "2019-Oct.csv", REES46_PURCHASES)], get_preset("rees46"), warehouse)

    assert (report.derived_orders, report.derived_order_lines, report.derived_orders_skipped) == (4, 5, False)
    assert "purchase events made into 4 order(s) with 5 line(s)" in report.summary()
    first = _derived_id("purchase|541312140|s-a|2019-10-01 08:01:00")
    # 1081.98 + 460.51 = 1542.49; the other three orders are one heater each at 33.20.
    assert _query(warehouse, "select order_id, user_id, session_id, ordered_at, line_count, units, revenue "
                             f"from fct_orders where order_id = '{first}'") == [
        (first, "541312140", "s-a", datetime(2019, 10, 1, 8, 1), 2, 2, pytest.approx(1542.49))]
    assert _query(warehouse, "select count(*), sum(units), sum(revenue) from fct_orders")[0] == (
        4, 5, pytest.approx(1542.49 + 3 * 33.20))
    # Lines: numbered by time then product id within the order; unit price = the event's price; no discount.
    assert _query(warehouse, f"select line_number, product_id, quantity, unit_price, discount_amount "
                             f"from fct_order_items where order_id = '{first}' order by line_number") == [
        (1, "1002544", 1, 460.51, 0.0), (2, "1004237", 1, 1081.98, 0.0)]
    assert _query(warehouse, "select order_id from fct_orders where user_id = '554748717' order by ordered_at") == [
        (_derived_id("purchase|554748717|s-b|2019-10-02 10:00:00"),),
        (_derived_id("purchase|554748717|s-c|2019-10-03 11:00:00"),)]
    capabilities = _capabilities(warehouse)
    # User 554748717 ordered twice, but the orders span 2 days, not the week customer analyses need.
    assert capabilities["revenue"] is True and capabilities["customers"] is False


def test_derived_orders_are_idempotent_and_a_later_file_appends(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    export = _write(tmp_path, "2019-Oct.csv", REES46_PURCHASES)
    import_files([export], get_preset("rees46"), warehouse)
    tables = "select * from source_orders order by order_id", "select * from source_order_items order by all"
    before = [_query(warehouse, sql) for sql in tables]

    again = import_files([export], get_preset("rees46"), warehouse)

    assert (again.rows_loaded, again.derived_orders, again.derived_order_lines) == (0, 0, 0)
    assert [_query(warehouse, sql) for sql in tables] == before
    # A later file: a new purchase appends an order; a late line of the 08:01 order does not extend it.
    later = _write(tmp_path, "2019-Nov.csv", REES46_PURCHASES.splitlines()[0] + "\n"
                   "2019-11-01 12:00:00 UTC,purchase,1004237,2053013555631882655,electronics.smartphone,apple,"
                   "999.00,554748717,s-d\n"
                   "2019-10-01 08:01:00 UTC,purchase,5100816,2053013553375346967,,xiaomi,29.99,541312140,s-a\n")

    appended = import_files([later], get_preset("rees46"), warehouse)

    assert (appended.rows_loaded, appended.derived_orders, appended.derived_order_lines) == (2, 1, 1)
    assert _query(warehouse, "select count(*), sum(revenue) from fct_orders")[0] == (
        5, pytest.approx(1542.49 + 3 * 33.20 + 999.00))


def test_a_dry_run_counts_derived_orders_without_writing_them(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    import_files([_write(tmp_path, "first.csv", REES46)], get_preset("rees46"), warehouse)

    report = import_files([_write(tmp_path, "2019-Oct.csv", REES46_PURCHASES)], get_preset("rees46"), warehouse,
                          dry_run=True)

    assert (report.committed, report.derived_orders, report.derived_order_lines) == (False, 4, 5)
    # Only the one purchase of the first file (REES46 above) is an order.
    assert _query(warehouse, "select count(*), sum(revenue) from fct_orders")[0] == (1, pytest.approx(33.2))


def test_purchase_events_are_not_made_into_orders_beside_orders_from_a_file(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    import_files([_write(tmp_path, "orders_export.csv", SHOPIFY)], get_preset("shopify"), warehouse)

    report = import_files([_write(tmp_path, "2019-Oct.csv", REES46_PURCHASES)], get_preset("rees46"), warehouse)

    assert (report.rows_loaded, report.derived_orders, report.derived_orders_skipped) == (6, 0, True)
    assert "not made into orders" in report.summary()
    assert sorted(_query(warehouse, "select order_id from fct_orders")) == [("#1001",), ("#1002",)]


# GA4 purchases: one row per item; the items of one purchase share user, session and timestamp.
GA4_PURCHASES = """event_name,event_timestamp,user_pseudo_id,ga_session_id,item_id,item_category,item_brand,price,quantity,search_term,device_category
session_start,1700000000000000,123.456,1700000000,,,,,,,desktop
purchase,1700000004000000,123.456,1700000000,SKU1,Shoes,Acme,59.9,2,,desktop
purchase,1700000004000000,123.456,1700000000,SKU2,Socks,Acme,4.5,3,,desktop
purchase,1700003600000000,789.012,1700003000,SKU2,Socks,Acme,,,,mobile
"""


def test_ga4_purchases_become_orders(tmp_path):
    warehouse = tmp_path / "w.duckdb"

    report = import_files([_write(tmp_path, "ga4.csv", GA4_PURCHASES)], get_preset("ga4"), warehouse)

    assert (report.derived_orders, report.derived_order_lines) == (2, 3)
    # 1700000004000000 µs = 2023-11-14 22:13:24 UTC: 2 * 59.9 + 3 * 4.5 = 133.3 over 5 units.
    # 1700003600000000 µs = 2023-11-14 23:13:20 UTC: no price and no quantity: one unit, no revenue.
    assert sorted(_query(warehouse, "select order_id, ordered_at, device, line_count, units, revenue from fct_orders")) \
        == sorted([
            (_derived_id("purchase|123.456|1700000000|2023-11-14 22:13:24"), datetime(2023, 11, 14, 22, 13, 24),
             "desktop", 2, 5, pytest.approx(133.3)),
            (_derived_id("purchase|789.012|1700003000|2023-11-14 23:13:20"), datetime(2023, 11, 14, 23, 13, 20),
             "mobile", 1, 1, 0.0)])
    assert _query(warehouse, "select count(*) filter (where unit_price is null), count(*) from fct_order_items")[0] == (
        1, 3)
    assert _capabilities(warehouse)["revenue"] is True


# RetailRocket transactions: the two items of transaction 4000 are one order although their times differ.
RETAILROCKET_TRANSACTIONS = """timestamp,visitorid,event,itemid,transactionid
1433221332117,257597,view,355908,
1433222276276,257597,transaction,355908,4000
1433222276900,257597,transaction,248676,4000
1433224214164,992329,addtocart,248676,
1433224300000,992329,transaction,248676,4001
"""


def test_retailrocket_transactions_become_orders_without_prices(tmp_path):
    warehouse = tmp_path / "w.duckdb"

    report = import_files([_write(tmp_path, "events.csv", RETAILROCKET_TRANSACTIONS)], get_preset("retailrocket"),
                          warehouse)

    assert (report.derived_orders, report.derived_order_lines) == (2, 3)
    # 1433222276276 ms = 2015-06-02 05:17:56.276 UTC (the order's earliest event).
    assert sorted(_query(warehouse, "select order_id, user_id, ordered_at, line_count, units from fct_orders")) == \
        sorted([(_derived_id("transaction|4000"), "257597", datetime(2015, 6, 2, 5, 17, 56, 276000), 2, 2),
                (_derived_id("transaction|4001"), "992329", datetime(2015, 6, 2, 5, 51, 40), 1, 1)])
    assert _query(warehouse, "select product_id from fct_order_items "
                             f"where order_id = '{_derived_id('transaction|4000')}' order by line_number") == [
        ("355908",), ("248676",)]
    # No prices in RetailRocket: units and orders count, revenue stays unsupported.
    assert _query(warehouse, "select count(*) from fct_order_items where unit_price is not null")[0][0] == 0
    assert _capabilities(warehouse)["revenue"] is False


def test_a_purchase_without_a_transaction_id_is_its_own_order_keyed_by_user_and_time(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    export = _write(tmp_path, "events.csv", "timestamp,visitorid,event,itemid,transactionid\n"
                                            "1433222276276,257597,transaction,355908,\n")

    import_files([export], get_preset("retailrocket"), warehouse)

    # No session in RetailRocket: the key's session part is empty; 1433222276276 ms = 05:17:56.276 UTC.
    assert _query(warehouse, "select order_id from fct_orders") == [
        (_derived_id("purchase|257597||2015-06-02 05:17:56.276"),)]


def test_reimporting_an_events_file_adds_the_orders_it_was_missing(tmp_path):
    # A warehouse whose events were loaded before orders were derived from them: simulated by removing the orders.
    warehouse = tmp_path / "w.duckdb"
    export = _write(tmp_path, "2019-Oct.csv", REES46_PURCHASES)
    import_files([export], get_preset("rees46"), warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from source_order_items")
        con.execute("delete from source_orders")

    report = import_files([export], get_preset("rees46"), warehouse)

    assert (report.rows_loaded, report.derived_orders, report.derived_order_lines) == (0, 4, 5)
    assert _query(warehouse, "select count(*), sum(revenue) from fct_orders")[0] == (4, pytest.approx(1542.49 + 3 * 33.20))


def test_an_orders_file_replaces_orders_derived_from_purchase_events(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    import_files([_write(tmp_path, "2019-Oct.csv", REES46_PURCHASES)], get_preset("rees46"), warehouse)

    dry = import_files([_write(tmp_path, "orders_export.csv", SHOPIFY)], get_preset("shopify"), warehouse,
                       dry_run=True)
    assert dry.derived_orders_replaced == 4 and _query(warehouse, "select count(*) from source_orders")[0][0] == 4
    report = import_files([tmp_path / "orders_export.csv"], get_preset("shopify"), warehouse)

    assert report.derived_orders_replaced == 4
    assert "4 order(s) made earlier from purchase events were removed" in report.summary()
    # Shopify's two orders (40.00 + 10.00) replace the four derived ones; the six purchase events stay.
    assert sorted(_query(warehouse, "select order_id, revenue from fct_orders")) == [("#1001", 40.0), ("#1002", 10.0)]
    assert _query(warehouse, "select count(*) from source_order_items")[0][0] == 3
    assert _query(warehouse, "select count(*) from fct_events")[0][0] == 6


def test_derived_order_ids_use_the_pseudonym(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    key_path = tmp_path / "secret.key"
    key_path.write_text("ab" * 32 + "\n", encoding="ascii")
    key_path.chmod(0o600)

    import_files([_write(tmp_path, "2019-Oct.csv", REES46_PURCHASES)], get_preset("rees46"), warehouse,
                 pseudonymize=True, key_path=key_path)

    # The keyed HMAC of the raw id, with the key's 32 bytes (0xab repeated).
    pseudonym = "p_" + hmac.new(bytes.fromhex("ab" * 32), b"541312140", hashlib.sha256).hexdigest()[:20]
    first = _derived_id(f"purchase|{pseudonym}|s-a|2019-10-01 08:01:00")
    assert _query(warehouse, f"select user_id, line_count from fct_orders where order_id = '{first}'") == [
        (pseudonym, 2)]
