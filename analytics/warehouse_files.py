"""The files beside a warehouse: the one writer lock, the partial files of a write, the kept versions.

Every write (build, CLI import, import from the Data page, restore) takes the
same lock, `.<name>.lock`, for its whole run: two writers would each replace
the file and one's work would silently vanish. A write builds a private partial
file (`.<name>.<id>.building|importing|restoring`) and swaps it in with
`swap_in`, which first checks that the warehouse is still the one the write
started from (its data version), then keeps the warehouse it replaces as a
version in `<name>.versions/` (a hard link: no copy, no extra time) and
prunes the oldest beyond `SHOPLENS_KEEP_VERSIONS` (default 3). `shoplens
restore` swaps a kept version back in the same way, so a restore can be undone
too. Partial files left by a killed write are removed by the next write, which
can tell they are stale because it holds the lock.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from analytics.errors import ShopLensError

KEEP_VERSIONS_ENV = "SHOPLENS_KEEP_VERSIONS"
DEFAULT_KEEP_VERSIONS = 3
PARTIAL_KINDS = ("building", "importing", "restoring")
_VERSION_ID = re.compile(r"^\d{8}T\d{6}\d{6}Z$")


def keep_versions() -> int:
    """How many replaced warehouses to keep: `$SHOPLENS_KEEP_VERSIONS`, else 3 (0 keeps none).

    Raises:
        ShopLensError: the variable is not a whole number >= 0.
    """
    text = os.environ.get(KEEP_VERSIONS_ENV, "").strip()
    if not text:
        return DEFAULT_KEEP_VERSIONS
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ShopLensError(f"{KEEP_VERSIONS_ENV}={text!r} is not a whole number >= 0; set it to 3, or 0 to keep none")
    return value


def lock_path(warehouse: Path) -> Path:
    """The writer lock of `warehouse`: `.<name>.lock` beside it (an empty file that stays)."""
    return warehouse.with_name(f".{warehouse.name}.lock")


def versions_folder(warehouse: Path) -> Path:
    """Where replaced warehouses are kept: `<name>.versions/` beside the warehouse."""
    return warehouse.with_name(f"{warehouse.name}.versions")


def partial_path(warehouse: Path, kind: str) -> Path:
    """A new private file beside `warehouse` for a write of `kind` (building, importing or restoring)."""
    if kind not in PARTIAL_KINDS:
        raise ValueError(f"kind must be one of {PARTIAL_KINDS}")
    return warehouse.with_name(f".{warehouse.name}.{uuid.uuid4().hex}.{kind}")


@contextmanager
def writer_lock(warehouse: Path, purpose: str, *, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the one writer lock of `warehouse` while the block runs.

    Args:
        warehouse: the warehouse file (its folder is created when missing).
        purpose: what the holder does ("build", "import", "restore"); shown to a writer that has to wait.
        wait_seconds: how long to wait for another writer to finish before giving up.

    Raises:
        ShopLensError: another build, import or restore holds the lock (after waiting `wait_seconds`).
    """
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as lock:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    lock.seek(0)
                    holder = lock.read().strip() or "another write"
                    raise ShopLensError(
                        f"{warehouse.name} is being changed by {holder}; wait for it to finish, then try again"
                    ) from None
                time.sleep(0.2)
        try:
            lock.truncate(0)
            lock.write(f"a {purpose} (process {os.getpid()})")
            lock.flush()
            yield
        finally:
            lock.truncate(0)
            lock.flush()
            fcntl.flock(lock, fcntl.LOCK_UN)


