"""The Spark side of spftrace/fleet (see its docstring): session, reading, aggregates.

Every aggregate is grouped by run over the whole fleet and collected once: the results
are a few rows per run and counter, whatever the events' number.  The per-VMA-lock
classification needs each thread's events in order, so each such run's fault and
mmap_lock events go to one Python worker (``applyInArrow``): a run must fit in a
worker's memory, which holds for fleets of many moderate runs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .aggregates import LOSS, Aggregates, by_run, classify_run, compare_of, summaries_of
from .reading import (
    DEFAULT_MASTER,
    FleetData,
    _check_local,
    _is_url,
    open_fleet,
    quiet,
    session,
)

if TYPE_CHECKING:
    from ..analysis.compare import Comparison
    from ..analysis.model import RunSummary

#: DuckDB's literal in trace._fault_origins: the lowest kernel address on x86-64
_KERNEL_ADDRESS = Decimal(18446603336221196288)


def _perf_stat(fd: FleetData) -> Any:
    """model.perf_stat_totals for every run: only the blocks of each input's first
    workload (stat perf_stat_first_workload_blocks, when the parser found several); per
    (block, event) the total row when the block has one (ts null), else the interval
    rows; summed per event."""
    from pyspark.sql import functions as F  # type: ignore[import-not-found,unused-ignore]

    first = (
        fd.stats.filter(F.col("name") == "perf_stat_first_workload_blocks")
        .groupBy("run", "input")
        .agg(F.min("value").alias("first_blocks"))
    )
    c = (
        fd.counters.filter(F.col("origin") == "perf-stat")
        .join(first, ["run", "input"], "left")
        .filter(F.col("first_blocks").isNull() | (F.col("block") < F.col("first_blocks")))
    )
    keys = ["run", "block", "event"]
    t = c.groupBy(*keys).agg(F.bool_or(F.col("ts").isNull()).alias("has_total"))
    j = c.join(t, keys).filter((F.col("has_total") & F.col("ts").isNull()) | ~F.col("has_total"))
    counted = F.col("status") == "counted"
    return j.groupBy("run", "event").agg(
        F.sum(F.when(counted, F.col("value"))),
        F.count(F.when(counted, F.lit(1))),
        F.min(F.when(~counted, F.col("status"))),
    )


def _vmstat(fd: FleetData) -> Any:
    """model.vmstat_totals for every run: first and last snapshot's value per key."""
    from pyspark.sql import functions as F  # type: ignore[import-not-found,unused-ignore]

    v = fd.counters.filter(F.col("origin") == "vmstat")
    return v.groupBy("run", "event").agg(
        F.min_by("value", "block"), F.max_by("value", "block"), F.count_distinct("block")
    )


def _classify_rows(fd: FleetData, runs: list[str]) -> Any:
    """The rows vmalock.classify streams, with the same columns, for ``runs``."""
    from pyspark.sql import functions as F  # type: ignore[import-not-found,unused-ignore]

    from ..analysis import vmalock_names as N

    spark = fd.events.sparkSession
    wanted = spark.createDataFrame([(r,) for r in runs], "run string")
    ev = fd.events.join(F.broadcast(wanted), "run", "left_semi").filter(
        F.col("tid").isNotNull()
        & F.col("event").isin(N.FAULT_USER, N.FAULT_KERNEL, N.START, N.ACQ, N.REL)
    )
    wrappers = ", ".join(f"'{w}'" for w in N.TRACE_WRAPPERS)

    def frame(name: str) -> Any:  # vmalock._frame_test without --kallsyms
        return F.coalesce(F.expr(f"exists(callchain, f -> f.sym = '{name}')"), F.lit(False))

    k = (
        F.when(F.col("event") == N.FAULT_USER, 0)
        .when(F.col("event") == N.FAULT_KERNEL, 1)
        .when(F.col("event") == N.START, 2)
        .when(F.col("event") == N.ACQ, 3)
        .otherwise(4)
    )
    site = F.expr(
        f"CASE WHEN event = '{N.ACQ}' AND write THEN try_element_at(filter("
        f"transform(callchain, f -> f.sym), s -> s IS NOT NULL AND s NOT IN ({wrappers})), 1) END"
    )
    named = F.expr(
        f"event IN ('{N.START}', '{N.ACQ}') AND callchain IS NOT NULL "
        "AND exists(callchain, f -> f.sym IS NOT NULL)"
    )
    return ev.select(
        "run",
        "tid",
        F.coalesce("ts", F.lit(0)).cast("long").alias("ts"),
        (F.shiftleft(F.col("input").cast("long"), 40) + F.col("line_no")).alias("seq"),
        k.cast("tinyint").alias("k"),
        F.coalesce("write", F.lit(False)).alias("w"),
        F.coalesce("success", F.lit(True)).alias("ok"),
        # mm is UINT64: shifted into a signed long here, shifted back in the worker
        (F.coalesce("mm", F.lit(0)) - F.lit(Decimal(1 << 63))).cast("long").alias("mm"),
        F.col("callchain").isNotNull().alias("st"),
        frame(N.LOCK_MM_AND_FIND_VMA).alias("lmfv"),
        frame(N.ANON_PREPARE).alias("anon"),
        site.alias("site"),
        named.alias("named"),
    )


