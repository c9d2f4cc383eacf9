"""The fallback model: faults, speculative, fallbacks by reason, not attempted.

Totals are computed per source with DuckDB over the dataset (bounded memory):

* perf stat: per (block, event), interval rows are summed unless the block
  also has a total (``--summary`` / final block, ``ts`` null), which is used
  instead; blocks (repeated perf invocations) are then summed - but only those
  of the input's first workload when the parser found blocks of different
  workloads (stat ``perf_stat_first_workload_blocks``): those are not repetitions.
* vmstat: cumulative event counters are last minus first snapshot; with a
  single snapshot the since-boot value is used and flagged.  ``nr_*`` gauges are
  levels and never enter the fault model.

The headline numbers come from the most direct source present (perf stat, then
vmstat); every source's own numbers are kept for reconciliation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..kernel import (
    FAULT_EVENTS,
    PER_VMA_LOCK,
    SPF,
    SPF_EVENT_PREFIX,
    SPF_EVENTS,
    SPF_REASONS_REPORTED,
    SPF_SYSTEM,
    VMA_LOCK_FALLBACKS,
    VMA_LOCK_SUCCESS,
    VMSTAT_FAULTS,
    VMSTAT_GAUGE_PREFIX,
    VMSTAT_SPECULATIVE,
    VMSTAT_SPF_ABORT,
    VMSTAT_SPF_ATTEMPT,
    reason,
    words,
)
from ..vocabulary import handled_sentence
from .sources import Finding as Finding
from .sources import SourceTotals as SourceTotals
from .sources import pct as pct
from .sources import share_text as share_text

if TYPE_CHECKING:
    import duckdb


@dataclass
class RunSummary:
    run: str
    label: str | None
    kernel_model: str
    faults: int | None
    speculative: int | None
    speculative_pct: float | None
    fallbacks: dict[str, int]
    fallback_total: int | None
    not_attempted: int | None
    sources: list[str]
    findings: list[Finding]
    verdict: str
    disagreements: list[str]
    command: str | None
    per_source: list[SourceTotals]
    formats: list[str]
    not_attempted_pct: float | None = None
    #: trace-level breakdowns (analysis.trace) when the run has tracepoint events
    trace: dict[str, Any] | None = None
    #: per-VMA-lock runs classified without kernel callchains: (certain, possible)
    fell_back_range: tuple[int, int] | None = None

    def contract(self) -> dict[str, Any]:
        """The ``report json`` run object (DESIGN.md contract)."""
        return {
            "run": self.run,
            "label": self.label,
            "kernel_model": self.kernel_model,
            "faults": self.faults,
            "speculative": self.speculative,
            "speculative_pct": self.speculative_pct,
            "fallbacks": dict(self.fallbacks),
            "fallback_total": self.fallback_total,
            "not_attempted": self.not_attempted,
            "sources": list(self.sources),
            "findings": [f.__dict__.copy() for f in self.findings],
            "verdict": self.verdict,
        }


def perf_stat_totals(con: duckdb.DuckDBPyConnection, run: str) -> SourceTotals | None:
    rows = con.execute(
        """
        WITH first_workload AS (
            SELECT input, min(value) AS blocks FROM stats
            WHERE run = ? AND name = 'perf_stat_first_workload_blocks' GROUP BY input
        ),
        c AS (
            SELECT block, event, ts, status, value FROM counters
            LEFT JOIN first_workload USING (input)
            WHERE run = ? AND origin = 'perf-stat'
              AND (first_workload.blocks IS NULL OR block < first_workload.blocks)
        ),
        t AS (SELECT block, event, bool_or(ts IS NULL) AS has_total FROM c GROUP BY ALL)
        SELECT c.event,
               sum(c.value) FILTER (WHERE c.status = 'counted'),
               count(*) FILTER (WHERE c.status = 'counted'),
               min(c.status) FILTER (WHERE c.status <> 'counted')
        FROM c JOIN t USING (block, event)
        WHERE (t.has_total AND c.ts IS NULL) OR NOT t.has_total
        GROUP BY c.event
        """,
        [run, run],
    ).fetchall()
    (workloads,) = con.execute(
        "SELECT max(value) FROM stats WHERE run = ? AND name = 'perf_stat_workloads'", [run]
    ).fetchone() or (None,)
    return perf_stat_from_rows(rows, workloads)


def perf_stat_from_rows(rows: list[Any], workloads: int | None = None) -> SourceTotals | None:
    """perf stat's view from its per-event rows (event, sum counted, number counted,
    a non-counted status): the query above, or the same computed by Spark (fleet/);
    ``workloads``: how many different workloads the input held (only the first counts)."""
    if not rows:
        return None
    s = SourceTotals("perf-stat")
    if workloads:
        s.notes.append(
            f"perf stat input holds {workloads} different workloads (blocks with other "
            "events or commands): only the first is counted, they are not summed; ingest "
            "each as its own run to compare them."
        )
    for event, total, n_counted, other in rows:
        if n_counted:
            s.values[event] = float(total)
        elif other:
            s.status[event] = other
    s.duration_s = s.values.pop("seconds-time-elapsed", None)
    s.values.pop("seconds-user", None)
    s.values.pop("seconds-sys", None)
    s.faults = _first(s.values, FAULT_EVENTS)
    s.speculative = _first(s.values, SPF_EVENTS)
    for event, value in s.values.items():
        if event.startswith(SPF_EVENT_PREFIX):
            s.fallbacks[event[len(SPF_SYSTEM) + 1 :]] = value
    if s.speculative is not None or s.fallbacks:
        s.kernel_model = SPF
    for event, status in s.status.items():
        if event in SPF_EVENTS or event.startswith(SPF_EVENT_PREFIX):
            s.notes.append(
                f"perf stat reports {event} as {status}: this kernel does not have the "
                "speculative page fault series (or the event is not enabled)."
            )
    return s


def vmstat_totals(con: duckdb.DuckDBPyConnection, run: str) -> SourceTotals | None:
    rows = con.execute(
        """
        SELECT event, arg_min(value, block), arg_max(value, block), count(DISTINCT block)
        FROM counters WHERE run = ? AND origin = 'vmstat' GROUP BY event
        """,
        [run],
    ).fetchall()
    return vmstat_from_rows(rows)


def vmstat_from_rows(rows: list[Any]) -> SourceTotals | None:
    """vmstat's view from its per-key rows (key, first value, last value, snapshots)."""
    if not rows:
        return None
    s = SourceTotals("vmstat")
    s.snapshots = max(r[3] for r in rows)
    s.since_boot = s.snapshots < 2
    went_down = []
    for event, first, last, _n in rows:
        if event.startswith(VMSTAT_GAUGE_PREFIX):
            continue  # gauges: levels, not events
        if not s.since_boot and float(last) < float(first):
            went_down.append(event)  # not a count of anything: left out
            continue
        s.values[event] = float(last) if s.since_boot else float(last) - float(first)
    if went_down:
        shown = ", ".join(sorted(went_down)[:5]) + (", ..." if len(went_down) > 5 else "")
        s.notes.append(
            f"{len(went_down)} cumulative vmstat counters went down from the first snapshot "
            f"to the last ({shown}): the snapshots are from different boots or out of "
            "order, so those counters are not used."
        )
    s.faults = s.values.get(VMSTAT_FAULTS)
    spec = [s.values[k] for k in VMSTAT_SPECULATIVE if k in s.values]
    if spec:
        s.speculative = sum(spec)
        s.kernel_model = SPF
    elif VMSTAT_SPF_ATTEMPT in s.values:
        abort = s.values.get(VMSTAT_SPF_ABORT, 0.0)
        s.speculative = s.values[VMSTAT_SPF_ATTEMPT] - abort
        s.fallbacks[VMSTAT_SPF_ABORT] = abort
        s.kernel_model = SPF
    elif VMA_LOCK_SUCCESS in s.values:
        s.speculative = s.values[VMA_LOCK_SUCCESS]
        for k in VMA_LOCK_FALLBACKS:
            s.fallbacks[k] = s.values.get(k, 0.0)
        s.kernel_model = PER_VMA_LOCK
    if s.since_boot:
        s.notes.append(
            "only one /proc/vmstat snapshot: its counters are totals since boot, not for "
            "this run; take one before and one after the workload."
        )
    return s


