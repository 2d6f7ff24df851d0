"""`shoplens retention`, `shoplens rfm` and `shoplens clv` on the hand-built customer log."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from analytics.cli import main
from tests.customers_fixtures import build_customer_warehouse


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    return build_customer_warehouse(tmp_path_factory.mktemp("customers_cli"))


def run(capsys, *arguments: str) -> tuple[int, str, str]:
    code = main(list(arguments))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_retention_json_holds_the_hand_counted_cohorts(capsys, warehouse):
    code, out, _ = run(capsys, "retention", "--warehouse", str(warehouse), "--period", "week", "--format", "json")

    assert code == 0
    document = json.loads(out)
    assert document["period"] == "week" and document["users"] == 5
    first = document["cohorts"][0]
    # Cohort 01-06 (A, B, C): active 3, 1, 2; unbounded 3, 2, 2 (see tests/customers_fixtures.py).
    assert first["cohort"] == "2025-01-06" and first["cohort_size"] == 3
    assert first["active_users"] == [3, 1, 2] and first["retained_users"] == [3, 2, 2]
    assert first["complete_periods"] == 2


def test_retention_table_and_csv(capsys, warehouse):
    code, out, _ = run(capsys, "retention", "--warehouse", str(warehouse), "--measure", "active_users")
    assert code == 0 and "active_users by week cohort" in out

    code, out, _ = run(capsys, "retention", "--warehouse", str(warehouse), "--format", "csv", "--by",
                       "acquisition_channel")
    frame = pd.read_csv(io.StringIO(out))
    assert set(frame["segment"]) == {"email", "social", "direct"}


def test_rfm_json_segments_sum_to_customers(capsys, warehouse):
    code, out, _ = run(capsys, "rfm", "--warehouse", str(warehouse), "--format", "json")

    assert code == 0
    document = json.loads(out)
    assert document["customers"] == 3  # A, C and D bought
    assert sum(segment["customers"] for segment in document["segments"]) == 3
    assert {segment["segment"]: segment["customers"] for segment in document["segments"] if segment["customers"]} == \
        {"Potential loyalist": 1, "At risk": 1, "Lost": 1}
    assert sum(segment["revenue"] for segment in document["segments"]) == pytest.approx(250.0)


def test_rfm_segment_export_as_csv(capsys, warehouse):
    code, out, _ = run(capsys, "rfm", "--warehouse", str(warehouse), "--segment", "At risk", "--format", "csv")

    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    assert frame["user_id"].tolist() == ["D"] and frame.loc[0, "revenue"] == 70.0


def test_clv_explains_too_few_customers(capsys, warehouse):
    code, _, err = run(capsys, "clv", "--warehouse", str(warehouse), "--calibration-end", "2025-01-15")

    assert code != 0
    assert "too few" in err


def test_clv_refuses_a_calibration_end_after_the_data(capsys, warehouse):
    code, _, err = run(capsys, "clv", "--warehouse", str(warehouse), "--calibration-end", "2026-01-01")

    assert code != 0 and "after the last purchase day" in err
