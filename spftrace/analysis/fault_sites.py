"""Where faults come from: fault samples by process, DSO, user symbol and call path.

Input: the events of a run that are fault samples, ``page-faults`` / ``faults`` /
``minor-faults`` / ``major-faults`` (any modifiers: ``page-faults:u``) from ``perf
record -e page-faults -g``, or ``exceptions:page_fault_*`` tracepoints with a
callchain.  Each counts its ``period`` (perf's sample period: the faults one sample
stands for, 1 with ``-c 1``; tracepoints 1).  Stacks are the ``callchain`` column
(schema.frames_type, formats/callchain.py), as the per-VMA-lock pass reads them.

Why the innermost *user* frame: a fault's kernel frames are the same few handlers
(or copy_to_user under read()); the DSO and symbol that say where to look are those
of the user code whose access or system call faulted.  A frame is user space when its
address is below 2**63 (x86_64 and arm64 kernels live in the upper half); a sample
with only kernel frames counts under ``[kernel]``, a user frame without a symbol
under ``[unknown]``.  Call paths are root first, named as stackcollapse-perf names
frames (symbol, else ``[dso]``, else ``[unknown]``); ``kernel`` counts the kernel
frames at the leaf end (the flame graph colours them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

#: perf's software fault events, without modifiers (kernel.FAULT_EVENTS, for samples)
SAMPLE_EVENTS = ("page-faults", "faults", "minor-faults", "major-faults")
TRACEPOINTS = "exceptions:page_fault_%"
#: rows kept per table in the report (the flame graph uses every path)
TOP = 50
_USER = "9223372036854775808::UBIGINT"
KERNEL = "[kernel]"
UNKNOWN = "[unknown]"


def _where() -> str:
    names = "|".join(e.replace("-", r"\-") for e in SAMPLE_EVENTS)
    return (
        f"run = ? AND (regexp_full_match(event, '({names})(:[a-zA-Z]+)?') "
        f"OR (event LIKE '{TRACEPOINTS}' AND callchain IS NOT NULL))"
    )


def _samples_sql() -> str:
    """One row per fault sample: its weight, process, innermost user frame and path."""
    name = f"coalesce(f.sym, '[' || f.dso || ']', '{UNKNOWN}')"
    plain = r"regexp_replace(sym, '\+0x[0-9a-fA-F]+$', '')"
    return f"""
        WITH s AS (
            SELECT coalesce(period, 1)::BIGINT AS w, comm, coalesce(pid, tid) AS proc, tid,
                   event, callchain, ip, {plain} AS sym0, dso AS dso0,
                   list_filter(callchain, lambda f: f.ip < {_USER}) AS ufr
            FROM events WHERE {_where()}
        )
        SELECT w, comm, proc, tid, event,
            CASE WHEN callchain IS NOT NULL THEN
                     CASE WHEN len(ufr) = 0 THEN '{KERNEL}'
                          ELSE coalesce(ufr[1].sym, '{UNKNOWN}') END
                 WHEN ip IS NOT NULL AND ip >= {_USER} THEN '{KERNEL}'
                 ELSE coalesce(sym0, '{UNKNOWN}') END AS usym,
            CASE WHEN callchain IS NOT NULL THEN
                     CASE WHEN len(ufr) = 0 THEN '{KERNEL}'
                          ELSE coalesce(ufr[1].dso, '{UNKNOWN}') END
                 WHEN ip IS NOT NULL AND ip >= {_USER} THEN '{KERNEL}'
                 ELSE coalesce(dso0, '{UNKNOWN}') END AS udso,
            CASE WHEN callchain IS NOT NULL AND len(callchain) > 0 THEN
                     list_transform(list_reverse(callchain), lambda f: {name})
                 ELSE [coalesce(sym0, '[' || dso0 || ']', '{UNKNOWN}')] END AS path,
            CASE WHEN callchain IS NOT NULL THEN len(callchain) - len(ufr)
                 WHEN ip IS NOT NULL AND ip >= {_USER} THEN 1 ELSE 0 END AS kernel,
            callchain IS NOT NULL AS stacked
        FROM s
    """


def analyse(con: duckdb.DuckDBPyConnection, run: str) -> dict[str, Any] | None:
    """The ``fault_sites`` section of a run, or None when it has no fault samples."""
    cur = con.cursor()
    try:
        return _analyse(cur, run)
    finally:
        cur.close()


def _analyse(cur: duckdb.DuckDBPyConnection, run: str) -> dict[str, Any] | None:
    base = _samples_sql()
    head = cur.execute(
        f"SELECT count(*), sum(w), count(*) FILTER (WHERE stacked), list(DISTINCT event) "
        f"FROM ({base})",
        [run],
    ).fetchone()
    if head is None or not head[0]:
        return None
    samples, faults, stacked, events = head

    def grouped(keys: str, names: list[str], limit: int | None = TOP) -> list[dict[str, Any]]:
        lim = "" if limit is None else f" LIMIT {int(limit)}"
        rows = cur.execute(
            f"SELECT {keys}, count(*) AS n, sum(w) AS f FROM ({base}) GROUP BY ALL "
            f"ORDER BY f DESC, n DESC, {', '.join(str(i + 1) for i in range(len(names)))}" + lim,
            [run],
        ).fetchall()
        return [
            {**dict(zip(names, r[: len(names)], strict=True)), "samples": r[-2], "faults": r[-1]}
            for r in rows
        ]

    procs = [
        {"comm": p[0], "processes": p[1], "threads": p[2], "samples": p[3], "faults": p[4]}
        for p in cur.execute(
            f"SELECT comm, count(DISTINCT proc), count(DISTINCT tid), count(*) AS n, "
            f"sum(w) AS f FROM ({base}) GROUP BY comm ORDER BY f DESC, n DESC, comm "
            f"LIMIT {TOP}",
            [run],
        ).fetchall()
    ]
    paths = grouped("path, kernel", ["path", "kernel"], None)
    return {
        "events": sorted(events),
        "samples": int(samples),
        "faults": int(faults),
        "with_callchain": int(stacked),
        "distinct_paths": len(paths),
        "by_process": procs,
        "by_dso": grouped("udso", ["dso"]),
        "by_symbol": grouped("usym, udso", ["sym", "dso"]),
        "by_path": paths[:TOP],
        "folded": paths,
    }


def public(section: dict[str, Any]) -> dict[str, Any]:
    """The section as ``report json`` shows it: the flame graph's full path list left out."""
    return {k: v for k, v in section.items() if k != "folded"}
