"""Settings an administrator chooses once for a warehouse, such as the currency money is shown in.

They live in `settings.toml` beside the warehouse file, so they survive rebuilds and imports (which
replace the warehouse file, not its folder), and every page, session and command reads the same ones.
An environment variable wins over the file (`SHOPLENS_CURRENCY`), so a deployment can fix a value.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from analytics.errors import ShopLensError

CURRENCY_ENV = "SHOPLENS_CURRENCY"
MAX_CURRENCY_LENGTH = 4


@dataclass(frozen=True)
class Settings:
    """A warehouse's settings.

    Attributes:
        currency: the symbol shown before money ("¥", "$", "€", "CHF"); "" for none.
    """

    currency: str = ""


def settings_file(warehouse: Path) -> Path:
    """Where the settings of `warehouse` are kept: `settings.toml` in its folder."""
    return Path(warehouse).resolve().parent / "settings.toml"


def load_settings(warehouse: Path) -> Settings:
    """The warehouse's settings: the file's, with `$SHOPLENS_CURRENCY` winning when it is set.

    Raises:
        ShopLensError: the file exists but is not valid TOML; says where it is.
    """
    path = settings_file(warehouse)
    try:
        stored = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        stored = {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ShopLensError(f"the settings in {path} cannot be read ({type(error).__name__}); fix or delete the file")
    settings = Settings(currency=str(stored.get("currency", "")))
    if (configured := os.environ.get(CURRENCY_ENV, "").strip()):
        settings = replace(settings, currency=configured)
    return settings


def save_settings(warehouse: Path, settings: Settings) -> Settings:
    """Store `settings` beside `warehouse`, replacing the file in one step.

    Raises:
        ShopLensError: a currency symbol longer than 4 characters or with line breaks.
    """
    currency = settings.currency.strip()
    if len(currency) > MAX_CURRENCY_LENGTH or any(character in currency for character in "\r\n\"\\"):
        raise ShopLensError(f"the currency {currency!r} is not a symbol; use at most {MAX_CURRENCY_LENGTH} "
                            "characters, such as ¥, $, € or CHF")
    path = settings_file(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".settings.", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(f'# ShopLens settings for the warehouse in this folder.\ncurrency = "{currency}"\n')
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Settings(currency=currency)
