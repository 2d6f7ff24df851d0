"""Compiles the funnel kernels with Numba when it is installed (it comes with shap).

Without Numba the kernels run as plain Python: the same results, much slower.

Compiled code is cached on disk and re-compiled when its own source file changes. The cache does
not follow calls into other modules, so a compiled function here must not call compiled functions
from another file (module constants such as NONE are fine: they never change). That is why all
the kernels live in `kernels.py`, beside the helper they share.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

NONE = np.iinfo(np.int64).min  # "not reached" in int64 state arrays

try:
    from numba import njit as _njit
except ImportError:  # pragma: no cover - numba ships with shap, a dependency
    _njit = None


def jit(function: Callable[..., Any]) -> Callable[..., Any]:
    """Compile `function` in nopython mode (cached on disk), or return it unchanged without Numba."""
    if _njit is None:  # pragma: no cover
        return function
    return _njit(cache=True, nogil=True)(function)


def jit_inline(function: Callable[..., Any]) -> Callable[..., Any]:
    """Like `jit`, but inlined into its callers at compile time, for small helpers on the hot path."""
    if _njit is None:  # pragma: no cover
        return function
    return _njit(cache=True, nogil=True, inline="always")(function)
