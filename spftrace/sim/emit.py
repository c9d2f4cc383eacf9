"""Write a simulated run in exactly the text formats the real tools print.

perf stat (perf 6.1 human layout, or ``-x,`` CSV, or ``-j`` JSON) for
``-e faults,spf,pagefault:*`` on SPF kernels, ``-e faults,exceptions:page_fault_user,
mmap_lock:*`` on per-VMA-lock kernels and ``-e faults`` on base; perf script and
ftrace text of the same tracepoints; /proc/vmstat snapshots every
``snapshot_interval_us`` in LKP's ``time: <epoch>`` layout, on a real key set
(vmstat-template.txt, captured on this project's machine) whose cumulative
counters advance with the run.  Counts agree across the files by construction:
every trace record is one counted event.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from . import vmalock_trace
from .model import SPF_REASONS, Result
from .workloads import Workload

#: kernel call sites (``_RET_IP_``) of each abort, in a 4.17-era x86_64 layout
CALL_SITES = {
    "spf_vma_changed": 0xFFFFFFFF8121B3C4,
    "spf_vma_noanon": 0xFFFFFFFF8121AF71,
    "spf_vma_notsup": 0xFFFFFFFF8121AF2A,
    "spf_vma_access": 0xFFFFFFFF8121B012,
    "spf_pmd_changed": 0xFFFFFFFF8121B5B8,
    "spf_pte_lock": 0xFFFFFFFF8121B4E0,
}
EPOCH_S = 1_764_000_000  # wall-clock second of the simulated start (vmstat time: lines)
BOOT_S = 5_000  # trace clock (seconds since boot) at the simulated start
MM_PTR = 0xFFFF888104401F40
TID0 = 4000


def spf_events(w: Workload) -> list[str]:
    names = [
        "spf_vma_changed",
        "spf_vma_noanon",
        "spf_vma_notsup",
        "spf_vma_access",
        "spf_pmd_changed",
    ]
    if w.pte_lock:
        names.insert(0, "spf_pte_lock")
    return names


def counts(r: Result, w: Workload) -> list[tuple[str, int]]:
    """perf stat's counter lines, in the order perf prints them."""
    if r.kernel == "spf":
        rows = [("faults", r.faults), ("spf", r.speculative)]
        rows += [(f"pagefault:{n}", r.fallbacks.get(n, 0)) for n in spf_events(w)]
        return rows
    if r.kernel == "per-vma-lock":
        fallbacks = r.vma_lock["abort"] + r.vma_lock["retry"]
        return [
            ("faults", r.faults),
            ("exceptions:page_fault_user", r.faults),
            ("mmap_lock:mmap_lock_start_locking", fallbacks + r.writes),
            ("mmap_lock:mmap_lock_acquire_returned", fallbacks + r.writes),
            ("mmap_lock:mmap_lock_released", fallbacks + r.writes),
        ]
    return [("faults", r.faults)]


def command(w: Workload) -> str:
    return w.command.format(threads=w.threads)


def perf_stat(r: Result, w: Workload, fmt: str = "human") -> str:
    rows = counts(r, w)
    run_ns = int(r.duration_us * 1000)
    if fmt == "csv":
        return "".join(f"{v},,{e},{run_ns},100.00,,\n" for e, v in rows)
    if fmt == "json":
        out = []
        for e, v in rows:
            obj = {
                "counter-value": f"{v:.6f}", "unit": "", "event": e, "event-runtime": run_ns,
                "pcnt-running": 100.00, "metric-value": 0.0, "metric-unit": "(null)",
            }  # fmt: skip
            text = json.dumps(obj, separators=(", ", " : "))
            out.append(text.replace('"pcnt-running" : 100.0', '"pcnt-running" : 100.00')
                       .replace('"metric-value" : 0.0,', '"metric-value" : 0.000000,'))  # fmt: skip
        return "\n".join(out) + "\n"
    lines = []
    if w.name == "ebizzy":  # ebizzy's own result on stdout, mixed in by `2>&1`
        lines.append(f"{round(r.ops_per_s)} records/s")
    lines += ["", f" Performance counter stats for '{command(w)}':", ""]
    for e, v in rows:
        lines.append(f"{v:>18}      {e:<32}" + " " * 35)  # 6.1: value, unit, name, metric
    elapsed = r.duration_us / 1e6
    busy = r.faults * w.fault_us / 1e6
    lines += [
        "",
        f" {elapsed:17.9f} seconds time elapsed",
        "",
        f" {elapsed * w.threads * 0.7:17.9f} seconds user",
        f" {busy + r.lock_wait_us / 1e6 * 0.1:17.9f} seconds sys",
        "",
        "",
    ]
    return "\n".join(lines)


