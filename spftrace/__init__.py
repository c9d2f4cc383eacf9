"""spftrace: why page faults fell back from the speculative path to the mmap lock.

Library use::

    import spftrace
    spftrace.ingest(["perf-stat.txt"], data="spftrace-data")
    print(spftrace.report("text", data="spftrace-data"))
    tables = spftrace.load("spftrace-data")      # pandas DataFrames

Heavy dependencies (pyarrow, duckdb, pandas, matplotlib) load on first use.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__
from .errors import SpftraceError

__all__ = ["SpftraceError", "__version__", "check", "ingest", "load", "query", "report"]


def __getattr__(name: str) -> Any:
    if name == "ingest":  # the package, callable as the ingest function
        import importlib

        return importlib.import_module(".ingest", __name__)
    if name in ("load", "report", "query", "check", "list_runs", "open_dataset"):
        from . import api

        return getattr(api, name)
    raise AttributeError(name)
