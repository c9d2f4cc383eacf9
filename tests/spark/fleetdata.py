"""A synthetic fleet: many runs from many hosts in one dataset, built in one process.

Run ``i`` is a simulator run (``SIMULATED[i % 9]``) or, every ``sample_every``-th run,
one of the bundled samples (sample_traces/sim and the real per-VMA-lock capture in
spftrace/samples/capture).  Why not one ``spftrace ingest`` per run: a thousand of them
took 2,742 s (a simulator run, an interpreter and an ingest each).  So only the first run
of each *template* is simulated and ingested by ``spftrace ingest``'s own code (in this
process, the API): a template is a sample, or a simulated kind with one of
``seeds`` seeds; every later run of the same template is that ingest's output written
again under its own name through the dataset writer (store.RunWriter: staging, journal,
manifest, the runs file last, the commit protocol every ingest uses), input by input,
with the runs rows' ``host`` and ``ingested_at`` of its own.  That is exactly what
``spftrace ingest --force --run NAME`` of the template's inputs on that host writes
(the same rows in the same order; only Parquet's row-group boundaries may differ).
The host a run names is ``host<i % hosts>``; ``platform.node`` is replaced while a
template is ingested.  Shared by tests/spark and bench/fleet.py.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

from spftrace import api
from spftrace.ingest import ingest
from spftrace.schema import PARTITION
from spftrace.store import Dataset

ROOT = Path(__file__).resolve().parents[2]
SIM_SAMPLES = ROOT / "sample_traces" / "sim"
CAPTURE = ROOT / "spftrace" / "samples" / "capture"
_TABLES = ("counters", "events", "rejects", "stats", "runs")

#: (workload, kernel, scale): small, so that the templates take a minute
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


def copy_run(ds: Dataset, src: str, dst: str, host: str) -> None:
    """Write run ``src``'s rows again as run ``dst`` of ``host`` (one commit)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    writer = ds.writer(dst, 0)
    try:
        for table in _TABLES:
            files = sorted((ds.path / table / f"{PARTITION}={src}").glob("part-*.parquet"))
            for f in files:
                t = pq.ParquetFile(f).read()
                if table == "runs":
                    n = t.num_rows
                    t = t.set_column(t.schema.get_field_index("host"), "host", pa.array([host] * n))
                    i = t.schema.get_field_index("ingested_at")
                    now = pa.array([datetime.now(UTC)] * n, t.schema.field(i).type)
                    t = t.set_column(i, "ingested_at", now)
                inputs = t.column("input")
                for k in sorted(set(inputs.to_pylist())):
                    writer.write(table, t.filter(pc.equal(inputs, k)), int(k))
        writer.commit()
    except BaseException:
        writer.abort()
        raise


def build(
    data: Path, runs: int, *, hosts: int = 25, sample_every: int = 10, seeds: int = 6
) -> list[str]:
    """``runs`` runs in ``data`` (see the docstring); returns their names."""
    pool = list(samples())
    names = []
    first: dict[tuple[object, ...], str] = {}  # template -> the run that was ingested
    work = Path(tempfile.mkdtemp(prefix="spftrace-fleet-"))
    ds: Dataset | None = None
    try:
        for i in range(runs):
            host = f"host{i % hosts:03d}"
            if i % sample_every == sample_every - 1:
                j = (i // sample_every) % len(pool)
                base, label, inputs = pool[j]
                name, key = f"{host}-{base}-{i:04d}", ("sample", j)
            else:
                kind = i % len(SIMULATED)
                workload, kernel, scale = SIMULATED[kind]
                seed = (i // len(SIMULATED)) % seeds + 1
                name, key = f"{host}-{workload}-{kernel}-{i:04d}", ("sim", kind, seed)
            names.append(name)
            if key in first:
                ds = ds or Dataset(data)
                with ds.locked():
                    copy_run(ds, first[key], name, host)
                continue
            if key[0] == "sim":
                out = work / str(i)
                res = api.simulate(
                    workload, kernel=kernel, seed=seed * 1000 + kind, scale=scale, out=out,
                    formats=["perf-stat.txt", "perf-script.txt", "vmstat.txt"],
                )  # fmt: skip
                inputs = [Path(p) for p in res["files"] if Path(p).stat().st_size]
                label = kernel
            with mock.patch("platform.node", return_value=host):
                ingest(inputs, data=data, run=name, label=label, force=True)
            first[key] = name
            ds = None  # reopened: its commits changed
            shutil.rmtree(work / str(i), ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return names