def _first(values: dict[str, float], names: tuple[str, ...]) -> float | None:
    for n in names:
        if n in values:
            return values[n]
    return None


def summarize(
    con: duckdb.DuckDBPyConnection, run: str, kallsyms: Any = None, *, breakdowns: bool = True
) -> RunSummary:
    """The run's headline numbers; with ``breakdowns``, also the trace tables."""
    from . import trace

    meta = con.execute(
        "SELECT any_value(label), any_value(command) FILTER (WHERE command IS NOT NULL), "
        "list(DISTINCT source_format ORDER BY source_format) FROM runs WHERE run = ?",
        [run],
    ).fetchone()
    label, command, formats = meta or (None, None, [])
    tr = trace.trace_totals(con, run, kallsyms)
    per_source = [s for s in (perf_stat_totals(con, run), vmstat_totals(con, run), tr) if s]
    summary = build_summary(run, label, command, list(formats or []), per_source)
    if tr is not None and breakdowns:
        summary.trace = trace.breakdowns(con, run, kallsyms)
        if "per_vma_lock" in tr.detail:
            summary.trace["per_vma_lock"] = tr.detail["per_vma_lock"]
        summary.trace["lost_events"] = int(tr.detail["lost"]["count"])
        summary.trace["lost"] = tr.detail["lost"]
    return summary


