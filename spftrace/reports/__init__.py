"""Report model and renderers.  ``build()`` computes; text/json/html only format."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..analysis import fault_sites as fault_sites_analysis
from ..analysis.model import RunSummary, summarize
from ..errors import SpftraceError
from ..store import Dataset

JSON_SCHEMA = "spftrace.report/1"
#: findings that are not fallbacks: they never tried the fast path, or are not traced
NOT_FALLBACKS = ("not_attempted", "kernel_fault", "untraced")


@dataclass
class IngestStats:
    run: str
    inputs: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    rejects_total: int = 0


@dataclass
class ReportModel:
    runs: list[RunSummary]
    ingest: list[IngestStats]
    dataset: str
    across_runs: list[str] = field(default_factory=list)
    #: run -> analysis.fault_sites section ("Where faults come from"), runs with fault samples
    fault_sites: dict[str, dict[str, Any]] = field(default_factory=dict)


def across_runs(runs: Sequence[RunSummary]) -> list[str]:
    """How each fallback reason's share moves across runs of one workload on one kernel model
    (spf_vma_changed from 1.79% of ebizzy's faults with 16 threads to 22.04% with 80).

    The workload is the program the run's command names (after ``env``, a shell or an
    interpreter): runs of different workloads, or that name no command, are never compared,
    and each note names the runs it compared.  Only a change between different commands of
    the workload is put down to concurrency."""
    shells = {"env", "sh", "bash", "dash", "python", "python3", "perl", "ruby"}

    def workload(command: str | None) -> str | None:
        words = [w for w in (command or "").split() if not w.startswith("-") and "=" not in w]
        names = [w.rsplit("/", 1)[-1] for w in words]
        return next((n for n in names if n not in shells), None)

    notes = []
    by_reason: dict[tuple[str, str, str], list[tuple[float, str, str]]] = {}
    for s in runs:
        program = workload(s.command)
        if program is None:
            continue
        for f in s.findings:
            if f.reason not in NOT_FALLBACKS:
                key = (s.kernel_model, program, f.reason)
                by_reason.setdefault(key, []).append((f.share_pct, s.run, s.command or ""))
    for (_model, program, reason), shares in sorted(by_reason.items()):
        if len(shares) < 2:
            continue
        lo, hi = min(shares), max(shares)
        if hi[0] >= 2 * max(lo[0], 0.01) and hi[0] >= 1.0:
            names = [r for _, r, _ in shares]
            compared = f"{len(names)} runs of {program} ({', '.join(names[:6])}"
            compared += f" and {len(names) - 6} more)" if len(names) > 6 else ")"
            head = (
                f"{reason} grows from {lo[0]:.2f}% of faults ({lo[1]}) to {hi[0]:.2f}% "
                f"({hi[1]}) across the {compared}"
            )
            if reason in ("spf_vma_changed", "vma_lock_abort", "mmap_lock_fallback") and (
                lo[2] != hi[2]
            ):
                notes.append(
                    f"{head}: {lo[2]!r} against {hi[2]!r}; more concurrency (threads, CPUs) "
                    "means more overlap with VMA changes."
                )
            else:
                notes.append(f"{head}.".replace(" grows from ", " ranges from ", 1))
    return notes


#: runs whose queries share a connection: its start costs ~0.2 s, and a query's planning
#: ~0.3 ms for each file of the connection's (a thousand runs: a third of a second)
_RUNS_PER_CONNECTION = 16


def build(
    ds: Dataset,
    runs: Sequence[str] | None = None,
    label: str | None = None,
    kallsyms: str | None = None,
) -> ReportModel:
    """Summaries of the chosen runs (default: all), plus their ingest statistics."""
    ds.verify(list(runs) if runs else None)
    damaged = ds.damage_error(list(runs) if runs else None)
    if damaged is not None:
        raise damaged
    con = ds.connect()
    try:
        known = [
            r[0]
            for r in con.execute(
                "SELECT run FROM runs GROUP BY run ORDER BY min(ingested_at), run"
            ).fetchall()
        ]
        if not known:
            raise SpftraceError(f"{ds.path}: the dataset has no runs yet; ingest something first")
        chosen = list(runs) if runs else list(known)
        missing = [r for r in chosen if r not in known]
        if missing:
            raise SpftraceError(
                f"no run named {missing[0]!r} in {ds.path}; known runs: {', '.join(known[:20])}"
            )
        if label is not None:
            labelled = {
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT run FROM runs WHERE label = ?", [label]
                ).fetchall()
            }
            chosen = [r for r in chosen if r in labelled]
            if not chosen:
                raise SpftraceError(f"no run has label {label!r}")
        syms = None
        if kallsyms is not None:
            from ..analysis.trace import Kallsyms

            try:
                syms = Kallsyms.load(kallsyms)
            except OSError as exc:
                raise SpftraceError(f"{kallsyms}: cannot read kallsyms: {exc.strerror}") from None
    finally:
        con.close()
    summaries: list[RunSummary] = []
    ingest: list[IngestStats] = []
    sites: dict[str, Any] = {}
    # a few runs at a time on a connection of their files (Dataset.connect: runs), so
    # that a fleet's report costs the same per run whatever its size
    for i in range(0, len(chosen), _RUNS_PER_CONNECTION):
        some = chosen[i : i + _RUNS_PER_CONNECTION]
        con = ds.connect(runs=some)
        try:
            for r in some:
                summaries.append(summarize(con, r, syms))
                ingest.append(_ingest_stats(con, r))
                if (fs := fault_sites_analysis.analyse(con, r)) is not None:
                    sites[r] = fs
        finally:
            con.close()
    return ReportModel(summaries, ingest, str(ds.path), across_runs(summaries), sites)


def _ingest_stats(con: Any, run: str) -> IngestStats:
    st = IngestStats(run)
    rows = con.execute(
        """
        SELECT r.input, r.source, r.source_format, r.bytes,
               map_from_entries(list({'k': s.name, 'v': s.value}))
        FROM runs r LEFT JOIN (
            SELECT run, input, name, sum(value) AS value FROM stats GROUP BY ALL
        ) s ON s.run = r.run AND s.input = r.input
        WHERE r.run = ? GROUP BY ALL ORDER BY r.input
        """,
        [run],
    ).fetchall()
    for input_no, source, fmt, nbytes, stats in rows:
        st.inputs.append(
            {
                "input": input_no,
                "source": source,
                "format": fmt,
                "bytes": nbytes,
                "stats": {k: v for k, v in (stats or {}).items() if k is not None},
            }
        )
    st.rejects_total = con.execute("SELECT count(*) FROM rejects WHERE run = ?", [run]).fetchone()[
        0
    ]
    for input_no, line_no, line, why in con.execute(
        "SELECT input, line_no, line, reason FROM rejects WHERE run = ? "
        "ORDER BY input, line_no LIMIT 20",
        [run],
    ).fetchall():
        st.rejects.append(
            {
                "input": input_no,
                "line_no": line_no,
                "line": bytes(line).decode("utf-8", "backslashreplace"),
                "reason": why,
            }
        )
    return st
