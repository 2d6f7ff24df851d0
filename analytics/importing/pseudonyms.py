"""The secret key for `--pseudonymize`, kept outside the warehouse.

User ids become `p_` + the first 20 hex digits of SHA-256(key + user id).
The key lives in `.shoplens/secret.key` (or `$SHOPLENS_SECRET_KEY`), created
once with permissions 0600, so the same user gets the same pseudonym in every
import, and nobody holding only the warehouse can reverse or recompute it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from analytics.errors import ShopLensError

DEFAULT_KEY_PATH = Path(".shoplens") / "secret.key"


def default_key_path() -> Path:
    """Return `$SHOPLENS_SECRET_KEY`, else `.shoplens/secret.key`."""
    configured = os.environ.get("SHOPLENS_SECRET_KEY", "").strip()
    return Path(configured) if configured else DEFAULT_KEY_PATH


def load_or_create_key(path: Path | None = None) -> str:
    """Return the pseudonymisation key, creating it (64 hex digits, mode 0600) when missing.

    Args:
        path: the key file; default `default_key_path()`.

    Returns:
        The key text.

    Raises:
        ShopLensError: the file exists but is empty, or is readable by other users.
    """
    path = path if path is not None else default_key_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two imports starting at once cannot both write a different key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    if path.stat().st_mode & 0o077:
        raise ShopLensError(f"{path} can be read by other users; run `chmod 600 {path}`")
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise ShopLensError(f"{path} is empty; delete it to create a new key (pseudonyms will change)")
    return key
