"""The fault simulator: ``run()`` a preset on a kernel, ``emit`` its artefacts."""

from __future__ import annotations

from .engine import simulate, simulator
from .model import KERNELS, Result, Simulator
from .workloads import PRESETS, Workload, preset

__all__ = [
    "KERNELS", "PRESETS", "Result", "Simulator", "Workload", "preset", "run", "simulate",
    "simulator",
]  # fmt: skip


def run(
    name: str,
    kernel: str = "spf",
    *,
    seed: int = 1,
    scale: float = 1.0,
    keep_trace: bool = False,
    **overrides: object,
) -> tuple[Result, Workload]:
    """Simulate preset ``name``; ``scale`` stretches the simulated time."""
    w = preset(name, **overrides)
    if scale != 1.0:
        from dataclasses import replace

        w = replace(w, duration_us=w.duration_us * scale)
    return simulate(w, kernel, seed=seed, keep_trace=keep_trace), w
