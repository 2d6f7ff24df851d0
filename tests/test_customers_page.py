"""The Customers page in-process (AppTest): every tab on the hand-built log and the Value tab on the sample."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.customers_fixtures import build_customer_warehouse
from tests.model_pages import open_page_with_models
from tests.page_runner import assert_no_error

PAGE = "pages/customers.py"
PERIOD = {"from": "2025-01-06", "to": "2025-01-22"}


@pytest.fixture(scope="module")
def customer_warehouse(tmp_path_factory) -> Path:
    return build_customer_warehouse(tmp_path_factory.mktemp("customers_page"))


def run_page(monkeypatch, warehouse: Path, query: dict | None = None) -> AppTest:
    # Value and Predictions load models the background worker trains; here in-process, then the page reruns.
    return open_page_with_models(monkeypatch, warehouse, PAGE, query, timeout_seconds=120)


def download_keys(app: AppTest) -> set[str]:
    return {button.proto.id.split("-", 2)[-1] for button in app.get("download_button")}


def heatmap_values(app: AppTest) -> list[list[float]]:
    import base64
    import json

    import numpy as np

    z = json.loads(app.get("plotly_chart")[0].proto.spec)["data"][0]["z"]
    if isinstance(z, dict):  # plotly sends arrays as base64 ("bdata") with a dtype and shape
        values = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"])
        shape = [int(size) for size in str(z.get("shape", len(values))).split(",")]
        z = values.reshape(shape)
    return np.asarray(z, dtype=float).tolist()


def test_retention_tab_shows_the_hand_counted_matrix(monkeypatch, customer_warehouse):
    app = run_page(monkeypatch, customer_warehouse, PERIOD)

    assert_no_error(app)
    assert app.title[0].value == "Customers"
    assert len(app.get("plotly_chart")) == 3
    # Unbounded retention, cohort 01-06 (3 users): 3/3, 2/3, 2/3; 01-13: 1, 1; 01-20: 1.
    rows = heatmap_values(app)
    assert rows[0] == pytest.approx([1.0, 2 / 3, 2 / 3])
    assert rows[1][:2] == [1.0, 1.0] and rows[2][0] == 1.0
    assert {"download_customers_retention_heatmap", "download_customers_retention_curves", "download_customers_ltv_curves"} <= download_keys(app)


def test_counts_and_n_period_from_the_url(monkeypatch, customer_warehouse):
    app = run_page(monkeypatch, customer_warehouse, PERIOD | {"customers_retention": "N-period", "customers_show": "Count"})

    assert_no_error(app)
    # N-period counts of cohort 01-06: 3, 1, 2.
    assert heatmap_values(app)[0] == [3.0, 1.0, 2.0]


def test_breakdown_shows_a_segment_picker(monkeypatch, customer_warehouse):
    app = run_page(monkeypatch, customer_warehouse, PERIOD | {"customers_breakdown": "Acquisition channel"})

    assert_no_error(app)
    assert app.selectbox(key="customers_segment").options == ["direct", "email", "social"]


def test_segments_tab(monkeypatch, customer_warehouse):
    app = run_page(monkeypatch, customer_warehouse, PERIOD | {"customers_tab": "Segments"})

    assert_no_error(app)
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Customers"] == "3"  # A, C and D bought in the period
    assert len(app.get("plotly_chart")) == 2
    assert {"download_customers_rfm_segments", "download_customers_rfm_migration", "customers_download_segment"} <= download_keys(app)
    app.selectbox(key="customers_export_segment").set_value("Lost").run()
    assert app.dataframe[0].value["user_id"].tolist() == ["C"]


def test_segments_tab_migration_from_the_start_of_the_period(monkeypatch, customer_warehouse):
    import json

    app = run_page(monkeypatch, customer_warehouse, {"from": "2025-01-13", "to": "2025-01-22", "customers_tab": "Segments"})

    assert_no_error(app)
    sankey = json.loads(app.get("plotly_chart")[1].proto.spec)
    # As in test_migration_from_the_start_of_the_period_to_its_end: A Lost -> Potential loyalist,
    # C About to sleep -> Lost, D (first order 01-13) New customer -> At risk.
    labels = sankey["data"][0]["node"]["label"]
    assert {"New customer", "About to sleep", "Potential loyalist", "At risk"} <= set(labels)
    titles = [annotation["text"] for annotation in sankey["layout"]["annotations"]]
    assert titles == ["As of the start", "As of the end"]


def test_value_tab_says_why_without_enough_customers(monkeypatch, customer_warehouse):
    app = run_page(monkeypatch, customer_warehouse, PERIOD | {"customers_tab": "Value"})

    assert_no_error(app)
    assert [info.proto.title for info in app.info] == ["Not enough purchases for a CLV model"]


def test_empty_period_says_so(monkeypatch, customer_warehouse):
    app = run_page(monkeypatch, customer_warehouse, {"from": "2025-01-09", "to": "2025-01-12"})

    assert_no_error(app)
    assert [info.proto.title for info in app.info] == ["No cohorts for these filters"]


@pytest.mark.slow
def test_value_tab_on_the_sample(monkeypatch, sample_warehouse):
    app = run_page(monkeypatch, sample_warehouse, {"from": "2025-01-01", "to": "2025-12-31", "customers_tab": "Value",
                                                   "customers_calibration_end": "2025-09-30"})

    assert_no_error(app)
    metrics = {metric.label: metric.value for metric in app.metric}
    assert {"Customers", "Expected purchases, next year", "Share still active", "12-month CLV"} <= set(metrics)
    # The surrogate behind the explanation reproduces BG/NBD's CLV closely on customers it did not see.
    assert float(metrics["Fidelity R²"]) > 0.8
    # The scatter, the holdout chart and the explanation panel's charts (SHAP bar, beeswarm, segment).
    assert len(app.get("plotly_chart")) >= 4
    assert any("Why customers are worth what they are" in header.value for header in app.subheader)
    assert len(app.dataframe[-1].value) == 200


@pytest.mark.skipif(importlib.util.find_spec("dashboard.customer_predictions") is None,
                    reason="the Predictions tab's module (dashboard/customer_predictions.py) is not built yet")
def test_predictions_tab_hands_over_to_its_module(monkeypatch, customer_warehouse):
    app = run_page(monkeypatch, customer_warehouse, PERIOD | {"customers_tab": "Predictions"})

    assert_no_error(app)
    assert [tab.label for tab in app.tabs] == ["Retention", "Segments", "Value", "Predictions"]


def test_segment_export_comes_from_the_url(monkeypatch, customer_warehouse):
    app = run_page(monkeypatch, customer_warehouse, PERIOD | {"customers_tab": "Segments", "customers_export_segment": "At risk"})

    assert_no_error(app)
    assert app.dataframe[0].value["user_id"].tolist() == ["D"]


def test_segments_and_value_say_they_need_prices_when_the_data_has_none(monkeypatch, tmp_path):
    from analytics.warehouse import build_warehouse
    from tests.customers_fixtures import TABLES
    from tests.tiny_shop import write_tiny_shop

    # Orders without lines, as a click log's purchases become: customers, but no prices.
    unpriced = {name: table for name, table in TABLES.items() if name != "order_items"}
    target = tmp_path / "warehouse.duckdb"
    build_warehouse(write_tiny_shop(tmp_path / "source", unpriced), target)

    for tab, title in (("Segments", "Segments need prices"), ("Value", "Lifetime value needs prices")):
        app = run_page(monkeypatch, target, PERIOD | {"customers_tab": tab})
        assert_no_error(app)
        assert [info.proto.title for info in app.info] == [title]
        assert not app.get("plotly_chart")
