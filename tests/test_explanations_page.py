"""The Explanations page in-process (AppTest) on the sample: card, SHAP summary, dependence, one row, fairness."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.model_pages import open_page_with_models, settle
from tests.page_runner import APP, assert_no_error, shown

PAGE = "pages/explanations.py"


def run_page(monkeypatch, warehouse: Path, query: dict | None = None) -> AppTest:
    # Models come from the background worker's store; here trained in-process, then the page reruns.
    return open_page_with_models(monkeypatch, warehouse, PAGE, query, timeout_seconds=180)


@pytest.mark.slow
def test_cart_model_card_shap_row_and_fairness_on_the_sample(monkeypatch, sample_warehouse):
    app = run_page(monkeypatch, sample_warehouse, {"explain_model": "cart_conversion"})

    assert_no_error(app)
    assert app.selectbox(key="explain_model").value == "cart_conversion"
    metrics = {metric.label: metric.value for metric in app.metric}
    # The planted price effect makes the cart model better than chance on later carts.
    assert 0.6 < float(metrics["ROC AUC"]) < 1
    assert metrics["Rows explained"] == "2,000"
    # Calibration, SHAP bar, beeswarm, dependence, waterfall and the fairness chart.
    assert len(app.get("plotly_chart")) == 6
    # The card is recorded next to the warehouse, under the data version.
    cards = list((sample_warehouse.parent / "models").glob("*/cart_conversion.json"))
    assert len(cards) == 1
    # The sample has regions and acquisition channels, so no group column is reported missing.
    assert not any("not checked" in caption.value for caption in app.caption)

    app.selectbox(key="explain_feature").set_value("price_ratio").run()
    assert_no_error(app)
    assert any("price ÷ category median" in markdown.value for markdown in app.markdown)
    row_id = app.selectbox(key="explain_row").options[3]
    app.selectbox(key="explain_row").set_value(row_id).run()
    assert_no_error(app)
    assert any(f"cart {row_id}" in markdown.value for markdown in app.markdown)
    app.segmented_control(key="explain_group").set_value("region").run()
    assert_no_error(app)
    assert any(markdown.value == "**By region**" for markdown in app.markdown)


def test_a_model_whose_trainer_is_missing_says_so(monkeypatch, sample_warehouse):
    import streamlit as st

    from analytics.explain import registry

    monkeypatch.setattr(registry, "MODELS", (
        registry.ModelSpec("ghost", "Ghost model", "classification", "analytics.no_such_module:train",
                           "Row", "Nowhere"),
    ))
    # The page keeps the model list for the server's life; start from a fresh one.
    st.cache_resource.clear()
    app = run_page(monkeypatch, sample_warehouse)

    assert_no_error(app)
    assert [info.proto.title for info in app.info] == ["This model is not available yet"]
    assert "analytics.no_such_module cannot be imported" in shown(app.info[0].value)


def test_a_regression_model_gets_its_units_and_no_calibration(monkeypatch, sample_warehouse):
    import streamlit as st

    from analytics.explain import registry

    monkeypatch.setattr(registry, "MODELS", (
        registry.ModelSpec("toy_regressor", "Toy regressor", "regression",
                           "tests.explain_fixtures:train_toy_regressor", "Day", "Nowhere"),
    ))
    st.cache_resource.clear()
    app = run_page(monkeypatch, sample_warehouse, {"explain_model": "toy_regressor"})

    assert_no_error(app)
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["MASE"] == "0.700" and metrics["WAPE"] == "12.0%"
    # SHAP bar, beeswarm, dependence, waterfall and the fairness chart; no calibration for a regressor.
    assert len(app.get("plotly_chart")) == 5
    # Rows are days, looked up by their date.
    assert app.selectbox(key="explain_row").options[0] == "2025-03-01"
    assert any("**By device**" == markdown.value for markdown in app.markdown)
    assert any("region: not checked" in caption.value.lower() for caption in app.caption)


def test_the_shared_panel_looks_closer_from_the_url_on_the_cart_page(monkeypatch, sample_warehouse):
    monkeypatch.setenv("SHOPLENS_WAREHOUSE", str(sample_warehouse))
    monkeypatch.setenv("SHOPLENS_MODEL_WORKER", "off")
    app = AppTest.from_file(APP, default_timeout=180)
    app.query_params["cart_details"] = "true"
    # Bound pickers carry the label people see, as the cart page's own ?by=Device does.
    app.query_params["cart_dependence_feature"] = "Price ÷ category median"
    app.switch_page("pages/cart_dropoff.py").run()
    settle(app, sample_warehouse)

    assert_no_error(app)
    assert app.toggle(key="cart_details").value is True
    # The cart page's 6 charts plus the panel's dependence plot and one cart's waterfall.
    assert len(app.get("plotly_chart")) == 8
    assert app.selectbox(key="cart_dependence_feature").value == "price_ratio"
    first_cart = app.selectbox(key="cart_row").value
    assert any(f"Why cart {first_cart} gets" in markdown.value for markdown in app.markdown)


@pytest.mark.slow
def test_switching_the_model_loads_from_the_store_and_never_trains_in_the_page(monkeypatch, sample_warehouse, tmp_path):
    import shutil

    from analytics.models.worker import run_queued
    from tests.model_pages import queued_jobs
    from tests.page_runner import open_page

    import streamlit as st

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, warehouse)
    monkeypatch.setenv("SHOPLENS_MODEL_WORKER", "off")
    # The page keeps the model list for the server's life; start from the real registry's.
    st.cache_resource.clear()
    app = open_page(monkeypatch, warehouse, PAGE, {"explain_model": "cart_conversion"}, timeout_seconds=180)
    assert_no_error(app)
    assert queued_jobs(warehouse) == ["cart_conversion"]
    assert [status.label for status in app.get("status")] == [
        "Waiting to train the model “Cart bought within 24 h”…"]

    run_queued(warehouse)
    app.run()
    assert "ROC AUC" in {metric.label for metric in app.metric}
    # Another model: queued for the worker and shown as pending; nothing is trained in this process.
    app.selectbox(key="explain_model").set_value("churn_28d").run()
    assert_no_error(app)
    assert queued_jobs(warehouse) == ["churn_28d"]
    assert not app.metric
    # Back to the cart model: served from the store at once.
    app.selectbox(key="explain_model").set_value("cart_conversion").run()
    assert "ROC AUC" in {metric.label for metric in app.metric}
