"""The Cart drop-off page in-process (AppTest) on the hand-built cart log and on the sample."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.cart_log import build_cart_warehouse
from tests.model_pages import open_page_with_models
from tests.page_runner import assert_no_error, shown

PAGE = "pages/cart_dropoff.py"
PERIOD = {"from": "2025-01-01", "to": "2025-01-10"}


@pytest.fixture(scope="module")
def cart_warehouse(tmp_path_factory) -> Path:
    return build_cart_warehouse(tmp_path_factory.mktemp("cart_page"))


def run_page(monkeypatch, warehouse: Path, query: dict | None = None) -> AppTest:
    # The page's cart model is trained by the background worker; here in-process, then the page reruns.
    return open_page_with_models(monkeypatch, warehouse, PAGE, query, timeout_seconds=60)


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def download_keys(app: AppTest) -> set[str]:
    # Element ids read "$$ID-<hash>-<key>".
    return {button.proto.id.split("-", 2)[-1] for button in app.get("download_button")}


def test_metrics_match_the_hand_computed_log(monkeypatch, cart_warehouse):
    app = run_page(monkeypatch, cart_warehouse, PERIOD)

    assert_no_error(app)
    assert app.title[0].value == "Cart drop-off"
    assert metrics(app) == {"Carts": "7", "Bought within 24h": "3", "Abandonment rate": "60.0%",
                            "Still open": "1", "Recovered": "33.3%"}


def test_charts_and_downloads_and_no_model_on_seven_carts(monkeypatch, cart_warehouse):
    app = run_page(monkeypatch, cart_warehouse, PERIOD)

    assert len(app.get("plotly_chart")) == 2
    assert download_keys(app) == {"download_cart-survival", "download_cart_breakdown", "cart_download_winback"}
    # Seven carts cannot train a model: the job fails with its reason and the panel says so instead of failing.
    assert [info.proto.title for info in app.info] == ["Not enough data for a model"]
    assert len(app.dataframe[0].value) == 3


def test_window_and_breakdown_come_from_the_url(monkeypatch, cart_warehouse):
    app = run_page(monkeypatch, cart_warehouse, PERIOD | {"cart_within": "6h", "cart_by": "Device", "device": "mobile"})

    assert_no_error(app)
    # Mobile carts B, C, D; with 6 h D (11 h observed) is abandoned too, and C recovered.
    assert metrics(app) == {"Carts": "3", "Bought within 6h": "0", "Abandonment rate": "100.0%",
                            "Still open": "0", "Recovered": "33.3%"}
    assert app.selectbox(key="cart_by").value == "Device"
    assert "download_cart_breakdown" in download_keys(app)


def test_changing_the_window_updates_the_page(monkeypatch, cart_warehouse):
    app = run_page(monkeypatch, cart_warehouse, PERIOD)
    app.segmented_control(key="cart_within").set_value("6h").run()

    # 6 h: D (11 h seen) now closes as abandoned; G (1 h seen) is still in its window: B, C, D, H of 6 closed.
    assert metrics(app)["Abandonment rate"] == "66.7%"


def test_explanation_panel_on_the_sample(monkeypatch, sample_warehouse):
    app = run_page(monkeypatch, sample_warehouse)

    assert_no_error(app)
    # Survival, breakdown, SHAP bar, beeswarm, calibration and the segment explanation.
    assert len(app.get("plotly_chart")) == 6
    auc = float(metrics(app)["ROC AUC"])
    assert 0.6 < auc < 1
    app.selectbox(key="cart_segment_by").set_value("price_band").run()
    app.selectbox(key="cart_segment_value").set_value("over 1.5x median").run()
    assert_no_error(app)
    assert any("over 1.5x median" in shown(markdown.value) for markdown in app.markdown)
