"""Open one page of the app in-process (AppTest), as a deep link would, and check it raised nothing."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_page(monkeypatch, warehouse: Path, page: str, query: dict | None = None, *,
              timeout_seconds: float = 120) -> AppTest:
    """Run app.py against `warehouse`, then switch to `page` with `query` in the URL.

    Args:
        monkeypatch: pytest's, to point SHOPLENS_WAREHOUSE at the warehouse for this test only.
        warehouse: the DuckDB file the app opens.
        page: the page's script, e.g. "pages/customers.py".
        query: URL parameters the page reads (bound widgets, filters).
        timeout_seconds: per script run; pages that train a model on first view need tens of seconds.
    """
    monkeypatch.setenv("SHOPLENS_WAREHOUSE", str(warehouse))
    monkeypatch.delenv("SHOPLENS_CURRENCY", raising=False)
    app = AppTest.from_file(APP, default_timeout=timeout_seconds)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    # Open the page directly, as a deep link would, so its own URL parameters are read.
    app.switch_page(page).run()
    return app


def assert_no_error(app: AppTest) -> None:
    """Fail with the messages when the run raised or drew an error box."""
    assert not app.exception, [exception.value for exception in app.exception]
    assert not app.error, [error.value for error in app.error]


def shown(markdown: str) -> str:
    """What a person reads for Markdown the pages escaped with `dashboard.common.plain`."""
    import re

    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")
