"""Benchmark of the binary readers against the tools' own rendering (indicative figures).

    python bench/binary_readers.py [--samples-rounds N] [--runs N]

Records (once, into bench/work/, not committed; reused when present) a perf.data of
about 10.6M tracepoint samples, 0.97 GB (``perf record -e exceptions:page_fault_user -e
'mmap_lock:*' -- mtfault 4 10000 1024``; ``--samples-rounds 2000`` gives the earlier
2.1M-sample, 0.2 GB file) and two trace.dat files from a private tracefs instance
(``mtfault 2 300 1024``, about 160K events, and ``--dat-rounds`` (2000) rounds, about 1.1M
events with buffer_size_kb 262144: where the reader's throughput shows past its start-up),
then times, each in a fresh process, best of --runs (3):

- ``perf script -i FILE > /dev/null`` and ``trace-cmd report -t -i FILE > /dev/null``;
- the reader alone (bench/_binary_child.py: import, read every batch, count rows);
- the reader writing Parquet with pyarrow (a stand-in for the ingest pipeline);
- ``spftrace ingest FILE --data DIR`` (the whole ingest: reader, pipeline, dataset);
- with --text, once: ``perf script`` piped into spftrace's existing text parser, the
  whole path the perf.data reader replaces.

The large capture is what makes the ratios mean something: a whole spftrace process
pays ~0.5 s to start (interpreter, numpy, pyarrow) whatever its input, which at 2M
samples is a fifth of perf script's own time; at 10M it is amortised.

Whole-process seconds (interpreter start and imports included), CPU seconds
(user + system, which other processes on a shared machine disturb less than the
wall clock) and peak RSS are printed as a Markdown table; ratios are against the
tool's own figure in the same run.  Without trace-cmd on PATH the trace.dat rows
are left out (said so in the output).  bench/RESULTS.md is the lead's to update.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
PY = sys.executable
WORKLOAD = HERE.parent / "sample_traces" / "workloads" / "mtfault.c"
TRACEFS = Path("/sys/kernel/tracing")


def capture_perf(rounds: int) -> Path:
    out = WORK / f"binary-tracepoints-{rounds}.data"
    if out.exists():
        return out
    exe = mtfault()
    subprocess.run(
        ["perf", "record", "-q", "-o", str(out), "-e", "exceptions:page_fault_user",
         "-e", "mmap_lock:*", "--", str(exe), "4", str(rounds), "1024"],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


def capture_dat(rounds: int = 300, buffer_kb: int = 131072) -> Path:
    """``echo KB > instances/spfbench/buffer_size_kb``, enable exceptions:* and
    mmap_lock:*, ``mtfault 2 ROUNDS 1024``, ``trace-cmd extract -B spfbench -o OUT``."""
    out = WORK / ("binary-extract.dat" if rounds == 300 else f"binary-extract-{rounds}.dat")
    if out.exists():
        return out
    exe = mtfault()
    inst = TRACEFS / "instances" / "spfbench"
    inst.mkdir()
    try:
        (inst / "buffer_size_kb").write_text(str(buffer_kb))
        for ev in ("exceptions", "mmap_lock"):
            (inst / "events" / ev / "enable").write_text("1")
        (inst / "tracing_on").write_text("1")
        subprocess.run([str(exe), "2", str(rounds), "1024"], check=True, capture_output=True)
        (inst / "tracing_on").write_text("0")
        subprocess.run(
            ["trace-cmd", "extract", "-B", "spfbench", "-o", str(out)],
            check=True,
            capture_output=True,
        )
    finally:
        if inst.exists():
            inst.rmdir()
    return out


def mtfault() -> Path:
    exe = WORK / "mtfault"
    if not exe.exists():
        subprocess.run(["gcc", "-O1", "-pthread", "-o", str(exe), str(WORKLOAD)], check=True)
    return exe


Timing = tuple[float, float, float, str]  # wall s, CPU s, peak RSS MB, stdout


def timed(cmd: list[str], stdout: int | None = subprocess.DEVNULL) -> Timing:
    """(wall seconds, CPU seconds of the process and its children, peak RSS MB, stdout)
    of one fresh process."""
    t0 = time.perf_counter()
    r = subprocess.run(
        ["/usr/bin/time", "-f", "%U %S %M", *cmd],
        stdout=subprocess.PIPE if stdout is None else stdout, stderr=subprocess.PIPE, check=True,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    user, sys_, rss = r.stderr.decode().strip().splitlines()[-1].split()
    return wall, float(user) + float(sys_), int(rss) / 1024, (r.stdout or b"").decode()


def best(cmd: list[str], runs: int = 3, keep: bool = False) -> Timing:
    results = [timed(cmd, None if keep else subprocess.DEVNULL) for _ in range(runs)]
    return (
        min(r[0] for r in results),
        min(r[1] for r in results),
        max(r[2] for r in results),
        results[-1][3],
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples-rounds", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dat-rounds", type=int, default=2000, help="mtfault rounds, large trace.dat")
    ap.add_argument("--only-dat", action="store_true", help="time the trace.dat files only")
    ap.add_argument("--perf-data", type=Path, help="use this capture instead of recording one")
    ap.add_argument("--text", action="store_true", help="also time perf script | text parser")
    args = ap.parse_args()
    WORK.mkdir(exist_ok=True)
    load_before = os.getloadavg()
    child = str(HERE / "_binary_child.py")
    spftrace = str(Path(PY).with_name("spftrace"))
    rows = []
    inputs = []
    if not args.only_dat:
        perf = args.perf_data or capture_perf(args.samples_rounds)
        inputs.append(("perf.data", perf, ["sh", "-c", f"perf script -i {perf} > /dev/null 2>&1"]))
    if shutil.which("trace-cmd"):
        for dat in (capture_dat(), capture_dat(args.dat_rounds, 262144)):
            tool = ["sh", "-c", f"trace-cmd report -t -i {dat} > /dev/null 2>&1"]
            inputs.append(("trace.dat", dat, tool))
    else:
        print("trace-cmd is not on PATH: no trace.dat figures")
    env_native = "yes" if _native_built() else "no (pure-Python walk)"
    for kind, path, tool in inputs:
        t_tool = best(tool, args.runs)
        t_read = best([PY, child, kind, str(path)], args.runs, keep=True)
        info = json.loads(t_read[3].strip().splitlines()[-1])
        pq = WORK / "binary-out.parquet"
        t_pq = best([PY, child, kind, str(path), str(pq)], args.runs, keep=True)
        t_ing = _ingest(spftrace, path, args.runs)
        mb = path.stat().st_size / 2**20
        rows.append((kind, info["rows"], mb, t_tool, t_read, t_pq, t_ing))
    load = os.getloadavg()
    print(
        f"compiled walk: {env_native}; {os.cpu_count()} CPUs; load {load_before[0]:.1f} at the "
        f"start, {load[0]:.1f} at the end (1-minute averages)"
    )
    print()
    print(
        "| input | rows | MB | measured | wall s | CPU s | peak RSS MB | x tool (wall)"
        " | x tool (CPU) |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|")
    for kind, n, mb, tt, *others in rows:
        name = "perf script" if kind == "perf.data" else "trace-cmd report"
        print(
            f"| {kind} | {n:,} | {mb:.0f} | {name} | {tt[0]:.2f} | {tt[1]:.2f} | {tt[2]:.0f} | | |"
        )
        for what, t in zip(
            ("reader alone", "reader + Parquet", "spftrace ingest"), others, strict=True
        ):
            print(
                f"| | | | {what} | {t[0]:.2f} | {t[1]:.2f} | {t[2]:.0f} | "
                f"{tt[0] / t[0]:.2f} | {tt[1] / t[1]:.2f} |"
            )
    (WORK / "binary-out.parquet").unlink(missing_ok=True)
    if args.text and not args.only_dat:
        t_txt = timed(["sh", "-c", f"perf script -i {perf} 2>/dev/null | {PY} {child} text -"])
        tr = rows[0][4][0]
        print()
        print(
            f"perf script | text parser: {t_txt[0]:.2f} s, {t_txt[2]:.0f} MB (parser process); "
            f"perf.data reader {t_txt[0] / tr:.1f}x faster"
        )


def _ingest(spftrace: str, path: Path, runs: int) -> Timing:
    """``spftrace ingest FILE --data DIR`` into a fresh dataset each run."""
    results = []
    for _ in range(runs):
        data = WORK / "binary-ingest-data"
        shutil.rmtree(data, ignore_errors=True)
        results.append(timed([spftrace, "ingest", str(path), "--data", str(data)]))
        shutil.rmtree(data, ignore_errors=True)
    return (
        min(r[0] for r in results),
        min(r[1] for r in results),
        max(r[2] for r in results),
        "",
    )


def _native_built() -> bool:
    r = subprocess.run(
        [PY, "-c", "import spftrace._native._perf_walk"], capture_output=True, cwd=HERE.parent
    )
    return r.returncode == 0


if __name__ == "__main__":
    main()
