"""Trace-level analysis: who fell back, where, when, and who held the lock.

Everything is SQL over the ``events`` view (DuckDB streams the Parquet files, so
tens of millions of events need no more memory than the result).  Functions
return plain data (dicts and lists); renderers format it.

Per-VMA-lock kernels have no fallback tracepoint: their user faults are
classified by analysis/vmalock.py from the mmap_lock events that follow them
(docs/per-vma-lock.md), exactly when those events carry kernel callchains.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..kernel import FAULT_USER
from ..kernel import MMAP_LOCK_ACQUIRED as ACQ
from ..kernel import MMAP_LOCK_START as START
from ..kernel import SPF_EVENT_LIKE as SPF
from ..kernel import VMA_CHANGERS as CHANGERS
from . import vmalock
from . import vmalock_names as N
from .sources import SourceTotals

if TYPE_CHECKING:
    import duckdb


@dataclass
class Kallsyms:
    """A /proc/kallsyms snapshot, for naming kernel call sites."""

    addrs: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path) -> Kallsyms:
        pairs = []
        for line in Path(path).read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[1].lower() in ("t", "w"):
                try:
                    addr = int(parts[0], 16)
                except ValueError:
                    continue
                if addr:
                    pairs.append((addr, parts[2]))
        pairs.sort()
        return cls([a for a, _ in pairs], [n for _, n in pairs])

    def name(self, addr: int | None) -> str | None:
        if addr is None or not self.addrs:
            return None
        i = bisect.bisect_right(self.addrs, addr) - 1
        if i < 0:
            return None
        return f"{self.names[i]}+0x{addr - self.addrs[i]:x}"


def has_events(con: duckdb.DuckDBPyConnection, run: str) -> bool:
    row = con.execute("SELECT count(*) FROM events WHERE run = ?", [run]).fetchone()
    return bool(row and row[0])


def trace_totals(
    con: duckdb.DuckDBPyConnection, run: str, kallsyms: Kallsyms | None = None
) -> SourceTotals | None:
    """The trace's own view: fallbacks per reason; on per-VMA-lock kernels, the
    classification of its user faults (vmalock.py: exact with kernel callchains, a
    range without) and the numbers reconciliation needs."""
    if not has_events(con, run):
        return None
    rows = dict(con.execute(
        "SELECT event, count(*) FROM events WHERE run = ? GROUP BY event", [run]
    ).fetchall())  # fmt: skip
    return totals_from(
        rows,
        lambda: vmalock.classify(con, run, kallsyms),
        lambda: _fault_origins(con, run),
        lost_info(con, run),
    )


def totals_from(
    rows: dict[str, int],
    classify: Callable[[], dict[str, Any]],
    origins: Callable[[], dict[str, float]],
    lost: dict[str, Any],
) -> SourceTotals:
    """The trace's view from its event counts; ``classify`` and ``origins`` are called
    only on per-VMA-lock traces (DuckDB here, Spark in fleet/ compute them)."""
    s = SourceTotals("trace")
    spf = {
        k[len("pagefault:") :]: float(v) for k, v in rows.items() if k.startswith("pagefault:spf_")
    }
    if spf:
        s.fallbacks = spf
        s.kernel_model = "spf"
    if rows.get(FAULT_USER):
        s.values["user_faults"] = float(rows[FAULT_USER])
        s.values["kernel_faults"] = float(rows.get(N.FAULT_KERNEL, 0))
        if needs_classify(rows):
            pv = classify()
            s.detail["per_vma_lock"] = pv  # the report section reuses it
            s.faults = float(pv["faults"] + pv["kernel_faults"])
            if pv["exact"]:
                s.speculative = float(pv["classes"].get(N.SUCCESS, 0))
                s.fallbacks = {k: float(pv["classes"].get(k, 0)) for k in N.FALLBACK_CLASSES}
            s.kernel_model = "per-vma-lock"
            s.values.update(origins())
    s.detail["lost"] = lost
    if lost["count"] or lost["chunks"]:
        s.notes.append(f"the trace lost {lost_text(lost)}: tracepoint counts are lower "
                       "than the counters'.")  # fmt: skip
    return s


def needs_classify(rows: dict[str, int]) -> bool:
    """A per-VMA-lock trace, whose user faults vmalock.py classifies: user faults and
    mmap_lock events, no pagefault:spf_* events (``rows``: event -> count)."""
    spf = any(k.startswith("pagefault:spf_") and v for k, v in rows.items())
    return bool(rows.get(FAULT_USER)) and not spf and bool(rows.get(START) or rows.get(ACQ))


def _fault_origins(con: duckdb.DuckDBPyConnection, run: str) -> dict[str, float]:
    """Trace faults no per-process page-faults counter counts: faults on kernel
    addresses (x86 counts PERF_COUNT_SW_PAGE_FAULTS in do_user_addr_fault only) and
    faults of perf itself (comm perf or perf-exec)."""
    row = con.execute(
        f"""SELECT count(*) FILTER (WHERE event = '{N.FAULT_KERNEL}'
                                    AND address >= 18446603336221196288::UBIGINT),
                   count(*) FILTER (WHERE comm IN ('perf', 'perf-exec'))
            FROM events WHERE run = ? AND event IN ('{FAULT_USER}', '{N.FAULT_KERNEL}')""",
        [run],
    ).fetchone()
    kaddr, perf = row or (0, 0)
    return {"kernel_address_faults": float(kaddr), "perf_own_faults": float(perf)}


#: ingest statistics of events a trace did not keep, most exact first
LOST_STATS = ("samples_lost", "events_lost", "samples_lost_approx", "events_dropped")


def lost_info(con: duckdb.DuckDBPyConnection, run: str) -> dict[str, Any]:
    """What the trace lost: ``count`` the best figure (None when only chunks are
    known), ``source`` the statistic it came from, ``chunks`` perf's loss records."""
    stats = dict(con.execute(
        "SELECT name, sum(value) FROM stats WHERE run = ? AND (name IN "
        "('samples_lost', 'events_lost', 'samples_lost_approx', 'events_dropped', "
        "'chunks_lost', 'events_lost_ftrace') OR name LIKE 'samples_lost:%') GROUP BY name",
        [run],
    ).fetchall())  # fmt: skip
    return lost_from_stats(stats)


