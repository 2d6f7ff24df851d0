"""Whether sign-in is configured, and where ShopLens may listen without it. No Streamlit here.

Sign-in is Streamlit's OpenID Connect (`st.login`), configured in the `[auth]` table of
`.streamlit/secrets.toml`: `redirect_uri` and `cookie_secret`, and either the provider's
`client_id`, `client_secret` and `server_metadata_url` in `[auth]` itself (the default provider)
or in named tables such as `[auth.okta]`. docs/security.md has a worked example.

Without sign-in everyone who reaches ShopLens is an admin, so it may listen on this machine only
(loopback) unless `OPEN_ACCESS=1` says to run open on purpose.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Iterable, Mapping

OPEN_ACCESS_ENV = "OPEN_ACCESS"
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
SHARED_KEYS = ("redirect_uri", "cookie_secret")
DEFAULT_PROVIDER = "default"
# The cookie secret signs the identity cookie: whoever can guess it can forge any person's sign-in.
MIN_COOKIE_SECRET_CHARACTERS = 32


def default_secrets_files() -> tuple[Path, ...]:
    """Where Streamlit looks for secrets by default: the user's, then the project's (the later wins)."""
    return (Path.home() / ".streamlit" / "secrets.toml", Path(".streamlit") / "secrets.toml")


def read_auth_section(files: Iterable[Path] | None = None) -> dict[str, Any]:
    """The `[auth]` table merged from the secrets files that exist (later files win, as in Streamlit).

    Unreadable or invalid files are skipped: Streamlit itself will report them when the app starts.
    """
    merged: dict[str, Any] = {}
    for path in files if files is not None else default_secrets_files():
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        section = data.get("auth")
        if isinstance(section, Mapping):
            merged.update(section)
    return merged


def sign_in_providers(auth: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The providers `st.login` can use with this `[auth]` table; empty when sign-in is not configured.

    Args:
        auth: the `[auth]` table (as in `st.secrets["auth"]`), or None.

    Returns:
        "default" when `[auth]` itself names a provider, then each named provider table, in file order.
        Empty when `redirect_uri` or `cookie_secret` is missing, since `st.login` would fail.
    """
    if not auth or any(not auth.get(key) for key in SHARED_KEYS):
        return ()
    providers = [DEFAULT_PROVIDER] if all(auth.get(key) for key in PROVIDER_KEYS) else []
    for name, value in auth.items():
        # Streamlit refuses provider names with an underscore.
        if isinstance(value, Mapping) and "_" not in name and all(value.get(key) for key in PROVIDER_KEYS):
            providers.append(name)
    return tuple(providers)


def auth_problem(auth: Mapping[str, Any] | None) -> str | None:
    """What is missing from an `[auth]` table that exists but configures no provider; None otherwise.

    A half-written `[auth]` must not silently leave the app open, so the app and `make run` stop on it.
    """
    if not auth:
        return None
    secret = str(auth.get("cookie_secret") or "")
    if secret and len(secret) < MIN_COOKIE_SECRET_CHARACTERS:
        return (f"the cookie_secret in .streamlit/secrets.toml has {len(secret)} characters; it signs every sign-in, "
                f"so use at least {MIN_COOKIE_SECRET_CHARACTERS} random ones: python -c \"import secrets; "
                "print(secrets.token_urlsafe(32))\"")
    if sign_in_providers(auth):
        return None
    missing = [key for key in SHARED_KEYS if not auth.get(key)]
    has_provider = all(auth.get(key) for key in PROVIDER_KEYS) or any(
        isinstance(value, Mapping) and "_" not in name and all(value.get(key) for key in PROVIDER_KEYS)
        for name, value in auth.items())
    if not has_provider:
        missing.append("a provider's " + ", ".join(PROVIDER_KEYS) + " (in [auth] or a table such as [auth.okta], "
                       "named without underscores)")
    return ("the [auth] settings in .streamlit/secrets.toml are incomplete, so nobody can sign in: add "
            + "; ".join(missing) + " (docs/security.md has an example)")


def open_access_allowed(environ: Mapping[str, str] | None = None) -> bool:
    """True when `OPEN_ACCESS=1` says to serve without sign-in beyond this machine."""
    return (environ if environ is not None else os.environ).get(OPEN_ACCESS_ENV, "").strip() == "1"


def is_loopback(address: str | None) -> bool:
    """Whether a listen or client address is this machine only ("127.0.0.1", "::1", "localhost")."""
    if address is None:
        return False
    text = address.strip().strip("[]")
    if text.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def serving_refusal(address: str | None, *, signed_in_configured: bool, open_access: bool) -> str | None:
    """Why ShopLens must not listen on `address`, in one line; None when it may.

    Args:
        address: the listen address (`--server.address`); None or "" means every interface.
        signed_in_configured: whether `[auth]` configures a provider.
        open_access: whether `OPEN_ACCESS=1` was given.
    """
    if signed_in_configured or open_access or is_loopback(address):
        return None
    shown = address or "every network interface"
    return (f"ShopLens will not listen on {shown} without sign-in, because anyone who can reach it would be an "
            "admin: configure [auth] in .streamlit/secrets.toml (docs/security.md), or set OPEN_ACCESS=1 to "
            "share it open on purpose")
