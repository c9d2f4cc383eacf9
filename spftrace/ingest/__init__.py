"""Ingest: inputs -> sniff -> parse -> the dataset, one atomic commit per run.

``inputs`` opens files and stdin (compression, hashing), ``runs`` groups inputs
into runs, names them and refuses what must not happen, ``lock`` is the writer
lock, ``pipeline`` moves one input through read-ahead, parsing and writing.

Why this package is callable: ``spftrace.ingest(...)`` is the library's ingest
function, and importing this package makes ``spftrace.ingest`` the package (the
import system sets the attribute), so the package calls ``runs.ingest``.
"""

from __future__ import annotations

import sys
import types

from .pipeline import ERROR_MODES, IngestSummary
from .runs import ingest

__all__ = ["ERROR_MODES", "IngestSummary", "ingest"]


class _CallablePackage(types.ModuleType):
    __call__ = staticmethod(ingest)


sys.modules[__name__].__class__ = _CallablePackage
