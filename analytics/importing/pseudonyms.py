"""Pseudonyms for `--pseudonymize`: a keyed HMAC of every user id, with one key per warehouse.

A user id becomes `p_` + the first 20 hex digits of HMAC-SHA256(key, id). The
HMAC is computed inside the staging query, so a raw id never reaches a table,
a reject, the report, the history or a log. The key is 32 random bytes, kept
as hex in a file created once with mode 0600:

- `$SHOPLENS_PSEUDONYM_KEY_FILE` (an absolute path), else
- `<warehouse file>.pseudonym-key`, beside the warehouse (an absolute path
  too: the warehouse's own), so an import run from any folder finds the same key.

The warehouse stores only the key's fingerprint (an HMAC of a fixed text), so an
import with another key is refused instead of splitting one customer in two.
Nobody holding only the warehouse can reverse or recompute a pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from analytics.errors import ShopLensError

KEY_FILE_ENV = "SHOPLENS_PSEUDONYM_KEY_FILE"
KEY_SUFFIX = ".pseudonym-key"
SCHEME = "hmac-sha256-20"
PREFIX = "p_"
DIGITS = 20
_FINGERPRINT_TEXT = b"ShopLens pseudonym key fingerprint"
_BLOCK = 64  # SHA-256's block size, in bytes


@dataclass(frozen=True)
class PseudonymKey:
    """A loaded key.

    Attributes:
        path: the key file.
        secret: the key's bytes.
    """

    path: Path
    secret: bytes

    @property
    def fingerprint(self) -> str:
        """16 hex digits identifying the key without revealing it (stored in the warehouse)."""
        return hmac.new(self.secret, _FINGERPRINT_TEXT, hashlib.sha256).hexdigest()[:16]

    def pseudonym(self, user_id: str) -> str:
        """The pseudonym of one id, as the import's SQL computes it (for tests and look-ups)."""
        return PREFIX + hmac.new(self.secret, user_id.encode("utf-8"), hashlib.sha256).hexdigest()[:DIGITS]

    def sql_parameters(self) -> dict[str, bytes]:
        """The inner and outer HMAC pads, bound as `$hmac_inner` and `$hmac_outer` (see `PSEUDONYM_SQL`)."""
        key = self.secret if len(self.secret) <= _BLOCK else hashlib.sha256(self.secret).digest()
        key = key.ljust(_BLOCK, b"\0")
        return {"hmac_inner": bytes(byte ^ 0x36 for byte in key), "hmac_outer": bytes(byte ^ 0x5C for byte in key)}


def pseudonym_sql(value: str) -> str:
    """SQL for the pseudonym of the text expression `value` (HMAC-SHA256 from the bound pads; RFC 2104)."""
    return (f"'{PREFIX}' || left(sha256($hmac_outer || unhex(sha256($hmac_inner || encode({value})))), {DIGITS})")


def key_path_for(warehouse: Path) -> Path:
    """The key file for `warehouse`: `$SHOPLENS_PSEUDONYM_KEY_FILE`, else `<warehouse>.pseudonym-key` beside it.

    Raises:
        ShopLensError: the variable is set to a relative path (it would depend on the working folder).
    """
    configured = os.environ.get(KEY_FILE_ENV, "").strip()
    if configured:
        path = Path(configured).expanduser()
        if not path.is_absolute():
            raise ShopLensError(f"{KEY_FILE_ENV}={configured!r} is a relative path; give an absolute one, or the key "
                                "would change with the folder the import runs from")
        return path
    target = warehouse.expanduser().absolute()
    return target.with_name(target.name + KEY_SUFFIX)


def load_or_create_key(path: Path) -> PseudonymKey:
    """Return the key in `path`, creating it (32 random bytes as hex, mode 0600) when missing.

    Args:
        path: the key file, from `key_path_for`.

    Returns:
        The PseudonymKey.

    Raises:
        ShopLensError: the file is readable by other users, empty or not a key.
    """
    path = path.expanduser().absolute()
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
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < 16:
        raise ShopLensError(f"{path} does not hold a key (64 hex digits); restore the key file it was made with, "
                            "or delete it to start new pseudonyms in a new warehouse")
    return PseudonymKey(path, secret)
