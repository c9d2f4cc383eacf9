"""Regenerate sample_traces/sim/: a small simulated run of every preset.

usage: python -m spftrace.sim.samples OUTDIR      (make samples)
The same command, run again, reproduces the committed bytes (a test checks it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import run
from .emit import will_it_scale_csv, will_it_scale_harness, write_all
from .workloads import PRESETS

#: small enough to commit: page_fault2/3 trace every (file-backed) fault
SCALES = {"app-launch": 0.002, "page_fault2": 0.001, "page_fault3": 0.001}

#: (preset, kernel, overrides): small runs, every preset on the kernel it is about
SAMPLES = [
    (name, kernel, {"scale": SCALES.get(name, 0.01)})
    for name in PRESETS
    for kernel in ("spf", "base")
] + [("ebizzy", "per-vma-lock", {"scale": 0.002})]

FILES = ("perf-stat.txt", "perf-script.txt", "ftrace.txt", "vmstat.txt")
WILL_IT_SCALE = ("page_fault1", "page_fault2", "page_fault3", "malloc1")


def generate(out: Path) -> list[Path]:
    written = []
    for name, kernel, opts in SAMPLES:
        scale = float(opts.get("scale", 1.0))
        result, w = run(name, kernel, seed=1, scale=scale, keep_trace=True)
        files = FILES if kernel != "base" else ("perf-stat.txt", "vmstat.txt")
        written += write_all(result, w, out / f"{name}-{kernel}", files)
        if name in WILL_IT_SCALE:  # full-length, counter-only runs: rates need whole rounds
            d = out / f"{name}-{kernel}"
            full, wf = run(name, kernel, seed=1)
            for fname, text in (
                ("will-it-scale.csv", will_it_scale_csv(wf, kernel, 1)),
                ("will-it-scale-harness.txt", will_it_scale_harness(full, wf)),
            ):
                (d / fname).write_text(text)
                written.append(d / fname)
    return written


if __name__ == "__main__":
    for path in generate(Path(sys.argv[1] if len(sys.argv) > 1 else "sample_traces/sim")):
        print(path)
