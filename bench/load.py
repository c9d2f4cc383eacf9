"""Load test (``make load``, not in make test or make bench): a LINES-line perf script
trace ingested, then reported as text, JSON and HTML; figures to bench/LOAD.md.

The trace is the real capture spftrace/samples/capture/mtfault-perf-script.txt
(provenance beside it) repeated with its timestamps shifted forward by the capture's
span each time, so it reads as one long, continuous recording.  It is generated while
it is read, into the ingest's stdin (``perf script | spftrace ingest -``): nothing of
that size touches the disk, and the generator holds one repetition (324 lines) at a
time, so its own memory is bounded too (its peak RSS is recorded).  Each measured step
runs in its own process; peak RSS comes from the kernel (wait4), times are wall clock.

    python bench/load.py --lines 50000000        # the issue's figure
    python bench/load.py --lines 2000000         # a quick check
    python bench/load.py --perf-data 10000000    # a recorded perf.data of 10M samples

With ``--perf-data N`` it records a real perf.data instead (needs perf and root): a
small C program faulting in fresh anonymous pages, ``perf record -e
exceptions:page_fault_user`` until about N samples, then ``spftrace ingest FILE``
(spftrace's own reader) and the three reports; figures to bench/LOAD-perf-data.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CAPTURE = ROOT / "spftrace" / "samples" / "capture" / "mtfault-perf-script.txt"
RESULTS = HERE / "LOAD.md"
RESULTS_PERF_DATA = HERE / "LOAD-perf-data.md"
#: faults in fresh anonymous pages: ROUNDS x (mmap 64 MiB, write a byte a page, munmap)
FAULTER = r"""
#include <stdlib.h>
#include <sys/mman.h>
int main(int argc, char **argv) {
    long rounds = atol(argv[1]), len = 64L << 20;
    for (long r = 0; r < rounds; r++) {
        char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return 1;
        for (long i = 0; i < len; i += 4096) p[i] = 1;
        munmap(p, len);
    }
    return 0;
}
"""
_TS = re.compile(rb"(?<= )(\d+)\.(\d{6})(?=: )")


def repetitions(capture: Path) -> tuple[list[tuple[bytes, int, bytes]], int]:
    """The capture's lines as (before, time in us, after), and its span in us."""
    parts = []
    for line in capture.read_bytes().splitlines(keepends=True):
        m = _TS.search(line)
        if m is None:
            raise SystemExit(f"{capture}: no timestamp in {line!r}")
        us = int(m.group(1)) * 1_000_000 + int(m.group(2))
        parts.append((line[: m.start()], us, line[m.end() :]))
    times = [us for _, us, _ in parts]
    return parts, max(times) - min(times) + 1


def generate(out: IO[bytes], lines: int, capture: Path = CAPTURE) -> int:
    """Write ``lines`` lines of continuous trace to ``out``; returns bytes written."""
    parts, span = repetitions(capture)
    written = nbytes = 0
    rep = 0
    while written < lines:
        take = parts[: lines - written] if lines - written < len(parts) else parts
        off = rep * span
        block = b"".join(b + b"%d.%06d" % divmod(us + off, 1_000_000) + a for b, us, a in take)
        out.write(block)
        written += len(take)
        nbytes += len(block)
        rep += 1
    return nbytes


