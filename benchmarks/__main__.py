"""`make bench`: run every benchmark; each rewrites its own section of BENCHMARKS.md."""

from __future__ import annotations

import sys

from benchmarks import (
    customers, explanations, features, forecasts, foundation, funnels, importing, privacy, recommendations,
)

# Each module's main() parses its own options from the command line; `make bench` passes none.
BENCHMARKS = (foundation, funnels, importing, customers, features, explanations, forecasts, recommendations, privacy)

if __name__ == "__main__":
    sys.argv = sys.argv[:1]
    for benchmark in BENCHMARKS:
        benchmark.main()
