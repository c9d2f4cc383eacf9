"""Where the pipe's extra time goes (issue 11, point 4): ``perf script | spftrace
ingest -`` against ``perf script > /dev/null``, split into

- perf script's own CPU time (writing into a pipe costs it more than /dev/null does:
  a page allocated and charged per 4 KiB write, freed by the reader),
- its wait for a CPU (run queue: the ingest's threads, and the machine's other jobs),
- its time blocked, neither running nor runnable (nearly all of it on a full pipe),
- the tail: from perf script's exit to the ingest's (the last chunk, the last row
  group, the commit, the exit).

perf script's parts come from its /proc/PID/schedstat (run and run-queue
nanoseconds), read every 2 ms until it exits (the last reading is at most 2 ms
early: blocked = wall - run - run queue); the exits from wait4.  On a shared machine
the run-queue wait swings by hundreds of ms from run to run while perf script's CPU,
its blocked time and the tail hold still: they are what a change of the ingest
moves.  ``perf script | cat`` is not the floor (cat wakes for each 4 KiB write): a
reader that does nothing but drain (``--reader``: the drain's reads and naps, no
parsing) is.

usage: python bench/pipe_parts.py [--runs N] [--base DIR] [--reader]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from whole import ENV, SPFTRACE, WORK, based, ingest, recording

#: a reader that only drains the pipe as spftrace.drain does (1 MiB reads, a nap after
#: a short one), and hashes nothing: what any consumer costs perf script at least
READER = """
import fcntl, os, time
from spftrace import drain
fcntl.fcntl(0, 1031, drain.PIPE_BYTES)
while b := os.read(0, drain.BLOCK):
    if len(b) < drain.LOW:
        time.sleep(drain.NAP)
"""


class Parts(NamedTuple):
    wall: float  # spawn to the last exit
    ran: float  # perf script on a CPU
    queued: float  # perf script runnable, waiting for a CPU
    blocked: float  # neither (a full pipe)
    tail: float  # perf script's exit to the consumer's


def _schedstat(pid: int) -> tuple[float, float] | None:
    try:
        with open(f"/proc/{pid}/schedstat") as fh:
            run, wait, _ = fh.read().split()
    except (OSError, ValueError):
        return None
    return int(run) / 1e9, int(wait) / 1e9


def measure(script: Sequence[str], consumer: Sequence[str] | None, env: dict[str, str]) -> Parts:
    """One run of ``script`` into ``consumer`` (None: into /dev/null)."""
    t0 = time.perf_counter()
    a = subprocess.Popen(
        script, stdout=subprocess.PIPE if consumer else subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, env=ENV,
    )  # fmt: skip
    b = None
    if consumer:
        assert a.stdout is not None
        b = subprocess.Popen(
            consumer, stdin=a.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=env, cwd=WORK,
        )  # fmt: skip
        a.stdout.close()
    last: list[tuple[float, float] | None] = [None]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            got = _schedstat(a.pid)
            if got is not None:
                last[0] = got
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    exits: dict[int, float] = {}
    statuses: dict[int, int] = {}
    while len(exits) < (2 if b else 1):
        pid, status, _ = os.wait4(-1, 0)
        exits[pid], statuses[pid] = time.perf_counter() - t0, status
        if pid == a.pid:
            done.set()
    sampler.join()
    a.returncode = 0  # reaped above
    if b is not None:
        b.returncode = 0
    if any(statuses.values()) or last[0] is None:
        raise SystemExit(f"failed: {' '.join(script)} | {' '.join(consumer or ['-'])}")
    ran, queued = last[0]
    end = exits[a.pid]
    wall = max(exits.values())
    return Parts(wall, ran, queued, max(0.0, end - ran - queued), wall - end)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--base", metavar="DIR", help="also another checkout (whole.py --base)")
    ap.add_argument("--reader", action="store_true", help="also a reader that only drains")
    args = ap.parse_args()
    data, _ = recording()
    script = ["perf", "script", "-i", str(data)]
    # each a command made afresh for each run (``ingest`` empties the dataset)
    rows: dict[str, tuple[Callable[[], list[str] | None], dict[str, str]]] = {
        "`> /dev/null`": (lambda: None, ENV)
    }
    if args.reader:
        rows["`\\| drain only`"] = (lambda: [sys.executable, "-c", READER], ENV)
    rows["`\\| spftrace ingest -`"] = (lambda: ingest("-", [SPFTRACE]), ENV)
    if args.base:
        cmd, base_env = based(args.base)
        rows["`\\| spftrace ingest -` of --base"] = (lambda: ingest("-", cmd), base_env)
    got: dict[str, list[Parts]] = {k: [] for k in rows}
    load = os.getloadavg()[0]
    for _ in range(args.runs):
        for name, (consumer, env) in rows.items():
            got[name].append(measure(script, consumer(), env))
    null = statistics.median(p.wall for p in got["`> /dev/null`"])
    print(f"medians of {args.runs} alternated runs; load average {load:.1f} -> "
          f"{os.getloadavg()[0]:.1f}; seconds")  # fmt: skip
    print("| perf script ... | wall | / null | ran | run queue | blocked | tail | best wall |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, parts in got.items():
        med = [statistics.median(p[i] for p in parts) for i in range(5)]
        best = min(p.wall for p in parts)
        print(
            f"| {name} | {med[0]:.3f} | {med[0] / null:.3f}x | {med[1]:.3f} | {med[2]:.3f} | "
            f"{med[3]:.3f} | {med[4]:.3f} | {best:.3f} |"
        )


if __name__ == "__main__":
    main()
