"""`shoplens funnel` on the tiny warehouse (journeys in tests/test_funnel_engine.py)."""

from __future__ import annotations

import csv
import io
import json

from analytics.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_funnel_json_counts_users_reaching_each_step(capsys, tiny_warehouse) -> None:
    code, out, _ = run(capsys, "funnel", "--warehouse", str(tiny_warehouse), "--steps", "view,cart,purchase",
                       "--window", "1h", "--mode", "ordered", "--last", "3d", "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert [(row["step"], row["users"]) for row in document["steps"]] == [("view", 3), ("cart", 2), ("purchase", 2)]
    assert [round(row["conversion_from_start"], 4) for row in document["steps"]] == [1.0, 0.6667, 0.6667]
    assert document["query"]["window_seconds"] == 3600
    assert document["period"] == {"start_date": "2025-01-01", "end_date": "2025-01-03"}


def test_funnel_by_device_as_csv(capsys, tiny_warehouse) -> None:
    code, out, _ = run(capsys, "funnel", "--warehouse", str(tiny_warehouse), "--steps", "view,cart,purchase",
                       "--by", "device", "--last", "3d", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    desktop = [int(row["users"]) for row in rows if row["breakdown_value"] == "desktop"]
    assert desktop == [2, 1, 1]


def test_funnel_sessions_and_strict(capsys, tiny_warehouse) -> None:
    code, out, _ = run(capsys, "funnel", "--warehouse", str(tiny_warehouse), "--steps", "view,purchase",
                       "--mode", "strict", "--count", "sessions", "--last", "3d", "--format", "json")
    assert code == 0
    # Five sessions view; in both buying sessions a cart comes between the view and the purchase.
    assert [row["sessions"] for row in json.loads(out)["steps"]] == [5, 0]


def test_funnel_table_and_filters(capsys, tiny_warehouse) -> None:
    code, out, _ = run(capsys, "funnel", "--warehouse", str(tiny_warehouse), "--steps", "view,cart",
                       "--last", "3d", "--device", "mobile")
    assert code == 0
    assert out.startswith("Funnel 2025-01-01 to 2025-01-03, ordered, window 1:00:00, counting users")
    assert "50.0%" in out  # U1 and U2 viewed on mobile; only U2 carted


def test_funnel_errors_are_one_line(capsys, tiny_warehouse) -> None:
    code, _, err = run(capsys, "funnel", "--warehouse", str(tiny_warehouse), "--steps", "view,checkout")
    assert code == 2
    assert err.strip() == ("shoplens funnel: error: step 2 has the event type 'checkout'; "
                           "choose from view, search, cart, remove_from_cart, purchase, favorite")


def test_funnel_compares_with_the_previous_period(capsys, tiny_warehouse) -> None:
    code, out, _ = run(capsys, "funnel", "--warehouse", str(tiny_warehouse), "--steps", "view,cart,purchase",
                       "--from", "2025-01-02", "--to", "2025-01-03", "--compare", "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["previous_period"] == {"start_date": "2024-12-31", "end_date": "2025-01-01"}
    rows = document["comparison"]
    assert [(row["users"], row["users_previous"]) for row in rows] == [(3, 1), (1, 1), (1, 1)]
    assert rows[0]["p_value"] is None
    assert round(rows[2]["p_value"], 4) == 0.2482


def test_funnel_lists_who_dropped(capsys, tiny_warehouse) -> None:
    code, out, _ = run(capsys, "funnel", "--warehouse", str(tiny_warehouse), "--steps", "view,cart,purchase",
                       "--window", "1m", "--last", "3d", "--dropped-before", "3", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    # Within a minute of viewing nobody buys; U2 carted the mug and the book, U1 the phone.
    assert [(row["user_id"], row["product_ids"]) for row in rows] == [("U2", "P2 P3"), ("U1", "P1")]
    code, _, err = run(capsys, "funnel", "--warehouse", str(tiny_warehouse), "--steps", "view,cart",
                       "--last", "3d", "--dropped-before", "5")
    assert code == 2 and "choose a step from 2 to 2" in err


def test_funnel_excludes_events_between_steps(capsys, tiny_warehouse) -> None:
    code, out, _ = run(capsys, "funnel", "--warehouse", str(tiny_warehouse), "--steps", "view,purchase",
                       "--exclude", "cart:Books:1-2", "--last", "3d", "--format", "json")
    assert code == 0
    document = json.loads(out)
    # U2 carted a book between viewing and buying; U1 carted a phone and still counts.
    assert [row["users"] for row in document["steps"]] == [3, 1]
    assert document["query"]["exclusions"] == ["cart (Books) between steps 1 and 2"]
    code, _, err = run(capsys, "funnel", "--warehouse", str(tiny_warehouse), "--steps", "view,purchase",
                       "--exclude", "cart:1-3")
    assert code == 2
    assert "exclusion 1 is between steps 1 and 3; give two steps from 1 to 2" in err


def test_funnel_counts_conversions(capsys, tiny_warehouse) -> None:
    code, out, _ = run(capsys, "funnel", "--warehouse", str(tiny_warehouse), "--steps", "view,cart,purchase",
                       "--count", "conversions", "--window", "30m", "--last", "3d", "--format", "json")
    assert code == 0
    # Attempts: U1 two (Jan 1 converts), U2 one (converts), U3 two (08:00, and 09:00 after 30 minutes).
    assert [row["conversions"] for row in json.loads(out)["steps"]] == [5, 2, 2]


def test_funnel_compares_conversions_with_an_exclusion(capsys, tiny_warehouse) -> None:
    code, out, _ = run(capsys, "funnel", "--warehouse", str(tiny_warehouse), "--steps", "view,cart,purchase",
                       "--count", "conversions", "--exclude", "cart:Books:1-3", "--from", "2025-01-02",
                       "--to", "2025-01-03", "--compare", "--format", "json")
    assert code == 0
    rows = json.loads(out)["comparison"]
    # Jan 2-3: attempts by U1 (09:00, views only), U2 (carts the mug, then a book at 12:03, which ends
    # the attempt before its purchase) and U3 (08:00). Jan 1: U1's attempt converts.
    assert [(row["conversions"], row["conversions_previous"]) for row in rows] == [(3, 1), (1, 1), (0, 1)]
