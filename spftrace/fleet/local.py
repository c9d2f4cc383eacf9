"""A fleet on one machine: the Spark engine's aggregates (aggregates.py) computed by DuckDB.

Why not ``summarize`` per run: each of its queries reads the views, whose semi-join on
the runs table opens every run's runs file, so a thousand runs cost a thousand times
a thousand file opens (more than 16 minutes).  Here each table is scanned once for
every run (``GROUP BY run``): seconds.  Only per-VMA-lock traces go run by run, through
spftrace's own classifier (analysis/vmalock.py ``classify``), reading that run's events.
The results equal ``summarize(con, run, breakdowns=False)`` for every run
(tests/test_fleet_local.py) and Spark's (tests/spark).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from ..analysis import vmalock_names as N
from ..kernel import FAULT_USER
from .aggregates import LOSS, Aggregates, by_run, classify_run, compare_of, summaries_of

if TYPE_CHECKING:
    import duckdb

    from ..analysis.compare import Comparison
    from ..analysis.model import RunSummary
    from ..store import Dataset

_PERF_STAT = """
    WITH first_workload AS (
        SELECT run, input, min(value) AS blocks FROM fleet_stats
        WHERE name = 'perf_stat_first_workload_blocks' GROUP BY run, input
    ),
    c AS (
        SELECT run, block, event, ts, status, value FROM fleet_counters
        LEFT JOIN first_workload USING (run, input)
        WHERE origin = 'perf-stat'
          AND (first_workload.blocks IS NULL OR block < first_workload.blocks)
    ),
    t AS (SELECT run, block, event, bool_or(ts IS NULL) AS has_total FROM c GROUP BY ALL)
    SELECT c.run, c.event,
           sum(c.value) FILTER (WHERE c.status = 'counted'),
           count(*) FILTER (WHERE c.status = 'counted'),
           min(c.status) FILTER (WHERE c.status <> 'counted')
    FROM c JOIN t USING (run, block, event)
    WHERE (t.has_total AND c.ts IS NULL) OR NOT t.has_total
    GROUP BY c.run, c.event
