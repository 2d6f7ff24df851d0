"""Records a sign-in in the audit log, once per session.

The audit log (`analytics.audit.record(event, user, details)`) comes with the imports work; until
it is there, sign-ins are appended as JSON lines to `audit.jsonl` beside the warehouse. Switching
over is this module alone.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FALLBACK_LOG_NAME = "audit.jsonl"


def record_sign_in(email: str, details: dict[str, Any], warehouse_path: Path) -> None:
    """Write "sign_in" by `email` with `details` (role, provider) to the audit log.

    Args:
        email: who signed in.
        details: what to keep with it; values must be JSON-serialisable.
        warehouse_path: the warehouse file; the fallback log lives beside it.
    """
    try:
        from analytics.audit import record  # type: ignore[import-not-found]
    except ImportError:
        record = None
    if record is not None:
        record("sign_in", email, details)
        return
    line = json.dumps({"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "event": "sign_in",
                       "user": email, "details": details}, ensure_ascii=False) + "\n"
    path = warehouse_path.parent / FALLBACK_LOG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write to a file opened for appending: concurrent sign-ins never interleave within a line.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, line.encode("utf-8"))
    finally:
        os.close(descriptor)
