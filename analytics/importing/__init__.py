"""Importing real exports: presets, mappings, readers, validation and the transactional load.

Public API:
    import_files(paths, preset, warehouse, ...) -> ImportReport
    PRESETS, get_preset(name), preset_from_mapping(mapping)
    Mapping, load_mapping(path), save_mapping(mapping, path)
    import_history(con), list_rejects(con, ...)
"""

from analytics.importing.history import import_history, list_rejects
from analytics.importing.load import FileResult, ImportReport, RuleResult, import_files
from analytics.importing.mapping import Mapping, load_mapping, save_mapping
from analytics.importing.presets import PRESETS, Preset, get_preset, preset_from_mapping

__all__ = [
    "PRESETS",
    "FileResult",
    "ImportReport",
    "Mapping",
    "Preset",
    "RuleResult",
    "get_preset",
    "import_files",
    "import_history",
    "list_rejects",
    "load_mapping",
    "preset_from_mapping",
    "save_mapping",
]
