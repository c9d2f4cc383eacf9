"""``spftrace capture``: record a command with what an exact classification needs.

One capture (kept in ``--keep DIR``, else removed) is:
  perf-stat.txt    perf stat -e page-faults (+ spf on SPF kernels) of the command only
  trace.data       perf record of the fault tracepoints, kernel callchains on mmap_lock:*
  trace.txt        trace.data rendered by perf script: the command's processes only,
                   lost events shown, and a header with the command and its exit status
  vmstat-0/1.txt   /proc/vmstat before and after

perf record runs perf stat, which runs the command, so perf stat counts the command and
nothing else (its counters start at the command's exec) while perf record sees perf
stat too; trace.txt leaves perf stat out (its pid, and its child before the exec),
so the trace and the count cover the same faults.  The command's exit status is
perf's (perf stat passes a normal exit through) or, for a signal, read from perf stat's
``ARGV0: SIGNAL DESCRIPTION`` line; capture returns it and stores it (``exit_status``).
perf stat can leave a command that ends quickly unreaped and exit 0 (a race in its
SIGCHLD handler): perf runs under reaper.py, a child subreaper that then reaps it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .errors import SpftraceError

MMAP_LOCK = ("start_locking", "acquire_returned", "released")
SCRIPT_FIELDS = "comm,tid,pid,cpu,time,event,trace,ip,sym,symoff,dso"
_TASK_RE = re.compile(
    r"^\s*(\d+)/(\d+)\s+(\d+\.\d+): PERF_RECORD_(COMM exec|FORK)"
    r"(?:: \S+|\((\d+):(\d+)\):\((\d+):(\d+)\))"
)


@dataclass
class Plan:
    """What this kernel offers: perf stat events and perf record arguments."""

    counters: list[str]
    record: list[str]
    model: str  # spf | per-vma-lock | unknown


@dataclass
class CaptureResult:
    summaries: list[Any]
    exit_status: int
    files: list[Path] = field(default_factory=list)


def perf() -> str:
    path = shutil.which("perf")
    if path is None:
        raise SpftraceError("capture needs perf (Debian: linux-perf)")
    return path


def plan(perf_bin: str) -> Plan:
    """The events to record, from ``perf list`` (SPF series first, then mainline)."""
    listing = subprocess.run(
        [perf_bin, "list", "--no-desc"], capture_output=True, text=True, check=False
    ).stdout
    if "pagefault:spf_" in listing:
        return Plan(["page-faults", "spf"], ["-e", "pagefault:*"], "spf")
    rec: list[str] = []
    for p in ("exceptions:page_fault_user", "exceptions:page_fault_kernel"):
        if p in listing:
            rec += ["-e", p]
    if "mmap_lock:mmap_lock_start_locking" in listing:
        # per event: only the mmap_lock samples carry (kernel) stacks, faults stay small
        rec += ["--kernel-callchains"]
        for e in MMAP_LOCK:
            rec += ["-e", f"mmap_lock:mmap_lock_{e}/call-graph=fp/"]
    return Plan(["page-faults"], rec, "per-vma-lock" if rec else "unknown")


def capture(
    command: list[str],
    *,
    data: str | os.PathLike[str] | None = None,
    run: str | None = None,
    label: str | None = None,
    trace: bool = True,
    keep: str | os.PathLike[str] | None = None,
    append: bool = False,
) -> CaptureResult:
    from .ingest import ingest
    from .progress import activity, ingest_callback

    if not command:
        raise SpftraceError("capture needs a command: spftrace capture -- ./app ARGS")
    perf_bin = perf()
    pl = plan(perf_bin)
    out = Path(keep) if keep is not None else Path(tempfile.mkdtemp(prefix="spftrace-capture-"))
    out.mkdir(parents=True, exist_ok=True)
    vm0, vm1, stat = out / "vmstat-0.txt", out / "vmstat-1.txt", out / "perf-stat.txt"
    rec, text = out / "trace.data", out / "trace.txt"
    try:
        vm0.write_text(Path("/proc/vmstat").read_text())
        inner = [perf_bin, "stat", "-o", str(stat), "-e", ",".join(pl.counters), "--", *command]
        full = inner
        if trace and pl.record:
            full = [perf_bin, "record", "-q", "-o", str(rec), *pl.record, "--", *inner]
        reaped = out / "exit-status"
        # perf under a subreaper (reaper.py): perf stat can skip reaping a command
        # that ends quickly, and its status would be lost
        reaper = [sys.executable, str(Path(__file__).with_name("reaper.py")), str(reaped), "--"]
        rc, err = _run([*reaper, *full])
        vm1.write_text(Path("/proc/vmstat").read_text())
        if rc == 255 and "Workload failed" in err:
            why = err.split("Workload failed:", 1)[1].strip().splitlines()[0]
            raise SpftraceError(f"capture could not run {shlex.join(command)}: {why}")
        if not stat.exists() or stat.stat().st_size == 0:
            raise SpftraceError(f"perf stat wrote nothing (exit {rc}): {shlex.join(full)}")
        status = _exit_status(rc, err, command[0], _reaped(reaped))
        inputs = [stat, vm0, vm1]
        # progress only after the command: while it runs, the terminal is the command's
        with activity("rendering the trace (perf script)", unit="lines") as phase:
            if rec.exists() and rec.stat().st_size:
                render(perf_bin, rec, text, command, status)
                inputs.append(text)
            phase("ingesting the capture")
            # without --run the name is made unique under the dataset lock: parallel
            # captures of one command get capture-CMD, capture-CMD-2, ...
            default = None if run else "capture-" + Path(command[0]).name
            # force: a fresh recording is never a re-ingest, even when a deterministic
            # command (``true``) printed exactly the counts of an earlier capture
            summaries = ingest(inputs, data=data, run=run, append=append,
                               default_name=default, label=label, force=True,
                               progress=ingest_callback())  # fmt: skip
        return CaptureResult(summaries, status, [p for p in inputs if keep is not None])
    finally:
        if keep is None:
            shutil.rmtree(out, ignore_errors=True)


def _run(cmd: list[str]) -> tuple[int, str]:
    """Run with stdin/stdout passed through and stderr copied to ours as it comes
    (the workload's and perf's), keeping its tail for the exit status."""
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    tail: list[bytes] = []

    def pump(src: IO[bytes]) -> None:
        for chunk in iter(lambda: src.read1(65536), b""):  # type: ignore[attr-defined]
            sys.stderr.buffer.write(chunk)
            sys.stderr.buffer.flush()
            tail.append(chunk)
            while sum(map(len, tail)) > 65536 and len(tail) > 1:
                tail.pop(0)

    t = threading.Thread(target=pump, args=(proc.stderr,), daemon=True)
    t.start()
    rc = proc.wait()
    t.join()
    proc.stderr.close()
    return rc, b"".join(tail).decode("utf-8", "replace")


def _reaped(path: Path) -> tuple[str, int] | None:
    """What reaper.py wrote: the command's own status when perf did not reap it."""
    try:
        kind, value = path.read_text().split()
        return kind, int(value)
    except (OSError, ValueError):
        return None