# --- tracepoint records -----------------------------------------------------------------


def _stamp(t_us: float, digits: int = 6) -> str:
    ns = round(t_us * 1000) + BOOT_S * 1_000_000_000
    sec, frac = divmod(ns, 1_000_000_000)
    return f"{sec}.{frac:09d}"[: len(str(sec)) + 1 + digits]


def records(
    r: Result, w: Workload, syscalls: bool = False
) -> Iterator[tuple[float, int, str, str]]:
    """(time_us, thread, bare event name, payload) for every traced event, in time order.
    With ``syscalls``, the mmap/munmap entries of an SPF run are traced too (as one
    would record them with -e 'syscalls:sys_enter_m*map' to find who changed the VMA)."""
    for t, th, name, payload, _frames in stacked_records(r, w, syscalls):
        yield t, th, name, payload


def stacked_records(
    r: Result, w: Workload, syscalls: bool = False
) -> list[tuple[float, int, str, str, list[str] | None]]:
    """``records`` with each event's kernel callchain (per-VMA-lock mmap_lock events)."""
    if r.kernel == "per-vma-lock":  # the 6.18 shapes, with callchains (vmalock_trace.py)
        recs = vmalock_trace.records(r, w, MM_PTR)
        order = sorted(range(len(recs)), key=lambda i: (recs[i][0], recs[i][1], i))
        return [recs[i] for i in order]  # a thread's events keep their order at equal times
    out: list[tuple[float, int, str, str]] = []
    if r.kernel == "spf":
        for s in r.samples:
            payload = (
                f"ip:{CALL_SITES[s.reason]:x} vma:{s.vm_start:x}-{s.vm_end:x} address:{s.address:x}"
            )
            out.append((s.t_us, s.thread, s.reason, payload))
        if syscalls:
            size = w.chunk_pages * 4096
            for wr in r.write_log:
                name = f"sys_enter_{wr.op}"
                if wr.op == "mmap":
                    payload = (
                        f"addr: 0x00000000, len: 0x{size:08x}, prot: 0x00000003, "
                        "flags: 0x00000022, fd: 0xffffffff, off: 0x00000000"
                    )
                else:
                    payload = f"addr: 0x{wr.vm_start:08x}, len: 0x{size:08x}"
                out.append((wr.t_request, wr.thread, name, payload))
    out.sort(key=lambda e: (e[0], e[1], e[2]))
    return [(*e, None) for e in out]


SYSTEMS = {
    "page_fault_user": "exceptions",
    "page_fault_kernel": "exceptions",
    "sys_enter_mmap": "syscalls",
    "sys_enter_munmap": "syscalls",
    **dict.fromkeys(SPF_REASONS, "pagefault"),
}


def _qualified(name: str) -> str:
    return f"{SYSTEMS.get(name, 'mmap_lock')}:{name}"


def perf_script(r: Result, w: Workload) -> str:
    recs = stacked_records(r, w, syscalls=True)
    width = max((len(_qualified(n)) for _t, _th, n, _p, _f in recs), default=0)
    lines = []
    for t, th, name, payload, frames in recs:
        comm = w.comm[:15]
        lines.append(
            f"{comm:>16} {TID0 + th:7d} [{r.cpu_of_thread[th]:03d}] {_stamp(t):>12}: "
            f"{_qualified(name):>{width}}: {payload}"
        )
        if frames is not None:  # perf script: a kernel callchain, then a blank line
            lines += [f"\t{_frame_ip(f):16x} {f}+0x{_frame_off(f):x} ([kernel.kallsyms])"
                      for f in frames] + [""]  # fmt: skip
    return "\n".join(lines) + ("\n" if lines else "")


