"""A real OpenID Connect provider for tests, on localhost: discovery, authorize, token, JWKS, userinfo.

Built on Starlette and uvicorn (Streamlit's own server stack) with joserfc, the JOSE library under
Authlib, for RS256 identity tokens. It implements the authorization-code flow with PKCE (S256) as
Streamlit's `st.login` (Authlib) uses it: the app redirects the browser to /authorize, a test-only
form picks one of `USERS` (no password: a person is chosen by clicking their button), the provider
redirects back with a one-time code, and the app exchanges it at /token, authenticating with its
client secret, for a signed identity token it checks against /jwks.

    with OIDCProvider(redirect_uris=["http://127.0.0.1:8501/oauth2callback"]) as provider:
        provider.metadata_url   # for [auth] server_metadata_url

`sign_with_wrong_key=True` signs identity tokens with a key that is not in the JWKS, to check that
the app refuses them. Never use this outside tests.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "shoplens-tests"
CLIENT_SECRET = "test-client-secret-" + "x" * 16
TOKEN_SECONDS = 600

# The people the test login form offers, with the claims their identity tokens carry.
USERS: dict[str, dict[str, Any]] = {
    "viewer": {"sub": "u-viewer", "email": "vera.viewer@shop.example", "email_verified": True,
               "name": "Vera Viewer", "groups": ["shop-staff"]},
    "analyst": {"sub": "u-analyst", "email": "ana.analyst@shop.example", "email_verified": True,
                "name": "Ana Analyst", "groups": ["shop-staff", "shop-analysts"]},
    "admin": {"sub": "u-admin", "email": "ada.admin@shop.example", "email_verified": True,
              "name": "Ada Admin", "groups": ["shop-admins"]},
    "stranger": {"sub": "u-stranger", "email": "sam@elsewhere.example", "email_verified": True,
                 "name": "Sam Stranger", "groups": []},
}


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    user: str
    nonce: str | None
    code_challenge: str | None
    scope: str
    issued: float = field(default_factory=time.monotonic)


class OIDCProvider:
    """The provider, served on 127.0.0.1 from a background thread while in use (`with` or start/stop).

    Args:
        redirect_uris: the client's registered redirect URIs; others are refused at /authorize.
        sign_with_wrong_key: sign identity tokens with a key the JWKS does not publish.
    """

    def __init__(self, redirect_uris: list[str], *, sign_with_wrong_key: bool = False) -> None:
        self.redirect_uris = list(redirect_uris)
        self.port = _free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "shoplens-test", "use": "sig", "alg": "RS256"})
        wrong = RSAKey.generate_key(2048, parameters={"kid": "shoplens-test", "use": "sig", "alg": "RS256"})
        self.signing_key = wrong if sign_with_wrong_key else self.key
        self.grants: dict[str, _Grant] = {}
        self.access_tokens: dict[str, str] = {}
        self.token_requests = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def metadata_url(self) -> str:
        """The discovery document's URL, for `server_metadata_url`."""
        return f"{self.issuer}/.well-known/openid-configuration"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> OIDCProvider:
        """Serve until `stop()`; returns once the server accepts connections."""
        config = uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="oidc-provider", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test OpenID Connect provider did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> OIDCProvider:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ endpoints

    def _app(self) -> Starlette:
        return Starlette(routes=[
            Route("/.well-known/openid-configuration", self._discovery),
            Route("/authorize", self._authorize_form, methods=["GET"]),
            Route("/authorize", self._authorize_choice, methods=["POST"]),
            Route("/token", self._token, methods=["POST"]),
            Route("/jwks", self._jwks),
            Route("/userinfo", self._userinfo),
            Route("/logout", self._logout),
        ])

    async def _discovery(self, request: Request) -> Response:
        return JSONResponse({
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "end_session_endpoint": f"{self.issuer}/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "email", "email_verified", "name", "groups"],
        })

    async def _authorize_form(self, request: Request) -> Response:
        parameters = dict(request.query_params)
        problem = self._check_authorization_request(parameters)
        if problem:
            return HTMLResponse(f"<p>{html.escape(problem)}</p>", status_code=400)
        hidden = "".join(f'<input type="hidden" name="{html.escape(key)}" value="{html.escape(value)}">'
                         for key, value in parameters.items())
        buttons = "".join(f'<button type="submit" name="user" value="{key}">Sign in as {html.escape(claims["name"])}'
                          f" ({html.escape(claims['email'])})</button><br>" for key, claims in USERS.items())
        return HTMLResponse(f"<!doctype html><title>Test sign-in</title><h1>Test sign-in (tests only)</h1>"
                            f'<form method="post" action="/authorize">{hidden}{buttons}</form>')

    async def _authorize_choice(self, request: Request) -> Response:
        form = dict(await request.form())
        user = str(form.pop("user", ""))
        problem = self._check_authorization_request(form) or ("" if user in USERS else f"unknown test user {user!r}")
        if problem:
            return HTMLResponse(f"<p>{html.escape(problem)}</p>", status_code=400)
        code = secrets.token_urlsafe(24)
        self.grants[code] = _Grant(form["client_id"], form["redirect_uri"], user, form.get("nonce"),
                                   form.get("code_challenge"), form.get("scope", "openid"))
        query = {"code": code} | ({"state": form["state"]} if form.get("state") else {})
        return RedirectResponse(f"{form['redirect_uri']}?{urlencode(query)}", status_code=302)

    def _check_authorization_request(self, parameters: dict[str, str]) -> str:
        if parameters.get("response_type") != "code":
            return "response_type must be code"
        if parameters.get("client_id") != CLIENT_ID:
            return "unknown client"
        if parameters.get("redirect_uri") not in self.redirect_uris:
            return "redirect_uri is not registered for this client"
        if "openid" not in parameters.get("scope", "").split():
            return "the openid scope is required"
        if parameters.get("code_challenge") and parameters.get("code_challenge_method") != "S256":
            return "only S256 code challenges are supported"
        return ""

    async def _token(self, request: Request) -> Response:
        self.token_requests += 1
        form = dict(await request.form())
        client_id, client_secret = _client_credentials(request, form)
        if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        grant = self.grants.pop(str(form.get("code", "")), None)   # one use only
        if grant is None or grant.client_id != client_id or grant.redirect_uri != form.get("redirect_uri") \
                or time.monotonic() - grant.issued > 120:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if grant.code_challenge:
            verifier = str(form.get("code_verifier", ""))
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=")
            if digest.decode("ascii") != grant.code_challenge:
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE check failed"},
                                    status_code=400)
        now = int(time.time())
        claims = dict(USERS[grant.user], iss=self.issuer, aud=client_id, iat=now, exp=now + TOKEN_SECONDS,
                      auth_time=now)
        if grant.nonce:
            claims["nonce"] = grant.nonce
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = grant.user
        id_token = jwt.encode({"alg": "RS256", "kid": "shoplens-test"}, claims, self.signing_key)
        return JSONResponse({"access_token": access_token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS,
                             "id_token": id_token, "scope": grant.scope},
                            headers={"Cache-Control": "no-store"})

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def _userinfo(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        user = self.access_tokens.get(token)
        if user is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse(USERS[user])

    async def _logout(self, request: Request) -> Response:
        target = request.query_params.get("post_logout_redirect_uri", "")
        if target not in self.redirect_uris:
            return HTMLResponse("<p>Signed out.</p>")
        return RedirectResponse(target, status_code=302)


def _client_credentials(request: Request, form: dict[str, Any]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        from urllib.parse import unquote

        decoded = base64.b64decode(header[6:]).decode("utf-8")
        client_id, _, client_secret = decoded.partition(":")
        return unquote(client_id), unquote(client_secret)
    return str(form.get("client_id", "")), str(form.get("client_secret", ""))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