def measured(cmd: list[str], stdin: int | None = None) -> tuple[int, float, float, str]:
    """(exit code, wall seconds, peak RSS MB, stderr) of one process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    _pid, status, usage = os.wait4(proc.pid, 0)
    return os.waitstatus_to_exitcode(status), time.perf_counter() - t0, usage.ru_maxrss / 1024, err


def ingest(lines: int, data: Path) -> dict[str, str]:
    cmd = [sys.executable, "-m", "spftrace", "ingest", "-", "--data", str(data), "--run", "load"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdin is not None and proc.stderr is not None
    nbytes = generate(proc.stdin, lines)
    proc.stdin.close()
    err = proc.stderr.read().decode(errors="replace")
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        raise SystemExit(f"ingest failed ({rc}): {err.strip()}")
    own = re.search(r"([\d.]+) s, ([\d,]+) lines/s", err)
    return {
        "lines": f"{lines:,}",
        "MB": f"{nbytes / 1e6:,.0f}",
        "ingest s (its summary)": own.group(1) if own else "?",
        "lines/s (its summary)": own.group(2) if own else "?",
        "process s": f"{wall:.1f}",
        "peak RSS MB": f"{usage.ru_maxrss / 1024:.0f}",
        "generator peak RSS MB": f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}",
        "dataset MB": f"{_size(data) / 1e6:,.1f}",
    }


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def reports(data: Path, out: Path) -> list[dict[str, str]]:
    rows = []
    for kind in ("text", "json", "html"):
        target = out / f"report.{kind}"
        rc, wall, rss, err = measured(
            [
                sys.executable,
                "-m",
                "spftrace",
                "report",
                kind,
                "--data",
                str(data),
                "-o",
                str(target),
            ]
        )
        rows.append({
            "report": kind, "exit": str(rc), "process s": f"{wall:.1f}",
            "peak RSS MB": f"{rss:.0f}",
            "output KB": f"{target.stat().st_size / 1024:,.0f}" if target.exists() else "-",
            "error": err.strip().splitlines()[-1] if rc else "",
        })  # fmt: skip
    return rows


def record_perf_data(samples: int, work: Path) -> tuple[Path, str]:
    """A perf.data of about ``samples`` user page faults; returns it and the command."""
    src, exe, out = work / "faulter.c", work / "faulter", work / "load.data"
    src.write_text(FAULTER)
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(src)], check=True)
    rounds = max(1, -(-samples // 16384))  # 16,384 pages per 64 MiB round
    cmd = ["perf", "record", "-q", "-m", "64M", "-e", "exceptions:page_fault_user",
           "-o", str(out), "--", str(exe), str(rounds)]  # fmt: skip
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    shown = "perf record -q -m 64M -e exceptions:page_fault_user -o load.data -- ./faulter"
    return out, f"{shown} {rounds}"


def ingest_file(path: Path, data: Path) -> dict[str, str]:
    cmd = [sys.executable, "-m", "spftrace", "ingest", str(path), "--data", str(data)]
    rc, wall, rss, err = measured([*cmd, "--run", "load"])
    if rc != 0:
        raise SystemExit(f"ingest failed ({rc}): {err.strip()}")
    own = re.search(r"([\d.]+) s, ([\d,]+) (?:lines|records)/s", err)
    rows = re.search(r"rows: ([\d,]+) events", err)
    return {
        "perf.data MB": f"{path.stat().st_size / 1e6:,.0f}",
        "events stored": rows.group(1) if rows else "?",
        "ingest s (its summary)": own.group(1) if own else "?",
        "process s": f"{wall:.1f}",
        "peak RSS MB": f"{rss:.0f}",
        "dataset MB": f"{_size(data) / 1e6:,.1f}",
    }


def perf_data_main(samples: int, keep: Path | None) -> None:
    work = keep or Path(tempfile.mkdtemp(prefix="spftrace-load-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "ds"
    shutil.rmtree(data, ignore_errors=True)
    try:
        path, command = record_perf_data(samples, work)
        ing = ingest_file(path, data)
        reps = reports(data, work)
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    perf = subprocess.run(["perf", "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Load test of the perf.data reader (`bench/load.py --perf-data N`)",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.node()}, "
        f"{os.cpu_count()} CPUs shared with other jobs (indicative figures); "
        f"kernel {platform.release()}; {perf}",
        f"- recorded: `{command}` (asked for {samples:,} samples; perf may lose some: "
        "the events stored are what the file holds)",
        "",
        "## Ingest (`spftrace ingest load.data`: spftrace's own reader, no perf script)",
        "",
        *table([ing]),
        "",
        "## Reports (`spftrace report KIND --data DIR -o FILE`)",
        "",
        *table(reps),
        "",
    ]
    RESULTS_PERF_DATA.write_text("\n".join(lines))
    print("\n".join(lines))
    if any(r["exit"] != "0" for r in reps):
        raise SystemExit(1)


def table(rows: list[dict[str, str]]) -> list[str]:
    keys = list(rows[0])
    return [
        "| " + " | ".join(keys) + " |",
        "|" + "|".join("---:" for _ in keys) + "|",
        *("| " + " | ".join(r[k] for k in keys) + " |" for r in rows),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=50_000_000)
    ap.add_argument("--keep", type=Path, help="keep the dataset and reports in DIR")
    ap.add_argument("--perf-data", type=int, metavar="N", help="record N samples instead")
    args = ap.parse_args()
    if args.perf_data:
        perf_data_main(args.perf_data, args.keep)
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="spftrace-load-"))
    data = work / "ds"
    shutil.rmtree(data, ignore_errors=True)
    sample = min(args.lines, 1_000_000)
    with open(os.devnull, "wb") as null:
        t0 = time.perf_counter()
        generate(null, sample)
        gen_rate = sample / (time.perf_counter() - t0)
    try:
        ing = ingest(args.lines, data)
        reps = reports(data, work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    lines = [
        "# Load test (`make load`, bench/load.py)",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.node()}, "
        f"{os.cpu_count()} CPUs shared with other jobs (indicative figures)",
        f"- input: {CAPTURE.relative_to(ROOT)} repeated with shifted timestamps, streamed into "
        "`spftrace ingest - --run load` (nothing written to disk)",
        "",
        "## Ingest",
        "",
        *table([ing]),
        "",
        f"The generator alone writes {gen_rate:,.0f} lines/s (measured in this run, into "
        "/dev/null): an ingest rate near that is the generator's, not spftrace's "
        "(bench/RESULTS.md has spftrace's own rate from a file).",
        "",
        "## Reports (`spftrace report KIND --data DIR -o FILE`)",
        "",
        *table(reps),
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))
    if any(r["exit"] != "0" for r in reps):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
