"""Base versus head, the way LKP compares, with real statistics added.

Each run is one sample of every metric it has: perf stat totals
(``perf-stat.<event>``, and ``perf-stat.ps.<event>`` per second when the elapsed
time is known), vmstat deltas (``proc-vmstat.<key>``), will-it-scale metrics
(``will-it-scale.per_thread_ops`` ...) and spftrace's own
(``spftrace.speculative_pct``, ``spftrace.fallback.<reason>``,
``spftrace.fallback_per_fault.<reason>``).

Per metric: LKP's row (lib/compare.rb: plain means, population stddev as % of
the mean shown above 2%, ``%change = 100 * (head - base) / base``) and LKP's
"changed" rule (lib/stats.rb, lib/changed_stat.rb: trim ``n >> 5`` samples at
each end, the trimmed ranges must separate around the other side's median, at
least 3 runs on one side, ratio of medians > 1.01 and > 1.05 unless a perf
metric, proc-vmstat values need max > 1000), then Welch's t-test and a 95%
confidence interval of the %change (difference of means with the
Welch-Satterthwaite degrees of freedom, over the base mean).  A row is
significant when LKP's rule says changed or Welch's p < 0.05 with an interval
that excludes zero; with fewer than two runs on a side nothing is, and the
header says why.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import SpftraceError
from ..store import Dataset
from .model import summarize

PERF_METRIC_PREFIXES = ("perf-stat.", "proc-vmstat.", "will-it-scale.", "spftrace.")


@dataclass
class Row:
    metric: str
    base: list[float]
    head: list[float]
    base_mean: float
    head_mean: float
    base_std_pct: float | None
    head_std_pct: float | None
    change_pct: float
    lkp_changed: bool
    p_value: float | None
    ci_pct: tuple[float, float] | None
    significant: bool

    @property
    def family(self) -> str:
        return self.metric.split(".", 1)[0]


@dataclass
class Comparison:
    base_label: str
    head_label: str
    base_runs: list[str]
    head_runs: list[str]
    rows: list[Row]
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = {
            "schema": "spftrace.compare/1",
            "base": {"label": self.base_label, "runs": self.base_runs},
            "head": {"label": self.head_label, "runs": self.head_runs},
            "warnings": self.warnings,
            "rows": [],
        }
        for r in self.rows:
            row = asdict(r)
            row["ci_pct"] = list(r.ci_pct) if r.ci_pct else None
            d["rows"].append(row)  # type: ignore[attr-defined]
        return d


def run_metrics(con: Any, run: str) -> dict[str, float]:
    m: dict[str, float] = {}
    s = summarize(con, run, breakdowns=False)  # its per-source totals are reused below
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
    for event, v in con.execute(
        "SELECT event, sum(value) FROM counters WHERE run = ? AND origin = 'will-it-scale' "
        "GROUP BY event",
        [run],
    ).fetchall():
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


def _stats(xs: list[float]) -> tuple[float, float]:
    mean = sum(xs) / len(xs)
    var = sum((x - mean) ** 2 for x in xs) / len(xs)  # population, as LKP
    return mean, math.sqrt(var)


def _trimmed(xs: list[float]) -> list[float]:
    s = sorted(xs)
    cut = min(len(s) >> 5, 3)
    return s[cut : len(s) - cut] if cut else s


def lkp_changed(metric: str, base: list[float], head: list[float]) -> bool:
    if len(base) < 3 and len(head) < 3:
        return False
    a, b = _trimmed(head), _trimmed(base)
    mean_a, mean_b = a[len(a) // 2], b[len(b) // 2]  # LKP's "mean" is the middle element
    min_a, max_a, min_b, max_b = a[0], a[-1], b[0], b[-1]
    if not ((min_b > mean_a and mean_b > max_a) or (min_a > mean_b and mean_a > max_b)):
        return False
    lo, hi = sorted((abs(mean_a), abs(mean_b)))
    ratio = 5.0 if lo == 0 else min(hi / lo, 5.0)
    if ratio <= 1.01:
        return False
    perf = metric.startswith(PERF_METRIC_PREFIXES)
    if not perf and ratio <= 1.05:
        return False
    return not (metric.startswith("proc-vmstat.") and max(max_a, max_b) <= 1000)


def welch(base: list[float], head: list[float]) -> tuple[float | None, tuple[float, float] | None]:
    if len(base) < 2 or len(head) < 2:
        return None, None
    from scipy import stats

    mb, mh = sum(base) / len(base), sum(head) / len(head)
    vb = sum((x - mb) ** 2 for x in base) / (len(base) - 1)
    vh = sum((x - mh) ** 2 for x in head) / (len(head) - 1)
    se2 = vb / len(base) + vh / len(head)
    if se2 == 0 or mb == 0:
        return (0.0 if mb != mh else 1.0), None
    with warnings.catch_warnings():  # nearly identical samples: scipy warns, p stays valid
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.ttest_ind(head, base, equal_var=False)
    df = se2**2 / (
        (vb / len(base)) ** 2 / (len(base) - 1) + (vh / len(head)) ** 2 / (len(head) - 1)
    )
    half = float(stats.t.ppf(0.975, df)) * math.sqrt(se2)
    diff = mh - mb
    return float(res.pvalue), (100 * (diff - half) / abs(mb), 100 * (diff + half) / abs(mb))


def compare(ds: Dataset, base: str, head: str, *, show_all: bool = False) -> Comparison:
    con = ds.connect()
    try:
        bl, base_runs = resolve(con, base)
        hl, head_runs = resolve(con, head)
        bm = [run_metrics(con, r) for r in base_runs]
        hm = [run_metrics(con, r) for r in head_runs]
    finally:
        con.close()
    warnings = []
    for side, runs in (("base", base_runs), ("head", head_runs)):
        if len(runs) < 3:
            warnings.append(
                f"{side} has {len(runs)} run{'s' if len(runs) != 1 else ''}: LKP's rule needs 3 "
                "on one side"
                + (
                    "; with one run there is no spread, so no change is called significant"
                    if len(runs) < 2
                    else ""
                )
            )
    common = set.intersection(*(set(m) for m in bm + hm)) if bm and hm else set()
    rows = []
    for metric in sorted(common):
        b = [m[metric] for m in bm]
        h = [m[metric] for m in hm]
        mb, sb = _stats(b)
        mh, sh = _stats(h)
        change = 100.0 * (mh - mb) / (mb if mb != 0 else 1e-100)
        changed = lkp_changed(metric, b, h)
        p, ci = welch(b, h)
        sig = (
            len(b) >= 2
            and len(h) >= 2
            and (
                changed
                or (p is not None and p < 0.05 and ci is not None and (ci[0] > 0 or ci[1] < 0))
            )
        )
        if mb == mh:
            sig = False
        if not (sig or show_all):
            continue
        rows.append(Row(
            metric, b, h, mb, mh,
            100 * sb / mb if mb and len(b) > 1 else None,
            100 * sh / mh if mh and len(h) > 1 else None,
            change, changed, p, ci, sig,
        ))  # fmt: skip
    # families grouped, the family with the largest change first, rows by |%change|
    best: dict[str, float] = {}
    for r in rows:
        best[r.family] = max(best.get(r.family, 0.0), abs(r.change_pct))
    rows.sort(key=lambda r: (-best[r.family], r.family, -abs(r.change_pct), r.metric))
    return Comparison(bl, hl, base_runs, head_runs, rows, warnings)


# --- LKP's text layout -----------------------------------------------------------------


def lkp_avg(v: float) -> str:
    if abs(v) < 1000:
        return f"{v:10.2f}"
    if abs(v) > 1e8:
        return f"{v:10.4g}"
    return f"{int(v):10d}"


def lkp_std(pct: float | None) -> str:
    return f" ±{int(pct):3d}%" if pct is not None and pct > 2 else " " * 6


def lkp_change(c: float) -> str:
    return f"{c:+10.1f}% " if abs(c) < 100000 else f"{c:+10.2g}% "


def render_lkp(cmp: Comparison) -> list[str]:
    """The table in LKP's layout (lib/compare.rb), one line per row."""
    out = [
        f"base: {cmp.base_label} ({len(cmp.base_runs)} runs)   head: {cmp.head_label} "
        f"({len(cmp.head_runs)} runs)",
        *[f"warning: {w}" for w in cmp.warnings],
        "",
        "         %stddev     %change         %stddev",
        "             \\          |                \\  ",
    ]
    for r in cmp.rows:
        out.append(
            lkp_avg(r.base_mean) + lkp_std(r.base_std_pct) + lkp_change(r.change_pct)
            + lkp_avg(r.head_mean) + lkp_std(r.head_std_pct) + "  " + r.metric
        )  # fmt: skip
    return out


def render_stats(cmp: Comparison) -> list[str]:
    """spftrace's addition: the evidence behind each row."""
    out = [f"{'metric':<48} {'LKP':>7} {'p (Welch)':>10} {'95% CI of %change':>22}"]
    for r in cmp.rows:
        p = "n/a" if r.p_value is None else f"{r.p_value:.3g}"
        ci = "n/a" if r.ci_pct is None else f"[{r.ci_pct[0]:+.1f}%, {r.ci_pct[1]:+.1f}%]"
        out.append(f"{r.metric:<48} {'changed' if r.lkp_changed else '-':>7} {p:>10} {ci:>22}")
    return out
