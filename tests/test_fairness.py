"""The fairness check: per-group metrics by hand, the noise guard, flagged gaps and missing group columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.explain.fairness import auc_standard_error, fairness_report
from tests.explain_fixtures import trained_model


class GivenScores:
    """A stand-in model whose log-odds are logit(p) of the row's column p, so predictions are known exactly."""

    def decision_function(self, rows: pd.DataFrame) -> np.ndarray:
        p = rows["p"].to_numpy(dtype=float)
        return np.log(p / (1 - p))


def two_groups(copies: int, region: str = "north") -> object:
    # Group A: outcomes 1,0,1,0 with p .9,.2,.6,.7 -> AUC 3/4 (only (.6, .7) is out of order), base rate .5,
    # mean prediction .6. Group B: outcomes 1,1,0,0 with p .8,.7,.3,.1 -> AUC 1, base rate .5, mean .475.
    p = np.tile([0.9, 0.2, 0.6, 0.7, 0.8, 0.7, 0.3, 0.1], copies)
    actual = np.tile([1, 0, 1, 0, 1, 1, 0, 0], copies)
    device = np.tile(["A"] * 4 + ["B"] * 4, copies)
    rows = pd.DataFrame({"p": p})
    segments = pd.DataFrame({"device": device, "region": region}, index=rows.index)
    return trained_model(GivenScores(), rows, actual, segments=segments)


def test_group_metrics_by_hand():
    report = fairness_report(two_groups(1), min_rows=1)
    groups = report.groups.set_index(["column", "value"])

    assert groups.loc[("device", "A"), "roc_auc"] == pytest.approx(0.75)
    assert groups.loc[("device", "B"), "roc_auc"] == pytest.approx(1.0)
    assert groups.loc[("device", "A"), "mean_predicted"] == pytest.approx(0.6)
    assert groups.loc[("device", "B"), "calibration_gap"] == pytest.approx(0.475 - 0.5)
    assert groups.loc[("device", "A"), "base_rate"] == 0.5 and groups.loc[("device", "A"), "rows"] == 4


def test_small_groups_are_noise_but_the_same_gap_on_many_rows_is_flagged():
    few = fairness_report(two_groups(1), min_rows=1).gaps.set_index(["column", "metric"])
    many = fairness_report(two_groups(50), min_rows=1).gaps.set_index(["column", "metric"])

    # The AUC gap is 1 - 0.75 on both; on 4 rows per group its standard error is ~0.28, so it is noise.
    assert few.loc[("device", "roc_auc"), "gap"] == pytest.approx(0.25)
    assert not few.loc[("device", "roc_auc"), "is_flagged"]
    assert many.loc[("device", "roc_auc"), "is_flagged"]
    # Base rates are equal: never flagged. The worst calibration gap is group A's 0.6 - 0.5.
    assert many.loc[("device", "base_rate"), "gap"] == pytest.approx(0.0)
    assert not many.loc[("device", "base_rate"), "is_flagged"]
    assert many.loc[("device", "calibration_gap"), "gap"] == pytest.approx(0.1)
    assert many.loc[("device", "calibration_gap"), "highest_group"] == "A"
    assert many.loc[("device", "calibration_gap"), "is_flagged"]
    assert set(fairness_report(two_groups(50), min_rows=1).flagged["metric"]) == {"roc_auc", "calibration_gap"}


def test_groups_below_the_minimum_are_listed_but_not_compared():
    # 4 rows per device, 8 in the one region: all below 9.
    report = fairness_report(two_groups(1), min_rows=9)
    assert len(report.groups) == 3 and not report.groups["is_compared"].any()
    assert report.gaps.empty


def test_missing_and_unknown_group_columns_are_reported():
    report = fairness_report(two_groups(2, region="unknown"), min_rows=1)

    assert "every value is unknown" in report.missing["region"]
    assert "carry no acquisition channel column" in report.missing["acquisition_channel"]
    assert set(report.missing) == {"region", "is_returning", "acquisition_channel", "channel"}
    assert set(report.groups["column"]) == {"device"}


def test_hanley_mcneil_standard_error_by_hand():
    # A = 0.75, 2 positives, 2 negatives: Q1 = 0.6, Q2 = 2(0.5625)/1.75; variance = (0.1875 + 0.0375 + 0.0803571)/4.
    assert auc_standard_error(0.75, 2, 2) == pytest.approx(np.sqrt((0.1875 + 0.0375 + (1.125 / 1.75 - 0.5625)) / 4))
    assert auc_standard_error(1.0, 2, 2) == 0.0
    assert np.isnan(auc_standard_error(0.8, 0, 3))


def test_other_names_for_the_same_groups_are_read():
    rows = pd.DataFrame({"p": np.tile([0.2, 0.8, 0.3, 0.6], 2)})
    segments = pd.DataFrame({"main_device": ["a", "a", "a", "a", "b", "b", "b", "b"],
                             "customer_status": ["new", "returning"] * 4}, index=rows.index)
    report = fairness_report(trained_model(GivenScores(), rows, [0, 1] * 4, segments=segments), min_rows=1)

    assert set(report.groups["column"]) == {"device", "is_returning"}
    # Both devices get the same four predictions and outcomes: AUC 1 each, no gap.
    assert report.gaps.set_index(["column", "metric"]).loc[("device", "roc_auc"), "gap"] == pytest.approx(0.0)
    empty = fairness_report(trained_model(GivenScores(), rows, [0, 1] * 4), min_rows=1)
    assert empty.groups.empty and empty.gaps.empty
