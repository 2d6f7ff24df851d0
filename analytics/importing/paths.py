"""Paths typed in the browser: only files inside the one configured import folder.

A browser user must never name a file on the server (`/etc/passwd`,
`../../../etc/passwd`, `/proc/self/status`). The Data page therefore reads a
typed path only when `SHOPLENS_IMPORT_FOLDER` names a folder, and only a
regular file inside it, judged after resolving the real path, so neither `..`
nor a symbolic link leads out. With no folder configured (the default), typed
paths are refused and files must be uploaded. Messages never say whether a
file outside the folder exists, and never show its content.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from analytics.errors import ShopLensError

IMPORT_FOLDER_ENV = "SHOPLENS_IMPORT_FOLDER"


def import_folder() -> Path | None:
    """The configured import folder, resolved (symlinks followed), or None when not configured.

    Raises:
        ShopLensError: the variable names something that is not an existing folder.
    """
    configured = os.environ.get(IMPORT_FOLDER_ENV, "").strip()
    if not configured:
        return None
    folder = Path(configured).expanduser()
    if not folder.is_absolute():
        raise ShopLensError(f"{IMPORT_FOLDER_ENV} must be an absolute path; ask the administrator to fix it")
    try:
        resolved = folder.resolve(strict=True)
    except OSError:
        resolved = None
    if resolved is None or not resolved.is_dir():
        raise ShopLensError(f"the import folder ({IMPORT_FOLDER_ENV}) is not an existing folder; ask the "
                            "administrator to fix it, or upload the file")
    return resolved


def resolve_import_path(text: str) -> Path:
    """Turn a path typed in the browser into a file inside the import folder.

    Args:
        text: the typed path: relative to the import folder, or absolute inside it.

    Returns:
        The real path of a regular file inside the import folder.

    Raises:
        ShopLensError: no import folder is configured, the path leads outside it (after following
            `..` and symbolic links), or it is not a readable regular file there. The message
            never reveals whether a file outside the folder exists.
    """
    folder = import_folder()
    if folder is None:
        raise ShopLensError(
            "reading files from this machine's folders is turned off; upload the file instead (an administrator "
            f"can allow one folder by setting {IMPORT_FOLDER_ENV})"
        )
    typed = (text or "").strip()
    if not typed or "\x00" in typed:
        raise ShopLensError("type the name of a file in the import folder")
    candidate = Path(typed).expanduser()
    if not candidate.is_absolute():
        candidate = folder / candidate
    outside = ShopLensError(
        "that path is outside the import folder; only files in the import folder can be read (put the file "
        "there, or upload it)"
    )
    try:
        # strict=False: a missing file is reported the same way whether it is inside or outside.
        real = candidate.resolve(strict=False)
    except (OSError, RuntimeError):  # a symlink loop
        raise outside from None
    if real != folder and folder not in real.parents:
        raise outside
    try:
        status = real.stat()
    except OSError:
        raise ShopLensError(f"there is no file {real.relative_to(folder)} in the import folder; check the name") from None
    if not stat.S_ISREG(status.st_mode):
        raise ShopLensError(f"{real.relative_to(folder)} in the import folder is not a regular file; choose an export file")
    if not os.access(real, os.R_OK):
        raise ShopLensError(f"{real.relative_to(folder)} in the import folder cannot be read by ShopLens; check its "
                            "permissions")
    return real
