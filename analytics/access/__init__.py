"""Who may use ShopLens and what they may do: roles, permissions, the sign-in configuration.

Public API:
    Role, Permission, has_permission, refusal   analytics.access.permissions
    RolesConfig, load_roles, roles_file_path    analytics.access.roles (the roles file)
    sign_in_providers, serving_refusal          analytics.access.sign_in ([auth] in secrets.toml)

No Streamlit here; `dashboard/access.py` draws the sign-in page and asks these modules.
"""

from analytics.access.permissions import Permission, Role, has_permission, refusal
from analytics.access.roles import RolesConfig, load_roles, roles_file_path
from analytics.access.sign_in import serving_refusal, sign_in_providers

__all__ = ["Permission", "Role", "RolesConfig", "has_permission", "load_roles", "refusal", "roles_file_path",
           "serving_refusal", "sign_in_providers"]
