"""A fleet on DuckDB and on Spark local: the same summaries and comparison, timed.

usage: python bench/fleet.py [--runs 1000] [--rounds 1]    (make bench-fleet; needs the
[fleet] extra and Java 17)

A dataset of RUNS runs from 25 hosts is built once by tests/spark/fleetdata.py in
bench/work/fleet-RUNS: every distinct run (a simulated kind with one of 6 seeds, or a
bundled sample; 73 of them) simulated and ingested by ``spftrace ingest``'s code in this
process, every other run that run's rows written again under its own name and host
through the dataset writer (store.RunWriter's commit: staging, journal, manifest, the
runs file last), which is what ``spftrace ingest --force`` of the same inputs writes.
Then, each engine in a fresh process (interpreter, imports, Spark's JVM in the wall
time): the fleet's aggregates and every run's summary, then the comparison base vs spf
(``--all``) over the same aggregates; on DuckDB (spftrace/fleet/local.py: one grouped
scan per table) and on Spark ``local[2]`` (spftrace/fleet/engine.py).  The two outputs
must be identical.  Then ``spftrace runs`` and ``spftrace report json`` on the same
dataset (wall, CPU, peak RSS).  Writes bench/FLEET.md, which bench/RESULTS.md links.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
PAIRS = (("base", "spf"),)
HEADING = "# Fleets: DuckDB vs Spark local"
OUT = HERE / "FLEET.md"
#: bump when tests/spark/fleetdata.py writes other runs: a stored dataset is rebuilt
BUILDER = "templates-1"


def child(engine: str, data: str, out: str) -> None:
    t0 = time.perf_counter()
    c0 = time.process_time()
    from spftrace.fleet.aggregates import compare_of, summaries_of
    from spftrace.fleet.cli import run_record

    if engine == "duckdb":
        from spftrace.fleet import local
        from spftrace.store import Dataset

        started = time.perf_counter()
        agg = local.dataset_aggregates(Dataset(data))
    else:
        from spftrace.fleet import Fleet, session

        spark = session("local[2]")
        started = time.perf_counter()
        agg = Fleet(data, spark=spark).agg
    summaries = summaries_of(agg)
    summarized = time.perf_counter()
    comparisons = [compare_of(agg, b, h, show_all=True).as_dict() for b, h in PAIRS]
    end = time.perf_counter()
    doc = {"runs": [run_record(s) for s in summaries], "compare": comparisons}
    Path(out).write_text(json.dumps(doc, sort_keys=True))
    times = {
        "startup_s": started - t0,
        "summary_s": summarized - started,
        "compare_s": end - summarized,
        "cpu_s": time.process_time() - c0,  # this process's; Spark's JVM is another
    }
    print(json.dumps(times))


def build(runs: int) -> tuple[Path, dict[str, float]]:
    """The dataset, and its build's wall and CPU seconds (recorded by the build)."""
    data = WORK / f"fleet-{runs}"
    done = data / ".bench-complete"
    if done.is_file():  # built by an earlier run
        with contextlib.suppress(ValueError, KeyError):
            info = json.loads(done.read_text())
            if info.get("builder") == BUILDER:
                return data, info
    import shutil

    shutil.rmtree(data, ignore_errors=True)
    sys.path.insert(0, str(ROOT / "tests" / "spark"))
    import fleetdata

    t0, c0 = time.perf_counter(), time.process_time()
    fleetdata.build(data, runs, hosts=25)
    info = {"builder": BUILDER, "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0}  # fmt: skip
    done.write_text(json.dumps(info) + "\n")
    return data, info


def timed(cmd: list[str]) -> tuple[float, float, float, str]:
    """Wall s, CPU s of the process and the children it waited for (not Spark's JVM),
    its peak RSS MB (os.wait4: this process's own figures), and stdout of ``cmd``."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, text=True)
        _pid, status, use = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        if proc.returncode:
            raise SystemExit(f"{cmd} failed (exit {proc.returncode})")
        out.seek(0)
        stdout = out.read()
    return wall, use.ru_utime + use.ru_stime, use.ru_maxrss / 1024, stdout


def engine_job(engine: str, data: Path, out: Path) -> dict[str, Any]:
    wall, cpu, _rss, stdout = timed(
        [sys.executable, __file__, "--child", engine, str(data), str(out)]
    )
    inner = json.loads(stdout.strip().splitlines()[-1])
    return {"wall_s": wall, "tree_cpu_s": cpu, **inner}


def cli_checks(data: Path) -> list[tuple[str, float, float, float, int]]:
    """``spftrace runs``, ``report json`` and ``compare`` (run by run, where fleet/local.py
    scans each table once) on the fleet: (command, wall, CPU, RSS, lines)."""
    spftrace = str(Path(sys.executable).with_name("spftrace"))
    out = []
    cmp = ["compare", "--base", "base", "--head", "spf", "--all"]
    for args in (["runs"], ["report", "json"], cmp):
        wall, cpu, rss, stdout = timed([spftrace, *args, "--data", str(data)])
        out.append((f"spftrace {' '.join(args)}", wall, cpu, rss, stdout.count("\n")))
    return out


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


def document(
    runs: int,
    data: Path,
    build: dict[str, float],
    rounds: list[dict[str, Any]],
    checks: list[tuple[str, float, float, float, int]],
) -> str:
    size = sum(f.stat().st_size for f in data.rglob("*.parquet")) / 1e6
    files = sum(1 for _ in data.rglob("*.parquet"))
    best = {e: min(r[e]["wall_s"] for r in rounds) for e in ("duckdb", "spark")}
    load = os.getloadavg()
    lines = [
        HEADING,
        "",
        f"Written by `make bench-fleet` (`python bench/fleet.py --runs {runs}`) on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}; {versions()}. "
        f"Load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        "(other jobs shared the CPUs: CPU seconds and the ratio are the figures, not the "
        "wall seconds).",
        "",
        f"Dataset: {runs} runs from 25 hosts, labels spf / base / per-vma-lock "
        f"(tests/spark/fleetdata.py: the distinct runs simulated and ingested, the others "
        f"written again under their own names through the dataset writer), built in "
        f"{build['wall_s']:.0f} s wall, {build['cpu_s']:.0f} s CPU; {files:,} Parquet "
        f"files, {size:.1f} MB. Job, in a fresh process per engine: the aggregates and "
        "every run's summary, then the comparison base vs spf with `--all` over the same "
        "aggregates. DuckDB: spftrace/fleet/local.py (one grouped scan per table); Spark "
        "`local[2]`, driver memory 1 GB. The two outputs are identical (checked in this run).",
        "",
        "CPU s counts the job's process and the children it waited for: Spark's JVM "
        "(py4j's gateway, not waited for) is not in it, so for Spark it is the Python "
        "driver's alone.",
        "",
        "| round | engine | process wall s | CPU s (process + children) | start-up s "
        "| aggregates + summaries s | compare s |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for i, r in enumerate(rounds, 1):
        for e in ("duckdb", "spark"):
            x = r[e]
            lines.append(
                f"| {i} | {e} | {x['wall_s']:.2f} | {x['tree_cpu_s']:.2f} | "
                f"{x['startup_s']:.2f} | {x['summary_s']:.2f} | {x['compare_s']:.3f} |"
            )
    lines += [
        "",
        f"Best of {len(rounds)}: DuckDB {best['duckdb']:.2f} s, Spark local "
        f"{best['spark']:.2f} s ({best['spark'] / best['duckdb']:.2f}x). On one machine "
        "DuckDB is the tool; Spark is for fleets that live on object storage or exceed one "
        "machine, where the same computation runs on a cluster (`--master`).",
        "",
        "The single-machine commands on the same dataset:",
        "",
        "| command | wall s | CPU s | peak RSS MB | output lines |",
        "|---|---:|---:|---:|---:|",
        *(f"| `{c}` | {w:.2f} | {u:.2f} | {m:.0f} | {n:,} |" for c, w, u, m, n in checks),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--child", nargs=3, metavar=("ENGINE", "DATA", "OUT"))
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    data, build_info = build(args.runs)
    print(f"dataset {data} ({args.runs} runs), built in {build_info['wall_s']:.0f} s", flush=True)
    rounds = []
    for i in range(args.rounds):
        r = {}
        for engine in ("duckdb", "spark"):
            r[engine] = engine_job(engine, data, WORK / f"fleet-{engine}.json")
            print(f"round {i + 1} {engine}: {r[engine]}", flush=True)
        a = (WORK / "fleet-duckdb.json").read_text()
        b = (WORK / "fleet-spark.json").read_text()
        if a != b:
            raise SystemExit("DuckDB and Spark disagree: see bench/work/fleet-*.json")
        rounds.append(r)
    checks = cli_checks(data)
    text = document(args.runs, data, build_info, rounds, checks)
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
