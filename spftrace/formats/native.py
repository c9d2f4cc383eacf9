"""The compiled walkers (spftrace/_native/src/perf_walk.c), when they are built.

Each function there has a pure-Python twin (perf_data/walk.py, trace_dat/ring.py)
that tests hold equal to it; without the extension the twins run.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def extension(name: str) -> Any:
    """spftrace._native.NAME (an extension of its own in setup.py), or None (not
    built, or SPFTRACE_NO_NATIVE)."""
    import importlib

    from .._native import disabled

    if disabled():
        return None
    try:
        return importlib.import_module(f"spftrace._native.{name}")
    except ImportError:
        return None


def perf_walk() -> Any:
    """spftrace._native._perf_walk, or None."""
    return extension("_perf_walk")
