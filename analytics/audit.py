"""The audit log: who signed in, imported, exported, built or restored what, and when.

One JSON object per line in `<warehouse file>.audit.jsonl`, beside the
warehouse, so it survives every build, import and restore (they replace the
warehouse file, never this one). Lines are only ever appended: each is written
with one `write` on a file opened for appending, under an exclusive lock, and
flushed to disk before `record` returns. Nothing here deletes or rewrites a line.

Details are what the caller passes; callers never put raw customer ids in them
(imports record file names, counts and ids ShopLens made, never row values).
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from analytics.errors import ShopLensError

AUDIT_SUFFIX = ".audit.jsonl"
# The events ShopLens records; other helpers may add their own names of the same shape.
KNOWN_EVENTS = ("sign_in", "sign_out", "import", "build", "restore", "export")
COLUMNS = ["recorded_at", "event", "user", "details"]
_EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log.

    Attributes:
        recorded_at: when it was recorded, UTC.
        event: what happened, e.g. "import" (see KNOWN_EVENTS).
        user: who did it: an e-mail address from sign-in, or "cli:<login>" on the command line.
        details: what exactly (file names, counts, versions), JSON-serialisable.
    """

    recorded_at: datetime
    event: str
    user: str
    details: dict[str, Any] = field(default_factory=dict)


def audit_path(warehouse: Path | None = None) -> Path:
    """The audit log of `warehouse` (default: the configured warehouse), an absolute path beside it."""
    from analytics.warehouse import default_warehouse_path

    target = (warehouse if warehouse is not None else default_warehouse_path()).absolute()
    return target.with_name(target.name + AUDIT_SUFFIX)


def command_line_user() -> str:
    """Who runs a CLI command: "cli:" and the operating-system login."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without /etc/passwd entry)
        login = str(os.getuid())
    return f"cli:{login}"


def record(event: str, user: str, details: dict[str, Any] | None = None, *,
           warehouse: Path | None = None) -> AuditEntry:
    """Append one entry to the audit log of `warehouse` and flush it to disk.

    Args:
        event: lower-case name such as "sign_in", "import", "export", "restore".
        user: who did it (an e-mail address, or `command_line_user()`).
        details: what exactly; values must be JSON-serialisable (paths and dates are written as text).
        warehouse: whose log (default: the configured warehouse).

    Returns:
        The entry written.

    Raises:
        ShopLensError: the event name is not lower-case letters, digits and underscores, or `user` is empty.
        OSError: the log cannot be written (a full disk, a read-only folder).
    """
    if not _EVENT_NAME.match(event):
        raise ShopLensError(f"audit event {event!r} must be lower-case letters, digits and underscores, like 'import'")
    if not str(user).strip():
        raise ShopLensError("an audit entry needs the user who acted; pass their e-mail or command_line_user()")
    entry = AuditEntry(datetime.now(UTC), event, str(user), dict(details or {}))
    line = json.dumps({"recorded_at": entry.recorded_at.isoformat(), "event": event, "user": entry.user,
                       "details": entry.details}, ensure_ascii=False, default=str, sort_keys=True)
    path = audit_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        # One write per line under an exclusive lock: lines from several processes never interleave.
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        size = os.fstat(descriptor).st_size
        # A line cut short by a crash gets its end here, so the next line is whole.
        start = "\n" if size and os.pread(descriptor, 1, size - 1) != b"\n" else ""
        os.write(descriptor, (start + line + "\n").encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return entry


def read(*, warehouse: Path | None = None, event: str | None = None, user: str | None = None,
         since: datetime | None = None, limit: int | None = None) -> pd.DataFrame:
    """Read the audit log, newest first.

    Args:
        warehouse: whose log (default: the configured warehouse).
        event: only this event.
        user: only this user.
        since: only entries recorded at or after this time (naive times are taken as UTC).
        limit: at most this many entries.

    Returns:
        Columns `recorded_at` (UTC, tz-aware), `event`, `user`, `details` (a dict); empty when there is no log.
        A line that cannot be read (a write cut short by a crash) is skipped.
    """
    path = audit_path(warehouse)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    entries = []
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    raw = json.loads(line)
                    recorded_at = datetime.fromisoformat(raw["recorded_at"])
                except (ValueError, KeyError, TypeError):
                    continue
                if event is not None and raw.get("event") != event:
                    continue
                if user is not None and raw.get("user") != user:
                    continue
                if since is not None and recorded_at < since:
                    continue
                entries.append({"recorded_at": recorded_at, "event": raw.get("event"), "user": raw.get("user"),
                                "details": raw.get("details") or {}})
    except FileNotFoundError:
        return pd.DataFrame(columns=COLUMNS)
    entries.reverse()
    if limit is not None:
        entries = entries[:limit]
    return pd.DataFrame(entries, columns=COLUMNS)
