"""What a fleet engine computes per run, and the driver-side work over it.

Both engines - Spark (engine.py) and DuckDB on one machine (local.py) - compute the same
``Aggregates``: a few rows per run and counter, from one grouped scan of each table
over every run at once.  The summaries and the comparison are then made here, with the
functions spftrace's per-run path uses (analysis/model.py ``build_summary``, compare's
``compare_metrics``), so the engines differ only in how the aggregates are computed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import SpftraceError

if TYPE_CHECKING:
    from ..analysis.compare import Comparison
    from ..analysis.model import RunSummary

#: the loss statistics trace.lost_info sums (and samples_lost:<event>)
LOSS = ("samples_lost", "events_lost", "samples_lost_approx", "events_dropped",
        "chunks_lost", "events_lost_ftrace")  # fmt: skip


@dataclass
class Aggregates:
    """Everything the driver needs, per run."""

    #: run -> (label, command, sorted source formats)
    meta: dict[str, tuple[str | None, str | None, list[str]]]
    #: run -> perf stat rows (event, sum counted, number counted, a non-counted status)
    perf_stat: dict[str, list[tuple[Any, ...]]]
    #: run -> the most different workloads one perf stat input held (only the first counts)
    workloads: dict[str, int]
    #: run -> vmstat rows (key, first value, last value, snapshots)
    vmstat: dict[str, list[tuple[Any, ...]]]
    wis: dict[str, list[tuple[str, float]]]
    events: dict[str, dict[str, int]]
    loss: dict[str, dict[str, Any]]
    origins: dict[str, dict[str, float]]
    per_vma_lock: dict[str, dict[str, Any]]
    axes: dict[str, dict[str, list[str]]]


def by_run(rows: Iterable[Any]) -> dict[str, list[tuple[Any, ...]]]:
    """(run, ...) rows -> run -> [(...)], each run's rows sorted (engines return them in
    any order; sorted, both engines' summaries list values in one order)."""
    out: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for r in rows:
        out[r[0]].append(tuple(r[1:]))
    return {k: sorted(v, key=lambda t: str(t[0])) for k, v in out.items()}


def classify_run(table: Any) -> Any:
    """One run's rows (``_classify_rows``) through spftrace's own classifier: a worker
    function for ``applyInArrow``; returns (run, the section as JSON)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..analysis.vmalock import BATCH_ROWS, _section
    from ..analysis.vmalock_pass import Acc, process

    run = table.column("run")[0].as_py()
    named = bool(pc.any(table.column("named")).as_py())
    mm = table.column("mm").to_numpy().view(np.uint64) ^ np.uint64(1 << 63)
    table = table.set_column(table.schema.get_field_index("mm"), "mm", pa.array(mm, pa.uint64()))
    table = table.sort_by([("tid", "ascending"), ("ts", "ascending"), ("seq", "ascending")])
    acc = Acc()
    process(table.to_batches(max_chunksize=BATCH_ROWS), acc, file_order=False)  # sorted above
    section = _section(acc, {}, named)  # comms name threads in reports, not in summaries
    return pa.table({"run": [run], "section": [json.dumps(section, default=_plain)]})


def _plain(v: Any) -> Any:
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    if isinstance(v, tuple | set):
        return list(v)
    raise TypeError(type(v).__name__)


def summary_of(agg: Aggregates, run: str) -> RunSummary:
    """The run's summary (``summarize(con, run, breakdowns=False)``) from the aggregates."""
    from ..analysis.model import build_summary, perf_stat_from_rows, vmstat_from_rows
    from ..analysis.trace import lost_from_stats, totals_from

    label, command, formats = agg.meta[run]
    tr = None
    if agg.events.get(run):
        tr = totals_from(
            agg.events[run],
            lambda: agg.per_vma_lock[run],
            lambda: agg.origins.get(run, {"kernel_address_faults": 0.0, "perf_own_faults": 0.0}),
            lost_from_stats(agg.loss.get(run, {})),
        )
    per_source = [
        s
        for s in (
            perf_stat_from_rows(agg.perf_stat.get(run, []), agg.workloads.get(run)),
            vmstat_from_rows(agg.vmstat.get(run, [])),
            tr,
        )
        if s is not None
    ]
    return build_summary(run, label, command, formats, per_source)


def summaries_of(agg: Aggregates) -> list[RunSummary]:
    """Every run's summary, by run name."""
    return [summary_of(agg, run) for run in sorted(agg.meta)]


def compare_of(
    agg: Aggregates, base: str, head: str, *, show_all: bool = False, sort: str = "lkp"
) -> Comparison:
    """Base versus head (``spftrace compare``'s rows and warnings)."""
    from ..analysis.compare import SORTS, compare_metrics
    from ..analysis.compare.runs import AXES, metrics_of

    if sort not in SORTS:
        raise SpftraceError(f"--sort must be one of {', '.join(SORTS)}, not {sort!r}")
    bl, base_runs = resolve(agg, base)
    hl, head_runs = resolve(agg, head)
    metrics = {
        r: metrics_of(summary_of(agg, r), agg.wis.get(r, [])) for r in {*base_runs, *head_runs}
    }
    axes: dict[str, dict[str, str | None]] = {}
    for r in base_runs + head_runs:
        vals = agg.axes[r]
        axes[r] = {a: vals[a][0] if len(vals[a]) == 1 else None for a in AXES}
    return compare_metrics(
        bl, base_runs, {r: metrics[r] for r in base_runs},
        hl, head_runs, {r: metrics[r] for r in head_runs}, axes, show_all, sort,
    )  # fmt: skip


def resolve(agg: Aggregates, spec: str) -> tuple[str, list[str]]:
    """compare.runs.resolve over the aggregated runs: a label, or run names."""
    runs = sorted(r for r, (label, _c, _f) in agg.meta.items() if label == spec)
    if runs:
        return spec, runs
    names = [x for x in spec.split(",") if x]
    missing = [n for n in names if n not in agg.meta]
    if missing or not names:
        raise SpftraceError(
            f"{spec!r} is neither a label nor a list of run names (unknown: "
            f"{', '.join(missing) or spec})"
        )
    return spec, names
