"""The dashboard's web server: Streamlit's ASGI app around app.py, with what a deployed app needs.

`make run` serves this module (`streamlit run dashboard/server.py`). `streamlit run app.py` still works,
but without the two fixes made here:
- Deep links. Opened at `/funnels`, Streamlit's frontend guesses where the server is by probing
  `/funnels/_stcore/health` and `/funnels/_stcore/host-config` before the root ones
  (streamlit/streamlit#7074): two 404s and two console errors per deep link. The frontend skips the
  guessing when the page tells it the server's base URL (`window.__streamlit.BACKEND_BASE_URL`, the
  setting Streamlit's own hosting uses), so every HTML page is served with that setting.
- A `pages/` folder beside app.py makes Streamlit treat the app as a legacy multipage app until some
  run calls `st.navigation`, so the first visitor of a fresh server briefly sees a navigation built
  from the files in `pages/`. The lifespan switches that off before any session starts.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

APP_SCRIPT = Path(__file__).resolve().parent.parent / "app.py"


def base_url_script(base_path: str) -> bytes:
    """The <script> that tells Streamlit's frontend where its server is: this origin plus `base_path`."""
    prefix = "/" + base_path.strip("/") + "/" if base_path.strip("/") else "/"
    # Built in the browser from its own origin, so it holds behind any host name or port.
    return (
        "<script>window.__streamlit = Object.assign(window.__streamlit || {}, "
        f'{{BACKEND_BASE_URL: window.location.origin + "{prefix}", '
        f'MAIN_PAGE_BASE_URL: window.location.origin + "{prefix}"}});</script>'
    ).encode()


class BaseUrlInHtml:
    """ASGI middleware that puts `base_url_script` at the top of every HTML page Streamlit serves."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET" or "/_stcore/" in scope["path"]:
            await self.app(scope, receive, send)
            return
        # Ask for an uncompressed body, so the HTML can be edited; Streamlit compresses nothing else here.
        headers = [(name, value) for name, value in scope["headers"] if name.lower() != b"accept-encoding"]
        scope = dict(scope, headers=headers)
        start: Message | None = None
        chunks: list[bytes] = []

        async def edit_html(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if not content_type.startswith(b"text/html"):
                    await send(message)
                    return
                start = message
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks).replace(b"<head>", b"<head>" + base_url_script(_base_path()), 1)
            headers = [(name, value) for name, value in start.get("headers", []) if name.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send(dict(start, headers=headers))
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, edit_html)


def _base_path() -> str:
    from streamlit import config

    return config.get_option("server.baseUrlPath") or ""


@asynccontextmanager
async def lifespan(_app):
    # Leave the legacy pages/ mode before the first session runs (see the module docstring).
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    yield {}


app = st.App(APP_SCRIPT, lifespan=lifespan, middleware=[Middleware(BaseUrlInHtml)])
