"""The Recommendations page in-process (AppTest) on the generated shop (tests/recommend_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.page_runner import assert_no_error, open_page
from tests.recommend_fixtures import build_recommend_warehouse

PAGE = "pages/recommendations.py"


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    return build_recommend_warehouse(tmp_path_factory.mktemp("recommend_page"))


def run_page(monkeypatch, warehouse: Path, query: dict | None = None) -> AppTest:
    return open_page(monkeypatch, warehouse, PAGE, query, timeout_seconds=120)


def test_train_then_recommend_with_reasons_waterfall_and_related_items(monkeypatch, shop):
    app = run_page(monkeypatch, shop, {"recommend_user": "U001", "recommend_product": "P00"})
    assert_no_error(app)
    assert app.title[0].value == "Recommendations"
    # Training is on demand.
    train = app.button(key="recommend_train")
    assert train.label == "Train the recommenders"
    train.click().run()
    assert_no_error(app)

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


def test_leaderboard_on_demand_and_links(monkeypatch, shop):
    app = run_page(monkeypatch, shop, {"recommend_user": "U007", "recommend_product": "P02"})
    # Trained models are shared across sessions per data version; train only if this is the first.
    if any(button.key == "train" for button in app.button):
        app.button(key="recommend_train").click().run()
    else:
        # Models already trained: the link's shopper and product are shown straight away.
        assert app.selectbox(key="recommend_user").value == "U007"
        assert app.selectbox(key="recommend_product").value == "P02"
    assert_no_error(app)
    app.button(key="recommend_evaluate").click().run()
    assert_no_error(app)
    labels = [metric.label for metric in app.metric]
    assert "Hybrid NDCG@10" in labels
    assert any("leaderboard" in str(chart.proto.id) for chart in app.get("plotly_chart")) or \
        len(app.get("plotly_chart")) >= 5
