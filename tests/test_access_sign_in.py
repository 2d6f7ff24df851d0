"""Sign-in end to end over HTTP: a real Streamlit server, the test OpenID Connect provider, no browser.

The server runs app.py with `[auth]` pointing at `tests/oidc_provider.py`. The test walks the
authorization-code flow as a browser would (login route, provider form, callback) and reads the
identity cookie Streamlit sets, with Streamlit's own signing functions: the identity token was
fetched, its signature checked against the provider's keys and its claims kept. A provider that
signs with a key it does not publish gets nobody signed in. The browser test
(tests/test_access_browser.py) then checks what each role sees.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from analytics.access.permissions import Role
from analytics.access.roles import load_roles
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, USERS, OIDCProvider, _free_port
from tools.browser import dashboard_process

COOKIE_SECRET = "shoplens-test-cookie-secret-0123456789abcdef"
ROLES_TOML = """\
unknown_users = "none"

[users]
"vera.viewer@shop.example" = "viewer"

[groups]
"shop-analysts" = "analyst"
"shop-admins" = "admin"

[privacy]
daily_epsilon = 4.0
"""


def write_sign_in_config(folder: Path, app_port: int, provider: OIDCProvider) -> tuple[Path, Path]:
    """Write a secrets file whose [auth] uses `provider`, and a roles file; return both paths."""
    secrets = folder / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{COOKIE_SECRET}"\n'
        f'client_id = "{CLIENT_ID}"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{provider.metadata_url}"\n',
        encoding="utf-8",
    )
    roles = folder / "roles.toml"
    roles.write_text(ROLES_TOML, encoding="utf-8")
    return secrets, roles


@contextlib.contextmanager
def app_with_sign_in(warehouse: Path, folder: Path, *, sign_with_wrong_key: bool = False
                     ) -> Iterator[tuple[str, OIDCProvider, Path]]:
    """Serve the app (dashboard/server.py, as `make run` does) on a free port with sign-in through a fresh test provider.

    Yields:
        (the app's URL, the provider, the roles file).
    """
    port = _free_port()
    with OIDCProvider([f"http://127.0.0.1:{port}/oauth2callback"],
                      sign_with_wrong_key=sign_with_wrong_key) as provider:
        secrets, roles = write_sign_in_config(folder, port, provider)
        # OPEN_ACCESS from the developer's shell must not open the app these tests sign in to.
        with dashboard_process(warehouse, folder / "server.log", port=port,
                               environment={"SHOPLENS_ROLES_FILE": str(roles), "OPEN_ACCESS": ""},
                               arguments=("--secrets.files", str(secrets))) as (url, _):
            yield url, provider, roles


def _provider_token() -> str:
    # What st.login puts in the login link: Streamlit's own signed token naming the provider.
    from streamlit import config
    from streamlit.auth_util import encode_provider_token

    config.set_option("server.cookieSecret", COOKIE_SECRET)
    return encode_provider_token("default")


def sign_in_over_http(app_url: str, user: str) -> httpx.Client:
    """Walk the authorization-code flow as a browser would; return the client holding the cookies."""
    client = httpx.Client(timeout=30, follow_redirects=False)
    to_provider = client.get(f"{app_url}/auth/login", params={"provider": _provider_token()})
    assert to_provider.status_code == 302, to_provider.text
    authorize = urlparse(to_provider.headers["location"])
    request = parse_qs(authorize.query)
    # Streamlit asks for PKCE with S256 because the provider offers it, and for a nonce.
    assert request["code_challenge_method"] == ["S256"] and request["nonce"] and request["state"]
    form = client.get(to_provider.headers["location"])
    assert form.status_code == 200 and "Test sign-in" in form.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.text))
    fields = {key: value.replace("&amp;", "&") for key, value in fields.items()}
    back = client.post(f"{authorize.scheme}://{authorize.netloc}/authorize", data=fields | {"user": user})
    assert back.status_code == 302 and back.headers["location"].startswith(f"{app_url}/oauth2callback")
    home = client.get(back.headers["location"])
    assert home.status_code == 302 and urlparse(home.headers["location"]).path == "/"
    return client


def identity_cookie(client: httpx.Client) -> dict | None:
    """The claims in Streamlit's signed identity cookie, checked with the cookie secret; None when absent."""
    from streamlit.web.server.starlette.starlette_app_utils import decode_signed_value

    value = client.cookies.get("_streamlit_user")
    if value is None:
        return None
    decoded = decode_signed_value(COOKIE_SECRET, "_streamlit_user", value.encode("latin-1"))
    return None if decoded is None else json.loads(decoded)


@pytest.fixture(scope="module")
def signed_in_app(tiny_warehouse, tmp_path_factory):
    with app_with_sign_in(tiny_warehouse, tmp_path_factory.mktemp("sign_in")) as served:
        yield served


@pytest.mark.slow
@pytest.mark.parametrize(("user", "role"), [("viewer", Role.VIEWER), ("analyst", Role.ANALYST),
                                            ("admin", Role.ADMIN), ("stranger", None)])
def test_signing_in_at_the_provider_gives_the_app_the_persons_claims(signed_in_app, user, role):
    app_url, provider, roles_file = signed_in_app
    before = provider.token_requests
    client = sign_in_over_http(app_url, user)
    claims = identity_cookie(client)
    assert provider.token_requests == before + 1          # the app exchanged the code itself
    assert claims is not None and claims["is_logged_in"] is True
    assert claims["email"] == USERS[user]["email"] and claims["groups"] == USERS[user]["groups"]
    # What dashboard.access does with st.user: the roles file decides the role.
    assert load_roles(roles_file).role_for(claims["email"], claims["groups"],
                                           email_verified=claims["email_verified"]) is role


@pytest.mark.slow
def test_a_code_cannot_be_replayed(signed_in_app):
    app_url, provider, _ = signed_in_app
    client = httpx.Client(timeout=30, follow_redirects=False)
    to_provider = client.get(f"{app_url}/auth/login", params={"provider": _provider_token()})
    form = client.get(to_provider.headers["location"])
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.text))
    back = client.post(f"{provider.issuer}/authorize", data=fields | {"user": "admin"})
    assert client.get(back.headers["location"]).status_code == 302
    assert identity_cookie(client) is not None
    # Someone who captured the callback link tries it in their own browser.
    thief = httpx.Client(timeout=30, follow_redirects=False)
    thief.get(back.headers["location"])
    assert identity_cookie(thief) is None


@pytest.mark.slow
def test_an_identity_token_with_a_bad_signature_signs_nobody_in(tiny_warehouse, tmp_path):
    with app_with_sign_in(tiny_warehouse, tmp_path, sign_with_wrong_key=True) as (app_url, provider, _):
        client = sign_in_over_http(app_url, "admin")
        assert provider.token_requests == 1
        assert identity_cookie(client) is None