def aggregates(fd: FleetData) -> Aggregates:
    from pyspark.sql import functions as F  # type: ignore[import-not-found,unused-ignore]

    from ..analysis import vmalock_names as N
    from ..analysis.trace import needs_classify
    from ..kernel import FAULT_USER

    meta_rows = (
        fd.runs.groupBy("run")
        .agg(
            F.min("label"),
            F.min("command"),
            F.array_sort(F.collect_set("source_format")),
            F.array_sort(F.collect_set("command")),
            F.array_sort(F.collect_set("kernel")),
        )
        .collect()
    )
    meta = {r[0]: (r[1], r[2], list(r[3])) for r in meta_rows}
    axes = {r[0]: {"command": list(r[4]), "kernel": list(r[5])} for r in meta_rows}
    wis = fd.counters.filter(F.col("origin") == "will-it-scale").groupBy("run", "event")
    events: dict[str, dict[str, int]] = defaultdict(dict)
    for run, event, n in fd.events.groupBy("run", "event").count().collect():
        events[run][event] = int(n)
    loss_names = F.col("name").isin(*LOSS) | F.col("name").startswith("samples_lost:")
    loss: dict[str, dict[str, Any]] = defaultdict(dict)
    stats = fd.stats.filter(loss_names).groupBy("run", "name").agg(F.sum("value"))
    for run, name, v in stats.collect():
        loss[run][name] = v
    ev = fd.events.filter(F.col("event").isin(FAULT_USER, N.FAULT_KERNEL))
    kaddr = (F.col("event") == N.FAULT_KERNEL) & (F.col("address") >= F.lit(_KERNEL_ADDRESS))
    perf_own = F.col("comm").isin("perf", "perf-exec")
    origins = {
        r[0]: {"kernel_address_faults": float(r[1]), "perf_own_faults": float(r[2])}
        for r in ev.groupBy("run")
        .agg(F.count(F.when(kaddr, 1)), F.count(F.when(perf_own, 1)))
        .collect()
    }
    pv_runs = sorted(r for r, rows in events.items() if needs_classify(rows))
    pv: dict[str, dict[str, Any]] = {}
    if pv_runs:
        rows = _classify_rows(fd, pv_runs).groupBy("run")
        for run, section in rows.applyInArrow(classify_run, "run string, section string").collect():
            pv[run] = json.loads(section)
    workloads = fd.stats.filter(F.col("name") == "perf_stat_workloads").groupBy("run")
    return Aggregates(
        meta=meta,
        perf_stat=by_run(_perf_stat(fd).collect()),
        workloads={r: int(v) for r, v in workloads.agg(F.max("value")).collect()},
        vmstat=by_run(_vmstat(fd).collect()),
        wis={
            r: [(e, float(v)) for e, v in rows]
            for r, rows in by_run(wis.agg(F.sum("value")).collect()).items()
        },
        events=dict(events),
        loss=dict(loss),
        origins=origins,
        per_vma_lock=pv,
        axes=axes,
    )


