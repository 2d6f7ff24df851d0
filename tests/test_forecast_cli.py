"""`shoplens forecast`: the JSON shape, CSV series, and the warehouse levels."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analytics.cli import main

FAST = ("--model", "seasonal_naive", "--model", "ets")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def series_csv(tmp_path_factory):
    ds = pd.date_range("2025-01-01", periods=63)
    pattern = np.array([2, 2, 2, 2, 4, 6, 1], float)
    frame = pd.concat([pd.DataFrame({"unique_id": name, "ds": ds.strftime("%Y-%m-%d"), "y": pattern[ds.dayofweek] * k})
                       for name, k in (("mugs", 1), ("cups", 3))])
    path = tmp_path_factory.mktemp("forecast_cli") / "series.csv"
    frame.to_csv(path, index=False)
    return str(path)


def test_json_shape_from_a_series_csv(capsys, series_csv):
    code, out, _ = run(capsys, "forecast", "--series-csv", series_csv, "--horizon", "7", "--folds", "3", *FAST,
                       "--country", "none", "--format", "json")

    assert code == 0
    document = json.loads(out)
    assert set(document) == {"leaderboard", "champion", "forecast"}
    assert {"unique_id", "model", "mase", "smape", "wape", "bias", "coverage_80", "coverage_95"} <= set(
        document["leaderboard"][0])
    # No ensemble: it needs two models besides seasonal naive, and only ETS is one.
    assert {(row["unique_id"], row["model"]) for row in document["leaderboard"]} == {
        (name, model) for name in ("mugs", "cups") for model in ("seasonal_naive", "ets")}
    assert set(document["champion"]) == {"mugs", "cups"}
    # A series that repeats every week is forecast perfectly by seasonal naive, which wins.
    assert document["champion"]["cups"]["model"] == "seasonal_naive"
    assert document["champion"]["cups"]["mase"] == pytest.approx(0.0)
    forecast = document["forecast"]
    assert set(forecast[0]) == {"unique_id", "ds", "yhat", "yhat_lower", "yhat_upper", "yhat_lower_95",
                                "yhat_upper_95", "model"}
    champion = document["champion"]["cups"]
    assert {"msis", "coverage_warning", "days", "reason"} <= set(champion)
    # 3 folds x 7 days of backtest; a perfect forecast has a zero-width interval that held every day: 100% against
    # a nominal 80% is more than 5 points off, so the page says so (95% is exactly 5 points off: not mentioned).
    assert champion["days"] == 21 and champion["coverage_80"] == 1.0
    assert champion["coverage_warning"] == ("80% intervals covered 100% in the backtest (21 days): wider than needed, "
                                            "stock planned on them is more than the service level asks")
    cups = [row for row in forecast if row["unique_id"] == "cups"]
    # The data ends on Mon 2025-03-04; the 7 days after it, at 3x the weekly pattern.
    assert [row["ds"] for row in cups] == [day.strftime("%Y-%m-%d") for day in pd.date_range("2025-03-05", periods=7)]
    assert [row["yhat"] for row in cups] == pytest.approx([6, 6, 12, 18, 3, 6, 6])
    assert all(row["yhat_lower"] <= row["yhat"] <= row["yhat_upper"] for row in forecast)


def test_table_and_csv_outputs(capsys, series_csv):
    code, out, _ = run(capsys, "forecast", "--series-csv", series_csv, "--horizon", "7", "--folds", "2", *FAST,
                       "--country", "none", "--show", "leaderboard", "--format", "csv")
    assert code == 0
    assert out.splitlines()[0].startswith("unique_id,model,mase,msis,smape,wape,bias,coverage_80,coverage_95,"
                                          "coverage_warning,days")
    code, out, _ = run(capsys, "forecast", "--series-csv", series_csv, "--series", "mugs", "--horizon", "7",
                       "--folds", "2", *FAST, "--country", "none")
    assert code == 0 and "Champion per series" in out and "cups" not in out


def test_errors_are_one_line_with_a_fix(capsys, series_csv):
    code, _, err = run(capsys, "forecast", "--series-csv", series_csv, "--horizon", "28", "--folds", "3", *FAST)
    assert code == 2 and "lower --horizon" in err
    code, _, err = run(capsys, "forecast", "--series-csv", series_csv, "--series", "plates", *FAST)
    assert code == 2 and "plates" in err


def test_warehouse_category_level_json(capsys, sample_warehouse):
    code, out, _ = run(capsys, "forecast", "--warehouse", str(sample_warehouse), "--level", "category",
                       "--horizon", "7", "--folds", "2", *FAST, "--jobs", "1", "--format", "json")
    assert code == 0
    document = json.loads(out)
    categories = set(document["champion"])
    assert len(categories) == 8 and "Electronics" in categories
    # One forecast row per category and day, starting the day after the sample's last order day.
    assert len(document["forecast"]) == 8 * 7
    assert min(row["ds"] for row in document["forecast"]) == "2026-01-01"
    assert all(row["yhat"] >= 0 and row["yhat_lower"] >= 0 for row in document["forecast"])


def test_why_explains_a_forecast_day_of_the_global_model(capsys, series_csv):
    code, out, _ = run(capsys, "forecast", "--series-csv", series_csv, "--horizon", "7", "--folds", "1",
                       "--model", "lightgbm_global", "--country", "none", "--why", "cups", "--day", "2025-03-07",
                       "--format", "json")
    assert code == 0
    document = json.loads(out)
    # The last CSV day is 2025-03-04 (63 days from 1 Jan), so 7 March (a Friday) is the 3rd forecast day.
    assert document["day"] == "2025-03-07" and document["unit"] == "y"
    total = document["base_value"] + sum(row["shap_value"] for row in document["contributions"])
    assert total == pytest.approx(document["forecast"], abs=1e-6)
    assert document["sentence"].startswith("cups on Fri 07 Mar 2025")
    by_feature = {row["feature"]: row for row in document["contributions"]}
    assert by_feature["day_of_week"]["value"] == "Friday" and by_feature["horizon_step"]["value"] == "3"


def test_why_without_the_global_model_says_how_to_fix_it(capsys, series_csv):
    code, _, err = run(capsys, "forecast", "--series-csv", series_csv, "--horizon", "7", "--folds", "1", *FAST,
                       "--country", "none", "--why", "cups")
    assert code != 0 and "--model lightgbm_global" in err


def test_from_and_to_trim_the_history(capsys, series_csv):
    # The CSV runs from Wed 2025-01-01 to Tue 2025-03-04 (63 days).
    code, out, _ = run(capsys, "forecast", "--series-csv", series_csv, "--to", "2025-02-25", "--horizon", "7",
                       "--folds", "2", *FAST, "--country", "none", "--format", "json")
    assert code == 0
    days = sorted({row["ds"] for row in json.loads(out)["forecast"]})
    assert days[0] == "2025-02-26" and days[-1] == "2025-03-04"
    # From Feb 1 to Feb 25: 25 days, fewer than the 2 x 7 + 2 x 7 = 28 a 2-fold backtest of 7 needs.
    code, _, err = run(capsys, "forecast", "--series-csv", series_csv, "--from", "2025-02-01", "--to", "2025-02-25",
                       "--horizon", "7", "--folds", "2", *FAST, "--country", "none")
    assert code == 2 and "25 steps" not in err and "lower --horizon" in err
    # From Jan 22 (35 days to Feb 25), the backtest runs and the folds lie inside the trimmed history.
    code, out, _ = run(capsys, "forecast", "--series-csv", series_csv, "--from", "2025-01-22", "--to", "2025-02-25",
                       "--horizon", "7", "--folds", "2", *FAST, "--country", "none", "--format", "json")
    assert code == 0 and json.loads(out)["champion"]["cups"]["days"] == 14
    code, _, err = run(capsys, "forecast", "--series-csv", series_csv, "--from", "2025-03-01", "--to", "2025-02-01",
                       *FAST)
    assert code == 2 and "swap them" in err and len(err.strip().splitlines()) == 1


def test_to_is_not_read_as_top(capsys, sample_warehouse):
    # `--to` used to be taken as an abbreviation of `--top`; it is the last day of history.
    code, out, _ = run(capsys, "forecast", "--warehouse", str(sample_warehouse), "--level", "total", "--to",
                       "2025-11-30", "--horizon", "7", "--folds", "2", *FAST, "--jobs", "1", "--format", "json")
    assert code == 0
    assert min(row["ds"] for row in json.loads(out)["forecast"]) == "2025-12-01"


def test_a_quarterly_series_is_forecast_by_quarter(capsys, tmp_path):
    # 12 years of quarters with a yearly pattern of 4 steps; quarterly dates used to be refused.
    ds = pd.date_range("2010-01-01", periods=48, freq="QS")
    y = 100 + 2 * np.arange(48) + np.tile([0, 15, 30, -10], 12)
    path = tmp_path / "quarterly.csv"
    pd.DataFrame({"ds": ds.strftime("%Y-%m-%d"), "y": y}).to_csv(path, index=False)
    code, out, _ = run(capsys, "forecast", "--series-csv", str(path), "--horizon", "4", "--folds", "3", *FAST,
                       "--model", "lightgbm_global", "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert [row["ds"] for row in document["forecast"]] == ["2022-01-01", "2022-04-01", "2022-07-01", "2022-10-01"]
    # Last year's pattern plus the trend (+2 a quarter): seasonal naive repeats 2021 exactly, ETS and
    # LightGBM learn it; every champion forecast lands within 15% of the true continuation.
    truth = 100 + 2 * np.arange(48, 52) + np.array([0, 15, 30, -10])
    assert [row["yhat"] for row in document["forecast"]] == pytest.approx(truth, rel=0.15)
    assert {row["model"] for row in document["leaderboard"]} >= {"seasonal_naive", "ets", "lightgbm_global"}
