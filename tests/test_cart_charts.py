"""Cart drop-off figures without a browser: they plot exactly the engine's numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics.cart_dropoff import kaplan_meier, survival_at
from analytics.charts import cart_dropoff as charts


@pytest.fixture()
def survival() -> pd.DataFrame:
    curve = kaplan_meier(np.array([0.5, 0.5, 3.0, 11.0, 48.0]), np.array([True, True, True, False, True]))
    return survival_at(curve, np.array([0.0, 0.5, 3.0, 24.0, 48.0, 72.0]))


def test_survival_curve_plots_the_step_function_with_its_band(survival):
    figure = charts.survival_figure(survival, within_hours=24)

    upper, lower, line = figure.data
    assert line.name == "Not yet bought" and line.line.shape == "hv"
    # Hour 0 cannot sit on the log axis.
    assert list(line.x) == [0.5, 3.0, 24.0, 48.0, 72.0]
    assert figure.layout.xaxis.type == "log"
    # By hand: 5 carts; 2 bought at 0.5 h (3/5 left), 1 at 3 h (2/5), censored at 11 h, 1 bought at 48 h (0).
    assert list(line.y) == pytest.approx([0.6, 0.4, 0.4, 0.0, 0.0])
    assert lower.fill == "tonexty"
    assert all(low <= mid + 1e-12 <= high + 2e-12 for low, mid, high in zip(lower.y, line.y, upper.y))
    # The window line sits at 24 h; its label in the log10 coordinates annotations use on a log axis.
    assert figure.layout.shapes[0].x0 == 24
    assert figure.layout.annotations[0].x == pytest.approx(math.log10(24))


def test_breakdown_bars_show_rates_and_intervals():
    table = pd.DataFrame({
        "device": ["mobile", "desktop", "tablet"], "carts": [10, 5, 1], "abandoned": [6, 1, 0],
        "recovered": [1, 0, 0], "abandonment_rate": [0.6, 0.25, np.nan],
        "abandonment_lower": [0.3, 0.05, np.nan], "abandonment_upper": [0.85, 0.7, np.nan],
    })
    figure = charts.breakdown_figure(table, "device")

    bars, labels = figure.data
    # Tablet has no decided cart, so no bar.
    assert list(bars.y) == ["mobile", "desktop"]
    assert list(bars.x) == [0.6, 0.25]
    assert list(bars.error_x.array) == pytest.approx([0.25, 0.45])
    assert list(bars.error_x.arrayminus) == pytest.approx([0.3, 0.2])
    # Each label sits past its error bar (0.85, 0.7) and names the rate and its base (no decided
    # column here, so the carts: 10 and 5).
    assert list(labels.x) == pytest.approx([0.85, 0.7])
    assert [text.strip() for text in labels.text] == ["60.0% of 10", "25.0% of 5"]


def test_breakdown_labels_read_like_people_write_them():
    assert charts.breakdown_label("hour", 9) == "09:00"
    assert charts.breakdown_label("is_returning", True) == "Returning"
    assert charts.breakdown_label("is_returning", "False") == "New"
    assert charts.breakdown_label("device", "app") == "app"


def test_empty_inputs_say_why():
    empty = survival_at(kaplan_meier(np.array([]), np.array([], dtype=bool)), np.array([0.0, 1.0]))
    figure = charts.survival_figure(empty, 24)

    assert figure.layout.annotations[0].text == charts.NO_CARTS