def _exit_status(rc: int, err: str, argv0: str, reaped: tuple[str, int] | None = None) -> int:
    """perf stat returns the command's exit code, and 0 when a signal ended it after
    printing psignal()'s ``ARGV0: DESCRIPTION``: the shell's 128 + N for that.  Where
    perf did not reap the command, the reaper did (``reaped``), and that is the status."""
    if reaped is not None:
        kind, value = reaped
        return 128 + value if kind == "signal" else value
    if rc != 0:
        return rc
    last = [ln for ln in err.splitlines() if ln.strip()][-1:] or [""]
    for sig in signal.Signals:
        desc = signal.strsignal(sig)
        if desc and last[0] in (f"{argv0}: {desc}", f"{Path(argv0).name}: {desc}"):
            return 128 + int(sig)
    return 0


def workload(perf_bin: str, rec: Path) -> tuple[list[int], str | None]:
    """The command's pids (perf stat's first child and its descendants) and the time
    of its exec, from perf's task events (no samples: --pid of none)."""
    lines = subprocess.run(
        [perf_bin, "script", "-i", str(rec), "--ns", "--show-task-events", "-F", "pid,tid,time",
         "--pid", "2147483647"],
        capture_output=True, text=True, check=False,
    ).stdout.splitlines()  # fmt: skip
    stat_pid: int | None = None
    children: dict[int, list[int]] = {}
    execs: dict[int, str] = {}
    for ln in lines:
        m = _TASK_RE.match(ln)
        if m is None:
            continue
        pid, kind = int(m.group(1)), m.group(4)
        if kind == "COMM exec":
            if stat_pid is None:
                stat_pid = pid
            execs.setdefault(pid, m.group(3))
        elif m.group(5) is not None and int(m.group(5)) != int(m.group(7)):
            children.setdefault(int(m.group(7)), []).append(int(m.group(5)))
    if stat_pid is None or not children.get(stat_pid):
        return [], None
    first = children[stat_pid][0]
    pids, todo = [], [first]
    while todo:
        p = todo.pop()
        if p not in pids:
            pids.append(p)
            todo += children.get(p, [])
    return sorted(pids), execs.get(first)


def render(perf_bin: str, rec: Path, text: Path, command: list[str], status: int) -> None:
    """trace.txt: the capture's header, then perf script of the command's processes."""
    pids, since = workload(perf_bin, rec)
    lost = lost_samples(perf_bin, rec)
    header = [
        "# ========",
        "# captured by : spftrace capture",
        f"# hostname : {socket.gethostname()}",
        f"# os release : {os.uname().release}",
        f"# cmdline : {shlex.join(command)}",
        f"# exit status : {status}",
    ]
    if lost is not None:
        header.append("# samples lost : " + " ".join(f"{k}={v}" for k, v in lost.items()))
    header.append("# ========")
    args = [perf_bin, "script", "-i", str(rec), "--ns", "--show-lost-events", "-F", SCRIPT_FIELDS]
    if pids:
        args += ["--pid", ",".join(map(str, pids))]
    if since:
        args += ["--time", f"{since},"]
    with text.open("w") as f:
        f.write("\n".join(header) + "\n")
        f.flush()
        done = subprocess.run(args, stdout=f, stderr=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        msg = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise SpftraceError(f"perf script could not render {rec}: {msg}")


def lost_samples(perf_bin: str, rec: Path) -> dict[str, int] | None:
    """Per event, the samples the recording lost (perf report --stats LOST_SAMPLES)."""
    out = subprocess.run(
        [perf_bin, "report", "-i", str(rec), "--stats"], capture_output=True, text=True,
        check=False,
    ).stdout  # fmt: skip
    lost: dict[str, int] = {}
    event = None
    for ln in out.splitlines():
        if ln.endswith(" stats:") and not ln.startswith("Aggregated"):
            event = ln[: -len(" stats:")].strip()
            lost.setdefault(event, 0)
        m = re.match(r"\s+LOST_SAMPLES events:\s+(\d+)", ln)
        if m and event is not None:
            lost[event] += int(m.group(1))
    return lost or None
