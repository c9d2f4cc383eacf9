"""Per-VMA-lock classification of user faults and mmap_lock pairing, in one pass.

The rules are docs/per-vma-lock.md's: with kernel callchains every user fault is
classified exactly (sections 3); without them the fallback count is a range
(section 4); holds are paired per (thread, mm) with downgrades (section 5).

Why a stream: DuckDB scans the fault and mmap_lock events in file order, which is
each thread's time order (perf script, ftrace and trace-cmd print in time order),
and hands them over in Arrow batches; each batch is sorted by thread with numpy and
classified, and only each thread's open tail (its last fault window, and holds still
open) is carried into the next.  Memory is a batch, the tails and the running figures
(vmalock_stats.py: counts, not lists of every hold), whatever the run's size; no sort or
window over the whole run (which spilled).  Only an exact run keeps more: the intervals
of its write holds, waits and fallbacks, for the culprit search.  A run whose threads come
out of time order across batches is re-read sorted, a piece at a time (vmalock_order.py).

File order is asked for, not assumed: on several threads DuckDB hands over a scan of the
``events`` view (a semi-join on ``runs``) out of order, which sent every run to the whole
sort (peak RSS 1.3-1.9 GB at 50M events).  So the scan is one slice of lines at a time,
each sorted by DuckDB (a slice is small; its row groups are found from their statistics).

Why the stream checks its order: DuckDB does not always keep file order without ORDER
BY (the views' semi-join on ``runs``, several threads: row groups come swapped), and
taken as they come, events of equal timestamps (perf script prints microseconds) pair
differently run to run.  So the pass takes rows in one total order, (tid, ts, seq):
the stream is used only while seq strictly increases, else re-read in that order.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from . import vmalock_names as N
from . import vmalock_order
from .vmalock_pass import Acc, Unordered, process

if TYPE_CHECKING:
    import duckdb

BATCH_ROWS = 1 << 20
#: lines of an input per ordered slice: what DuckDB sorts at a time
SLICE_LINES = 1 << 19


def _frame_test(name: str, ips: list[int]) -> str:
    """SQL: the callchain has a frame named ``name`` (or at one of ``ips``)."""
    test = f"coalesce(list_contains(list_transform(callchain, lambda f: f.sym), '{name}'), false)"
    if ips:
        lits = ", ".join(f"{ip}::UBIGINT" for ip in ips)
        ips_of = "list_transform(callchain, lambda f: f.ip)"
        test += f" OR coalesce(list_has_any({ips_of}, [{lits}]), false)"
    return f"({test})"


def resolved_ips(con: duckdb.DuckDBPyConnection, run: str, kallsyms: Any) -> dict[str, list[int]]:
    """Frames without a symbol, named from a /proc/kallsyms copy (``--kallsyms``)."""
    out: dict[str, list[int]] = {N.LOCK_MM_AND_FIND_VMA: [], N.ANON_PREPARE: []}
    if kallsyms is None:
        return out
    rows = con.execute(
        """SELECT DISTINCT f.ip FROM (SELECT unnest(callchain) AS f FROM events
           WHERE run = ? AND event LIKE 'mmap_lock:%' AND callchain IS NOT NULL)
           WHERE f.sym IS NULL AND f.ip IS NOT NULL""",
        [run],
    ).fetchall()
    for (ip,) in rows:
        name = (kallsyms.name(int(ip)) or "").split("+0x")[0]
        if name in out:
            out[name].append(int(ip))
    return out


def classify(con: duckdb.DuckDBPyConnection, run: str, kallsyms: Any = None) -> dict[str, Any]:
    """The per-VMA-lock section of a run (see README ``per_vma_lock``)."""
    ips = resolved_ips(con, run, kallsyms)
    named = kallsyms is not None or _named(con, run)
    wrappers = ", ".join(f"'{w}'" for w in N.TRACE_WRAPPERS)
    syms = "list_transform(callchain, lambda f: f.sym)"
    sql = f"""
        SELECT tid, coalesce(ts, 0) AS ts, (input::BIGINT << 40) + line_no AS seq,
               CASE event WHEN '{N.FAULT_USER}' THEN 0 WHEN '{N.FAULT_KERNEL}' THEN 1
                          WHEN '{N.START}' THEN 2 WHEN '{N.ACQ}' THEN 3 ELSE 4 END::TINYINT AS k,
               coalesce(write, false) AS w, coalesce(success, true) AS ok,
               coalesce(mm, 0::UBIGINT) AS mm, callchain IS NOT NULL AS st,
               {_frame_test(N.LOCK_MM_AND_FIND_VMA, ips[N.LOCK_MM_AND_FIND_VMA])} AS lmfv,
               {_frame_test(N.ANON_PREPARE, ips[N.ANON_PREPARE])} AS anon,
               CASE WHEN event = '{N.ACQ}' AND write THEN
                    list_filter({syms}, lambda s: s IS NOT NULL AND s NOT IN ({wrappers}))[1]
               END AS site
        FROM events
        WHERE run = ? AND tid IS NOT NULL
          AND event IN ('{N.FAULT_USER}', '{N.FAULT_KERNEL}', '{N.START}', '{N.ACQ}', '{N.REL}')
    """
    cur = con.cursor()  # a stream of its own: the connection may hold a finished result
    try:
        # in file order each thread's events are in time order, so one streamed scan
        # needs no sort; DuckDB mostly keeps that order (duck.py), and process checks it
        try:
            acc = _stream_slices(cur, sql, run)
        except Unordered:  # several inputs, a source not by time, equal times out of order
            acc = _stream_sorted(cur, sql, run)
    finally:
        cur.close()
    comms = dict(
        con.execute(
            "SELECT tid, any_value(comm) FROM events WHERE run = ? AND tid IS NOT NULL "
            "GROUP BY tid",
            [run],
        ).fetchall()
    )
    return _section(acc, comms, named)


def _stream_sorted(cur: duckdb.DuckDBPyConnection, sql: str, run: str) -> Acc:
    """The rows in (tid, ts, seq) order: the file-order slices (input and line_no are
    never null, so they hold every row) sorted and merged on disk (vmalock_order.py)."""
    acc = Acc()
    rows = min(BATCH_ROWS, vmalock_order.BATCH_ROWS)
    batches = vmalock_order.batches(_slices(cur, sql, run, ordered=False), rows)
    try:
        process(batches, acc, file_order=False)
    finally:
        batches.close()
    return acc


def _stream_slices(cur: duckdb.DuckDBPyConnection, sql: str, run: str) -> Acc:
    """The rows in file order, one slice of lines at a time (each sorted by DuckDB)."""
    acc = Acc()
    batches = _slices(cur, sql, run)
    try:
        process(batches, acc)
    finally:
        batches.close()  # its reader, before the caller runs another query on ``cur``
    return acc


def _slices(
    cur: duckdb.DuckDBPyConnection, sql: str, run: str, *, ordered: bool = True
) -> Generator[Any, None, None]:
    spans = cur.execute(
        "SELECT input, min(line_no), max(line_no) FROM events WHERE run = ? "
        "AND input IS NOT NULL AND line_no IS NOT NULL GROUP BY input ORDER BY input",
        [run],
    ).fetchall()
    part = sql + " AND input = ? AND line_no BETWEEN ? AND ?" + (" ORDER BY seq" if ordered else "")
    for inp, lo, hi in spans:
        for a in range(int(lo), int(hi) + 1, SLICE_LINES):
            params = [run, inp, a, a + SLICE_LINES - 1]
            reader = cur.sql(part, params=params).to_arrow_reader(BATCH_ROWS)
            try:
                yield from reader
            finally:
                reader.close()


def _named(con: duckdb.DuckDBPyConnection, run: str) -> bool:
    """Whether the callchains name their frames (perf script -F ip alone does not)."""
    rows = con.execute(
        f"""SELECT 1 FROM events WHERE run = ? AND event IN ('{N.START}', '{N.ACQ}')
            AND callchain IS NOT NULL
            AND len(list_filter(callchain, lambda f: f.sym IS NOT NULL)) > 0 LIMIT 1""",
        [run],
    ).fetchall()
    return bool(rows)


def _section(acc: Acc, comms: dict[int, str], named: bool) -> dict[str, Any]:
    exact = acc.exact and named
    kernel_traced = acc.kernel_faults > 0
    classes = {k: int(v) for k, v in acc.classes.items()} if exact else {}
    fell = sum(classes.get(k, 0) for k in N.FALLBACK_CLASSES) if exact else None
    faults = acc.user_faults
    lo, hi = (
        (fell, fell) if exact else (acc.fell_back_min if kernel_traced else 0, acc.fell_back_max)
    )
    culprits = acc.culprit_rows(comms) if exact else []
    churn = {k: int(v) for k, v in acc.attributed.items()}
    caveat = (
        "classified from the kernel callchains of the mmap_lock events (exact)"
        if exact
        else "without kernel callchains the fallbacks are a range: "
        + ("some mmap_lock events carry callchains and some do not; "
           if acc.stacked and named else "")
        + ("" if named or not acc.stacked else "the callchains have addresses but no "
           "symbols: pass --kallsyms FILE (a copy of /proc/kallsyms); ")
        + ("" if kernel_traced else "the trace has no exceptions:page_fault_kernel "
           "events, so kernel-mode faults cannot be told apart and nothing is certain; ")
        + N.HOW_TO_EXACT
    )  # fmt: skip
    return {
        "faults": faults,
        "kernel_faults": acc.kernel_faults,
        "exact": exact,
        "fell_back": fell,
        "fell_back_min": lo,
        "fell_back_max": hi,
        "under_vma_lock": None if fell is None else faults - fell,
        "fell_back_pct": round(100.0 * fell / faults, 2) if faults and fell is not None else None,
        "classes": classes,
        "anon_prepare_trylocks": acc.anon_trylocks if exact else None,
        "by_thread": acc.thread_rows(comms) if exact else [],
        "culprits": culprits,
        "overlapped_writer": churn,
        "wait_us": acc.waits.summary(),
        "hold_us": acc.holds.summary(),
        "top_write_holders": acc.holder_rows(comms),
        "unpaired": acc.unpaired,
        "caveat": caveat,
        "how_to_exact": None if exact else N.HOW_TO_EXACT,
    }