def lost_from_stats(stats: dict[str, Any]) -> dict[str, Any]:
    """``lost_info`` from the run's summed loss statistics (name -> value)."""
    by_event = {
        k.split(":", 1)[1]: int(v) for k, v in stats.items() if k.startswith("samples_lost:")
    }
    count, source = None, None
    if stats.get("samples_lost"):
        count, source = int(stats["samples_lost"]), "samples_lost"
    elif stats.get("events_lost") or stats.get("samples_lost_approx"):
        a, b = int(stats.get("events_lost", 0)), int(stats.get("samples_lost_approx", 0))
        count, source = (a, "events_lost") if a >= b else (b, "samples_lost_approx")
    elif stats.get("events_dropped"):
        count, source = int(stats["events_dropped"]), "events_dropped"
    return {"count": count or 0, "source": source, "chunks": int(stats.get("chunks_lost", 0)),
            "approx": source == "samples_lost_approx", "by_event": by_event}  # fmt: skip


def lost_text(lost: dict[str, Any]) -> str:
    n = lost["count"]
    text = f"{'about ' if lost['approx'] else ''}{n:,} events" if n else "events"
    if lost["chunks"]:
        text += f" ({lost['chunks']:,} perf loss records)"
    return text


def lost_events(con: duckdb.DuckDBPyConnection, run: str) -> int:
    return int(lost_info(con, run)["count"])


def per_vma_lock(
    con: duckdb.DuckDBPyConnection, run: str, kallsyms: Kallsyms | None = None
) -> dict[str, Any]:
    """Classify user faults (VMA lock or mmap_lock) and pair mmap_lock holds."""
    return vmalock.classify(con, run, kallsyms)


def _r(v: float | None) -> float | None:
    return None if v is None else round(float(v), 3)


def breakdowns(
    con: duckdb.DuckDBPyConnection, run: str, kallsyms: Kallsyms | None = None
) -> dict[str, Any]:
    """Fallback events by reason x process/thread, VMA, call site and over time."""
    where = f"run = ? AND event LIKE '{SPF}'"
    by_thread = con.execute(
        f"""SELECT replace(event, 'pagefault:', '') AS reason, comm, tid, count(*) n
            FROM events WHERE {where} GROUP BY ALL ORDER BY n DESC, reason, tid LIMIT 20""",
        [run],
    ).fetchall()
    by_process = con.execute(
        f"""SELECT comm, coalesce(pid, -1), count(*) n, count(DISTINCT tid) threads,
                   mode(replace(event, 'pagefault:', ''))
            FROM events WHERE {where} GROUP BY ALL ORDER BY n DESC LIMIT 20""",
        [run],
    ).fetchall()
    by_vma = con.execute(
        f"""SELECT vm_start, vm_end, count(*) n, mode(replace(event, 'pagefault:', ''))
            FROM events WHERE {where} AND vm_start IS NOT NULL
            GROUP BY ALL ORDER BY n DESC LIMIT 20""",
        [run],
    ).fetchall()
    by_site = con.execute(
        f"""SELECT ip, replace(event, 'pagefault:', '') AS reason, count(*) n
            FROM events WHERE {where} GROUP BY ALL ORDER BY n DESC LIMIT 20""",
        [run],
    ).fetchall()
    return {
        "by_thread": [
            {"reason": r, "comm": c, "tid": t, "count": int(n)} for r, c, t, n in by_thread
        ],
        "by_process": [
            {
                "comm": c,
                "pid": None if p == -1 else p,
                "count": int(n),
                "threads": int(k),
                "top_reason": top,
            }
            for c, p, n, k, top in by_process
        ],
        "by_vma": [
            {
                "vm_start": f"0x{int(s):x}",
                "vm_end": f"0x{int(e):x}",
                "size_kib": (int(e) - int(s)) // 1024,
                "kind": vma_kind(int(s), int(e), top),
                "count": int(n),
                "top_reason": top,
            }
            for s, e, n, top in by_vma
        ],
        "by_call_site": [
            {
                "ip": None if ip is None else f"0x{int(ip):x}",
                "symbol": kallsyms.name(int(ip)) if kallsyms and ip is not None else None,
                "reason": r,
                "count": int(n),
            }
            for ip, r, n in by_site
        ],
        "timeline": timeline(con, run),
        "culprits": culprits(con, run),
    }


