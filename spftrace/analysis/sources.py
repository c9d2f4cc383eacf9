"""One source's view of a run (perf stat, vmstat or the trace), and the small data
helpers (findings, shares) the model, the trace analysis and reconciliation share.

Its own module so that the fallback model (model.py) and the trace analysis
(trace.py), which both build these, import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..vocabulary import share as share_text  # re-exported: one rule for shares in prose

__all__ = ["share_text"]


@dataclass
class SourceTotals:
    """One source's view of the run: what it counted, and how."""

    origin: str  # perf-stat | vmstat | trace
    faults: float | None = None
    speculative: float | None = None
    fallbacks: dict[str, float] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)  # event -> non-counted status
    snapshots: int = 0
    since_boot: bool = False
    duration_s: float | None = None
    notes: list[str] = field(default_factory=list)
    kernel_model: str = "unknown"
    #: analysis results computed on the way (the trace's per-VMA-lock classification)
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Finding:
    reason: str
    count: int
    share_pct: float
    meaning: str
    likely_cause: str
    advice: str


def pct(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return round(100.0 * part / whole, 2)