def _frame_ip(sym: str) -> int:
    """A stable kernel address per symbol (the same in every run)."""
    return 0xFFFFFFFF81000000 + int(sum(ord(ch) * 131**i for i, ch in enumerate(sym)) % 0x1000000)


def _frame_off(sym: str) -> int:
    return len(sym) * 4


def ftrace(r: Result, w: Workload) -> str:
    recs = list(records(r, w))
    head = [
        "# tracer: nop",
        "#",
        f"# entries-in-buffer/entries-written: {len(recs)}/{len(recs)}   #P:{w.cpus}",
        "#",
        "#                                _-----=> irqs-off/BH-disabled",
        "#                               / _----=> need-resched",
        "#                              | / _---=> hardirq/softirq",
        "#                              || / _--=> preempt-depth",
        "#                              ||| / _-=> migrate-disable",
        "#                              |||| /     delay",
        "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION",
        "#              | |         |   |||||     |         |",
    ]
    lines = []
    for t, th, name, payload in recs:
        if name.startswith("mmap_lock"):  # %p prints hashed in ftrace text
            payload = payload.replace(f"0x{MM_PTR:x}", f"{(MM_PTR * 2654435761) & 0xFFFFFFFF:016x}")
        comm = w.comm[:15]
        lines.append(
            f"{comm:>16}-{TID0 + th:<7d} [{r.cpu_of_thread[th]:03d}] d..1. {_stamp(t):>12}: "
            f"{name}: {payload}"
        )
    return "\n".join(head + lines) + "\n"


# --- /proc/vmstat -------------------------------------------------------------------


def _template() -> list[tuple[str, int]]:
    text = Path(__file__).with_name("vmstat-template.txt").read_text()
    return [(k, int(v)) for k, v in (ln.split() for ln in text.splitlines() if ln.strip())]


def vmstat_series(r: Result, w: Workload) -> str:
    """Snapshots every ``snapshot_interval_us`` plus one at the end: LKP's layout."""
    base = _template()
    keys = [k for k, _ in base]
    if r.kernel == "per-vma-lock":
        at = keys.index("nr_unstable") if "nr_unstable" in keys else len(keys)
        for i, name in enumerate(
            ("vma_lock_success", "vma_lock_abort", "vma_lock_retry", "vma_lock_miss")
        ):
            base.insert(at + i, (name, 0))
    if r.kernel == "spf":
        at = keys.index("nr_unstable") if "nr_unstable" in keys else len(keys)
        base.insert(at, ("speculative_pgfault", 0))
    tl = np.array(list(r.timeline), dtype=float).reshape(-1, 7)
    if len(tl):
        tl[:, 1:] = np.maximum.accumulate(tl[:, 1:], axis=0)
    vl = r.vma_lock
    final = (
        r.duration_us, r.faults, r.speculative, vl.get("success", 0), vl.get("abort", 0),
        vl.get("retry", 0), vl.get("miss", 0),
    )  # fmt: skip
    step = max(w.snapshot_interval_us, 1.0)
    times = [*np.arange(0.0, r.duration_us, step).tolist(), r.duration_us]
    out = []
    for t in times:
        if t >= r.duration_us:
            cur = final
        elif len(tl) and (tl[:, 0] <= t).any():
            cur = tuple(tl[tl[:, 0] <= t][-1])
        else:
            cur = (t, 0, 0, 0, 0, 0, 0)
        faults, spec, ok, abort, retry, miss = (int(x) for x in cur[1:])
        delta = {
            "pgfault": faults,
            "pgalloc_normal": faults,
            "pgfree": faults,
            "speculative_pgfault": spec,
            "vma_lock_success": ok,
            "vma_lock_abort": abort,
            "vma_lock_retry": retry,
            "vma_lock_miss": miss,
        }
        out.append(f"time: {EPOCH_S + int(t // 1_000_000)}")
        out += [f"{k} {v + delta.get(k, 0)}" for k, v in base]
    return "\n".join(out) + "\n"