def vma_kind(start: int, end: int, reason: str | None) -> str:
    """A best guess from the range: the stack sits at the top of user space, the heap
    (brk) just above a small executable's text; notsup VMAs are mostly file-backed."""
    if start >= 0x7FF000000000:
        return "stack"
    if 0x550000000000 <= start < 0x570000000000:
        return "heap/exe"
    if reason == "spf_vma_notsup":
        return "file-backed or special"
    return "anonymous"


def timeline(con: duckdb.DuckDBPyConnection, run: str, buckets: int = 40) -> dict[str, Any]:
    """Fallbacks per interval (and faults, on per-VMA-lock traces)."""
    span = con.execute(
        "SELECT min(ts), max(ts) FROM events WHERE run = ? AND ts IS NOT NULL", [run]
    ).fetchone()
    if not span or span[0] is None or span[0] == span[1]:
        return {"interval_ns": None, "start_ns": None, "series": {}}
    lo, hi = int(span[0]), int(span[1])
    width = max(1, -(-(hi - lo + 1) // buckets))
    rows = con.execute(
        f"""SELECT event, (ts - ?) // ? AS b, count(*) FROM events
            WHERE run = ? AND (event LIKE '{SPF}' OR event = '{FAULT_USER}')
            GROUP BY ALL ORDER BY b""",
        [lo, width, run],
    ).fetchall()
    series: dict[str, list[int]] = {}
    for event, b, n in rows:
        name = event.replace("pagefault:", "")
        series.setdefault(name, [0] * buckets)[min(int(b), buckets - 1)] += int(n)
    return {"interval_ns": width, "start_ns": lo, "series": series}


def culprits(
    con: duckdb.DuckDBPyConnection, run: str, window_us: float = 1000.0
) -> list[dict[str, Any]]:
    """For spf_vma_changed: which thread changed the address space last before each
    fallback (an mmap_lock write acquisition or an mmap/munmap/mprotect... syscall by
    another thread of the same process, at most ``window_us`` earlier), ranked."""
    changers = "', '".join(CHANGERS)
    window = int(window_us * 1000)
    # the writers that can match: of a process that fell back, from ``window`` before
    # its first fallback (an earlier one is too early for every fallback) to its last;
    # without this the join sorted every write acquisition of the run (533 MB at 50M
    # events, for a per-VMA-lock trace that has no fallback events at all)
    spans = con.execute(
        """SELECT coalesce(CAST(pid AS VARCHAR), comm) AS proc, min(ts), max(ts) FROM events
           WHERE run = ? AND event = 'pagefault:spf_vma_changed' GROUP BY ALL""",
        [run],
    ).fetchall()
    if not spans:
        return []
    rows = con.execute(
        f"""
        WITH f AS (
            SELECT tid, ts, coalesce(CAST(pid AS VARCHAR), comm) AS proc FROM events
            WHERE run = ? AND event = 'pagefault:spf_vma_changed'
        ),
        spans AS (
            SELECT proc, min(ts) - ? AS lo, max(ts) AS hi FROM f GROUP BY proc
        ),
        w AS (
            SELECT * FROM (
                SELECT tid AS wtid, comm AS wcomm, ts AS wts,
                       coalesce(CAST(pid AS VARCHAR), comm) AS proc,
                       CASE WHEN event = '{ACQ}' THEN 'mmap_lock write'
                            ELSE replace(event, 'syscalls:sys_enter_', '') END AS op
                FROM events
                WHERE run = ? AND ((event = '{ACQ}' AND write) OR event IN ('{changers}'))
            ) AS x SEMI JOIN spans ON spans.proc = x.proc AND x.wts BETWEEN spans.lo AND spans.hi
        ),
        j AS (
            SELECT f.tid, f.ts, w.wtid, w.wcomm, w.op, w.wts
            FROM f ASOF JOIN w ON f.proc = w.proc AND f.ts >= w.wts
        )
        SELECT wcomm, wtid, op, count(*) AS fallbacks FROM j
        WHERE wtid <> tid AND ts - wts <= ?
        GROUP BY ALL ORDER BY fallbacks DESC, wtid LIMIT 10
        """,
        [run, window, run, window],
    ).fetchall()
    return [{"comm": c, "tid": t, "op": op, "fallbacks": int(n)} for c, t, op, n in rows]
