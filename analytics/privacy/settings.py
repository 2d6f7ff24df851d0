"""The privacy settings: ε per figure and per day, and the contribution bounds. No Streamlit.

They live in the `[privacy]` table of the roles file (`analytics.access.roles.roles_file_path`),
beside who gets which role, so one file states the access policy:

    [privacy]
    daily_epsilon = 4.0       # what one viewer may spend per day (UTC)
    overview_epsilon = 1.0    # one set of Overview tiles, split evenly over its five noisy figures
    funnel_epsilon = 0.5      # one funnel's step counts
    session_cap = 10          # sessions counted per user in one query
    order_cap = 5             # orders counted per user in one query
    revenue_cap = 1000.0      # revenue counted per user in one query, in the shop's currency

How the defaults were chosen is in docs/security.md ("Contribution bounds").
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from analytics.access.roles import roles_file_path
from analytics.errors import ShopLensError


@dataclass(frozen=True)
class PrivacySettings:
    """ε budgets and per-user contribution bounds (see the module docstring for each)."""

    daily_epsilon: float = 4.0
    overview_epsilon: float = 1.0
    funnel_epsilon: float = 0.5
    session_cap: int = 10
    order_cap: int = 5
    revenue_cap: float = 1000.0

    def __post_init__(self) -> None:
        for name in ("daily_epsilon", "overview_epsilon", "funnel_epsilon", "revenue_cap"):
            if not float(getattr(self, name)) > 0:
                raise ShopLensError(f"the privacy setting {name} must be a positive number, "
                                    f"got {getattr(self, name)!r}")
        for name in ("session_cap", "order_cap"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ShopLensError(f"the privacy setting {name} must be a whole number of at least 1, got {value!r}")


def parse_privacy(data: Mapping[str, Any], where: str = "the roles file") -> PrivacySettings:
    """Settings from a `[privacy]` table; missing keys keep their defaults.

    Raises:
        ShopLensError: an unknown key or a value out of range, naming it.
    """
    known = {field.name: field.type for field in fields(PrivacySettings)}
    for key in data:
        if key not in known:
            raise ShopLensError(f"{where}: [privacy] has an unknown setting {key!r}; use {', '.join(known)}")
    values = dict(data)
    for key in ("daily_epsilon", "overview_epsilon", "funnel_epsilon", "revenue_cap"):
        if key in values:
            if isinstance(values[key], bool) or not isinstance(values[key], (int, float)):
                raise ShopLensError(f"{where}: [privacy] {key} must be a number, got {values[key]!r}")
            values[key] = float(values[key])
    return PrivacySettings(**values)


def load_privacy_settings(path: Path | None = None) -> PrivacySettings:
    """The `[privacy]` table of the roles file, or the defaults when there is none.

    Raises:
        ShopLensError: the file is not valid TOML, or a setting is wrong.
    """
    path = path or roles_file_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return PrivacySettings()
    except OSError as error:
        raise ShopLensError(f"the roles file {path} cannot be read ({error.strerror}); check its permissions") from None
    except tomllib.TOMLDecodeError as error:
        raise ShopLensError(f"the roles file {path} is not valid TOML ({error}); fix that line") from None
    table = data.get("privacy", {})
    if not isinstance(table, Mapping):
        raise ShopLensError(f"{path}: privacy must be a table, [privacy]")
    return parse_privacy(table, str(path))
