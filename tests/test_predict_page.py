"""The Customers page's Predictions tab in-process (AppTest), through a probe page that calls `render`."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.model_pages import settle
from tests.page_runner import assert_no_error

REPO_ROOT = Path(__file__).resolve().parent.parent
PROBE = str(REPO_ROOT / "tests" / "pages" / "predictions_probe.py")


def run_probe(monkeypatch, warehouse: Path, query: dict | None = None) -> AppTest:
    monkeypatch.setenv("SHOPLENS_WAREHOUSE", str(warehouse))
    monkeypatch.delenv("SHOPLENS_CURRENCY", raising=False)
    # The purchase and churn models come from the background worker; here trained in-process, then rerun.
    monkeypatch.setenv("SHOPLENS_MODEL_WORKER", "off")
    app = AppTest.from_file(PROBE, default_timeout=180)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.run()
    return settle(app, warehouse)


def download_keys(app: AppTest) -> set[str]:
    return {button.proto.id.split("-", 2)[-1] for button in app.get("download_button")}


def test_too_short_history_explains_itself(monkeypatch, tiny_warehouse):
    app = run_probe(monkeypatch, tiny_warehouse)

    assert_no_error(app)
    # The tiny shop spans three days: no model can be validated, and the tab says why.
    assert any("Not enough history" in str(info.proto) for info in app.info)
    assert not app.get("plotly_chart")


@pytest.mark.slow
def test_sample_shows_scores_models_and_explanation(monkeypatch, sample_warehouse):
    app = run_probe(monkeypatch, sample_warehouse, {"from": "2025-12-01", "to": "2025-12-31"})

    assert_no_error(app)
    values = {metric.label: metric.value for metric in app.metric}
    # Users with a visit in the 28 days before 2026-01-01 (scored as of the day after the end date).
    assert int(values["Users scored"].replace(",", "")) > 1_000
    assert float(values["Purchase model AUC"]) > 0.7 and float(values["Churn model AUC"]) > 0.78
    assert {"download_predictions_at_risk", "download_predictions_purchase", "download_predictions_churn",
            "download_predictions_segments"} <= download_keys(app)
    table = app.dataframe[0].value
    assert len(table) == 200 and table["churn_probability_28d"].is_monotonic_decreasing
    # Distributions, calibrations, the segment chart and the SHAP panel's charts.
    assert len(app.get("plotly_chart")) >= 7
    assert any("Why, according to the churn model" in subheader.value for subheader in app.subheader)


@pytest.mark.slow
def test_segment_and_explained_model_come_from_the_url(monkeypatch, sample_warehouse):
    app = run_probe(monkeypatch, sample_warehouse, {"from": "2025-12-01", "to": "2025-12-31",
                                                    "predictions_by": "Customer or visitor",
                                                    "predictions_explain": "Purchase in 7 days"})

    assert_no_error(app)
    assert any("Why, according to the purchase model" in subheader.value for subheader in app.subheader)
    assert "download_predictions_segments" in download_keys(app)
    # The segment chart's numbers: one row per customer status.
    markdown = " ".join(element.value for element in app.markdown)
    assert "Predictions by customer or visitor" in markdown
