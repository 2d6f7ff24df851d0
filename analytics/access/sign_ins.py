"""Sign-ins go to the audit log (`analytics.audit`), beside the warehouse, with the role they were given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from analytics import audit


def record_sign_in(email: str, details: dict[str, Any], warehouse_path: Path) -> None:
    """Write "sign_in" by `email` with `details` (role, provider) to the audit log of `warehouse_path`.

    Args:
        email: who signed in.
        details: what to keep with it; values must be JSON-serialisable.
        warehouse_path: the warehouse file whose log it goes to.
    """
    audit.record("sign_in", email, details, warehouse=warehouse_path)
