"""Saved views: a page's settings stored under a name, to reopen and share.

A view is the values of the page's own settings (for example a funnel's steps, window and breakdown)
and, optionally, the global filters: plain JSON values (text, numbers, true/false, lists of text, and
dates as {"date": "2025-12-31"}). Views live in one JSON file beside the warehouse, so they survive
rebuilds and imports (which replace the warehouse file, not its folder) and every session of the
server sees the same list. Writes go to a temporary file that replaces the old one, so a crash never
leaves a half-written list.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analytics.errors import ShopLensError

MAX_NAME_LENGTH = 80
MAX_VIEWS_PER_PAGE = 200
# A view's parameters are URL parameters: short names, values of plain text.
_PARAMETER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_lock = threading.Lock()


@dataclass(frozen=True)
class SavedView:
    """One saved view.

    Attributes:
        page: the page's URL path, e.g. "funnels".
        name: the name people gave it, unique per page.
        parameters: setting (its widget key) -> value: text, number, true/false, null, a list of text,
            or a date as {"date": "YYYY-MM-DD"}.
        saved_at: when it was last saved (UTC).
        saved_by: who saved it ("" when sign-in is off).
    """

    page: str
    name: str
    parameters: dict[str, Any]
    saved_at: datetime
    saved_by: str = ""


def views_file(warehouse: Path) -> Path:
    """Where the saved views of `warehouse` are kept: `saved_views.json` in its folder."""
    return Path(warehouse).resolve().parent / "saved_views.json"


def list_views(warehouse: Path, page: str) -> list[SavedView]:
    """The views saved for `page`, most recently saved first."""
    views = [view for view in _read(views_file(warehouse)) if view.page == page]
    return sorted(views, key=lambda view: view.saved_at, reverse=True)


def save_view(warehouse: Path, page: str, name: str, parameters: dict[str, Any], saved_by: str = "") -> SavedView:
    """Save (or overwrite) the view `name` of `page`.

    Args:
        warehouse: the warehouse file; views are kept beside it.
        page: the page's URL path.
        name: 1 to 80 characters, not only spaces; saving an existing name replaces that view.
        parameters: setting -> value, as `SavedView.parameters` describes.
        saved_by: who saves it, for the list.

    Returns:
        The saved view.

    Raises:
        ShopLensError: an empty or too long name, a malformed parameter, or too many views on the page.
    """
    name = " ".join(name.split())
    if not name:
        raise ShopLensError("give the view a name")
    if len(name) > MAX_NAME_LENGTH:
        raise ShopLensError(f"the name has {len(name)} characters; use at most {MAX_NAME_LENGTH}")
    for key, value in parameters.items():
        if not _PARAMETER_NAME.match(key):
            raise ShopLensError(f"the parameter {key!r} is not a page setting; views keep page settings only")
        if not _is_setting_value(value):
            raise ShopLensError(f"the setting {key!r} has a value of type {type(value).__name__}, which a view "
                                "cannot keep")
    view = SavedView(page, name, dict(parameters), datetime.now(UTC), saved_by)
    path = views_file(warehouse)
    with _lock:
        others = [saved for saved in _read(path) if (saved.page, saved.name) != (page, name)]
        if sum(saved.page == page for saved in others) >= MAX_VIEWS_PER_PAGE:
            raise ShopLensError(f"this page already has {MAX_VIEWS_PER_PAGE} saved views; delete some first")
        _write(path, [*others, view])
    return view


def delete_view(warehouse: Path, page: str, name: str) -> bool:
    """Delete the view `name` of `page`; returns whether there was one."""
    path = views_file(warehouse)
    with _lock:
        views = _read(path)
        kept = [view for view in views if (view.page, view.name) != (page, name)]
        if len(kept) == len(views):
            return False
        _write(path, kept)
    return True


def _read(path: Path) -> list[SavedView]:
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as error:
        raise ShopLensError(f"the saved views in {path} cannot be read ({type(error).__name__}); "
                            "move the file away to start a new list") from None
    return [SavedView(record["page"], record["name"], dict(record["parameters"]),
                      datetime.fromisoformat(record["saved_at"]), record.get("saved_by", ""))
            for record in records]


def _is_setting_value(value: Any) -> bool:
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, list):
        return all(isinstance(item, (str, int, float)) for item in value)
    return isinstance(value, dict) and set(value) == {"date"} and isinstance(value["date"], str)


def _write(path: Path, views: list[SavedView]) -> None:
    records = [{"page": view.page, "name": view.name, "parameters": view.parameters,
                "saved_at": view.saved_at.isoformat(), "saved_by": view.saved_by} for view in views]
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".saved_views.", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(records, file, ensure_ascii=False, indent=1)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
