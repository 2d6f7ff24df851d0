"""The privacy budget ledger: ε spent per viewer and day, persisted beside the warehouse, enforced.

Every noisy release goes through `PrivacyLedger.release`, in one SQLite transaction:

- a query already released today (same question, same data build) returns the stored noisy answer:
  nobody can average fresh draws of it away, and a viewer who already paid for it pays nothing;
  another viewer pays its ε once, as it is news to them;
- a new query is refused with `BudgetExhausted` when it would take the viewer past the daily budget;
  otherwise it is computed, stored and charged together, so a crash leaves neither half.

The ledger is its own file (`privacy-ledger.sqlite` beside the warehouse), so it survives restarts
and warehouse swaps (a rebuild has a new data version, so its figures are new releases). Days are UTC.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from analytics.errors import ShopLensError

LEDGER_FILE_NAME = "privacy-ledger.sqlite"
# Rounding slack when adding up ε: OpenDP's maps round up, never by this much.
EPSILON_TOLERANCE = 1e-9

_SCHEMA = """
create table if not exists releases (
    release_day text not null,        -- UTC date, YYYY-MM-DD
    query_key text not null,          -- hash of the question, its parameters and the data version
    query_label text not null,        -- for people: what was asked
    epsilon real not null,            -- what one viewer is charged for it
    answer text not null,             -- the noisy answer, JSON
    released_at text not null,
    primary key (release_day, query_key)
);
create table if not exists spends (
    viewer text not null,             -- the signed-in person's e-mail address, lower case
    release_day text not null,
    query_key text not null,
    epsilon real not null,
    spent_at text not null,
    primary key (viewer, release_day, query_key)
);
"""


class BudgetExhausted(ShopLensError):
    """A release would take the viewer past today's privacy budget."""


@dataclass(frozen=True)
class Release:
    """What `PrivacyLedger.release` hands back.

    Attributes:
        answer: the noisy answer (as `compute` returned it, through JSON).
        charged: ε charged to the viewer now; 0 when they had already seen it today.
        reused: True when the answer was stored earlier today (by anyone).
        spent_today: the viewer's ε spent today, this release included.
        daily_epsilon: the viewer's daily budget.
    """

    answer: dict[str, Any]
    charged: float
    reused: bool
    spent_today: float
    daily_epsilon: float

    @property
    def remaining(self) -> float:
        """ε the viewer has left today (>= 0)."""
        return max(self.daily_epsilon - self.spent_today, 0.0)


def ledger_path(warehouse_path: Path) -> Path:
    """The ledger file beside the warehouse: `<warehouse folder>/privacy-ledger.sqlite`."""
    return Path(warehouse_path).resolve().parent / LEDGER_FILE_NAME


def query_key(kind: str, data_version: str, parameters: Mapping[str, Any]) -> str:
    """A stable hash of one question: its kind, the data build and every parameter (settings included).

    Args:
        kind: e.g. "overview_kpis".
        data_version: the warehouse build's id.
        parameters: JSON-serialisable values (dates as ISO text); key order does not matter.
    """
    text = json.dumps({"kind": kind, "data_version": data_version, "parameters": parameters},
                      sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class PrivacyLedger:
    """The ledger file; safe to share between threads and processes (SQLite transactions).

    Args:
        path: the SQLite file (created on first use, with its folder).
        daily_epsilon: each viewer's budget per UTC day.
        today: returns the current UTC date; tests pass their own clock.
    """

    def __init__(self, path: Path, daily_epsilon: float, today: Callable[[], date] | None = None) -> None:
        self.path = Path(path)
        self.daily_epsilon = float(daily_epsilon)
        self.today = today or (lambda: datetime.now(timezone.utc).date())

    def spent(self, viewer: str, day: date | None = None) -> float:
        """ε `viewer` has spent on `day` (default today)."""
        with self._connect() as connection:
            return self._spent(connection, _viewer(viewer), (day or self.today()).isoformat())

    def remaining(self, viewer: str, day: date | None = None) -> float:
        """ε `viewer` has left on `day` (default today), >= 0."""
        return max(self.daily_epsilon - self.spent(viewer, day), 0.0)

    def release(self, viewer: str, key: str, label: str, epsilon: float,
                compute: Callable[[], dict[str, Any]]) -> Release:
        """Answer a noisy query for `viewer`, charging the budget at most once per day.

        Args:
            viewer: who asks (their e-mail address).
            key: `query_key(...)` of the question.
            label: what was asked, for people reading the ledger.
            epsilon: the ε one answer spends (> 0).
            compute: draws the noisy answer; called only when no answer is stored today. Its result
                must be JSON-serialisable.

        Returns:
            The Release.

        Raises:
            BudgetExhausted: the viewer has not seen this answer today and cannot afford it.
        """
        viewer = _viewer(viewer)
        if not epsilon > 0:
            raise ValueError(f"a release must spend a positive ε, got {epsilon}")
        day = self.today().isoformat()
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._connect() as connection:
            # One writer at a time from here to the commit, across threads and processes, so two
            # sessions never draw two answers to one question or both spend the last of a budget.
            connection.execute("begin immediate")
            try:
                spent = self._spent(connection, viewer, day)
                stored = connection.execute(
                    "select answer, epsilon from releases where release_day = ? and query_key = ?", (day, key),
                ).fetchone()
                paid = connection.execute(
                    "select 1 from spends where viewer = ? and release_day = ? and query_key = ?", (viewer, day, key),
                ).fetchone()
                if stored is not None and paid is not None:
                    connection.execute("commit")
                    return Release(json.loads(stored[0]), 0.0, True, spent, self.daily_epsilon)
                cost = float(stored[1]) if stored is not None else float(epsilon)
                if spent + cost > self.daily_epsilon + EPSILON_TOLERANCE:
                    raise BudgetExhausted(_refusal(cost, spent, self.daily_epsilon))
                if stored is None:
                    answer = json.loads(json.dumps(compute()))
                    connection.execute("insert into releases values (?, ?, ?, ?, ?, ?)",
                                       (day, key, label, cost, json.dumps(answer), now))
                else:
                    answer = json.loads(stored[0])
                connection.execute("insert into spends values (?, ?, ?, ?, ?)", (viewer, day, key, cost, now))
                connection.execute("commit")
            except BaseException:
                connection.execute("rollback")
                raise
        return Release(answer, cost, stored is not None, spent + cost, self.daily_epsilon)

    def _connect(self) -> "_Closing":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are the explicit `begin immediate` above.
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        connection.executescript(_SCHEMA)
        return _Closing(connection)

    @staticmethod
    def _spent(connection: sqlite3.Connection, viewer: str, day: str) -> float:
        row = connection.execute("select coalesce(sum(epsilon), 0) from spends where viewer = ? and release_day = ?",
                                 (viewer, day)).fetchone()
        return float(row[0])


class _Closing:
    """A sqlite3 connection that closes when its `with` block ends (sqlite3's own only commits)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __enter__(self) -> sqlite3.Connection:
        return self._connection

    def __exit__(self, *exc_info: object) -> None:
        self._connection.close()


def _viewer(viewer: str) -> str:
    text = (viewer or "").strip().lower()
    if not text:
        raise ValueError("a release needs the viewer's identity")
    return text


def _refusal(cost: float, spent: float, daily: float) -> str:
    left = max(daily - spent, 0.0)
    return (f"This figure needs ε = {cost:g} of privacy budget and you have {left:.2g} of today's {daily:g} left, "
            "so it is not shown. Figures you already saw today stay available; the budget renews at midnight UTC, "
            "or ask an analyst for exact numbers.")
