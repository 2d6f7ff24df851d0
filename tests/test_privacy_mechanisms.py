"""OpenDP's noise against ε and sensitivity, statistically, and the accuracy it reports.

OpenDP draws from the operating system's secure random source and cannot be seeded (replayable noise
would not be private), so these tests use many draws and tolerances of at least 5 standard errors:
a correct mechanism fails one of them far less than once in a million runs, while a scale off by 10%
(ε or the sensitivity mixed up) fails every time. The reference computations use numpy with fixed seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

from analytics.privacy.mechanisms import (
    count_accuracy,
    noisy_count,
    noisy_histogram,
    noisy_sum,
    sum_accuracy,
    summed_count_accuracy,
)

DRAWS = 40_000


def _discrete_laplace_variance(scale: float) -> float:
    # P(k) ∝ α^|k| with α = exp(-1/scale) has variance 2α / (1 - α)², just under 2·scale².
    alpha = np.exp(-1 / scale)
    return 2 * alpha / (1 - alpha) ** 2


@pytest.mark.parametrize(("sensitivity", "epsilon"), [(1, 0.5), (10, 1.0), (5, 0.25)])
def test_count_noise_variance_is_two_sensitivity_over_epsilon_squared(sensitivity, epsilon):
    noisy, spent, scale = noisy_histogram(np.zeros(DRAWS, dtype=np.int64), sensitivity, epsilon)
    assert scale == sensitivity / epsilon
    assert spent == pytest.approx(epsilon)
    expected = 2 * (sensitivity / epsilon) ** 2
    # The discrete mechanism's exact variance is 2(Δ/ε)² - 1/6 plus terms that vanish with the scale:
    # 2% under at scale 2, 0.1% under at scale 10.
    assert _discrete_laplace_variance(scale) == pytest.approx(expected, rel=0.025)
    # Laplace has kurtosis 6, so the sample variance's relative standard error is sqrt(5 / n) = 1.1%.
    assert noisy.var() == pytest.approx(_discrete_laplace_variance(scale), rel=0.06)
    assert abs(noisy.mean()) < 6 * np.sqrt(expected / DRAWS)
    assert np.issubdtype(noisy.dtype, np.integer)


def test_a_scale_off_by_ten_percent_would_fail_the_variance_check():
    # The check above must be able to fail: ε mixed up with ε·1.1 moves the variance by 21%.
    noisy, _, _ = noisy_histogram(np.zeros(DRAWS, dtype=np.int64), 10, 1.1)
    assert noisy.var() != pytest.approx(2 * (10 / 1.0) ** 2, rel=0.06)


def test_a_single_count_is_centred_on_the_exact_count_with_the_expected_spread():
    draws = np.array([noisy_count(5_000, 10, 1.0).value for _ in range(4_000)])
    expected = 2 * 10.0 ** 2
    assert abs(draws.mean() - 5_000) < 6 * np.sqrt(expected / len(draws))
    # sqrt(5 / 4000) = 3.5% standard error.
    assert draws.var() == pytest.approx(expected, rel=0.18)


def test_counts_are_never_negative_and_report_their_epsilon():
    draws = [noisy_count(0, 5, 0.5) for _ in range(300)]
    assert min(draw.value for draw in draws) == 0
    assert all(draw.epsilon == pytest.approx(0.5) and draw.sensitivity == 5 and draw.scale == 10 for draw in draws)


def test_sum_noise_variance_is_two_sensitivity_over_epsilon_squared():
    draws = np.array([noisy_sum(1e6, 1000.0, 0.25).value for _ in range(5_000)])
    expected = 2 * (1000.0 / 0.25) ** 2
    assert abs(draws.mean() - 1e6) < 6 * np.sqrt(expected / len(draws))
    # sqrt(5 / 5000) = 3.2% standard error.
    assert draws.var() == pytest.approx(expected, rel=0.17)
    assert noisy_sum(0.0, 1000.0, 0.25).epsilon == pytest.approx(0.25)


def test_the_accuracy_interval_holds_95_percent_of_the_time():
    scale = 20.0
    noisy, _, _ = noisy_histogram(np.zeros(DRAWS, dtype=np.int64), 10, 10 / scale)
    half_width = count_accuracy(scale)
    # Coverage of a 95% interval over 40,000 draws: standard error 0.11%.
    assert np.mean(np.abs(noisy) <= half_width) == pytest.approx(0.95, abs=0.006)
    # Continuous Laplace: P(|X| > a) = exp(-a / scale), so a = scale · ln 20.
    assert sum_accuracy(scale) == pytest.approx(scale * np.log(20))


def test_the_accuracy_of_summed_noise_matches_a_seeded_simulation():
    rng = np.random.default_rng(7)
    scale, terms = 2.0, 3
    p = 1 - np.exp(-1 / scale)
    # A discrete Laplace draw is the difference of two geometric draws.
    noise = (rng.geometric(p, (400_000, terms)) - rng.geometric(p, (400_000, terms))).sum(axis=1)
    half_width = summed_count_accuracy(scale, terms)
    assert np.mean(np.abs(noise) <= half_width) >= 0.95 - 0.002
    assert np.mean(np.abs(noise) <= half_width - 1) < 0.95 + 0.002
    assert summed_count_accuracy(scale, 1) == count_accuracy(scale)
    assert summed_count_accuracy(scale, 4) > summed_count_accuracy(scale, 3) > count_accuracy(scale)


@pytest.mark.parametrize(("sensitivity", "epsilon"), [(0, 1.0), (1, 0.0), (1, -1.0)])
def test_a_non_positive_budget_or_sensitivity_is_refused(sensitivity, epsilon):
    with pytest.raises(ValueError):
        noisy_count(10, sensitivity, epsilon)
