"""Run perf as a child subreaper, so the command's exit status is never lost.

    python reaper.py STATUS_FILE -- perf stat ... -- COMMAND ...

perf stat (6.1, ``builtin-stat.c``) loses the status of a command that ends quickly:
its SIGCHLD handler ``skip_signal`` sets ``child_pid = -1``, and when the signal
comes before perf reaches ``wait4(child_pid, ...)`` the wait is skipped, perf exits
0 and prints no ``psignal`` line (``perf stat -- sh -c 'exit 7'`` returned 0 in 1 of
40 runs here under load).  The command is then a zombie that nobody reaped; when
perf exits it is handed to the nearest child subreaper (prctl(2)), which this
process is: it reaps every orphan that has ended and writes the status of the
earliest started one (perf stat's child, started before anything it ran) to
STATUS_FILE as ``exit N`` or ``signal N``.  No file means perf reaped the command
itself, and its own exit status and message say how it ended.

Why a process of its own: a subreaper collects every orphan below it, so the
attribute cannot be set on a library user's process.  This file imports nothing
from spftrace (it runs as a script: no package import, ~40 ms).  It exits with
perf's status; SIGINT is perf's to handle (perf stat prints its counts), and
SIGTERM is passed on to perf.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36  # include/uapi/linux/prctl.h


def _start_time(pid: int) -> int:
    """Field 22 of /proc/PID/stat (clock ticks after boot); after the comm, which
    may hold spaces and parentheses, so counted from the last ')'."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return 1 << 62
    return int(stat[stat.rindex(b")") + 2 :].split()[19])


def reap_orphans() -> tuple[str, int] | None:
    """Reap the orphans that have ended (never waiting for one still running);
    the status of the earliest started, or None when there was none."""
    ended: list[tuple[int, int, int]] = []
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            break
        if info is None:
            break
        pid = info.si_pid
        started = _start_time(pid)  # while it is a zombie, /proc/PID is still there
        _, status = os.waitpid(pid, 0)
        ended.append((started, pid, status))
    if not ended:
        return None
    status = min(ended)[2]
    if os.WIFSIGNALED(status):
        return "signal", os.WTERMSIG(status)
    return "exit", os.waitstatus_to_exitcode(status)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: reaper.py STATUS_FILE -- COMMAND ...", file=sys.stderr)
        return 2
    out, command = argv[0], argv[2:]
    signal.signal(signal.SIGINT, lambda *_: None)  # caught, so reset to default at exec
    libc = ctypes.CDLL(None, use_errno=True)
    subreaper = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    try:
        proc = subprocess.Popen(command)
    except OSError as exc:
        print(f"{command[0]}: {exc.strerror}", file=sys.stderr)
        return 127
    signal.signal(signal.SIGTERM, lambda *_: proc.send_signal(signal.SIGTERM))
    rc = proc.wait()
    found = reap_orphans() if subreaper else None
    if found is not None:
        tmp = f"{out}.tmp"
        with open(tmp, "w") as fh:
            fh.write(f"{found[0]} {found[1]}\n")
        os.replace(tmp, out)
    return 128 - rc if rc < 0 else rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
