"""The Customers figures plot exactly the engine's numbers (checked on small hand-made frames)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from analytics.charts import customers as charts
from analytics.customers.retention import build_matrix
from analytics.customers.rfm import segment_table

W06, W13 = date(2025, 1, 6), date(2025, 1, 13)


def small_matrix() -> pd.DataFrame:
    # Cohort 01-06: 4 users, active 4, 2, 1 in weeks 0-2, last active in weeks 0 (1), 1 (2), 2 (1).
    # Cohort 01-13: 2 users, active 2, 1; last active 0 (1), 1 (1). Data ends 01-26 (a Sunday).
    rows = pd.DataFrame({
        "cohort": [W06, W06, W06, W13, W13], "segment": "All", "period_number": [0, 1, 2, 0, 1],
        "cohort_size": [4, 4, 4, 2, 2], "active_users": [4, 2, 1, 2, 1], "last_active_users": [1, 2, 1, 1, 1],
        "revenue": [40.0, 0.0, 20.0, 10.0, 10.0],
    })
    return build_matrix(rows, "week", date(2025, 1, 26))


def text_of(figure) -> str:
    return " ".join(annotation.text for annotation in figure.layout.annotations)


def test_heatmap_plots_the_rates_and_counts():
    matrix = small_matrix()
    percent = charts.retention_heatmap(matrix, "week", "percent", "retained_rate")
    counts = charts.retention_heatmap(matrix, "week", "count", "active_rate")

    # Unbounded: 01-06: 4/4, 3/4 (last >= 1: 2 + 1), 1/4; 01-13: 2/2, 1/2.
    z = np.asarray(percent.data[0].z, dtype=float)
    np.testing.assert_allclose(z[0], [1.0, 0.75, 0.25])
    np.testing.assert_allclose(z[1][:2], [1.0, 0.5])
    assert np.isnan(z[1][2])
    np.testing.assert_allclose(np.asarray(counts.data[0].z, dtype=float)[0], [4, 2, 1])
    assert list(percent.data[0].y) == ["2025-01-06 (4)", "2025-01-13 (2)"]


def test_curves_draw_each_cohort_and_the_average():
    matrix = small_matrix()
    average = pd.DataFrame({"segment": "All", "period_number": [0, 1], "active_rate": [1.0, 0.5],
                            "retained_rate": [1.0, 2 / 3], "cumulative_revenue_per_user": [10.0, 12.0]})
    figure = charts.retention_curves_figure(matrix, average, "week")

    assert [trace.name for trace in figure.data] == ["2025-01-06", "2025-01-13", "All cohorts"]
    np.testing.assert_allclose(figure.data[0].y, [1.0, 0.75, 0.25])
    np.testing.assert_allclose(figure.data[-1].y, [1.0, 2 / 3])
    ltv = charts.ltv_curves_figure(matrix, average, "week")
    # 01-06: revenue 40, 0, 20 over 4 users -> 10, 10, 15 per user.
    np.testing.assert_allclose(ltv.data[0].y, [10.0, 10.0, 15.0])


def test_segment_shares():
    customers = pd.DataFrame({"user_id": ["a", "b", "c", "d"], "segment": ["Champions", "Champions", "Lost", "Loyal"],
                              "revenue": [60.0, 20.0, 5.0, 15.0], "recency_days": [1, 2, 90, 10],
                              "orders": [5, 3, 1, 2]})
    figure = charts.segment_share_figure(segment_table(customers))

    shares = dict(zip(figure.data[0].y, figure.data[0].x))
    revenue = dict(zip(figure.data[1].y, figure.data[1].x))
    assert shares["Champions"] == 0.5 and shares["Lost"] == 0.25 and shares["At risk"] == 0.0
    assert revenue["Champions"] == 0.8 and revenue["Loyal"] == 0.15


def test_sankey_links_carry_the_flows():
    flows = pd.DataFrame({"source": ["Champions", "New customer", "Lost"],
                          "target": ["Loyal", "New customers", "No purchase"], "customers": [5, 3, 2]})
    figure = charts.migration_sankey(flows)
    sankey = figure.data[0]

    assert list(sankey.link.value) == [5, 3, 2]
    labels = list(sankey.node.label)
    pairs = {(labels[source], labels[target]) for source, target in zip(sankey.link.source, sankey.link.target)}
    assert pairs == {("Champions", "Loyal"), ("New customer", "New customers"), ("Lost", "No purchase")}
    # A segment on both sides is two nodes, one per period.
    assert len(labels) == 6
    assert [annotation.text for annotation in figure.layout.annotations] == ["As of the start", "As of the end"]


def test_holdout_and_value_scatter():
    holdout = pd.DataFrame({"frequency": ["0", "1", "7+"], "customers": [10, 5, 1], "actual": [0.2, 0.7, 6.0],
                            "predicted": [0.25, 0.6, 5.5]})
    figure = charts.holdout_figure(holdout, "week")
    assert list(figure.data[0].y) == [0.2, 0.7, 6.0] and list(figure.data[1].y) == [0.25, 0.6, 5.5]

    predictions = pd.DataFrame({"user_id": [f"u{i}" for i in range(10)], "frequency": range(10),
                                "expected_purchases": np.linspace(0, 1, 10), "probability_alive": np.linspace(0, 1, 10),
                                "clv": np.arange(10.0)})
    scatter = charts.clv_alive_figure(predictions, max_points=4)
    assert sorted(scatter.data[0].y) == [6.0, 7.0, 8.0, 9.0]


def test_empty_inputs_say_why():
    assert "No customers entered" in text_of(charts.retention_heatmap(pd.DataFrame(), "week"))
    assert "No customers bought" in text_of(charts.migration_sankey(pd.DataFrame()))
    assert "No data after the calibration end" in text_of(charts.holdout_figure(pd.DataFrame(), "week"))
