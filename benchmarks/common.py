"""What every benchmark shares: timing, the machine's description, and its section of BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / ".data"
RESULTS = ROOT / "BENCHMARKS.md"


def median_seconds(work: Callable[[], object], runs: int, warmup: int = 0) -> float:
    """Median wall time of `work` over `runs` calls, after `warmup` untimed calls."""
    for _ in range(warmup):
        work()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def machine() -> str:
    """The cores and processor model, e.g. "2 cores (Intel(R) Xeon(R) Processor)"."""
    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        cpu = models[0] if models else cpu
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def write_section(name: str, body: str) -> str:
    """Replace the section between `<!-- name:begin -->` and `<!-- name:end -->` in BENCHMARKS.md.

    Args:
        name: the section's marker name, e.g. "foundation".
        body: the section's text, without the markers.

    Returns:
        The section as written, markers included. A missing section is appended.
    """
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    section = f"{begin}\n{body.strip()}\n{end}"
    existing = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if begin in existing and end in existing:
        head, rest = existing.split(begin, 1)
        updated = head + section + rest.split(end, 1)[1]
    else:
        updated = existing.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(updated, encoding="utf-8")
    return section
