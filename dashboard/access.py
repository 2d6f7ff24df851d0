"""Sign-in and roles in the app: `gate()` before navigation, `allowed`/`require` in pages.

- `gate()`: app.py calls it before building the navigation. With sign-in configured (`[auth]` in
  `.streamlit/secrets.toml`) it shows the sign-in page until the visitor has signed in, then a
  no-access page when the roles file gives them no role; it records each sign-in in the audit log
  once per session. Without sign-in it lets in only visitors on this machine (unless
  `OPEN_ACCESS=1`) and says so in the sidebar.
- `current_user()`: who is using the app, with their role (open access: a local admin).
- `allowed(permission)`: whether they may; `require(permission)`: a calm message and `st.stop()`
  when they may not.

Permissions are `analytics.access.Permission` values or their names ("view_user_level").
"""

from __future__ import annotations

import os

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import streamlit as st

from analytics.access.permissions import Permission, Role, has_permission, refusal
from analytics.access.roles import RolesConfig, load_roles, roles_file_path
from analytics.access.sign_in import auth_problem, is_loopback, open_access_allowed, sign_in_providers
from analytics.access.sign_ins import record_sign_in
from analytics.errors import ShopLensError
from analytics.warehouse import default_warehouse_path

OPEN_ACCESS_NOTE = "Open access: anyone on this machine can use ShopLens as admin; configure sign-in to share it."
_RECORDED_KEY = "shoplens_sign_in_recorded"
LOCAL_ADMIN_EMAIL = "local-admin@localhost"


@dataclass(frozen=True)
class User:
    """The person using the app.

    Attributes:
        email: their address from the identity provider ("" before sign-in); `LOCAL_ADMIN_EMAIL`
            under open access.
        name: for people; their address when the provider gave no name.
        role: their role, or None for no access (not signed in, or on no list).
        is_open_access: True when no sign-in is configured and this is the local admin.
    """

    email: str
    name: str
    role: Role | None
    is_open_access: bool = False

    @property
    def is_signed_in(self) -> bool:
        """True for a signed-in person and for the local admin of an open-access app."""
        return self.is_open_access or bool(self.email)


def sign_in_configured() -> tuple[str, ...]:
    """The providers `[auth]` in the app's secrets configures; empty for open access."""
    return sign_in_providers(_auth_section())


def _auth_section() -> dict[str, Any]:
    # Without a secrets file (open access, the default), Streamlit looks for the files again, under a
    # lock, on every access to st.secrets: a sixth of the server's CPU per page view with 20 sessions.
    # Secrets already loaded (a file, or a test's) are read as usual.
    if getattr(st.secrets, "_secrets", None) is None and not _secrets_files_exist():
        return {}
    try:
        return _plain(st.secrets.get("auth"))
    except Exception:  # noqa: BLE001 - with no secrets file Streamlit raises its own error type
        return {}


def _secrets_files_exist() -> bool:
    """Whether any of Streamlit's secrets locations (`secrets.files`) exists."""
    return any(os.path.exists(path) for path in _secrets_locations())


@lru_cache(maxsize=1)
def _secrets_locations() -> tuple[str, ...]:
    # A server-start option: read once, not under Streamlit's config lock on every access check.
    from streamlit import config

    return tuple(config.get_option("secrets.files"))


def current_user() -> User:
    """Who is using the app, and their role (see `User`).

    Raises:
        ShopLensError: the roles file is broken; the message says where.
    """
    if not sign_in_configured():
        return User(LOCAL_ADMIN_EMAIL, "Local admin", Role.ADMIN, is_open_access=True)
    if not st.user.is_logged_in:
        return User("", "", None)
    claims = _plain(st.user.to_dict())
    email = str(claims.get("email") or "").strip()
    roles = _roles()
    groups = claims.get(roles.groups_claim) or ()
    if isinstance(groups, str):
        groups = (groups,)
    verified = claims.get("email_verified")
    role = roles.role_for(email, [str(group) for group in groups],
                          email_verified=None if verified is None else _truthy(verified))
    return User(email, str(claims.get("name") or email), role)


def allowed(permission: Permission | str) -> bool:
    """Whether the current user may do `permission`; False when the roles file is broken."""
    try:
        return has_permission(current_user().role, permission)
    except ShopLensError:
        return False


