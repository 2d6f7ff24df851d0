"""Roles and what each may do: plain data, no Streamlit.

Three roles, each holding every permission of the one below it:

- viewer: aggregates only; counts on the Overview and Funnels carry differential-privacy noise.
- analyst: also user-level lists and exports (dropped users, win-back lists, segment exports),
  and exact counts.
- admin: also imports, rebuilds, restores, settings and retraining models.
"""

from __future__ import annotations

from enum import Enum


class Permission(str, Enum):
    """One thing a signed-in person may do; pages ask `allowed(Permission.X)`."""

    VIEW_AGGREGATES = "view_aggregates"
    VIEW_EXACT_COUNTS = "view_exact_counts"
    VIEW_USER_LEVEL = "view_user_level"
    EXPORT_USER_LEVEL = "export_user_level"
    IMPORT_DATA = "import_data"
    RESTORE = "restore"
    RETRAIN_MODELS = "retrain_models"
    CHANGE_SETTINGS = "change_settings"


class Role(str, Enum):
    """A role from the roles file, lowest first."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """0 for viewer, 1 for analyst, 2 for admin: a higher rank holds every lower rank's permissions."""
        return list(Role).index(self)

    @property
    def permissions(self) -> frozenset[Permission]:
        """Everything this role may do."""
        return ROLE_PERMISSIONS[self]


_VIEWER = frozenset({Permission.VIEW_AGGREGATES})
_ANALYST = _VIEWER | {Permission.VIEW_EXACT_COUNTS, Permission.VIEW_USER_LEVEL, Permission.EXPORT_USER_LEVEL}
_ADMIN = _ANALYST | {Permission.IMPORT_DATA, Permission.RESTORE, Permission.RETRAIN_MODELS,
                     Permission.CHANGE_SETTINGS}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: _VIEWER,
    Role.ANALYST: _ANALYST,
    Role.ADMIN: _ADMIN,
}

# What a person is told when a permission is missing: the role that has it, in words.
PERMISSION_NEEDS: dict[Permission, str] = {
    Permission.VIEW_AGGREGATES: "any role",
    Permission.VIEW_EXACT_COUNTS: "the analyst or admin role",
    Permission.VIEW_USER_LEVEL: "the analyst or admin role",
    Permission.EXPORT_USER_LEVEL: "the analyst or admin role",
    Permission.IMPORT_DATA: "the admin role",
    Permission.RESTORE: "the admin role",
    Permission.RETRAIN_MODELS: "the admin role",
    Permission.CHANGE_SETTINGS: "the admin role",
}

PERMISSION_LABELS: dict[Permission, str] = {
    Permission.VIEW_AGGREGATES: "see aggregate figures",
    Permission.VIEW_EXACT_COUNTS: "see exact counts",
    Permission.VIEW_USER_LEVEL: "see lists of individual shoppers",
    Permission.EXPORT_USER_LEVEL: "export lists of individual shoppers",
    Permission.IMPORT_DATA: "import data",
    Permission.RESTORE: "restore an earlier warehouse",
    Permission.RETRAIN_MODELS: "retrain models",
    Permission.CHANGE_SETTINGS: "change settings",
}


def has_permission(role: Role | None, permission: Permission | str) -> bool:
    """Whether `role` (None: no access) holds `permission` (a Permission or its name).

    Raises:
        ValueError: `permission` names no permission (a typo in a page must not silently deny or allow).
    """
    permission = Permission(permission)
    return role is not None and permission in role.permissions


def refusal(permission: Permission | str) -> str:
    """One calm sentence saying what is missing and who has it, e.g. for `require`."""
    permission = Permission(permission)
    return (f"Your role cannot {PERMISSION_LABELS[permission]}; this needs {PERMISSION_NEEDS[permission]}. "
            "Ask a ShopLens admin if you need it.")
