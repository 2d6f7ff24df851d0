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
from analytics.importing.limits import ImportLimits
from analytics.importing.load import StrictImportError, import_files
from analytics.importing.mapping import Mapping, load_mapping, save_mapping
from analytics.importing.presets import PRESETS, TABLE_PRESETS, Preset, get_preset, preset_from_mapping
from analytics.importing.report import FileResult, ImportReport, RuleResult

__all__ = [
    "PRESETS",
    "TABLE_PRESETS",
    "FileResult",
    "ImportLimits",
    "ImportReport",
    "Mapping",
    "Preset",
    "RuleResult",
    "StrictImportError",
    "get_preset",
    "import_files",
    "import_history",
    "list_rejects",
    "load_mapping",
    "preset_from_mapping",
    "save_mapping",
]