# -- the driver: summaries and the comparison -----------------------------------------------


def _session_for(source: str, master: str, conf: Sequence[str]) -> Any:
    if not _is_url(source):
        _check_local(source.rstrip("/"))  # before Spark's start-up (seconds)
    return session(master, conf)


class Fleet:
    """A dataset on Spark: its aggregates are computed once (on first use), then
    every summary and comparison is driver-side work over them."""

    def __init__(
        self,
        source: str,
        *,
        master: str = DEFAULT_MASTER,
        conf: Sequence[str] = (),
        spark: Any = None,
    ) -> None:
        self.source = source
        with quiet():
            self.data = open_fleet(spark or _session_for(source, master, conf), source)
        self._agg: Aggregates | None = None

    @property
    def agg(self) -> Aggregates:
        if self._agg is None:
            with quiet():
                self._agg = aggregates(self.data)
        return self._agg

    def summaries(self) -> list[RunSummary]:
        """Every run's summary (``s.contract()`` is ``report json``'s run), by run name."""
        return summaries_of(self.agg)

    def compare(
        self, base: str, head: str, *, show_all: bool = False, sort: str = "lkp"
    ) -> Comparison:
        """Base versus head (``spftrace compare``'s rows and warnings)."""
        return compare_of(self.agg, base, head, show_all=show_all, sort=sort)


def summaries(
    source: str, *, master: str = DEFAULT_MASTER, conf: Sequence[str] = (), spark: Any = None
) -> list[RunSummary]:
    """Every run's summary of the dataset at ``source`` (``Fleet.summaries``)."""
    return Fleet(source, master=master, conf=conf, spark=spark).summaries()


def compare(
    source: str,
    base: str,
    head: str,
    *,
    show_all: bool = False,
    sort: str = "lkp",
    master: str = DEFAULT_MASTER,
    conf: Sequence[str] = (),
    spark: Any = None,
) -> Comparison:
    """Base versus head over the dataset at ``source`` (``Fleet.compare``)."""
    fleet = Fleet(source, master=master, conf=conf, spark=spark)
    return fleet.compare(base, head, show_all=show_all, sort=sort)


def render_summary(items: list[RunSummary]) -> list[str]:
    """One line per run, then the fleet's totals per label."""
    from ..text import visible

    head = (f"{'run':<36} {'label':<12} {'kernel model':<13} {'faults':>12} {'handled':>8} "
            f"{'fallbacks':>11} {'not tried':>11}  top fallback")  # fmt: skip
    out = [head]

    def num(v: int | None) -> str:
        return "-" if v is None else f"{v:,}"

    totals: dict[str, list[int]] = {}
    for s in items:
        top = next(iter(s.fallbacks.items()), None)
        top_txt = f"{top[0]} ({top[1]:,})" if top and top[1] else "-"
        pct = "-" if s.speculative_pct is None else f"{s.speculative_pct:.2f}%"
        out.append(
            f"{visible(s.run):<36} {visible(s.label) or '-':<12} {s.kernel_model:<13} "
            f"{num(s.faults):>12} {pct:>8} {num(s.fallback_total):>11} "
            f"{num(s.not_attempted):>11}  {top_txt}"
        )
        t = totals.setdefault(visible(s.label) or "-", [0, 0, 0, 0, 0])
        t[0] += 1
        t[1] += s.faults or 0
        t[2] += s.speculative or 0
        t[3] += s.fallback_total or 0
        t[4] += s.not_attempted or 0
    out += ["", f"{'label':<12} {'runs':>6} {'faults':>14} {'handled':>14} {'fallbacks':>12} "
            f"{'not tried':>12}"]  # fmt: skip
    for label, (n, f, sp, fb, na) in sorted(totals.items()):
        out.append(f"{label:<12} {n:>6} {f:>14,} {sp:>14,} {fb:>12,} {na:>12,}")
    return out
