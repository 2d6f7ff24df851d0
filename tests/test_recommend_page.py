"""The Recommendations page in-process (AppTest) on the generated shop (tests/recommend_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.model_pages import open_page_with_models, settle
from tests.oidc_provider import USERS
from tests.page_runner import APP, assert_no_error, shown
from tests.recommend_fixtures import build_recommend_warehouse

PAGE = "pages/recommendations.py"


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    return build_recommend_warehouse(tmp_path_factory.mktemp("recommend_page"))


def record_cards(monkeypatch) -> dict[str, tuple]:
    """Capture every chart card the page draws: key -> (figure, downloaded rows)."""
    from dashboard import common

    cards: dict[str, tuple] = {}
    original = common.chart_card

    def recording(title, figure, data, **kwargs):
        cards[kwargs.get("key") or kwargs["file_name"]] = (figure, data.copy())
        return original(title, figure, data, **kwargs)

    monkeypatch.setattr(common, "chart_card", recording)
    return cards


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


def test_the_page_says_which_model_serves_and_why(monkeypatch, shop):
    app = run_page(monkeypatch, shop, {"recommend_user": "U001"})
    assert_no_error(app)
    serving = [shown(markdown.value) for markdown in app.markdown if "Serving model" in markdown.value]
    assert len(serving) == 1
    # 150 shoppers, a quarter of the labelled ones held aside: fewer than 100, so the hybrid serves and says why.
    assert "Serving model: hybrid." in serving[0] and "too few to tell it from the best single model" in serving[0]
    recommendations = next(frame.value for frame in app.dataframe if "reason" in frame.value.columns)
    assert any("Served by hybrid." in shown(caption.value) for caption in app.caption)
    assert len(recommendations) == 10
    # The leaderboard says which model leads on the time split and shows the hybrid's figure beside it.
    labels = [metric.label for metric in app.metric]
    assert "Champion NDCG@10" in labels and "Hybrid NDCG@10" in labels
    assert any(shown(markdown.value).startswith("**On this split:**") for markdown in app.markdown)


def test_related_items_name_what_they_count_and_download_exactly_the_bars(monkeypatch, shop):
    cards = record_cards(monkeypatch)
    app = run_page(monkeypatch, shop, {"recommend_product": "P00", "recommend_measure": "Times together"})
    assert_no_error(app)
    bought, bought_rows = cards["recommend_bought_together"]
    viewed, viewed_rows = cards["recommend_viewed_together"]
    # Co-viewed pairs are counted in sessions, co-purchased pairs in orders.
    assert viewed.layout.xaxis.title.text == "Sessions together"
    assert bought.layout.xaxis.title.text == "Orders together"
    assert "sessions_together" in viewed_rows.columns and "orders_together" in bought_rows.columns
    for key in ("recommend_bought_together", "recommend_viewed_together", "recommend_similar"):
        figure, rows = cards[key]
        # customdata[:, 1] is each bar's product id, top bar first: the download holds those rows, in that order.
        drawn = [str(pair[1]) for pair in figure.data[0].customdata] if figure.data else []
        assert drawn and list(rows["product_id"]) == drawn, key


def test_the_waterfall_download_holds_the_steps_drawn(monkeypatch, shop):
    cards = record_cards(monkeypatch)
    app = run_page(monkeypatch, shop, {"recommend_user": "U001"})
    assert_no_error(app)
    figure, rows = cards["recommend_recommendation_waterfall"]
    # customdata is each bar's full step name, x its contribution: the download is the same rows.
    assert list(rows["step"]) == list(figure.data[0].customdata)
    assert list(rows["contribution"]) == pytest.approx(list(figure.data[0].x))
    assert rows["step"].iloc[0] == "Average score" and rows["step"].iloc[-1] == "Score"


def test_a_viewer_sees_no_single_shopper_but_the_products_and_the_leaderboard(monkeypatch, tmp_path, shop):
    import shutil

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(shop, warehouse)
    roles = tmp_path / "roles.toml"
    roles.write_text('[users]\n"vera.viewer@shop.example" = "viewer"\n', encoding="utf-8")
    monkeypatch.setenv("SHOPLENS_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("SHOPLENS_ROLES_FILE", str(roles))
    monkeypatch.setenv("SHOPLENS_MODEL_WORKER", "off")
    app = AppTest.from_file(APP, default_timeout=120)
    app.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "shoplens-test-cookie-secret-0123456789abcdef",
        "client_id": "shoplens-tests", "client_secret": "secret",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    }
    app.user = dict(USERS["viewer"], is_logged_in=True)
    # Even a link naming a shopper shows nothing about them.
    app.query_params["recommend_user"] = "U001"
    app.switch_page(PAGE).run()
    settle(app, warehouse)
    assert_no_error(app)

    assert any("needs the analyst role" in info.value for info in app.info)
    assert "recommend_user" not in {box.key for box in app.selectbox}
    assert not any("reason" in frame.value.columns for frame in app.dataframe)
    assert not any("U001" in shown(markdown.value) for markdown in app.markdown)
    # Product-level lists and the leaderboard are aggregates: still there.
    assert app.selectbox(key="recommend_product") is not None
    assert "Hybrid NDCG@10" in [metric.label for metric in app.metric]
