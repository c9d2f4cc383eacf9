"""Run one measured job in this fresh process; print JSON with its peak RSS.

usage: python bench/_child.py ingest FILE DATA_DIR   (with the command's settings)
       python bench/_child.py readlines FILE
"""

from __future__ import annotations

import json
import resource
import sys
import time


def peak_rss_mb() -> float:
    """This process's own high-water RSS: VmHWM of its address space.  Not ru_maxrss:
    the kernel folds the spawning process's high-water mark into it at exec (the
    parent's mm, shared by vfork), so every row read bench/run.py's own peak (215 MB
    in every row of the 2026-12-04 run, against 127-135 MB measured alone)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    job = sys.argv[1]
    t0 = time.perf_counter()
    out: dict[str, object] = {}
    if job == "ingest":
        # the process settings the spftrace command makes before its imports (one
        # OpenBLAS thread, Arrow's buffers from malloc): these rows stand for the command
        from spftrace.__main__ import quiet_blas, system_allocator

        quiet_blas()
        system_allocator()
        import spftrace

        (s,) = spftrace.ingest([sys.argv[2]], data=sys.argv[3])
        out = {"lines": s.lines, "records": s.record_lines, "ingest_s": s.seconds, "bytes": s.bytes}
    elif job == "readlines":
        n = 0
        with open(sys.argv[2], "rb") as fh:
            for _ in fh:
                n += 1
        out = {"lines": n}
    elif job == "report":
        import spftrace

        text = spftrace.report(sys.argv[3], data=sys.argv[2])
        out = {"chars": len(text)}
    else:
        raise SystemExit(f"unknown job {job}")
    out["wall_s"] = time.perf_counter() - t0
    out["maxrss_mb"] = peak_rss_mb()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
