"""Uploaded files, streamed to a private folder on disk and removed when done.

Every upload gets its own folder (mode 0700) under the upload root
(`$SHOPLENS_UPLOAD_FOLDER`, else `<system temp>/shoplens-uploads-<uid>`), so
names cannot collide and one `discard_upload` removes everything that belongs
to it. The file is copied in 1 MiB chunks, never held twice in memory, and
refused past `$SHOPLENS_UPLOAD_MAX_BYTES` (default 1 GiB). Folders older than a
day (a closed browser tab never discards its upload) are removed by
`clean_stale_uploads`, which every new upload and job calls.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from analytics.errors import ShopLensError

UPLOAD_FOLDER_ENV = "SHOPLENS_UPLOAD_FOLDER"
UPLOAD_MAX_BYTES_ENV = "SHOPLENS_UPLOAD_MAX_BYTES"
DEFAULT_UPLOAD_MAX_BYTES = 1 << 30
STALE_SECONDS = 24 * 3600
CHUNK_BYTES = 1 << 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def upload_root() -> Path:
    """The folder that holds uploads and import jobs (created with mode 0700)."""
    configured = os.environ.get(UPLOAD_FOLDER_ENV, "").strip()
    root = Path(configured).expanduser() if configured else Path(tempfile.gettempdir()) / f"shoplens-uploads-{os.getuid()}"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root.resolve()


def upload_max_bytes() -> int:
    """The largest upload accepted: `$SHOPLENS_UPLOAD_MAX_BYTES`, else 1 GiB."""
    text = os.environ.get(UPLOAD_MAX_BYTES_ENV, "").strip()
    if not text:
        return DEFAULT_UPLOAD_MAX_BYTES
    try:
        value = int(float(text))
    except ValueError:
        value = 0
    if value <= 0:
        raise ShopLensError(f"{UPLOAD_MAX_BYTES_ENV}={text!r} is not a positive number of bytes")
    return value


def safe_file_name(name: str) -> str:
    """The upload's own name reduced to a plain file name: no folders, no hidden files, letters kept.

    The extension is kept (the format is read from it): "../../etc/x.csv.gz" -> "x.csv.gz".
    """
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = _UNSAFE.sub("_", base).lstrip(".-") or "upload"
    if len(cleaned) > 120:
        stem, dot, suffix = cleaned.partition(".")
        cleaned = stem[: 120 - len(suffix) - 1] + dot + suffix if dot and len(suffix) < 40 else cleaned[:120]
    return cleaned


def save_upload(stream: BinaryIO, file_name: str, *, max_bytes: int | None = None) -> Path:
    """Copy an uploaded file to its own private folder on disk, chunk by chunk.

    Args:
        stream: the upload (Streamlit's UploadedFile, or any binary file object), read from its start.
        file_name: the name the user's file had (only its last part is used, cleaned).
        max_bytes: the most accepted (default: `upload_max_bytes()`).

    Returns:
        The saved file's path; pass it to `discard_upload` when done.

    Raises:
        ShopLensError: the upload is larger than `max_bytes` (nothing is kept), or the disk is full.
    """
    limit = max_bytes if max_bytes is not None else upload_max_bytes()
    clean_stale_uploads()
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=upload_root()))
    path = folder / safe_file_name(file_name)
    written = 0
    try:
        if hasattr(stream, "seek"):
            stream.seek(0)
        with open(path, "wb") as sink:
            while chunk := stream.read(CHUNK_BYTES):
                written += len(chunk)
                if written > limit:
                    raise ShopLensError(f"{path.name} is larger than {limit / (1 << 20):,.0f} MiB, the most an upload "
                                        f"may be; split the export, or ask the administrator to raise "
                                        f"{UPLOAD_MAX_BYTES_ENV}")
                sink.write(chunk)
    except OSError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise ShopLensError("the upload could not be saved (the server's disk may be full); try again later") \
            from error
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return path


def discard_upload(path: Path) -> None:
    """Remove an upload saved by `save_upload`, with its folder (anything outside the upload root is left alone)."""
    root = upload_root()
    folder = Path(path).resolve().parent
    if folder.parent == root and folder.name.startswith("upload-"):
        shutil.rmtree(folder, ignore_errors=True)


def clean_stale_uploads(max_age_seconds: float = STALE_SECONDS) -> int:
    """Remove upload folders older than `max_age_seconds` (a closed tab never discards its upload); returns how many."""
    root = upload_root()
    cutoff = time.time() - max_age_seconds
    removed = 0
    for folder in root.glob("upload-*"):
        try:
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed
