"""What each role sees in the app (AppTest): the gate, the pages listed, noisy tiles, refusals, the audit line.

AppTest seeds `st.user` with the claims an identity provider would give (the sign-in itself is tested
against a real provider in tests/test_access_sign_in.py and in the browser in test_access_browser.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.oidc_provider import USERS

APP = str(Path(__file__).resolve().parent.parent / "app.py")
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "shoplens-test-cookie-secret-0123456789abcdef",
    "client_id": "shoplens-tests",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ROLES = """\
[users]
"vera.viewer@shop.example" = "viewer"
[groups]
"shop-analysts" = "analyst"
"shop-admins" = "admin"
[privacy]
daily_epsilon = {daily}
"""
TINY_PERIOD = {"from": "2025-01-01", "to": "2025-01-03"}


@pytest.fixture()
def warehouse(tiny_warehouse, tmp_path) -> Path:
    """A copy of the tiny warehouse in its own folder, so its ledger and audit log start empty."""
    copy = tmp_path / "warehouse" / "warehouse.duckdb"
    copy.parent.mkdir()
    shutil.copy(tiny_warehouse, copy)
    return copy


def run_as(monkeypatch, warehouse: Path, user: str | None, page: str | None = None, *, daily: float = 4.0,
           signed_in: bool = True, query: dict | None = None) -> AppTest:
    """Run the app with sign-in configured, as `user` of tests/oidc_provider.USERS (None: not signed in)."""
    roles = warehouse.parent / "roles.toml"
    roles.write_text(ROLES.format(daily=daily), encoding="utf-8")
    monkeypatch.setenv("SHOPLENS_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("SHOPLENS_ROLES_FILE", str(roles))
    monkeypatch.delenv("SHOPLENS_CURRENCY", raising=False)
    app = AppTest.from_file(APP, default_timeout=60)
    app.secrets["auth"] = AUTH
    app.user = {"is_logged_in": False} if user is None or not signed_in else dict(USERS[user], is_logged_in=True)
    for key, value in (query or TINY_PERIOD).items():
        app.query_params[key] = value
    if page is None:
        return app.run()
    return app.switch_page(page).run()


def _texts(app: AppTest) -> str:
    return " ".join(str(element.value) for kind in ("info", "warning", "caption", "markdown", "text", "title")
                    for element in getattr(app, kind))


def test_without_sign_in_nobody_gets_past_the_sign_in_page(monkeypatch, warehouse):
    app = run_as(monkeypatch, warehouse, None)
    assert not app.exception
    assert [title.value for title in app.title] == ["ShopLens"]
    assert [button.label for button in app.button] == ["Sign in"]
    assert not app.metric and "Sessions" not in _texts(app)


def test_a_person_on_no_list_is_told_whom_to_ask(monkeypatch, warehouse):
    app = run_as(monkeypatch, warehouse, "stranger")
    assert "sam@elsewhere.example" in _texts(app) and "gives this account no role" in _texts(app)
    assert not app.metric


def test_a_viewer_sees_noisy_tiles_and_no_exact_charts(monkeypatch, warehouse):
    app = run_as(monkeypatch, warehouse, "viewer", "pages/overview.py")
    assert not app.exception and not app.error
    values = {metric.label: metric.value for metric in app.metric}
    assert set(values) == {"Sessions", "Users", "Orders", "Revenue", "Conversion rate", "Avg. order value"}
    # On three shoppers the noise swamps the counts; the divided figures are "—" when a noisy base is 0.
    assert all("±" in values[name] for name in ("Sessions", "Users", "Orders", "Revenue")), values
    assert all("±" in values[name] or values[name] == "—" for name in ("Conversion rate", "Avg. order value"))
    assert "Differentially private" in _texts(app) and "need the analyst role" in _texts(app)
    # The viewer's budget paid for the tiles once: 1.0 of 4.
    assert "spent today 1 of 4" in _texts(app)


def test_a_viewers_repeated_view_costs_nothing_and_shows_the_same_figures(monkeypatch, warehouse):
    first = run_as(monkeypatch, warehouse, "viewer", "pages/overview.py")
    again = run_as(monkeypatch, warehouse, "viewer", "pages/overview.py")
    assert [metric.value for metric in again.metric] == [metric.value for metric in first.metric]
    assert "already seen today, so free" in _texts(again) and "spent today 1 of 4" in _texts(again)


def test_a_viewer_past_the_budget_is_told_why(monkeypatch, warehouse):
    # The tiles cost ε = 1; a daily budget of 0.5 cannot pay for them.
    app = run_as(monkeypatch, warehouse, "viewer", "pages/overview.py", daily=0.5)
    assert not app.exception
    assert not app.metric
    assert "you have 0.5 of today's 0.5 left, so it is not shown" in _texts(app)


def test_a_viewer_has_no_data_page_and_is_refused_at_its_address(monkeypatch, warehouse):
    app = run_as(monkeypatch, warehouse, "viewer", "pages/data.py")
    assert "Your role cannot import data" in _texts(app)
    assert not app.exception and not app.radio      # none of the page's import controls


def test_a_viewer_gets_noisy_funnel_steps_and_no_user_lists(monkeypatch, warehouse):
    app = run_as(monkeypatch, warehouse, "viewer", "pages/funnels.py")
    assert not app.exception and not app.error
    values = {metric.label: metric.value for metric in app.metric}
    assert {"Entered (users)", "Completed", "Conversion"} <= set(values)
    assert "±" in values["Entered (users)"] and "±" in values["Completed"]
    assert not [box for box in app.selectbox if box.label == "Users who dropped before"]


def test_an_analyst_sees_exact_figures_and_user_lists_but_no_data_page(monkeypatch, warehouse):
    app = run_as(monkeypatch, warehouse, "analyst", "pages/overview.py")
    values = {metric.label: metric.value for metric in app.metric}
    # tests/tiny_shop.py: 5 sessions, 130.00 revenue, exactly.
    assert values["Sessions"] == "5" and values["Revenue"] == "130.00"
    funnels = run_as(monkeypatch, warehouse, "analyst", "pages/funnels.py")
    assert [box for box in funnels.selectbox if box.label == "Users who dropped before"]
    data = run_as(monkeypatch, warehouse, "analyst", "pages/data.py")
    assert "Your role cannot import data" in _texts(data)


def test_an_admin_can_open_the_data_page(monkeypatch, warehouse):
    app = run_as(monkeypatch, warehouse, "admin", "pages/data.py")
    assert not app.exception
    assert "Your role cannot" not in _texts(app)
    assert any(radio.label == "Source" for radio in app.radio)


def test_a_sign_in_is_recorded_once_per_session(monkeypatch, warehouse):
    app = run_as(monkeypatch, warehouse, "analyst")
    app.run()
    from analytics import audit

    entries = audit.read(warehouse=warehouse)
    assert len(entries) == 1
    entry = entries.iloc[0]
    assert entry["event"] == "sign_in" and entry["user"] == "ana.analyst@shop.example"
    assert entry["details"]["role"] == "analyst"


def test_open_access_is_a_local_admin_with_a_note(monkeypatch, warehouse):
    monkeypatch.setenv("SHOPLENS_WAREHOUSE", str(warehouse))
    app = AppTest.from_file(APP, default_timeout=60)
    for key, value in TINY_PERIOD.items():
        app.query_params[key] = value
    app.run()
    assert "Open access: anyone on this machine can use ShopLens as admin" in _texts(app)
    assert {metric.label: metric.value for metric in app.metric}["Sessions"] == "5"


def test_a_half_written_auth_table_fails_closed(monkeypatch, warehouse):
    monkeypatch.setenv("SHOPLENS_WAREHOUSE", str(warehouse))
    app = AppTest.from_file(APP, default_timeout=60)
    app.secrets["auth"] = {key: value for key, value in AUTH.items() if key != "cookie_secret"}
    app.run()
    assert "Sign-in is not set up correctly" in [error.proto.title for error in app.error] or \
        any("cookie_secret" in error.value for error in app.error)
    assert not app.metric and "Open access" not in _texts(app)
