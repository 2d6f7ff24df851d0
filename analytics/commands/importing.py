"""`shoplens import`, `shoplens imports` and `shoplens rejects`: load real exports and inspect what happened."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics.commands.arguments import (
    format_parent,
    positive_int,
    warehouse_parent,
    warehouse_path,
)
from analytics.output import render_frame


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `import`, `imports` and `rejects` commands."""
    from analytics.importing.presets import PRESETS, TABLE_PRESETS

    presets = "; ".join(f"{name}: {preset.description}" for name, preset in PRESETS.items())
    command = commands.add_parser(
        "import", parents=[warehouse_parent()], help="import real exports (CSV/TSV/Parquet/JSON lines, gzip ok)",
        description="Validate export files and append them to the warehouse in one transaction: a bad file "
                    "changes nothing, re-importing a file adds nothing, and the replaced warehouse is kept "
                    "(`shoplens restore`). A folder imports the files in it that fit the preset. Presets: " + presets,
    )
    command.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="export files, or a folder of them")
    chosen = command.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--preset", choices=sorted(PRESETS), help="the export's format")
    chosen.add_argument("--mapping", type=Path, metavar="FILE.toml", help="a saved generic mapping (see docs/importing.md)")
    chosen.add_argument("--table", choices=sorted(TABLE_PRESETS),
                        help="a file of one canonical table on its own, e.g. a product catalogue "
                             "(product_id, title, category_path or category, brand, list_price or price)")
    command.add_argument("--timezone", default=None, metavar="ZONE",
                         help="read times without an offset as local times in this zone, e.g. Europe/London or "
                              "America/New_York, and store them as UTC (default: they are UTC already)")
    command.add_argument("--strict", action="store_true", help="fail, changing nothing, if any row is rejected")
    command.add_argument("--dry-run", action="store_true", help="validate and report only; change nothing")
    command.add_argument("--pseudonymize", action="store_true",
                         help="replace user ids by a keyed HMAC before anything is stored or printed; the key stays "
                              "in <warehouse>.pseudonym-key (or $SHOPLENS_PSEUDONYM_KEY_FILE), outside the warehouse")
    command.add_argument("--save-mapping", type=Path, metavar="FILE.toml",
                         help="also save the preset's (first) mapping as TOML, to edit and reuse with --mapping")
    command.set_defaults(handler=run_import)

    history = commands.add_parser("imports", parents=[warehouse_parent(), format_parent()],
                                  help="list the files imported into the warehouse, newest first")
    history.set_defaults(handler=run_imports)

    rejects = commands.add_parser("rejects", parents=[warehouse_parent(), format_parent()],
                                  help="list rows that imports rejected, with reason and file/line")
    rejects.add_argument("--import-id", default=None, help="only this import (see `shoplens imports`)")
    rejects.add_argument("--reason", default=None, help="only this reason, e.g. 'unparseable timestamp'")
    rejects.add_argument("--limit", type=positive_int, default=100, help="at most this many rows (default: 100)")
    rejects.set_defaults(handler=run_rejects)


def run_import(arguments: argparse.Namespace) -> int:
    from analytics.errors import ShopLensError
    from analytics.importing import (
        StrictImportError,
        get_preset,
        import_files,
        load_mapping,
        preset_from_mapping,
        save_mapping,
    )
    from analytics.importing.presets import TABLE_PRESETS
    from analytics.importing.readers import files_fitting

    if arguments.mapping is not None:
        preset = preset_from_mapping(load_mapping(arguments.mapping))
    elif arguments.table is not None:
        preset = get_preset(TABLE_PRESETS[arguments.table])
    else:
        preset = get_preset(arguments.preset)
    if arguments.save_mapping is not None:
        saved = save_mapping(preset.variants[0], arguments.save_mapping)
        print(f"saved mapping {preset.variants[0].name!r} to {saved}", file=sys.stderr)
    paths = []
    for path in arguments.paths:
        if path.is_dir():
            fitting, others = files_fitting(path, preset.variants)
            if not fitting:
                raise ShopLensError(f"no file in {path} fits the {preset.name} preset; pass the export files themselves")
            if others:
                print(f"{path}: importing {', '.join(p.name for p in fitting)}; not in the preset's layouts: "
                      f"{', '.join(p.name for p in others)}", file=sys.stderr)
            paths.extend(fitting)
        else:
            paths.append(path)
    try:
        report = import_files(
            paths, preset, warehouse_path(arguments), strict=arguments.strict,
            pseudonymize=arguments.pseudonymize, dry_run=arguments.dry_run, time_zone=arguments.timezone,
        )
    except StrictImportError as refused:
        # The findings are the report, printed as such; the error itself stays one line.
        print(refused.report.summary(), file=sys.stderr)
        raise
    print(report.summary(), file=sys.stderr)
    if not report.committed:
        print("dry run: nothing was changed", file=sys.stderr)
        return 0
    print(f"imported {report.rows_loaded:,} row(s) into {report.warehouse} (import {report.import_id}); "
          f"{report.rows_rejected:,} rejected (see `shoplens rejects --import-id {report.import_id}`)", file=sys.stderr)
    from analytics.models.scheduling import schedule_after_change

    print(schedule_after_change(report.warehouse), file=sys.stderr)
    unsupported = [c.analysis for c in report.capabilities if not c.is_supported]
    if unsupported:
        print(f"note: this data does not support: {', '.join(unsupported)} (see `shoplens info`)", file=sys.stderr)
    return 0


def _open(arguments: argparse.Namespace):
    from analytics.warehouse import connect

    return connect(warehouse_path(arguments))


def run_imports(arguments: argparse.Namespace) -> int:
    from analytics.importing import import_history

    with _open(arguments) as con:
        frame = import_history(con)
    sys.stdout.write(render_frame(frame, arguments.format, title="Imports, newest first"))
    return 0


def run_rejects(arguments: argparse.Namespace) -> int:
    from analytics.importing import list_rejects

    with _open(arguments) as con:
        frame = list_rejects(con, import_id=arguments.import_id, reason=arguments.reason, limit=arguments.limit)
    if arguments.format == "table" and frame.empty and arguments.import_id is None and arguments.reason is None:
        print("no rejected rows", file=sys.stderr)
        return 0
    sys.stdout.write(render_frame(frame, arguments.format, title="Rejected rows"))
    return 0
