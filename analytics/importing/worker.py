"""The worker process behind `analytics.importing.jobs`: one validation or import, then exit.

Run as `python -m analytics.importing.worker JOB_FOLDER`. It limits its own
address space first (so a hostile file cannot take the machine's memory),
reads `spec.json`, runs `import_files`, and writes `status.json` (state and
step, replaced atomically as it goes) and, at the end, `result.pickle` (the
ImportReport). A termination signal ends it at once; the import's own design
guarantees that a stopped import changes nothing.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import signal
import sys
import uuid
from pathlib import Path


def _write_status(folder: Path, **document) -> None:
    partial = folder / f".status.{uuid.uuid4().hex}"
    partial.write_text(json.dumps({"pid": os.getpid(), **document}), encoding="utf-8")
    os.replace(partial, folder / "status.json")


def _write_result(folder: Path, report) -> None:
    partial = folder / f".result.{uuid.uuid4().hex}"
    with open(partial, "wb") as handle:
        pickle.dump(report, handle)
    os.replace(partial, folder / "result.pickle")


def _preset(spec: dict):
    from analytics.importing.mapping import mapping_from_dict
    from analytics.importing.presets import PRESETS, Preset

    preset = spec["preset"]
    if "mappings" not in preset:
        return PRESETS[preset["name"]]
    import tomllib

    variants = tuple(mapping_from_dict(tomllib.loads(text), origin="the job's mapping") for text in preset["mappings"])
    return Preset(preset["name"], preset.get("description", ""), variants)


def main(folder_text: str) -> int:
    """Run the job in `folder_text`; returns the process exit code (0 even when the import was refused)."""
    folder = Path(folder_text)
    spec = json.loads((folder / "spec.json").read_text(encoding="utf-8"))
    memory = int(spec["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # SIGTERM (cancel) stops at once; the status says "cancelled" already.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(143))
    _write_status(folder, state="running", step="starting")
    out_of_memory = (f"the file needs more than the {memory / (1 << 30):.1f} GiB of memory a validation may use; "
                     "nothing was changed; split the export, or ask the administrator to raise "
                     "SHOPLENS_IMPORT_WORKER_MEMORY")
    try:
        from analytics.errors import ShopLensError
        from analytics.importing.limits import ImportLimits
        from analytics.importing.load import StrictImportError, import_files
    except MemoryError:
        _write_status(folder, state="failed", step="stopped", message=out_of_memory)
        return 0

    def progress(step: str) -> None:
        _write_status(folder, state="running", step=step)

    try:
        report = import_files(
            [Path(path) for path in spec["paths"]], _preset(spec), Path(spec["warehouse"]),
            strict=spec["strict"], pseudonymize=spec["pseudonymize"], dry_run=spec["kind"] == "validate",
            progress=progress, time_zone=spec["time_zone"], limits=ImportLimits(**spec["limits"]),
            user=spec["user"], origin=spec.get("origin"),
        )
    except StrictImportError as refused:
        _write_result(folder, refused.report)
        _write_status(folder, state="failed", step="validate", message=str(refused))
        return 0
    except ShopLensError as error:
        _write_status(folder, state="failed", step="stopped", message=str(error).splitlines()[0])
        return 0
    except MemoryError:
        _write_status(folder, state="failed", step="stopped", message=out_of_memory)
        return 0
    except Exception as error:  # noqa: BLE001 - the page gets one line; the log keeps the rest
        import traceback

        traceback.print_exc()
        _write_status(folder, state="failed", step="stopped",
                      message=f"the import failed ({type(error).__name__}); nothing was changed")
        return 1
    _write_result(folder, report)
    if report.committed:
        # The pages' models are trained for the new data in their own worker, which outlives this one.
        from analytics.models.scheduling import schedule_training

        schedule_training(Path(spec["warehouse"]))
    _write_status(folder, state="done", step="done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
