"""A synthetic fleet: many runs from many hosts, ingested one by one into one dataset.

Run ``i`` is a fresh simulator run (its own seed, so no two runs are alike) or, every
``sample_every``-th run, one of the bundled samples (sample_traces/sim and the real
per-VMA-lock capture in spftrace/samples/capture), each ingested by ``spftrace ingest``'s
own code.  The host a run names is the machine's, as ingest records it; to make a fleet
of hosts on one machine, ``platform.node`` is replaced while each run is ingested.
Shared by tests/spark and bench/fleet.py.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

from spftrace import api
from spftrace.ingest import ingest

ROOT = Path(__file__).resolve().parents[2]
SIM_SAMPLES = ROOT / "sample_traces" / "sim"
CAPTURE = ROOT / "spftrace" / "samples" / "capture"

#: (workload, kernel, scale): small, so that a thousand runs take minutes
SIMULATED = (
    ("ebizzy", "spf", 0.02),
    ("ebizzy", "base", 0.02),
    ("page_fault1", "spf", 0.02),
    ("page_fault1", "base", 0.02),
    ("malloc1", "spf", 0.02),
    ("malloc1", "base", 0.02),
    ("app-launch", "spf", 0.02),
    ("kernbench", "spf", 0.02),
    ("ebizzy", "per-vma-lock", 0.002),
)


def samples() -> Iterator[tuple[str, str, list[Path]]]:
    """(name, label, inputs) of every bundled sample run."""
    for d in sorted(p for p in SIM_SAMPLES.iterdir() if p.is_dir()):
        inputs = [d / "perf-stat.txt", d / "vmstat.txt"]
        # perf-script.txt and ftrace.txt hold the same records: one of them
        if (d / "perf-script.txt").is_file() and (d / "perf-script.txt").stat().st_size:
            inputs.append(d / "perf-script.txt")
        if (d / "will-it-scale.csv").is_file():
            inputs.append(d / "will-it-scale.csv")
        kernel = next(k for k in ("per-vma-lock", "spf", "base") if d.name.endswith(k))
        yield d.name, kernel, inputs
    yield (
        "mtfault-capture",
        "per-vma-lock",
        [CAPTURE / "mtfault-perf-stat.txt", *sorted(CAPTURE.glob("vmstat-*.txt"))],
    )
    yield "mtfault-capture-trace", "per-vma-lock", [CAPTURE / "mtfault-perf-script.txt"]


def build(data: Path, runs: int, *, hosts: int = 25, sample_every: int = 10) -> list[str]:
    """Ingest ``runs`` runs into ``data``; returns their names."""
    pool = list(samples())
    names = []
    work = Path(tempfile.mkdtemp(prefix="spftrace-fleet-"))
    try:
        for i in range(runs):
            host = f"host{i % hosts:03d}"
            if i % sample_every == sample_every - 1:
                base, label, inputs = pool[(i // sample_every) % len(pool)]
                name = f"{host}-{base}-{i:04d}"
            else:
                workload, kernel, scale = SIMULATED[i % len(SIMULATED)]
                out = work / str(i)
                res = api.simulate(
                    workload, kernel=kernel, seed=i + 1, scale=scale, out=out,
                    formats=["perf-stat.txt", "perf-script.txt", "vmstat.txt"],
                )  # fmt: skip
                inputs = [Path(p) for p in res["files"] if Path(p).stat().st_size]
                name, label = f"{host}-{workload}-{kernel}-{i:04d}", kernel
            with mock.patch("platform.node", return_value=host):
                ingest(inputs, data=data, run=name, label=label, force=True)
            names.append(name)
            if i % sample_every != sample_every - 1:
                shutil.rmtree(work / str(i), ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return names
