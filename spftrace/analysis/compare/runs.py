"""What a run contributes to a comparison: its metrics (one sample each) and its axes."""

from __future__ import annotations

from typing import Any

from ...errors import SpftraceError
from ..model import summarize

#: the runs-table columns a side is described by in LKP's group header (compare.rb:915-947)
AXES = ("command", "kernel")


def run_metrics(con: Any, run: str) -> dict[str, float]:
    """perf stat totals (``perf-stat.<event>``, ``perf-stat.ps.<event>`` per second when the
    elapsed time is known), vmstat deltas (``proc-vmstat.<key>``), will-it-scale results and
    spftrace's own (``spftrace.speculative_pct``, ``spftrace.fallback[_per_fault].<reason>``)."""
    s = summarize(con, run, breakdowns=False)  # its per-source totals are reused below
    wis = con.execute(
        "SELECT event, sum(value) FROM counters WHERE run = ? AND origin = 'will-it-scale' "
        "GROUP BY event",
        [run],
    ).fetchall()
    return metrics_of(s, wis)


def metrics_of(s: Any, wis: list[Any]) -> dict[str, float]:
    """``run_metrics`` from a run's summary and its will-it-scale sums (event, sum)."""
    m: dict[str, float] = {}
    ps = next((x for x in s.per_source if x.origin == "perf-stat"), None)
    if ps is not None:
        for event, v in ps.values.items():
            m[f"perf-stat.{event}"] = v
            if ps.duration_s and "/s" not in event:  # not a rate of a rate
                m[f"perf-stat.ps.{event}"] = v / ps.duration_s
        if ps.duration_s:
            m["perf-stat.seconds-time-elapsed"] = ps.duration_s
    vm = next((x for x in s.per_source if x.origin == "vmstat"), None)
    if vm is not None and not vm.since_boot:
        for k, v in vm.values.items():
            m[f"proc-vmstat.{k}"] = v
    for event, v in wis:
        m[event] = float(v)
    if s.speculative_pct is not None:
        m["spftrace.speculative_pct"] = s.speculative_pct
    for reason, n in s.fallbacks.items():
        m[f"spftrace.fallback.{reason}"] = float(n)
        if s.faults:
            m[f"spftrace.fallback_per_fault.{reason}"] = n / s.faults
    return m


def resolve(con: Any, spec: str) -> tuple[str, list[str]]:
    """A label, or a comma-separated list of run names."""
    query = "SELECT DISTINCT run FROM runs WHERE label = ? ORDER BY run"
    runs = [r[0] for r in con.execute(query, [spec]).fetchall()]
    if runs:
        return spec, runs
    names = [x for x in spec.split(",") if x]
    known = {r[0] for r in con.execute("SELECT DISTINCT run FROM runs").fetchall()}
    missing = [n for n in names if n not in known]
    if missing or not names:
        raise SpftraceError(
            f"{spec!r} is neither a label nor a list of run names (unknown: "
            f"{', '.join(missing) or spec}); see `spftrace runs`"
        )
    return spec, names


def run_axes(con: Any, runs: list[str]) -> dict[str, dict[str, str | None]]:
    """Per run, each axis's value when its inputs name exactly one (else None)."""
    out: dict[str, dict[str, str | None]] = {r: dict.fromkeys(AXES) for r in runs}
    for axis in AXES:
        for run, values in con.execute(
            f"SELECT run, list(DISTINCT {axis}) FILTER (WHERE {axis} IS NOT NULL) FROM runs "
            "WHERE list_contains(?, run) GROUP BY run",
            [runs],
        ).fetchall():
            if values is not None and len(values) == 1:
                out[run][axis] = values[0]
    return out


def side_axes(
    label: str, runs: list[str], axes: dict[str, dict[str, str | None]]
) -> dict[str, str]:
    """LKP's result-root axes for one side: the label, then every axis all its runs share."""
    out = {"label": label}
    for axis in AXES:
        values = {axes[r][axis] for r in runs}
        if len(values) == 1 and None not in values:
            out[axis] = str(values.pop())
    return out
