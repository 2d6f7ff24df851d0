"""`shoplens predict`: a clear refusal on too little history, and probabilities on the sample."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analytics.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_three_days_of_data_are_refused_with_the_days_needed(capsys, tiny_warehouse):
    code, out, err = run(capsys, "predict", "--warehouse", str(tiny_warehouse), "--format", "json")

    assert code == 2 and out == ""
    assert "needs at least 15 days of events" in err


@pytest.mark.slow
def test_json_and_customers_csv_on_the_sample(capsys, sample_warehouse, tmp_path):
    target = tmp_path / "out" / "customers.csv"
    code, out, _ = run(capsys, "predict", "--warehouse", str(sample_warehouse), "--format", "json",
                       "--limit", "5", "--customers-csv", str(target))

    assert code == 0
    document = json.loads(out)
    assert document["as_of"] == "2026-01-01T00:00:00"
    assert set(document["models"]) == {"purchase_7d", "churn_28d"}
    for card in document["models"].values():
        assert 0.7 < card["metrics"]["roc_auc"] <= 1
        assert sum(row["rows"] for row in card["calibration"]) == card["validation_rows"]
    predictions = document["predictions"]
    assert len(predictions) == 5
    assert {"user_id", "purchase_probability_7d", "churn_probability_28d"} <= set(predictions[0])
    written = pd.read_csv(target)
    # The file holds every scored user; the printed rows are its first five (highest churn first).
    assert len(written) == document["customers"] > 1_000
    assert written["user_id"].head(5).tolist() == [row["user_id"] for row in predictions]
    assert written["churn_probability_28d"].between(0, 1).all()
