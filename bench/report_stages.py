"""Peak memory of each stage of ``spftrace report`` on a dataset, each in a fresh process.

Why per stage: a report's peak RSS is the largest of its stages' (DuckDB's buffer
pool, the per-VMA-lock pass, the breakdown queries), and only a fresh process per
stage says which one it is.  Peak RSS comes from the kernel (wait4's ru_maxrss),
CPU seconds beside wall seconds (the machine is shared).

usage: python bench/report_stages.py DATA [RUN] [STAGE ...]   (RUN: load for bench/load.py,
       perf-script-10M for bench/run.py bench_report's dataset)
       python bench/report_stages.py --stage STAGE DATA RUN   (one stage, in this process)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAGES = ("connect", "scan", "classify", "totals", "breakdowns", "fault_sites", "json", "html",
          "text")  # fmt: skip


def _stage(stage: str, data: str, run: str) -> None:
    from spftrace.api import open_dataset

    if stage in ("json", "html", "text"):
        from spftrace.cli import main

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"report.{stage}"
            sys.argv = ["spftrace", "report", stage, "--data", data, "-o", str(out)]
            try:
                main()
            except SystemExit as exc:  # the CLI exits 0 when done
                if exc.code:
                    raise
        return
    con = open_dataset(data).connect()
    if stage == "connect":
        con.execute("SELECT count(*) FROM events WHERE run = ?", [run]).fetchall()
    elif stage == "scan":
        from spftrace.analysis import vmalock

        sql = "SELECT tid, ts, (input::BIGINT << 40) + line_no AS seq FROM events WHERE run = ?"
        cur = con.cursor()
        for _batch in vmalock._slices(cur, sql, run):
            pass
    elif stage == "classify":
        from spftrace.analysis import vmalock

        vmalock.classify(con, run)
    elif stage == "totals":
        from spftrace.analysis import trace

        trace.trace_totals(con, run)
    elif stage == "breakdowns":
        from spftrace.analysis import trace

        trace.breakdowns(con, run)
    elif stage == "fault_sites":
        from spftrace.analysis import fault_sites

        fault_sites.analyse(con, run)
    else:
        raise SystemExit(f"unknown stage {stage}")


def measure(stage: str, data: str, run: str) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--stage", stage, data, run]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    _pid, status, usage = os.wait4(proc.pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    return {
        "stage": stage, "exit": rc, "wall_s": round(time.perf_counter() - t0, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "error": err.strip().splitlines()[-1] if rc and err.strip() else "",
    }  # fmt: skip


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "--stage":
        _stage(args[1], args[2], args[3])
        return
    data = args[0]
    run = args[1] if len(args) > 1 else "load"
    stages = args[2:] or list(STAGES)
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    for stage in stages:
        print(measure(stage, data, run), flush=True)
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