def build_summary(
    run: str,
    label: str | None,
    command: str | None,
    formats: list[str],
    per_source: list[SourceTotals],
) -> RunSummary:
    """Pick the headline numbers from the sources and explain them."""
    tr = next((s for s in per_source if s.origin == "trace"), None)
    if tr is not None and "per_vma_lock" in tr.detail:
        return _per_vma_lock_summary(run, label, command, formats, per_source, tr)
    used: list[str] = []
    faults = speculative = None
    fallbacks: dict[str, float] = {}
    model = "unknown"
    # a source that has both faults and speculative is used for both, so that the
    # headline never mixes counts of different spans; otherwise most direct first
    pair = next((s for s in per_source if s.faults is not None and s.speculative is not None), None)
    if pair is not None:
        faults, speculative = pair.faults, pair.speculative
        fallbacks, model = dict(pair.fallbacks), pair.kernel_model
        used.append(pair.origin)
    for s in per_source:
        if faults is None and s.faults is not None:
            faults = s.faults
            used.append(s.origin)
        if speculative is None and s.speculative is not None:
            speculative = s.speculative
            if s.origin not in used:
                used.append(s.origin)
            fallbacks = dict(s.fallbacks)
            model = s.kernel_model
        if not fallbacks and s.fallbacks:
            fallbacks = dict(s.fallbacks)
            model = s.kernel_model
            if s.origin not in used:
                used.append(s.origin)
    if model == "unknown":
        model = next((s.kernel_model for s in per_source if s.kernel_model != "unknown"), model)
    fb = {k: int(v) for k, v in fallbacks.items()}
    if model == SPF:
        for k in SPF_REASONS_REPORTED:
            fb.setdefault(k, 0)
    fallback_total = sum(fb.values()) if (fb or speculative is not None) else None
    not_attempted = None
    disagreements: list[str] = []
    if faults is not None and speculative is not None and fallback_total is not None:
        rest = int(faults) - int(speculative) - fallback_total
        if rest < 0:
            disagreements.append(
                f"faults ({int(faults):,}) < speculative ({int(speculative):,}) + fallbacks "
                f"({fallback_total:,}): the sources disagree (events counted over different "
                "spans, or a fallback was counted after a successful retry)."
            )
            not_attempted = 0
        else:
            not_attempted = rest
    disagreements += _reconcile(per_source)
    f_int = int(faults) if faults is not None else None
    s_int = int(speculative) if speculative is not None else None
    findings = _findings(fb, not_attempted, f_int, model)
    summary = RunSummary(
        run=run,
        label=label,
        kernel_model=model,
        faults=f_int,
        speculative=s_int,
        speculative_pct=pct(s_int, f_int),
        fallbacks=dict(sorted(fb.items(), key=lambda kv: (-kv[1], kv[0]))),
        fallback_total=fallback_total,
        not_attempted=not_attempted,
        sources=used,
        findings=findings,
        verdict="",
        disagreements=disagreements,
        command=command,
        per_source=per_source,
        formats=formats,
        not_attempted_pct=pct(not_attempted, f_int),
    )
    summary.verdict = verdict(summary)
    return summary


def _per_vma_lock_summary(
    run: str,
    label: str | None,
    command: str | None,
    formats: list[str],
    per_source: list[SourceTotals],
    tr: SourceTotals,
) -> RunSummary:
    from . import reconcile

    faults, used, fallbacks, speculative, rng = reconcile.headline(per_source)
    fb = {k: int(v) for k, v in fallbacks.items()}
    total = sum(fb.values()) if speculative is not None else None
    f_int = int(faults) if faults is not None else None
    s_int = int(speculative) if speculative is not None else None
    not_attempted = None
    disagreements: list[str] = []
    if f_int is not None and s_int is not None and total is not None:
        not_attempted = f_int - s_int - total
        if not_attempted < 0:
            disagreements.append(
                f"faults ({f_int:,}) < under the VMA lock ({s_int:,}) + fallbacks ({total:,}): "
                "the counter covers less than the trace."
            )
            not_attempted = 0
    disagreements += reconcile.per_vma_lock_notes(per_source)
    for s in per_source:
        disagreements.extend(n for n in s.notes if n not in disagreements)
    summary = RunSummary(
        run=run, label=label, kernel_model="per-vma-lock", faults=f_int, speculative=s_int,
        speculative_pct=pct(s_int, f_int),
        fallbacks=dict(sorted(fb.items(), key=lambda kv: (-kv[1], kv[0]))),
        fallback_total=total, not_attempted=not_attempted, sources=used,
        findings=reconcile.findings(fb, not_attempted, f_int, tr), verdict="",
        disagreements=disagreements, command=command, per_source=per_source, formats=formats,
        not_attempted_pct=pct(not_attempted, f_int), fell_back_range=rng,
    )  # fmt: skip
    summary.verdict = verdict(summary)
    return summary


