"""`shoplens cart-dropoff` on the hand-built cart log (tests/cart_log.py)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from analytics.cli import main
from tests.cart_log import build_cart_warehouse

PERIOD = ("--from", "2025-01-01", "--to", "2025-01-10")


@pytest.fixture(scope="module")
def cart_warehouse(tmp_path_factory):
    return str(build_cart_warehouse(tmp_path_factory.mktemp("cart_cli")))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_gives_the_hand_computed_counts(capsys, cart_warehouse):
    code, out, _ = run(capsys, "cart-dropoff", "--warehouse", cart_warehouse, *PERIOD, "--within", "24h",
                       "--format", "json")

    assert code == 0
    document = json.loads(out)
    assert {key: document[key] for key in ("carts", "bought_within", "abandoned", "open", "recovered")} == {
        "carts": 7, "bought_within": 3, "abandoned": 3, "open": 1, "recovered": 1}
    assert document["abandonment_rate"] == pytest.approx(0.6)  # 3 of the 5 carts whose window closed
    assert document["km_abandonment_rate"] == pytest.approx(4 / 7)
    assert document["within_hours"] == 24
    assert document["data_end_at"] == "2025-01-10T12:00:00"


def test_a_shorter_window_closes_the_open_cart(capsys, cart_warehouse):
    code, out, _ = run(capsys, "cart-dropoff", "--warehouse", cart_warehouse, *PERIOD, "--within", "10h",
                       "--format", "json")

    assert code == 0
    document = json.loads(out)
    assert (document["abandoned"], document["open"]) == (4, 0)


def test_breakdown_by_device_as_csv(capsys, cart_warehouse):
    code, out, _ = run(capsys, "cart-dropoff", "--warehouse", cart_warehouse, *PERIOD, "--by", "device",
                       "--format", "csv")

    assert code == 0
    rows = {row["device"]: row for row in csv.DictReader(io.StringIO(out))}
    assert set(rows) == {"desktop", "mobile", "app"}
    assert (rows["mobile"]["carts"], rows["mobile"]["abandoned"], rows["mobile"]["open"]) == ("3", "2", "1")


def test_filters_and_breakdown_in_json(capsys, cart_warehouse):
    code, out, _ = run(capsys, "cart-dropoff", "--warehouse", cart_warehouse, *PERIOD, "--device", "desktop",
                       "--by", "price_band", "--format", "json")

    assert code == 0
    document = json.loads(out)
    # Desktop: A and H (P1, under 0.75x), E (P2, 1x).
    assert document["carts"] == 3
    assert [(row["price_band"], row["carts"]) for row in document["breakdown"]] == [
        ("under 0.75x median", 2), ("0.75-1.5x median", 1)]


def test_winback_lists_the_abandoned_carts(capsys, cart_warehouse):
    code, out, _ = run(capsys, "cart-dropoff", "--warehouse", cart_warehouse, *PERIOD, "--winback", "--format", "csv")

    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(row["user_id"], row["product_id"], row["is_recovered"]) for row in rows] == [
        ("U1", "P1", "False"), ("U3", "P2", "True"), ("U2", "P1", "False")]


def test_table_names_the_censored_carts(capsys, cart_warehouse):
    code, out, _ = run(capsys, "cart-dropoff", "--warehouse", cart_warehouse, *PERIOD)

    assert code == 0
    assert "Still open at the data end (censored)" in out
    assert "60.0%" in out  # abandonment rate 3 / 5


def test_bad_window_and_unknown_device_exit_with_code_2(capsys, cart_warehouse):
    with pytest.raises(SystemExit) as exit_info:
        main(["cart-dropoff", "--warehouse", cart_warehouse, "--within", "soon"])
    assert exit_info.value.code == 2
    code, _, err = run(capsys, "cart-dropoff", "--warehouse", cart_warehouse, "--device", "watch")
    assert code == 2
    assert "--device watch is not in the data" in err
