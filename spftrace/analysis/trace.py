"""Trace-level analysis: who fell back, where, when, and who held the lock.

Everything is SQL over the ``events`` view (DuckDB streams the Parquet files, so
tens of millions of events need no more memory than the result).  Functions
return plain data (dicts and lists); renderers format it.

Per-VMA-lock kernels have no fallback tracepoint, so a user fault
(``exceptions:page_fault_user``) is classified as *fell back* when the same
thread starts taking mmap_lock for read before its next fault (x86
``do_user_addr_fault``: ``lock_vma_under_rcu`` failed or returned
``VM_FAULT_RETRY``, then ``lock_mm_and_find_vma``).  A read acquisition by the
same thread for another reason in that window would be counted too; the report
says so.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..kernel import FAULT_USER
from ..kernel import MMAP_LOCK_ACQUIRED as ACQ
from ..kernel import MMAP_LOCK_RELEASED as REL
from ..kernel import MMAP_LOCK_START as START
from ..kernel import SPF_EVENT_LIKE as SPF
from ..kernel import VMA_CHANGERS as CHANGERS
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


def trace_totals(con: duckdb.DuckDBPyConnection, run: str) -> SourceTotals | None:
    """The trace's own view: fallbacks per reason; on per-VMA-lock kernels, user
    faults and how many of them fell back to mmap_lock."""
    if not has_events(con, run):
        return None
    rows = dict(con.execute(
        "SELECT event, count(*) FROM events WHERE run = ? GROUP BY event", [run]
    ).fetchall())  # fmt: skip
    s = SourceTotals("trace")
    spf = {
        k[len("pagefault:") :]: float(v) for k, v in rows.items() if k.startswith("pagefault:spf_")
    }
    if spf:
        s.fallbacks = spf
        s.kernel_model = "spf"
    if rows.get(FAULT_USER):
        s.values["user_faults"] = float(rows[FAULT_USER])
        if not spf and (rows.get(START) or rows.get(ACQ)):
            pv = per_vma_lock(con, run)
            s.detail["per_vma_lock"] = pv  # the report section reuses it
            s.faults = float(pv["faults"])
            s.speculative = float(pv["faults"] - pv["fell_back"])
            s.fallbacks = {"mmap_lock_fallback": float(pv["fell_back"])}
            s.kernel_model = "per-vma-lock"
    lost = lost_events(con, run)
    if lost:
        s.notes.append(
            f"the trace lost {lost:,} events (ring-buffer overflow or perf chunks lost): "
            "tracepoint counts are lower than the counters'."
        )
    return s


def lost_events(con: duckdb.DuckDBPyConnection, run: str) -> int:
    row = con.execute(
        "SELECT coalesce(sum(value), 0) FROM stats WHERE run = ? AND name IN "
        "('events_dropped', 'events_lost', 'chunks_lost')",
        [run],
    ).fetchone()
    return int(row[0]) if row else 0


def per_vma_lock(con: duckdb.DuckDBPyConnection, run: str) -> dict[str, Any]:
    """Classify user faults (VMA lock or mmap_lock) and measure mmap_lock waits/holds."""
    fault_rows = con.execute(
        f"""
        WITH ev AS (
            SELECT tid, ts, line_no, event, write FROM events
            WHERE run = ? AND (event = '{FAULT_USER}' OR (event = '{START}' AND NOT write))
        ),
        seq AS (
            SELECT *, lead(event) OVER w AS next_event
            FROM ev WINDOW w AS (PARTITION BY tid ORDER BY ts, line_no)
        )
        SELECT count(*) FILTER (WHERE event = '{FAULT_USER}'),
               count(*) FILTER (WHERE event = '{FAULT_USER}' AND next_event = '{START}')
        FROM seq
        """,
        [run],
    ).fetchone()
    faults, fell_back = (int(x) for x in (fault_rows or (0, 0)))
    waits = _pair_durations(con, run, START, ACQ)
    holds = _pair_durations(con, run, ACQ, REL, only_success=True)
    holders = con.execute(
        f"""
        WITH ev AS (
            SELECT tid, comm, ts, line_no, event, write, success FROM events
            WHERE run = ? AND event IN ('{ACQ}', '{REL}')
        ),
        seq AS (
            SELECT *, lead(event) OVER w AS nxt, lead(ts) OVER w AS nts
            FROM ev WINDOW w AS (PARTITION BY tid ORDER BY ts, line_no)
        )
        SELECT comm, tid, count(*) AS holds, sum(nts - ts) / 1e3 AS held_us,
               max(nts - ts) / 1e3 AS longest_us
        FROM seq WHERE event = '{ACQ}' AND nxt = '{REL}' AND write AND coalesce(success, true)
        GROUP BY comm, tid ORDER BY held_us DESC, tid LIMIT 10
        """,
        [run],
    ).fetchall()
    return {
        "faults": faults,
        "fell_back": fell_back,
        "under_vma_lock": faults - fell_back,
        "fell_back_pct": round(100.0 * fell_back / faults, 2) if faults else None,
        "wait_us": waits,
        "hold_us": holds,
        "top_write_holders": [
            {
                "comm": c,
                "tid": t,
                "holds": int(n),
                "held_us": round(float(h), 3),
                "longest_us": round(float(m), 3),
            }
            for c, t, n, h, m in holders
        ],
        "caveat": "a fault counts as fallen back when its thread takes mmap_lock for read "
        "before its next fault",
    }


def _pair_durations(
    con: duckdb.DuckDBPyConnection, run: str, first: str, second: str, only_success: bool = False
) -> dict[str, Any]:
    """Distribution (us) of ``first`` -> next ``second`` of the same thread."""
    cond = "AND coalesce(success, true)" if only_success else ""
    row = con.execute(
        f"""
        WITH ev AS (
            SELECT tid, ts, line_no, event, write, success FROM events
            WHERE run = ? AND event IN ('{first}', '{second}')
        ),
        seq AS (
            SELECT *, lead(event) OVER w AS nxt, lead(ts) OVER w AS nts
            FROM ev WINDOW w AS (PARTITION BY tid ORDER BY ts, line_no)
        ),
        d AS (SELECT (nts - ts) / 1e3 AS us, write FROM seq
              WHERE event = '{first}' AND nxt = '{second}' {cond})
        SELECT count(*), quantile_cont(us, 0.5), quantile_cont(us, 0.9),
               quantile_cont(us, 0.99), max(us), sum(us),
               count(*) FILTER (WHERE write), sum(us) FILTER (WHERE write),
               histogram(CASE WHEN us < 1 THEN '<1' WHEN us < 10 THEN '1-10'
                         WHEN us < 100 THEN '10-100' WHEN us < 1000 THEN '100-1000'
                         ELSE '>=1000' END)
        FROM d
        """,
        [run],
    ).fetchone()
    if not row or not row[0]:
        return {"count": 0}
    n, p50, p90, p99, mx, total, nw, tw, hist = row
    order = ["<1", "1-10", "10-100", "100-1000", ">=1000"]
    return {
        "count": int(n), "p50": _r(p50), "p90": _r(p90), "p99": _r(p99), "max": _r(mx),
        "total": _r(total), "write_count": int(nw or 0), "write_total": _r(tw),
        "histogram": {k: int((hist or {}).get(k, 0)) for k in order},
    }  # fmt: skip


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
    rows = con.execute(
        f"""
        WITH f AS (
            SELECT tid, ts, coalesce(CAST(pid AS VARCHAR), comm) AS proc FROM events
            WHERE run = ? AND event = 'pagefault:spf_vma_changed'
        ),
        w AS (
            SELECT tid AS wtid, comm AS wcomm, ts AS wts,
                   coalesce(CAST(pid AS VARCHAR), comm) AS proc,
                   CASE WHEN event = '{ACQ}' THEN 'mmap_lock write'
                        ELSE replace(event, 'syscalls:sys_enter_', '') END AS op
            FROM events
            WHERE run = ? AND ((event = '{ACQ}' AND write) OR event IN ('{changers}'))
        ),
        j AS (
            SELECT f.tid, f.ts, w.wtid, w.wcomm, w.op, w.wts
            FROM f ASOF JOIN w ON f.proc = w.proc AND f.ts >= w.wts
        )
        SELECT wcomm, wtid, op, count(*) AS fallbacks FROM j
        WHERE wtid <> tid AND ts - wts <= ?
        GROUP BY ALL ORDER BY fallbacks DESC, wtid LIMIT 10
        """,
        [run, run, int(window_us * 1000)],
    ).fetchall()
    return [{"comm": c, "tid": t, "op": op, "fallbacks": int(n)} for c, t, op, n in rows]
