"""Importing real exports: presets, mappings, readers, validation and the all-or-nothing import.

Public API:
    import_files(paths, preset, warehouse, ...) -> ImportReport
    PRESETS, TABLE_PRESETS, get_preset(name), preset_from_mapping(mapping)
    Mapping, load_mapping(path), save_mapping(mapping, path)
    import_history(con), list_rejects(con, ...)
    resolve_import_path(text) -> Path                 (paths typed in the browser)
    save_upload(stream, file_name) -> Path, discard_upload(path)   (uploads streamed to disk)
    start_validation(...) / start_import(...) -> ImportJob, poll(job), cancel(job), cleanup(job)
    ImportLimits (decompressed bytes, rows, compression ratio)
"""

from analytics.importing.history import import_history, list_rejects
from analytics.importing.jobs import ImportJob, JobStatus, cancel, cleanup, poll, start_import, start_validation
from analytics.importing.limits import ImportLimits
from analytics.importing.load import StrictImportError, import_files
from analytics.importing.mapping import Mapping, load_mapping, save_mapping
from analytics.importing.paths import resolve_import_path
from analytics.importing.presets import PRESETS, TABLE_PRESETS, Preset, get_preset, preset_from_mapping
from analytics.importing.report import FileResult, ImportReport, RuleResult
from analytics.importing.uploads import discard_upload, save_upload

__all__ = [
    "PRESETS",
    "TABLE_PRESETS",
    "FileResult",
    "ImportJob",
    "ImportLimits",
    "ImportReport",
    "JobStatus",
    "Mapping",
    "Preset",
    "RuleResult",
    "StrictImportError",
    "cancel",
    "cleanup",
    "discard_upload",
    "get_preset",
    "import_files",
    "import_history",
    "list_rejects",
    "load_mapping",
    "poll",
    "preset_from_mapping",
    "resolve_import_path",
    "save_mapping",
    "save_upload",
    "start_import",
    "start_validation",
]
