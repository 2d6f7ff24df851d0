"""Period comparison: Wilson intervals and the two-proportion test against SciPy, and on the tiny shop."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from scipy import stats

from analytics.filters import Filters
from analytics.funnels import FunnelQuery, parse_steps
from analytics.funnels.comparison import compare_periods, two_proportion_test, wilson_interval


@pytest.mark.parametrize("successes, trials", [(0, 1), (1, 1), (3, 10), (50, 100), (999, 1000), (7, 20000)])
def test_wilson_interval_equals_scipy(successes: int, trials: int) -> None:
    expected = stats.binomtest(successes, trials).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson_interval(successes, trials) == pytest.approx((expected.low, expected.high), abs=1e-12)


@pytest.mark.parametrize("a, n_a, b, n_b", [(50, 100, 40, 100), (3, 10, 9, 12), (120, 4000, 180, 4100), (1, 3, 1, 1)])
def test_two_proportion_test_equals_the_uncorrected_chi_squared_test(a, n_a, b, n_b) -> None:
    z, p_value = two_proportion_test(a, n_a, b, n_b)
    chi2, expected_p, _, _ = stats.chi2_contingency([[a, n_a - a], [b, n_b - b]], correction=False)
    assert z * z == pytest.approx(chi2)
    assert p_value == pytest.approx(expected_p)
    assert (z > 0) == (a / n_a > b / n_b)


def test_two_proportion_test_by_hand_and_edges() -> None:
    # 50/100 against 40/100: pooled 0.45, standard error sqrt(0.45 * 0.55 * 0.02) = 0.070356.
    z, p_value = two_proportion_test(50, 100, 40, 100)
    assert z == pytest.approx(0.1 / 0.0703562, rel=1e-5)
    assert p_value == pytest.approx(0.15518, abs=1e-4)
    assert all(math.isnan(value) for value in two_proportion_test(0, 0, 1, 2))
    assert all(math.isnan(value) for value in two_proportion_test(0, 5, 0, 7))
    assert all(math.isnan(value) for value in wilson_interval(0, 0))


def test_compare_periods_on_the_tiny_shop(tiny_con) -> None:
    # Jan 2-3: U1, U2 and U3 view, only U2 carts and buys. The previous two days (Dec 31-Jan 1):
    # U1 views, carts and buys.
    table = compare_periods(tiny_con, FunnelQuery(parse_steps("view,cart,purchase"), timedelta(hours=1)),
                            Filters(date(2025, 1, 2), date(2025, 1, 3)))
    assert table["users"].tolist() == [3, 1, 1]
    assert table["users_previous"].tolist() == [1, 1, 1]
    assert table["conversion"].tolist() == pytest.approx([1, 1 / 3, 1 / 3])
    assert table["difference"].tolist() == pytest.approx([0, -2 / 3, -2 / 3])
    # Pooled 2/4, standard error sqrt(0.25 * (1/3 + 1)); z = (1/3 - 1) / 0.57735.
    assert table["z"].iloc[2] == pytest.approx(-1.1547, abs=1e-4)
    assert table["p_value"].iloc[2] == pytest.approx(0.2482, abs=1e-4)
    assert math.isnan(table["p_value"].iloc[0])


def test_the_verdict_states_points_and_significance_in_words():
    from analytics.funnels.comparison import conversion_verdict

    # 0.218 - 0.281 = -0.063: 6.3 points lower.
    assert conversion_verdict(0.218 - 0.281, 0.0004) == "-6.3 pts, significant"
    assert conversion_verdict(0.004, 0.61) == "+0.4 pts, not significant"
    assert conversion_verdict(float("nan"), float("nan")) == "no earlier data"
    assert conversion_verdict(0.01, float("nan")) == "+1.0 pts, not tested"
