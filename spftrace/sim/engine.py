"""Which engine simulates a kernel: the write-granular model, or for the base kernel
with ``rwsem_queue`` the rwsem wait list (sim/rwsem.py)."""

from __future__ import annotations

from .model import Simulator
from .result import Result
from .rwsem import WaitListBase
from .workloads import Workload

__all__ = ["simulate", "simulator"]


def simulator(
    workload: Workload, kernel: str, *, seed: int = 1, keep_trace: bool = False
) -> Simulator | WaitListBase:
    """The engine for ``kernel``: base with ``rwsem_queue`` runs on the rwsem wait list."""
    if kernel == "base" and workload.rwsem_queue:
        return WaitListBase(workload, seed=seed, keep_trace=keep_trace)
    return Simulator(workload, kernel, seed=seed, keep_trace=keep_trace)


def simulate(workload: Workload, kernel: str, *, seed: int = 1, keep_trace: bool = False) -> Result:
    return simulator(workload, kernel, seed=seed, keep_trace=keep_trace).run()
