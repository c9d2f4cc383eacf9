"""The compiled walkers (spftrace/_native/src/perf_walk.c), when they are built.

Each function there has a pure-Python twin (perf_data/walk.py, trace_dat/ring.py)
that tests hold equal to it; without the extension the twins run.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def perf_walk() -> Any:
    """spftrace._native._perf_walk, or None (not built, or SPFTRACE_NO_NATIVE)."""
    import importlib

    from .._native import disabled

    if disabled():
        return None
    try:
        return importlib.import_module("spftrace._native._perf_walk")
    except ImportError:
        return None
