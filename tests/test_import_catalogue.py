"""A product catalogue or a promotions file imported on its own, joined columns and constants in mappings,
and time zones for times without an offset. Expected values are worked out by hand in the comments."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from analytics.cli import main
from analytics.errors import ShopLensError
from analytics.importing import Mapping, get_preset, import_files, load_mapping, preset_from_mapping, save_mapping

ORDERS = """Name,Email,Financial Status,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Lineitem discount
#1001,ann@example.com,paid,2023-01-15 10:23:45 -0500,2,Mug,12.50,MUG-1,0.00
#1002,bob@example.com,paid,2023-01-16 09:00:00 -0500,1,Tea,15.00,TEA-1,0.00
"""
CATALOGUE = """product_id,title,category,brand,price
MUG-1,Stoneware mug,Home > Kitchen,Acme,14.00
TEA-1,Green tea,Food > Drinks,,6.50
NEW-1,Teapot,Home > Kitchen,Acme,-3
NEW-2,Kettle,Home > Kitchen,Acme,29.00
NEW-2,Kettle again,Home,Acme,30.00
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _query(warehouse: Path, sql: str):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_an_orders_file_plus_a_catalogue_gives_categories_without_hand_joining(tmp_path, capsys):
    warehouse = tmp_path / "w.duckdb"
    import_files([_write(tmp_path, "orders_export.csv", ORDERS)], get_preset("shopify"), warehouse)
    catalogue = _write(tmp_path, "products.csv", CATALOGUE)

    assert main(["import", str(catalogue), "--table", "products", "--warehouse", str(warehouse)]) == 0

    err = capsys.readouterr().err
    # 5 rows: MUG-1 and TEA-1 update what the orders said, NEW-2 is new; NEW-1 has a negative price
    # and the second NEW-2 repeats the first.
    assert "products.csv (products_common_names): 5 rows read, 3 loaded, 0 already loaded, 0 ignored, 2 rejected" in err
    assert sorted(_query(warehouse, "select product_id, title, category, subcategory, brand, list_price "
                                    "from dim_products")) == [
        ("MUG-1", "Stoneware mug", "Home", "Kitchen", "Acme", 14.0),
        ("NEW-2", "Kettle", "Home", "Kitchen", "Acme", 29.0),
        # The catalogue has no brand for TEA-1: what was known stays (nothing), the rest is the catalogue's.
        ("TEA-1", "Green tea", "Food", "Drinks", None, 6.5)]
    # Revenue by category: Home 2 * 12.50 = 25.00, Food 15.00.
    assert _query(warehouse, "select category, sum(revenue) from fct_order_items group by all order by 1") == [
        ("Food", 15.0), ("Home", 25.0)]
    assert dict(_query(warehouse, "select reason, line from rejects")) == {
        "missing or negative price": 4, "duplicate row": 6}


