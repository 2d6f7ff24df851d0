"""Roles, permissions, the sign-in configuration and the listen-address guard (no Streamlit)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from analytics.access.permissions import Permission, Role, has_permission, refusal
from analytics.access.roles import RolesConfig, load_roles, parse_roles
from analytics.access.sign_in import (
    auth_problem,
    is_loopback,
    read_auth_section,
    serving_refusal,
    sign_in_providers,
)
from analytics.errors import ShopLensError

REPO_ROOT = Path(__file__).resolve().parent.parent

ROLES = {
    "unknown_users": "none",
    "users": {"Maria@Example.com": "viewer", "@example.com": "viewer", "boss@example.com": "admin"},
    "groups": {"shop-analysts": "analyst", "shop-admins": "admin"},
}


# --------------------------------------------------------------------------- permissions


@pytest.mark.parametrize(("role", "granted", "refused"), [
    (Role.VIEWER, {"view_aggregates"},
     {"view_exact_counts", "view_user_level", "export_user_level", "import_data", "restore", "retrain_models"}),
    (Role.ANALYST, {"view_aggregates", "view_exact_counts", "view_user_level", "export_user_level"},
     {"import_data", "restore", "retrain_models", "change_settings"}),
    (Role.ADMIN, {permission.value for permission in Permission}, set()),
])
def test_each_role_holds_exactly_its_permissions(role, granted, refused):
    assert {permission for permission in Permission if has_permission(role, permission)} == \
        {Permission(name) for name in granted}
    assert not any(has_permission(role, name) for name in refused)


def test_no_role_holds_nothing_and_a_misspelt_permission_is_an_error():
    assert not any(has_permission(None, permission) for permission in Permission)
    with pytest.raises(ValueError):
        has_permission(Role.ADMIN, "import")


def test_a_refusal_names_the_role_that_would_do():
    assert "admin role" in refusal("import_data")
    assert "analyst or admin" in refusal(Permission.EXPORT_USER_LEVEL)


# --------------------------------------------------------------------------- roles file


def test_an_exact_address_decides_alone_even_below_the_persons_group():
    roles = parse_roles(ROLES)
    # Maria is in the admins' group, but her own entry says viewer.
    assert roles.role_for("maria@example.com", ["shop-admins"]) is Role.VIEWER


def test_otherwise_the_highest_of_domain_and_groups_wins():
    roles = parse_roles(ROLES)
    assert roles.role_for("ana@example.com", []) is Role.VIEWER            # the domain
    assert roles.role_for("ana@example.com", ["shop-analysts"]) is Role.ANALYST
    assert roles.role_for("ana@other.org", ["shop-analysts", "shop-admins"]) is Role.ADMIN
    assert roles.role_for("BOSS@example.com", []) is Role.ADMIN            # addresses ignore case


def test_unknown_people_get_what_the_file_says():
    assert parse_roles(ROLES).role_for("someone@other.org", []) is None
    assert parse_roles(ROLES | {"unknown_users": "viewer"}).role_for("someone@other.org", []) is Role.VIEWER


def test_an_unverified_address_matches_nothing():
    roles = parse_roles(ROLES)
    assert roles.role_for("boss@example.com", [], email_verified=False) is None
    assert roles.role_for("boss@example.com", ["shop-analysts"], email_verified=False) is Role.ANALYST
    assert roles.role_for("boss@example.com", [], email_verified=True) is Role.ADMIN


@pytest.mark.parametrize(("data", "words"), [
    ({"users": {"ana@example.com": "superuser"}}, "[users] 'ana@example.com' has the role 'superuser'"),
    ({"users": {"ana": "viewer"}}, "is not an e-mail address"),
    ({"groups": {"x": 3}}, "[groups] 'x' has the role 3"),
    ({"unknown_users": "guest"}, "unknown_users has the role 'guest'"),
    ({"user": {}}, "unknown entry 'user'"),
])
def test_a_broken_roles_file_says_which_entry(data, words):
    with pytest.raises(ShopLensError, match=None) as raised:
        parse_roles(data, Path("roles.toml"))
    assert words in str(raised.value)
    assert "roles.toml" in str(raised.value)


def test_a_missing_roles_file_lets_nobody_in(tmp_path):
    roles = load_roles(tmp_path / "absent.toml")
    assert roles == RolesConfig()
    assert roles.role_for("boss@example.com", ["shop-admins"]) is None


def test_the_roles_file_is_read_from_toml(tmp_path):
    path = tmp_path / "roles.toml"
    path.write_text('unknown_users = "viewer"\n[users]\n"ana@example.com" = "analyst"\n', encoding="utf-8")
    roles = load_roles(path)
    assert roles.role_for("ana@example.com") is Role.ANALYST
    assert roles.role_for("x@y.z") is Role.VIEWER
    path.write_text("[users\n", encoding="utf-8")
    with pytest.raises(ShopLensError, match="not valid TOML"):
        load_roles(path)


# --------------------------------------------------------------------------- sign-in configuration


SHARED = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "s" * 32}
PROVIDER = {"client_id": "shoplens", "client_secret": "x", "server_metadata_url": "http://idp/.well-known/openid-configuration"}


def test_sign_in_providers_are_the_default_and_each_complete_named_table():
    assert sign_in_providers(SHARED | PROVIDER) == ("default",)
    assert sign_in_providers(SHARED | {"okta": PROVIDER, "google": {"client_id": "only"}}) == ("okta",)
    assert sign_in_providers(SHARED | {"my_idp": PROVIDER}) == ()       # Streamlit refuses underscores
    assert sign_in_providers(PROVIDER | {"redirect_uri": SHARED["redirect_uri"]}) == ()   # no cookie_secret
    assert sign_in_providers(None) == ()


def test_the_auth_table_is_merged_from_the_secrets_files(tmp_path):
    user, project = tmp_path / "user.toml", tmp_path / "project.toml"
    user.write_text('[auth]\nredirect_uri = "a"\ncookie_secret = "b"\n', encoding="utf-8")
    project.write_text('[auth]\nredirect_uri = "c"\nclient_id = "d"\n', encoding="utf-8")
    assert read_auth_section([user, project, tmp_path / "absent.toml"]) == \
        {"redirect_uri": "c", "cookie_secret": "b", "client_id": "d"}


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.1.1", "::1", "[::1]", "localhost"])
def test_loopback_addresses(address):
    assert is_loopback(address)


@pytest.mark.parametrize("address", ["0.0.0.0", "", None, "192.168.1.10", "::", "example.com"])
def test_addresses_beyond_this_machine(address):
    assert not is_loopback(address)


def test_listening_beyond_this_machine_needs_sign_in_or_open_access():
    assert serving_refusal("127.0.0.1", signed_in_configured=False, open_access=False) is None
    reason = serving_refusal("0.0.0.0", signed_in_configured=False, open_access=False)
    assert reason is not None and "\n" not in reason and "OPEN_ACCESS=1" in reason
    assert serving_refusal(None, signed_in_configured=False, open_access=False) is not None
    assert serving_refusal("0.0.0.0", signed_in_configured=True, open_access=False) is None
    assert serving_refusal("0.0.0.0", signed_in_configured=False, open_access=True) is None


def _guard(tmp_path, *arguments, open_access=None):
    environment = {key: value for key, value in os.environ.items() if key != "OPEN_ACCESS"}
    environment["PYTHONPATH"] = str(REPO_ROOT)
    environment["HOME"] = str(tmp_path)   # no ~/.streamlit/secrets.toml of the machine's user
    if open_access is not None:
        environment["OPEN_ACCESS"] = open_access
    return subprocess.run([sys.executable, "-m", "analytics.access.guard", *arguments], cwd=tmp_path,
                          env=environment, capture_output=True, text=True, timeout=60)


def test_the_guard_refuses_an_open_network_address_in_one_line(tmp_path):
    refused = _guard(tmp_path, "--address", "0.0.0.0")
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("error: ")
    assert _guard(tmp_path, "--address", "127.0.0.1").returncode == 0
    opened = _guard(tmp_path, "--address", "0.0.0.0", open_access="1")
    assert opened.returncode == 0 and "OPEN_ACCESS=1" in opened.stderr


def test_the_guard_lets_a_signed_in_app_listen_on_the_network(tmp_path):
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text("[auth]\n" + "".join(f'{key} = "{value}"\n' for key, value in (SHARED | PROVIDER).items()),
                       encoding="utf-8")
    assert _guard(tmp_path, "--address", "0.0.0.0").returncode == 0


def test_a_half_written_auth_table_is_a_problem_not_open_access(tmp_path):
    assert auth_problem(None) is None and auth_problem({}) is None
    assert auth_problem(SHARED | PROVIDER) is None
    problem = auth_problem(PROVIDER | {"redirect_uri": SHARED["redirect_uri"]})
    assert problem is not None and "cookie_secret" in problem and "client_id" not in problem
    assert "a provider's client_id" in auth_problem(SHARED | {"my_idp": PROVIDER})
    # A short cookie secret would let anyone forge a sign-in cookie.
    assert "at least 32" in auth_problem(SHARED | PROVIDER | {"cookie_secret": "xxx"})
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n', encoding="utf-8")
    refused = _guard(tmp_path, "--address", "127.0.0.1")
    assert refused.returncode == 2 and "incomplete" in refused.stderr