def _findings(
    fb: dict[str, int], not_attempted: int | None, faults: int | None, model: str
) -> list[Finding]:
    items = [(k, v) for k, v in fb.items() if v > 0]
    if not_attempted:
        items.append(("not_attempted", not_attempted))
    items.sort(key=lambda kv: (-kv[1], kv[0]))
    out = []
    for name, count in items:
        r = reason(name, model)
        out.append(
            Finding(name, count, pct(count, faults) or 0.0, r.meaning, r.likely_cause, r.advice)
        )
    return out


def _reconcile(per_source: list[SourceTotals]) -> list[str]:
    """Flag sources that disagree on the same quantity by more than 2%."""
    notes: list[str] = []
    for attr in ("faults", "speculative"):
        vals = [(s.origin, getattr(s, attr)) for s in per_source if getattr(s, attr) is not None]
        if len(vals) < 2:
            continue
        lo = min(v for _, v in vals)
        hi = max(v for _, v in vals)
        if hi > 0 and (hi - lo) / hi > 0.02:
            shown = ", ".join(f"{o} {int(v):,}" for o, v in vals)
            if any(o == "vmstat" for o, _ in vals):
                why = ("vmstat counts the whole system between snapshots while perf stat "
                       "counts only the command")  # fmt: skip
            elif any(o == "trace" for o, _ in vals):
                why = ("the trace covers the recorded span and its events may be lost, while "
                       "counters cover the whole command")  # fmt: skip
            else:
                why = "the sources cover different spans"
            notes.append(f"{attr} differ between sources ({shown}): {why}.")
    ps = next((s for s in per_source if s.origin == "perf-stat" and s.fallbacks), None)
    tr = next((s for s in per_source if s.origin == "trace" and s.fallbacks), None)
    if ps is not None and tr is not None:
        for reason, n in sorted(ps.fallbacks.items()):
            t = tr.fallbacks.get(reason, 0.0)
            if n != t:
                notes.append(
                    f"{reason}: perf stat counted {int(n):,}, the trace holds {int(t):,} records"
                    + (" (events were lost or the trace covers a shorter span)." if t < n else ".")
                )
    for s in per_source:
        notes.extend(s.notes)
    return notes


def verdict(s: RunSummary) -> str:
    """One or two sentences that answer the question."""
    if s.faults is None:
        return (
            "No fault count in this run: record 'faults' with perf stat or snapshot /proc/vmstat."
        )
    from .reconcile import vma_verdict

    vma = vma_verdict(s)
    if vma is not None:
        return vma
    if s.speculative is None and not s.fallbacks:
        return (
            f"{s.faults:,} faults, but no evidence about the speculative path or the per-VMA "
            "lock: this run has no "
            "spf counter, no pagefault:spf_* events and no vma_lock_*/speculative_pgfault "
            "vmstat counters. Record them on an SPF kernel, enable "
            "CONFIG_PER_VMA_LOCK_STATS, or trace exceptions:page_fault_user with mmap_lock:*."
        )
    w = words(s.kernel_model)
    handled = handled_sentence(s.speculative, s.faults, w)
    top = next((f for f in s.findings if f.reason != "not_attempted"), None)
    if (s.not_attempted_pct or 0.0) >= 90.0:
        return (
            f"Nearly all faults ({share_text(s.not_attempted, s.faults)}) never tried "
            f"{w.path}: "
            + (
                "they came from single-threaded processes, which are handled directly under "
                "mmap_sem"
                if s.kernel_model == SPF
                else "kernel-mode faults and faults the fast path does not cover take "
                "mmap_lock directly"
            )
            + f". {handled}, so {w.path} neither helps nor hurts this workload."
        )
    if top is None:
        return f"{handled}, with no fallbacks."
    head = handled
    return (
        f"{head}; the dominant fallback is {top.reason} ({top.share_pct:.2f}% of faults, "
        f"{top.count:,}): {reason(top.reason).short}"
    )