def clean_stale_partials(warehouse: Path) -> list[Path]:
    """Delete the partial files a killed build, import or restore left beside `warehouse`.

    Call it only while holding `writer_lock(warehouse)`: then no other write is running,
    so every partial file is stale.

    Returns:
        The files removed.
    """
    removed = []
    prefix = f".{warehouse.name}."
    for candidate in warehouse.parent.glob(f".{glob_escape(warehouse.name)}.*"):
        rest = candidate.name[len(prefix):]
        # The partial itself, its write-ahead log, and DuckDB's spill folder beside it.
        stem = rest.removesuffix(".wal").removesuffix(".tmp")
        if any(stem.endswith("." + kind) and len(stem) == 33 + len(kind) for kind in PARTIAL_KINDS):
            if candidate.is_dir():
                shutil.rmtree(candidate, ignore_errors=True)
            else:
                candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def glob_escape(name: str) -> str:
    """Escape glob characters in a file name."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def current_stamp(warehouse: Path) -> str | None:
    """What identifies the warehouse's content now: its data version, or None when there is no file.

    A file without a readable data version is identified by its size and modification time.
    """
    if not warehouse.exists():
        return None
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return str(con.execute("select data_version from meta_warehouse").fetchone()[0])
    except duckdb.Error:
        status = warehouse.stat()
        return f"unreadable:{status.st_size}:{status.st_mtime_ns}"


@dataclass(frozen=True)
class KeptVersion:
    """A replaced warehouse kept in `<name>.versions/`.

    Attributes:
        version_id: its name for `shoplens restore`, the UTC time it was replaced (`20250103T101500123456Z`).
        path: the kept file.
        kept_at: when it was replaced, UTC.
        is_readable: whether it opens as a ShopLens warehouse.
        data_version, built_at, source, is_sample: from its metadata, when readable.
        events, orders: rows in its source tables, when readable.
    """

    version_id: str
    path: Path
    kept_at: datetime
    is_readable: bool
    data_version: str | None = None
    built_at: datetime | None = None
    source: str | None = None
    is_sample: bool = False
    events: int | None = None
    orders: int | None = None

    def describe(self) -> str:
        """One line for people."""
        if not self.is_readable:
            return f"version {self.version_id}: replaced {self.kept_at:%Y-%m-%d %H:%M:%S} UTC; cannot be read"
        return (f"version {self.version_id}: replaced {self.kept_at:%Y-%m-%d %H:%M:%S} UTC; built "
                f"{self.built_at:%Y-%m-%d %H:%M} UTC from {self.source}; {self.events:,} events, {self.orders:,} orders")


def swap_in(partial: Path, warehouse: Path, *, expected_stamp: str | None) -> KeptVersion | None:
    """Replace `warehouse` by `partial` atomically, keeping the replaced file as a version.

    Call it while holding `writer_lock(warehouse)`.

    Args:
        partial: the finished new warehouse (checkpointed, closed).
        warehouse: the target.
        expected_stamp: `current_stamp(warehouse)` when the write started; None when there was no file.

    Returns:
        The version the replaced warehouse was kept as, or None (no file before, or keeping is off).

    Raises:
        ShopLensError: the warehouse changed since the write started (a writer that ignored the
            lock); nothing is replaced.
    """
    if current_stamp(warehouse) != expected_stamp:
        raise ShopLensError(
            f"{warehouse.name} changed while this ran (another build, import or restore finished first); "
            "nothing was replaced; run it again to apply it to the new data"
        )
    kept = None
    keep = keep_versions()
    if keep and warehouse.exists():
        kept = _keep(warehouse)
    os.replace(partial, warehouse)
    if keep or kept is not None:
        prune_versions(warehouse, keep)
    return describe_version(kept) if kept is not None else None


def _keep(warehouse: Path) -> Path:
    folder = versions_folder(warehouse)
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        kept = folder / f"{stamp}.duckdb"
        try:
            # A hard link costs nothing, and the old file is never written again: every write
            # builds a new file and renames it over the warehouse.
            os.link(warehouse, kept)
            return kept
        except FileExistsError:
            time.sleep(0.001)
        except OSError:
            partial = folder / f".{stamp}.copying"
            shutil.copyfile(warehouse, partial)
            os.replace(partial, kept)
            return kept


def prune_versions(warehouse: Path, keep: int) -> list[Path]:
    """Delete kept versions beyond the `keep` newest; returns the files deleted."""
    versions = sorted(_version_files(warehouse), reverse=True)
    removed = versions[keep:]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def _version_files(warehouse: Path) -> list[Path]:
    folder = versions_folder(warehouse)
    if not folder.is_dir():
        return []
    return [path for path in folder.glob("*.duckdb") if _VERSION_ID.match(path.stem)]


def list_versions(warehouse: Path) -> list[KeptVersion]:
    """The kept versions of `warehouse`, newest first, each with what it holds."""
    return [describe_version(path) for path in sorted(_version_files(warehouse), reverse=True)]


def describe_version(path: Path) -> KeptVersion:
    """Read what a kept version file holds (without raising for an unreadable one)."""
    kept_at = datetime.strptime(path.stem, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            data_version, built_at, source, is_sample = con.execute(
                "select data_version, built_at, source, is_sample from meta_warehouse").fetchone()
            events = con.execute("select count(*) from source_events").fetchone()[0]
            orders = con.execute("select count(*) from source_orders").fetchone()[0]
    except duckdb.Error:
        return KeptVersion(path.stem, path, kept_at, False)
    return KeptVersion(path.stem, path, kept_at, True, data_version, built_at, source, bool(is_sample), events, orders)


def find_version(warehouse: Path, version_id: str) -> KeptVersion:
    """The kept version called `version_id` ("latest" for the newest readable one).

    Raises:
        ShopLensError: there is no such version, or it cannot be read; the message lists the kept ones.
    """
    versions = list_versions(warehouse)
    if version_id == "latest":
        readable = [version for version in versions if version.is_readable]
        if readable:
            return readable[0]
        raise ShopLensError(f"no readable earlier version of {warehouse.name} is kept; rebuild it with `shoplens build`")
    for version in versions:
        if version.version_id == version_id:
            if not version.is_readable:
                raise ShopLensError(f"version {version_id} cannot be read; pick another from `shoplens restore --list`")
            return version
    kept = ", ".join(version.version_id for version in versions) or "none"
    raise ShopLensError(f"no version {version_id!r} of {warehouse.name} is kept (kept: {kept}); "
                        "see `shoplens restore --list`")