def require(permission: Permission | str) -> None:
    """Stop the page with a calm message unless the current user may do `permission`."""
    if not allowed(permission):
        st.info(refusal(permission), title="Not available with your role", icon=":material/lock:")
        st.stop()


def visible_pages(sections: Mapping[str, list[Any]]) -> dict[str, list[Any]]:
    """The pages (`dashboard.navigation.PageSpec`) the current user may open, by section; empty sections left out."""
    visible = {section: [spec for spec in specs if allowed(spec.permission)] for section, specs in sections.items()}
    return {section: specs for section, specs in visible.items() if specs}


def gate() -> User:
    """Let in only those who may use the app; call it in app.py before `st.navigation`.

    Returns:
        The current user, once they may go on; otherwise the run stops here.
    """
    providers = sign_in_configured()
    if problem := auth_problem(_auth_section()):
        # Half-configured sign-in fails closed: it never falls back to open access.
        st.title("ShopLens", anchor=False)
        st.error(problem[0].upper() + problem[1:] + ".", title="Sign-in is not set up correctly",
                 icon=":material/error:")
        st.stop()
    if not providers:
        return _open_access()
    if not st.user.is_logged_in:
        _sign_in_page(providers)
        st.stop()
    try:
        user = current_user()
    except ShopLensError as error:
        st.error(str(error), title="The roles file needs fixing", icon=":material/error:")
        st.stop()
    if user.role is None:
        _no_access_page(user)
        st.stop()
    if st.session_state.get(_RECORDED_KEY) != user.email:
        record_sign_in(user.email, {"role": user.role.value, "name": user.name}, default_warehouse_path())
        st.session_state[_RECORDED_KEY] = user.email
    with st.sidebar:
        with st.container(horizontal=True, vertical_alignment="center", horizontal_alignment="distribute"):
            # Names come from the identity provider: shown as text, never as Markdown.
            st.text(f"{user.name} · {user.role.value}", width="content", help=user.email)
            if st.button("Sign out", key="sign_out", type="tertiary", icon=":material/logout:"):
                st.logout()
    return user


def _open_access() -> User:
    user = User(LOCAL_ADMIN_EMAIL, "Local admin", Role.ADMIN, is_open_access=True)
    client = st.context.ip_address   # None for this machine; a real server gives text (AppTest a stand-in)
    if isinstance(client, str) and not is_loopback(client) and not open_access_allowed():
        st.title("ShopLens", anchor=False)
        st.warning("ShopLens has no sign-in configured, so it answers visitors on its own machine only. "
                   "Ask whoever runs it to configure sign-in (docs/security.md).",
                   title="Not shared on the network", icon=":material/lock:")
        st.stop()
    st.sidebar.caption(f":material/lock_open: {OPEN_ACCESS_NOTE}")
    return user


def _sign_in_page(providers: tuple[str, ...]) -> None:
    st.title("ShopLens", anchor=False)
    st.caption("E-commerce analytics for merchandisers, managers and data scientists.")
    st.info("Sign in with your organisation's account to open the dashboard.", title="Sign in",
            icon=":material/login:")
    for provider in providers:
        label = "Sign in" if provider == "default" else f"Sign in with {provider.capitalize()}"
        if st.button(label, key=f"sign_in_{provider}", type="primary", icon=":material/login:"):
            st.login(None if provider == "default" else provider)


def _no_access_page(user: User) -> None:
    st.title("ShopLens", anchor=False)
    st.warning(f"You are signed in as {user.email or 'an account without an e-mail address'}, but the roles file "
               f"({roles_file_path()}) gives this account no role. Ask a ShopLens admin to add you.",
               title="No access yet", icon=":material/lock:")
    if st.button("Sign out", key="sign_out_no_access", icon=":material/logout:"):
        st.logout()


def _roles() -> RolesConfig:
    path = roles_file_path()
    return _load_roles(str(path), _stamp(path))


@lru_cache(maxsize=4)
def _load_roles(path: str, stamp: tuple[int, int] | None) -> RolesConfig:
    # `stamp` is part of the key only, so an edited roles file applies on the next rerun.
    del stamp
    return load_roles(Path(path))


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _plain(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {key: _plain(item) if isinstance(item, Mapping) else item for key, item in value.items()}
    return {}


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes")