def test_a_catalogue_re_imported_is_already_loaded_and_a_changed_row_updates(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    catalogue = _write(tmp_path, "products.csv", "product_id,title,category_path\nP1,Mug,Home > Kitchen\n")
    first = import_files([catalogue], get_preset("products"), warehouse)
    assert (first.rows_loaded, first.files[0].layout) == (1, "products")

    again = import_files([catalogue], get_preset("products"), warehouse)
    changed = import_files([_write(tmp_path, "products2.csv", "product_id,title\nP1,Big mug\n")],
                           get_preset("products"), warehouse)

    assert (again.rows_loaded, again.files[0].rows_already_loaded) == (0, 1)
    assert changed.rows_loaded == 1
    # The new title replaces the old; the category the second file lacks stays.
    assert _query(warehouse, "select title, category_path from source_products") == [("Big mug", "Home > Kitchen")]


def test_a_catalogue_alone_makes_a_warehouse_that_orders_can_join_later(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    import_files([_write(tmp_path, "products.csv", CATALOGUE)], get_preset("products"), warehouse)

    import_files([_write(tmp_path, "orders_export.csv", ORDERS)], get_preset("shopify"), warehouse)

    # The order lines' own names (Mug, Tea) do not overwrite the catalogue's titles.
    assert sorted(_query(warehouse, "select product_id, title, category from dim_products "
                                    "where product_id in ('MUG-1', 'TEA-1')")) == [
        ("MUG-1", "Stoneware mug", "Home"), ("TEA-1", "Green tea", "Food")]


PROMOTIONS = """promotion_id,name,start_date,end_date,scope,scope_value,discount_rate
SD,Singles Day,2025-11-11,2025-11-11,all,,0.2
BF,Black Friday,2025-11-28,2025-11-30,category,Home,0.3
X1,Backwards,2025-12-05,2025-12-01,all,,0.1
X2,Too much,2025-12-05,2025-12-06,all,,1.5
X3,Unknown scope,2025-12-05,2025-12-06,brand,Acme,0.1
"""


def test_a_promotions_file_on_its_own(tmp_path, tiny_warehouse):
    warehouse = tmp_path / "w.duckdb"
    warehouse.write_bytes(tiny_warehouse.read_bytes())

    report = import_files([_write(tmp_path, "promotions.csv", PROMOTIONS)], get_preset("promotions"), warehouse)

    assert {rule.rule: rule.examples[0][1] for rule in report.rules} == {
        "unknown promotion scope": 6, "discount rate outside 0 to 1": 5, "end before start": 4}
    assert _query(warehouse, "select promotion_id, start_date, end_date, scope, scope_value, discount_rate "
                             "from stg_promotions where promotion_id in ('SD', 'BF') order by 1") == [
        ("BF", date(2025, 11, 28), date(2025, 11, 30), "category", "Home", 0.3),
        ("SD", date(2025, 11, 11), date(2025, 11, 11), "all", None, 0.2)]


def test_joined_columns_constants_and_optional_columns_round_trip_through_toml(tmp_path):
    mapping = Mapping(
        name="shelf", target="products",
        fields={"product_id": "sku", "category": ("dept", "aisle"), "title": ("kind", "size"), "brand": "maker"},
        optional_fields=("brand",), description="a shelf list",
    )
    saved = save_mapping(mapping, tmp_path / "shelf.toml")
    loaded = load_mapping(saved)
    assert loaded == mapping
    assert '"category" = ["dept", "aisle"]' in saved.read_text()

    warehouse = tmp_path / "w.duckdb"
    # No "maker" column: the optional brand is empty. An empty aisle is skipped in the category path.
    import_files([_write(tmp_path, "shelf.csv", "sku,dept,aisle,kind,size\nA,Food,Tea,Green tea,100 g\nB,Food,,Jam,\n")],
                 preset_from_mapping(loaded), warehouse)
    assert _query(warehouse, "select product_id, category_path, title, brand from source_products order by 1") == [
        ("A", "Food > Tea", "Green tea 100 g", None), ("B", "Food", "Jam", None)]


def test_only_text_fields_may_join_columns_and_a_field_is_mapped_or_constant():
    with pytest.raises(ShopLensError, match="only .* may join several columns, not list_price"):
        Mapping(name="bad", target="products", fields={"product_id": "id", "list_price": ("a", "b")})
    with pytest.raises(ShopLensError, match="both mapped to a column and given as a constant"):
        Mapping(name="bad", target="promotions", fields={"promotion_id": "id", "start_date": "s", "end_date": "e",
                                                        "scope": "scope", "discount_rate": "r"},
                constants={"scope": "all"})


LONDON = """when,who,what,sku
2025-01-15 12:00:00,u1,view,P1
2025-07-15 12:00:00,u1,view,P2
2025-07-15 12:00:00+02:00,u2,view,P3
2025-03-30 01:30:00,u3,view,P4
"""


def test_times_without_an_offset_are_read_in_the_time_zone_and_stored_as_utc(tmp_path):
    mapping = Mapping(name="london_shop", target="events",
                      fields={"event_time": "when", "user_id": "who", "event_type": "what", "product_id": "sku"},
                      time_zone="Europe/London")
    warehouse = tmp_path / "w.duckdb"

    import_files([_write(tmp_path, "log.csv", LONDON)], preset_from_mapping(mapping), warehouse)

    assert _query(warehouse, "select product_id, event_time from source_events order by product_id") == [
        ("P1", datetime(2025, 1, 15, 12, 0)),   # GMT = UTC in winter
        ("P2", datetime(2025, 7, 15, 11, 0)),   # BST = UTC+1 in summer
        ("P3", datetime(2025, 7, 15, 10, 0)),   # an explicit +02:00 wins over the zone
        # 01:30 on 2025-03-30 does not exist in London (clocks jump from 01:00 to 02:00): read as
        # 02:30 BST, which is 01:30 UTC, so the time is still kept rather than lost.
        ("P4", datetime(2025, 3, 30, 1, 30)),
    ]


def test_the_cli_time_zone_overrides_the_preset_and_a_wrong_name_is_one_line(tmp_path, capsys):
    export = _write(tmp_path, "orders_export.csv", ORDERS.replace(" -0500", ""))
    warehouse = tmp_path / "w.duckdb"

    assert main(["import", str(export), "--preset", "shopify", "--timezone", "Asia/Shanghai",
                 "--warehouse", str(warehouse)]) == 0
    # 2023-01-15 10:23:45 in Shanghai (UTC+8) is 02:23:45 UTC.
    assert _query(warehouse, "select ordered_at from source_orders where order_id = '#1001'")[0][0] == datetime(
        2023, 1, 15, 2, 23, 45)
    capsys.readouterr()
    assert main(["import", str(export), "--preset", "shopify", "--timezone", "Mars/Olympus",
                 "--warehouse", str(warehouse)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'Mars/Olympus' is not a time zone name" in err


def test_unix_times_ignore_the_time_zone(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    export = _write(tmp_path, "u.csv", "user_id,item_id,category_id,behavior_type,timestamp\n1,10,100,pv,1511658000\n")

    import_files([export], get_preset("taobao"), warehouse, time_zone="Asia/Shanghai")

    # 1511658000 is 2017-11-26 01:00:00 UTC whatever the zone: a Unix time is absolute.
    assert _query(warehouse, "select event_time from source_events")[0][0] == datetime(2017, 11, 26, 1, 0)
