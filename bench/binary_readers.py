"""Benchmark of the binary readers against the tools' own rendering (indicative figures).

    python bench/binary_readers.py [--samples-rounds N] [--runs N]

Records (once, into bench/work/, not committed; reused when present) a perf.data of
>= 2M tracepoint samples (``perf record -e exceptions:page_fault_user -e 'mmap_lock:*'
-- mtfault 4 2000 1024``) and a trace.dat from a private tracefs instance, then times,
each in a fresh process, best of --runs (3):

- ``perf script -i FILE > /dev/null`` and ``trace-cmd report -t -i FILE > /dev/null``;
- the reader alone (bench/_binary_child.py: import, read every batch, count rows);
- the reader writing Parquet with pyarrow (a stand-in for the ingest pipeline);
- with --text, once: ``perf script`` piped into spftrace's existing text parser, the
  whole path the perf.data reader replaces.

Whole-process seconds (interpreter start and imports included) and peak RSS are
printed as a Markdown table; bench/RESULTS.md is the lead's to update.
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
    out = WORK / "binary-tracepoints.data"
    if out.exists():
        return out
    exe = mtfault()
    subprocess.run(
        ["perf", "record", "-q", "-o", str(out), "-e", "exceptions:page_fault_user",
         "-e", "mmap_lock:*", "--", str(exe), "4", str(rounds), "1024"],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


def capture_dat() -> Path:
    out = WORK / "binary-extract.dat"
    if out.exists():
        return out
    exe = mtfault()
    inst = TRACEFS / "instances" / "spfbench"
    inst.mkdir()
    try:
        (inst / "buffer_size_kb").write_text("131072")
        for ev in ("exceptions", "mmap_lock"):
            (inst / "events" / ev / "enable").write_text("1")
        (inst / "tracing_on").write_text("1")
        subprocess.run([str(exe), "2", "300", "1024"], check=True)
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


def timed(cmd: list[str], stdout: int | None = subprocess.DEVNULL) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of one fresh process."""
    t0 = time.perf_counter()
    r = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *cmd], stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE, check=True,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    rss = int(r.stderr.decode().strip().splitlines()[-1]) / 1024
    return wall, rss, (r.stdout or b"").decode()


def best(cmd: list[str], runs: int = 3, keep: bool = False) -> tuple[float, float, str]:
    results = [timed(cmd, None if keep else subprocess.DEVNULL) for _ in range(runs)]
    return min(r[0] for r in results), max(r[1] for r in results), results[-1][2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples-rounds", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--text", action="store_true", help="also time perf script | text parser")
    args = ap.parse_args()
    WORK.mkdir(exist_ok=True)
    child = str(HERE / "_binary_child.py")
    rows = []
    perf = capture_perf(args.samples_rounds)
    dat = capture_dat()
    env_native = "yes" if _native_built() else "no (pure-Python walk)"
    for kind, path, tool in (
        ("perf.data", perf, ["sh", "-c", f"perf script -i {perf} > /dev/null 2>&1"]),
        ("trace.dat", dat, ["sh", "-c", f"trace-cmd report -t -i {dat} > /dev/null 2>&1"]),
    ):
        t_tool, rss_tool, _ = best(tool, args.runs)
        t_read, rss_read, out = best([PY, child, kind, str(path)], args.runs, keep=True)
        info = json.loads(out.strip().splitlines()[-1])
        pq = WORK / "binary-out.parquet"
        t_pq, rss_pq, _ = best([PY, child, kind, str(path), str(pq)], args.runs, keep=True)
        mb = path.stat().st_size / 2**20
        rows.append((kind, info["rows"], mb, t_tool, rss_tool, t_read, rss_read, t_pq, rss_pq))
    print(f"compiled walk: {env_native}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}")
    print()
    print(
        "| input | rows | MB | tool s | tool MB | reader s | reader MB | x tool"
        " | + Parquet s | MB | x tool |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind, n, mb, tt, rt, tr, rr, tp, rp in rows:
        print(
            f"| {kind} | {n:,} | {mb:.0f} | {tt:.2f} | {rt:.0f} | {tr:.2f} | {rr:.0f} | "
            f"{tt / tr:.1f} | {tp:.2f} | {rp:.0f} | {tt / tp:.1f} |"
        )
    shutil.rmtree(WORK / "binary-out.parquet", ignore_errors=True)
    if args.text:
        t_txt, rss_txt, _ = timed(
            ["sh", "-c", f"perf script -i {perf} 2>/dev/null | {PY} {child} text -"]
        )
        tr = rows[0][5]
        print()
        print(
            f"perf script | text parser: {t_txt:.2f} s, {rss_txt:.0f} MB (parser process); "
            f"perf.data reader {t_txt / tr:.1f}x faster"
        )


def _native_built() -> bool:
    r = subprocess.run(
        [PY, "-c", "import spftrace._native._perf_walk"], capture_output=True, cwd=HERE.parent
    )
    return r.returncode == 0


if __name__ == "__main__":
    main()
