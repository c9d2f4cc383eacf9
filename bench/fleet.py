"""A fleet on DuckDB and on Spark local: the same summaries and comparison, timed.

usage: python bench/fleet.py [--runs 1000]      (needs the [fleet] extra and Java 17)

A dataset of RUNS runs from 25 hosts is built once with tests/spark/fleetdata.py (a
fresh simulator run per run, every tenth a bundled sample) in bench/work/fleet-RUNS.
Then, each job in a fresh process and timed whole (interpreter, imports, Spark's JVM):
every run's summary and the comparison base vs spf (``--all``), on DuckDB (spftrace's own
path: ``summarize`` per run, ``analysis.compare.compare``) and on Spark ``local[2]``
(spftrace/fleet), ``--rounds`` rounds (default 1) alternating.  The two outputs must be
identical; the section "Fleets" of bench/RESULTS.md is replaced (or appended) with the
figures of this run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
PAIRS = (("base", "spf"),)
HEADING = "## Fleets: DuckDB vs Spark local"


def child(engine: str, data: str, out: str) -> None:
    t0 = time.perf_counter()
    from spftrace.fleet.cli import run_record

    if engine == "duckdb":
        from spftrace.analysis.compare import compare
        from spftrace.analysis.model import summarize
        from spftrace.store import Dataset

        ds = Dataset(data)
        con = ds.connect()
        summaries = [summarize(con, r, breakdowns=False) for r in ds.run_names()]
        con.close()
        comparisons = [compare(ds, b, h, show_all=True).as_dict() for b, h in PAIRS]
        started = t0
    else:
        from spftrace.fleet import Fleet, session

        spark = session("local[2]")
        started = time.perf_counter()
        fleet = Fleet(data, spark=spark)
        summaries = fleet.summaries()
        comparisons = [fleet.compare(b, h, show_all=True).as_dict() for b, h in PAIRS]
    doc = {"runs": [run_record(s) for s in summaries], "compare": comparisons}
    Path(out).write_text(json.dumps(doc, sort_keys=True))
    end = time.perf_counter()
    print(json.dumps({"startup_s": started - t0, "compute_s": end - started}))


def build(runs: int) -> tuple[Path, float | None]:
    data = WORK / f"fleet-{runs}"
    done = data / ".bench-complete"
    if done.is_file():  # built by an earlier run: its build time
        return data, float(done.read_text())
    import shutil

    shutil.rmtree(data, ignore_errors=True)
    sys.path.insert(0, str(ROOT / "tests" / "spark"))
    import fleetdata

    t0 = time.perf_counter()
    fleetdata.build(data, runs, hosts=25)
    took = time.perf_counter() - t0
    done.write_text(f"{took:.1f}\n")
    return data, took


def timed(engine: str, data: Path, out: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, __file__, "--child", engine, str(data), str(out)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    inner = json.loads(res.stdout.strip().splitlines()[-1])
    return {"wall_s": wall, **inner}


def versions() -> str:
    import duckdb
    import pyarrow
    import pyspark

    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    jv = java.splitlines()[0] if java else "java: not found"
    return (
        f"Python {platform.python_version()}, duckdb {duckdb.__version__}, pyarrow "
        f"{pyarrow.__version__}, pyspark {pyspark.__version__}; {jv}"
    )


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // (1024 * 1024)
    except OSError:
        mem = 0
    return f"{cpu}, {os.cpu_count()} CPUs, {mem} GiB; kernel {platform.release()}"


def section(runs: int, data: Path, build_s: float | None, rounds: list[dict[str, Any]]) -> str:
    size = sum(f.stat().st_size for f in data.rglob("*.parquet")) / 1e6
    files = sum(1 for _ in data.rglob("*.parquet"))
    best = {e: min(r[e]["wall_s"] for r in rounds) for e in ("duckdb", "spark")}
    load = os.getloadavg()
    lines = [
        HEADING,
        "",
        f"Measured with `python bench/fleet.py --runs {runs}` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}; {versions()}. "
        f"Load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        "(other jobs shared the CPUs: the ratio is the figure, not the seconds).",
        "",
        f"Dataset: {runs} runs from 25 hosts, labels spf / base / per-vma-lock, written by "
        f"{runs} ingests (tests/spark/fleetdata.py"
        + (f", built in {build_s:.0f} s" if build_s is not None else "")
        + f"): {files:,} Parquet files, {size:.1f} MB. Job: every run's summary and the "
        "comparison base vs spf with `--all`, in a fresh process "
        "timed whole; Spark `local[2]`, driver memory 1 GB. The two engines' outputs are "
        "identical (checked in this run).",
        "",
        "| round | DuckDB s | Spark local s | of which Spark start-up s | Spark / DuckDB |",
        "|---:|---:|---:|---:|---:|",
    ]
    for i, r in enumerate(rounds, 1):
        d, s = r["duckdb"]["wall_s"], r["spark"]["wall_s"]
        lines.append(f"| {i} | {d:.2f} | {s:.2f} | {r['spark']['startup_s']:.2f} | {s / d:.2f}x |")
    lines += [
        "",
        f"Best of {len(rounds)}: DuckDB {best['duckdb']:.2f} s, Spark local "
        f"{best['spark']:.2f} s ({best['spark'] / best['duckdb']:.2f}x). On one machine "
        "DuckDB is the tool; Spark is for fleets that live on object storage or exceed one "
        "machine, where the same computation runs on a cluster (`--master`).",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    path = HERE / "RESULTS.md"
    old = path.read_text() if path.exists() else "# spftrace benchmark results\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _m: text, old)
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new.rstrip("\n") + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--child", nargs=3, metavar=("ENGINE", "DATA", "OUT"))
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    data, build_s = build(args.runs)
    print(f"dataset {data} ({args.runs} runs)" + (f", built in {build_s:.0f} s" if build_s else ""))
    rounds = []
    for i in range(args.rounds):
        r = {}
        for engine in ("duckdb", "spark"):
            r[engine] = timed(engine, data, WORK / f"fleet-{engine}.json")
            print(f"round {i + 1} {engine}: {r[engine]}", flush=True)
        a = (WORK / "fleet-duckdb.json").read_text()
        b = (WORK / "fleet-spark.json").read_text()
        if a != b:
            raise SystemExit("DuckDB and Spark disagree: see bench/work/fleet-*.json")
        rounds.append(r)
    text = section(args.runs, data, build_s, rounds)
    write_section(text)
    print(text)


if __name__ == "__main__":
    main()