"""


def aggregates(con: duckdb.DuckDBPyConnection) -> Aggregates:
    """Every run's aggregates over ``con``'s views (store.Dataset.connect)."""
    from ..analysis.trace import needs_classify

    meta: dict[str, tuple[str | None, str | None, list[str]]] = {}
    axes: dict[str, dict[str, list[str]]] = {}
    for run, label, command, formats, commands, kernels in con.execute(
        "SELECT run, min(label), min(command), list(DISTINCT source_format ORDER BY "
        "source_format), list(DISTINCT command) FILTER (WHERE command IS NOT NULL), "
        "list(DISTINCT kernel) FILTER (WHERE kernel IS NOT NULL) FROM runs GROUP BY run"
    ).fetchall():
        meta[run] = (label, command, list(formats or []))
        axes[run] = {"command": list(commands or []), "kernel": list(kernels or [])}
    names = ", ".join(f"'{n}'" for n in LOSS)
    events: dict[str, dict[str, int]] = defaultdict(dict)
    origins: dict[str, dict[str, float]] = {}
    # one scan of the events: per run and event, with trace._fault_origins' two counts
    for run, event, n, kaddr, perf_own in con.execute(
        f"""SELECT run, event, count(*),
                   count(*) FILTER (WHERE event = '{N.FAULT_KERNEL}'
                                    AND address >= 18446603336221196288::UBIGINT),
                   count(*) FILTER (WHERE comm IN ('perf', 'perf-exec'))
            FROM events GROUP BY run, event"""
    ).fetchall():
        events[run][event] = int(n)
        if event in (FAULT_USER, N.FAULT_KERNEL):
            o = origins.setdefault(run, {"kernel_address_faults": 0.0, "perf_own_faults": 0.0})
            o["kernel_address_faults"] += float(kaddr)
            o["perf_own_faults"] += float(perf_own)
    # counters and stats are small (rows per input and counter) and several queries
    # read them: each is read from its files once, into memory
    con.execute(
        "CREATE OR REPLACE TEMP TABLE fleet_counters AS SELECT run, input, block, origin, ts, "
        "event, value, status FROM counters WHERE origin IN ('perf-stat', 'vmstat', "
        "'will-it-scale')"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE fleet_stats AS SELECT run, input, name, value FROM stats "
        f"WHERE name IN ({names}, 'perf_stat_workloads', 'perf_stat_first_workload_blocks') "
        "OR name LIKE 'samples_lost:%'"
    )
    loss: dict[str, dict[str, Any]] = defaultdict(dict)
    for run, name, v in con.execute(
        f"SELECT run, name, sum(value) FROM fleet_stats WHERE name IN ({names}) "
        "OR name LIKE 'samples_lost:%' GROUP BY run, name"
    ).fetchall():
        loss[run][name] = v
    workloads = con.execute(
        "SELECT run, max(value) FROM fleet_stats WHERE name = 'perf_stat_workloads' GROUP BY run"
    ).fetchall()
    vmstat = con.execute(
        "SELECT run, event, arg_min(value, block), arg_max(value, block), "
        "count(DISTINCT block) FROM fleet_counters WHERE origin = 'vmstat' GROUP BY run, event"
    ).fetchall()
    wis = con.execute(
        "SELECT run, event, sum(value) FROM fleet_counters WHERE origin = 'will-it-scale' "
        "GROUP BY run, event"
    ).fetchall()
    pv = _classified(con, sorted(r for r in events if needs_classify(events[r])))
    return Aggregates(
        meta=meta,
        perf_stat=by_run(con.execute(_PERF_STAT).fetchall()),
        workloads={r: int(v) for r, v in workloads},
        vmstat=by_run(vmstat),
        wis={r: [(e, float(v)) for e, v in rows] for r, rows in by_run(wis).items()},
        events=dict(events),
        loss=dict(loss),
        origins=origins,
        per_vma_lock=pv,
        axes=axes,
    )


def _classified(con: duckdb.DuckDBPyConnection, runs: list[str]) -> dict[str, dict[str, Any]]:
    """The per-VMA-lock section of each of ``runs``: one scan of their events, in run
    order, each run's rows through spftrace's classifier (``classify_run``, as Spark's
    workers run it; the rows are vmalock.classify's, without --kallsyms)."""
    import itertools
    import json

    import pyarrow as pa

    from ..analysis.vmalock import _frame_test

    if not runs:
        return {}
    wrappers = ", ".join(f"'{w}'" for w in N.TRACE_WRAPPERS)
    syms = "list_transform(callchain, lambda f: f.sym)"
    sql = f"""
        SELECT run, tid, coalesce(ts, 0) AS ts, (input::BIGINT << 40) + line_no AS seq,
               CASE event WHEN '{N.FAULT_USER}' THEN 0 WHEN '{N.FAULT_KERNEL}' THEN 1
                          WHEN '{N.START}' THEN 2 WHEN '{N.ACQ}' THEN 3 ELSE 4 END::TINYINT AS k,
               coalesce(write, false) AS w, coalesce(success, true) AS ok,
               (coalesce(mm, 0::UBIGINT)::HUGEINT - {1 << 63})::BIGINT AS mm,
               callchain IS NOT NULL AS st,
               {_frame_test(N.LOCK_MM_AND_FIND_VMA, [])} AS lmfv,
               {_frame_test(N.ANON_PREPARE, [])} AS anon,
               CASE WHEN event = '{N.ACQ}' AND write THEN
                    list_filter({syms}, lambda s: s IS NOT NULL AND s NOT IN ({wrappers}))[1]
               END AS site,
               coalesce(event IN ('{N.START}', '{N.ACQ}') AND callchain IS NOT NULL
                        AND len(list_filter(callchain, lambda f: f.sym IS NOT NULL)) > 0,
                        false) AS named
        FROM events
        WHERE list_contains(?, run) AND tid IS NOT NULL
          AND event IN ('{N.FAULT_USER}', '{N.FAULT_KERNEL}', '{N.START}', '{N.ACQ}', '{N.REL}')
        ORDER BY run
    """
    out: dict[str, dict[str, Any]] = {}
    held: list[Any] = []

    def flush() -> None:
        if held:
            res = classify_run(pa.Table.from_batches(held))
            out[res.column("run")[0].as_py()] = json.loads(res.column("section")[0].as_py())
            held.clear()

    cur = con.cursor()
    reader = cur.sql(sql, params=[runs]).to_arrow_reader(64 * 1024)
    try:
        for batch in reader:
            start = 0
            for run, rows in itertools.groupby(batch.column(0).to_pylist()):
                n = sum(1 for _ in rows)  # rows of one run: the query orders by run
                if held and held[0].column(0)[0].as_py() != run:
                    flush()
                held.append(batch.slice(start, n))
                start += n
        flush()
    finally:
        reader.close()
        cur.close()
    return out


def dataset_aggregates(ds: Dataset) -> Aggregates:
    """``aggregates`` of a dataset; a damaged run fails it, naming the file
    (``spftrace check`` lists them all)."""

    def go() -> Aggregates:
        err = ds.damage_error(None)
        if err is not None:
            raise err
        con = ds.connect()
        try:
            return aggregates(con)
        finally:
            con.close()

    return ds.guarded(go)


def summaries(ds: Dataset) -> list[RunSummary]:
    """Every run's summary (``summarize(con, run, breakdowns=False)``), by run name."""
    return summaries_of(dataset_aggregates(ds))


def compare(
    ds: Dataset, base: str, head: str, *, show_all: bool = False, sort: str = "lkp"
) -> Comparison:
    """``analysis.compare.compare(ds, base, head)`` from the fleet's aggregates."""
    return compare_of(dataset_aggregates(ds), base, head, show_all=show_all, sort=sort)
