"""Differential-privacy noise from OpenDP: counts and sums, with the accuracy each figure carries.

Counts get OpenDP's discrete Laplace mechanism (integer noise, so no floating-point leaks);
sums of money get its continuous Laplace mechanism, which OpenDP samples exactly on a fine grid
rather than with floating-point arithmetic (the attack of Mironov 2012 does not apply). The noise
scale is sensitivity / ε; the ε charged is what OpenDP's privacy map reports for that scale and
sensitivity, never a number we compute beside it.

OpenDP draws from the operating system's secure random source and cannot be seeded: noise that
could be replayed from a seed would not be private. Tests check it statistically.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import opendp.prelude as dp

# OpenDP keeps mechanisms it has not yet had vetted behind the "contrib" flag, as its docs ask.
dp.enable_features("contrib")

CONFIDENCE = 0.95


@dataclass(frozen=True)
class NoisyValue:
    """One released figure.

    Attributes:
        value: the noisy figure (post-processed: counts are clamped at 0 and whole).
        accuracy: half-width of the 95% interval of the noise: |value - exact| <= accuracy with
            probability 0.95, before clamping (`noise_accuracy`).
        epsilon: the ε OpenDP's privacy map charges for it.
        sensitivity: how much one user can change the exact figure (their contribution bound).
        scale: the Laplace noise scale, sensitivity / ε.
        mechanism: "discrete_laplace" (counts) or "laplace" (sums).
    """

    value: float
    accuracy: float
    epsilon: float
    sensitivity: float
    scale: float
    mechanism: str


@lru_cache(maxsize=256)
def _count_measurement(scale: float) -> dp.Measurement:
    return dp.m.make_laplace(dp.atom_domain(T=int), dp.absolute_distance(T=int), scale=scale)


@lru_cache(maxsize=256)
def _sum_measurement(scale: float) -> dp.Measurement:
    return dp.m.make_laplace(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=scale)


@lru_cache(maxsize=256)
def _histogram_measurement(scale: float) -> dp.Measurement:
    return dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=scale)


def noise_scale(sensitivity: float, epsilon: float) -> float:
    """The Laplace scale that spends `epsilon` on a figure of this sensitivity: sensitivity / ε.

    Raises:
        ValueError: epsilon or sensitivity is not positive.
    """
    if not epsilon > 0 or not sensitivity > 0:
        raise ValueError(f"ε and the sensitivity must be positive, got ε={epsilon} and sensitivity={sensitivity}")
    return float(sensitivity) / float(epsilon)


def noisy_count(exact: int, sensitivity: int, epsilon: float) -> NoisyValue:
    """A count with discrete Laplace noise of scale sensitivity / ε, clamped at 0.

    Args:
        exact: the exact count, each user's contribution already bounded to `sensitivity`.
        sensitivity: the most one user can add to `exact` (>= 1).
        epsilon: the privacy loss to spend on it (> 0).
    """
    scale = noise_scale(sensitivity, epsilon)
    measurement = _count_measurement(scale)
    value = max(int(measurement(int(exact))), 0)
    return NoisyValue(float(value), count_accuracy(scale), float(measurement.map(int(sensitivity))),
                      float(sensitivity), scale, "discrete_laplace")


def noisy_sum(exact: float, sensitivity: float, epsilon: float) -> NoisyValue:
    """A non-negative sum (money) with Laplace noise of scale sensitivity / ε, clamped at 0.

    Args:
        exact: the exact sum, each user's contribution already clamped to [0, sensitivity].
        sensitivity: the clamp bound U (> 0).
        epsilon: the privacy loss to spend on it (> 0).
    """
    scale = noise_scale(sensitivity, epsilon)
    measurement = _sum_measurement(scale)
    value = max(float(measurement(float(exact))), 0.0)
    return NoisyValue(value, sum_accuracy(scale), float(measurement.map(float(sensitivity))), float(sensitivity),
                      scale, "laplace")


def noisy_histogram(exact: np.ndarray, l1_sensitivity: int, epsilon: float) -> tuple[np.ndarray, float, float]:
    """Counts in disjoint buckets, each with independent discrete Laplace noise of scale Δ₁ / ε.

    Args:
        exact: int[k] bucket counts; one user changes them by at most `l1_sensitivity` in total.
        l1_sensitivity: that bound (1 when each user falls in exactly one bucket).
        epsilon: the privacy loss to spend on the whole histogram.

    Returns:
        (int64[k] noisy counts, not clamped; the ε OpenDP charges; the noise scale).
    """
    scale = noise_scale(l1_sensitivity, epsilon)
    measurement = _histogram_measurement(scale)
    noisy = np.asarray(measurement([int(value) for value in exact]), dtype=np.int64)
    return noisy, float(measurement.map(int(l1_sensitivity))), scale


def accuracy(scale: float, mechanism: str, confidence: float = CONFIDENCE) -> float:
    """Half-width of the noise's `confidence` interval for a "discrete_laplace" or "laplace" figure."""
    return count_accuracy(scale, confidence) if mechanism == "discrete_laplace" else sum_accuracy(scale, confidence)


def count_accuracy(scale: float, confidence: float = CONFIDENCE) -> float:
    """Half-width a with P(|discrete Laplace noise| <= a) >= confidence, from OpenDP."""
    half_width = float(dp.discrete_laplacian_scale_to_accuracy(scale, 1 - confidence))
    # At tiny scales OpenDP's formula underflows (to -inf); the noise is then 0 all but surely.
    return half_width if np.isfinite(half_width) and half_width > 0 else 0.0


def sum_accuracy(scale: float, confidence: float = CONFIDENCE) -> float:
    """Half-width a with P(|Laplace noise| <= a) = confidence: scale · ln(1 / (1 - confidence)), from OpenDP."""
    return float(dp.laplacian_scale_to_accuracy(scale, 1 - confidence))


@lru_cache(maxsize=256)
def summed_count_accuracy(scale: float, terms: int, confidence: float = CONFIDENCE) -> float:
    """Half-width a with P(|sum of `terms` independent discrete Laplace noises| <= a) >= confidence.

    Exact: the noise's probability mass function is convolved `terms` times (a cumulative funnel step
    adds up the noisy buckets at and after it).
    """
    if terms == 1:
        return count_accuracy(scale, confidence)
    # Discrete Laplace: P(k) ∝ exp(-|k| / scale); cut where the tail is below 1e-12.
    alpha = np.exp(-1.0 / scale)
    reach = int(np.ceil(scale * np.log(1e12))) + 1
    support = np.arange(-reach, reach + 1)
    mass = (1 - alpha) / (1 + alpha) * alpha ** np.abs(support)
    total = mass
    for _ in range(terms - 1):
        total = np.convolve(total, mass)
    centre = len(total) // 2
    # P(|S| <= a) for a = 0, 1, 2, ...: the centre plus both tails grown outwards.
    within = total[centre] + np.concatenate([[0.0], np.cumsum(total[centre + 1:] + total[centre - 1::-1][:centre])])
    return float(np.searchsorted(within, confidence - 1e-12))