FILES = {
    "perf-stat.txt": lambda r, w: perf_stat(r, w, "human"),
    "perf-stat.csv": lambda r, w: perf_stat(r, w, "csv"),
    "perf-stat.json": lambda r, w: perf_stat(r, w, "json"),
    "perf-script.txt": perf_script,
    "ftrace.txt": ftrace,
    "vmstat.txt": vmstat_series,
}
DEFAULT_FILES = ("perf-stat.txt", "perf-script.txt", "vmstat.txt")


def write_all(
    r: Result, w: Workload, out: Path, names: tuple[str, ...] = DEFAULT_FILES
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        path = out / name
        path.write_text(FILES[name](r, w))
        written.append(path)
    return written


def describe(r: Result) -> dict[str, Any]:
    return {
        "workload": r.workload, "kernel": r.kernel, "threads": r.threads, "cpus": r.cpus,
        "seed": r.seed, "faults": r.faults, "speculative": r.speculative,
        "not_attempted": r.not_attempted, "fallbacks": r.fallbacks, "vma_lock": r.vma_lock,
        "faults_per_s": round(r.faults_per_s), "ops_per_s": round(r.ops_per_s),
        "fault_latency_us": round(r.fault_latency_us, 3), "writes": r.writes,
        "time_share": {k: round(v, 4) for k, v in r.time_shares().items()},
        "simulated_us": round(r.duration_us, 1),
    }  # fmt: skip


# --- will-it-scale ----------------------------------------------------------------------

WIS_DESCRIPTIONS = {
    "page_fault1": "Anonymous memory page fault",
    "page_fault2": "Separate file private mapping page fault",
    "page_fault3": "Separate file shared mapping page fault",
    "malloc1": "malloc/free of 128MB",
}


def will_it_scale_csv(w: Workload, kernel: str, seed: int) -> str:
    """runtest.py's CSV: per task count, ops/s in processes mode (one mm per task)
    and threads mode (one shared mm), idle %, and ``linear`` (one task x tasks)."""
    from dataclasses import replace

    from .engine import simulate

    def ops(tasks: int, per_mm: int) -> int:
        ww = replace(w, threads=tasks, cpus=w.cpus, threads_per_mm=per_mm)
        return round(simulate(ww, kernel, seed=seed).ops_per_s)

    lines = ["tasks,processes,processes_idle,threads,threads_idle,linear", "0,0,100,0,100,0"]
    counts = sorted({1, max(1, w.cpus // 2), w.cpus})
    single = ops(1, 1)
    for n in counts:
        idle = max(0.0, 100.0 * (1 - n / w.cpus))
        lines.append(f"{n},{ops(n, 1)},{idle:0.2f},{ops(n, n)},{idle:0.2f},{single * n}")
    return "\n".join(lines) + "\n"


def will_it_scale_harness(r: Result, w: Workload, seconds: int = 5) -> str:
    """The test binary's own output: per-second min/max/total over tasks, then the
    average, with each second's counts drawn around the simulated per-task rates."""
    rng = np.random.default_rng(r.seed + 11)
    rates = np.array(r.ops_by_thread, dtype=float) / (r.duration_us / 1e6)
    lines = [f"testcase:{WIS_DESCRIPTIONS.get(w.name, w.description.split(':')[0])}", "warmup"]
    totals = []
    for phase in ("warmup", "measurement"):
        if phase == "measurement":
            lines.append("measurement")
        for _ in range(seconds):
            per = np.maximum(0, np.round(rates * rng.normal(1.0, 0.02, len(rates)))).astype(int)
            lines.append(f"min:{per.min()} max:{per.max()} total:{per.sum()}")
            if phase == "measurement":
                totals.append(int(per.sum()))
    lines.append(f"average:{round(sum(totals) / len(totals))}")
    return "\n".join(lines) + "\n"
