"""The Recommendations page in-process (AppTest) on the generated shop (tests/recommend_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.model_pages import open_page_with_models
from tests.page_runner import assert_no_error
from tests.recommend_fixtures import build_recommend_warehouse

PAGE = "pages/recommendations.py"


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    return build_recommend_warehouse(tmp_path_factory.mktemp("recommend_page"))


def run_page(monkeypatch, warehouse: Path, query: dict | None = None) -> AppTest:
    # The recommenders and the leaderboard come from the background worker; here trained in-process.
    return open_page_with_models(monkeypatch, warehouse, PAGE, query, timeout_seconds=120)


def test_models_not_trained_yet_show_as_pending_and_train_nothing_in_the_page(monkeypatch, tmp_path, shop):
    import shutil

    from tests.page_runner import open_page

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(shop, warehouse)
    monkeypatch.setenv("SHOPLENS_MODEL_WORKER", "off")
    app = open_page(monkeypatch, warehouse, PAGE, {"recommend_user": "U001"})

    assert_no_error(app)
    assert [status.label for status in app.get("status")] == ["Waiting to train the recommenders…"]
    # No train button: nothing is trained in the page's process.
    assert not app.get("plotly_chart") and [button.key for button in app.button] == ["reset_filters"]


def test_recommend_with_reasons_waterfall_and_related_items(monkeypatch, shop):
    app = run_page(monkeypatch, shop, {"recommend_user": "U001", "recommend_product": "P00"})
    assert_no_error(app)
    assert app.title[0].value == "Recommendations"

    frames = [frame.value for frame in app.dataframe]
    recommendations = next(frame for frame in frames if "reason" in frame.columns)
    assert len(recommendations) == 10
    assert recommendations["reason"].str.len().min() > 0
    charts = app.get("plotly_chart")
    # Waterfall for the first item, bought together, also viewed, similar.
    assert len(charts) >= 4
    app.selectbox(key="recommend_user").set_value("U004").run()
    assert_no_error(app)
    assert app.selectbox(key="recommend_user").value == "U004"

    # Another item's explanation and fewer items, via the widgets.
    app.segmented_control(key="recommend_k").set_value(5).run()
    assert_no_error(app)
    recommendations = next(frame.value for frame in app.dataframe if "reason" in frame.value.columns)
    assert len(recommendations) == 5
    third = recommendations["product_id"].iloc[2]
    app.selectbox(key="recommend_explain_item_U004").set_value(third).run()
    assert_no_error(app)
    assert any(f"ranks 3" in markdown.value for markdown in app.markdown)

    # Another shopper, found by typing part of the id: the item to explain is theirs, not U004's third.
    app.text_input(key="recommend_user_search").set_value("001").run()
    # The chosen shopper stays offered; the typed text brings U001.
    assert {option.split(" · ")[0] for option in app.selectbox(key="recommend_user").options} >= {"U004", "U001"}
    app.selectbox(key="recommend_user").set_value("U001").run()
    assert_no_error(app)
    first = next(frame.value for frame in app.dataframe if "reason" in frame.value.columns)["product_id"].iloc[0]
    assert app.selectbox(key="recommend_explain_item_U001").value == first


def test_leaderboard_and_links(monkeypatch, shop):
    app = run_page(monkeypatch, shop, {"recommend_user": "U007", "recommend_product": "P02"})
    # The link's shopper and product are shown straight away.
    assert app.selectbox(key="recommend_user").value == "U007"
    assert app.selectbox(key="recommend_product").value == "P02"
    assert_no_error(app)
    labels = [metric.label for metric in app.metric]
    assert "Hybrid NDCG@10" in labels
    assert any("leaderboard" in str(chart.proto.id) for chart in app.get("plotly_chart")) or \
        len(app.get("plotly_chart")) >= 5
