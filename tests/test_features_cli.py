"""`shoplens features` on the hand-built tiny shop."""

from __future__ import annotations

import csv
import io
import json

import pytest

from analytics.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_user_features_as_json(capsys, tiny_warehouse):
    code, out, _ = run(capsys, "features", "--warehouse", str(tiny_warehouse), "--as-of", "2025-01-02T12:03",
                       "--format", "json")

    assert code == 0
    document = json.loads(out)
    assert (document["as_of"], document["entity"], document["rows"]) == ("2025-01-02T12:03:00", "user", 2)
    assert document["materialised_at"].endswith("user_2025-01-02T120300.parquet")
    u2 = {row["user_id"]: row for row in document["features"]}["U2"]
    # Carted 2 mugs at 10 at 12:02; the book cart at 12:03 is not before as_of. Never ordered: no RFM scores.
    assert (u2["carts_30d"], u2["open_cart_value"], u2["recency_score"]) == (1, 20.0, None)


def test_product_features_as_csv(capsys, tiny_warehouse):
    code, out, _ = run(capsys, "features", "--warehouse", str(tiny_warehouse), "--as-of", "2025-01-03",
                       "--entity", "product", "--format", "csv")

    assert code == 0
    rows = {row["product_id"]: row for row in csv.DictReader(io.StringIO(out))}
    assert set(rows) == {"P1", "P2", "P3"}
    # P2: 2 views, 1 cart -> cart rate 0.5; its line in O2 is 2 x 10.
    assert float(rows["P2"]["cart_rate_30d"]) == pytest.approx(0.5)
    assert float(rows["P2"]["revenue_30d"]) == pytest.approx(20.0)


def test_default_as_of_is_the_day_after_the_last_event(capsys, tiny_warehouse):
    code, out, _ = run(capsys, "features", "--warehouse", str(tiny_warehouse), "--limit", "1")

    assert code == 0
    # The last event is on 2025-01-03, so all three users have rows and only U1 is printed.
    assert out.startswith("User features as of 2025-01-04 00:00 UTC (3 rows)")
    assert "U1" in out and "U2" not in out


def test_a_bad_date_is_refused_with_the_format(capsys, tiny_warehouse):
    code, _, err = run(capsys, "features", "--warehouse", str(tiny_warehouse), "--as-of", "soon")

    assert code == 2
    assert "YYYY-MM-DD" in err
