"""Who gets which role: the roles file (TOML), read without Streamlit.

The file's path is `$SHOPLENS_ROLES_FILE`, else `.streamlit/roles.toml`. Example:

    unknown_users = "none"          # or "viewer": what a signed-in person on no list gets
    groups_claim = "groups"         # the identity-token claim that lists a person's groups

    [users]                         # e-mail address, or "@domain" for everyone at a domain
    "maria@example.com" = "admin"
    "@example.com" = "viewer"

    [groups]                        # a group named in the identity token's groups claim
    "shop-analysts" = "analyst"

An exact e-mail entry decides alone (so one person can be given less than their group has);
otherwise the highest role among their domain and groups; otherwise `unknown_users`.
E-mail addresses the provider marks unverified (`email_verified = false`) match nothing.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from analytics.access.permissions import Role
from analytics.errors import ShopLensError

ROLES_FILE_ENV = "SHOPLENS_ROLES_FILE"
DEFAULT_ROLES_FILE = Path(".streamlit") / "roles.toml"
NO_ACCESS = "none"


@dataclass(frozen=True)
class RolesConfig:
    """The roles file, checked.

    Attributes:
        users: lower-case e-mail address or "@domain" -> role.
        groups: group name (as the provider spells it) -> role.
        unknown_users: the role of a signed-in person on no list; None for no access.
        groups_claim: the identity-token claim holding the person's groups.
        source: the file it came from, or None when there was no file.
    """

    users: Mapping[str, Role] = field(default_factory=dict)
    groups: Mapping[str, Role] = field(default_factory=dict)
    unknown_users: Role | None = None
    groups_claim: str = "groups"
    source: Path | None = None

    def role_for(self, email: str | None, groups: Iterable[str] = (), *,
                 email_verified: bool | None = None) -> Role | None:
        """The role of a signed-in person, or None for no access.

        Args:
            email: the address from the identity token; None when the provider gave none.
            groups: the names in the token's groups claim.
            email_verified: the token's `email_verified` claim; False makes the address match nothing
                (anyone can type an address they do not own at some providers). None: the claim was absent.
        """
        address = (email or "").strip().lower() if email_verified is not False else ""
        if address and address in self.users:
            return self.users[address]
        candidates = [self.groups[name] for name in groups if name in self.groups]
        if "@" in address:
            domain = "@" + address.rsplit("@", 1)[1]
            if domain in self.users:
                candidates.append(self.users[domain])
        if candidates:
            return max(candidates, key=lambda role: role.rank)
        return self.unknown_users


def roles_file_path() -> Path:
    """`$SHOPLENS_ROLES_FILE`, else `.streamlit/roles.toml` (relative to the working folder)."""
    configured = os.environ.get(ROLES_FILE_ENV, "").strip()
    return Path(configured) if configured else DEFAULT_ROLES_FILE


def load_roles(path: Path | None = None) -> RolesConfig:
    """Read and check the roles file.

    Args:
        path: the file; default `roles_file_path()`.

    Returns:
        The RolesConfig; a missing file gives one that lets nobody in (every list empty,
        `unknown_users` none), so a typo in the path never opens the app.

    Raises:
        ShopLensError: the file is not valid TOML or names an unknown role; the message names the
            file and the entry.
    """
    path = path or roles_file_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return RolesConfig(source=None)
    except OSError as error:
        raise ShopLensError(f"the roles file {path} cannot be read ({error.strerror}); check its permissions") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ShopLensError(f"the roles file {path} is not valid TOML ({error}); fix that line") from None
    return parse_roles(data, path)


def parse_roles(data: Mapping[str, Any], source: Path | None = None) -> RolesConfig:
    """Check the roles file's parsed TOML; see `load_roles`."""
    where = str(source) if source else "the roles file"
    known = {"unknown_users", "groups_claim", "users", "groups", "privacy"}
    for key in data:
        if key not in known:
            raise ShopLensError(f"{where} has an unknown entry {key!r}; use {', '.join(sorted(known))}")
    unknown = data.get("unknown_users", NO_ACCESS)
    unknown_role = None if unknown == NO_ACCESS else _role(unknown, f"{where}: unknown_users", allow_none=True)
    groups_claim = data.get("groups_claim", "groups")
    if not isinstance(groups_claim, str) or not groups_claim.strip():
        raise ShopLensError(f"{where}: groups_claim must be a claim name such as \"groups\"")
    users = {}
    for key, value in _table(data, "users", where).items():
        address = key.strip().lower()
        if "@" not in address:
            raise ShopLensError(f"{where}: [users] entry {key!r} is not an e-mail address or \"@domain\"")
        users[address] = _role(value, f"{where}: [users] {key!r}")
    groups = {key: _role(value, f"{where}: [groups] {key!r}") for key, value in _table(data, "groups", where).items()}
    return RolesConfig(users, groups, unknown_role, groups_claim.strip(), source)


def _table(data: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, Mapping):
        raise ShopLensError(f"{where}: [{name}] must be a table of names and roles, "
                            "like \"ana@example.com\" = \"analyst\"")
    return table


def _role(value: Any, where: str, *, allow_none: bool = False) -> Role:
    names = [role.value for role in Role] + ([NO_ACCESS] if allow_none else [])
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        raise ShopLensError(f"{where} has the role {value!r}; choose from {', '.join(names)}") from None
