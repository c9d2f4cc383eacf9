"""Base versus head: LKP's decision and layout row for row, with Welch's test beside it.

Each run is one sample of every metric it has.  A metric is compared over the runs of each side
that have it (LKP computes a stat over the result root that holds it: a label's runs may be
different jobs, such as perf stat runs and will-it-scale runs), and each row says how many.
LKP's rule (lkp.py) and Welch's test (welch.py) are computed for every row; a row is shown
without ``--all`` when LKP calls it changed or Welch gives p < 0.05.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ...errors import SpftraceError
from ...store import Dataset
from . import lkp
from .lkp import lkp_avg, lkp_change, lkp_std
from .runs import resolve, run_axes, run_metrics, side_axes
from .welch import welch

__all__ = [
    "SORTS",
    "Comparison",
    "Row",
    "compare",
    "lkp_avg",
    "lkp_change",
    "lkp_std",
    "render_lkp",
    "render_stats",
    "render_text",
    "resolve",
    "run_metrics",
]

SORTS = ("lkp", "change")


@dataclass
class Row:
    metric: str
    base_runs: list[str]
    head_runs: list[str]
    base: list[float]
    head: list[float]
    base_mean: float
    head_mean: float
    base_stddev: float | None  # population, as LKP; None with one run
    head_stddev: float | None
    base_std_pct: float | None  # of the mean; None with one run or a zero mean
    head_std_pct: float | None
    change_pct: float
    lkp_changed: bool
    lkp_reason: str
    p_value: float | None
    ci_pct: tuple[float, float] | None
    stats_note: str | None  # why p or the interval is missing
    significant: bool  # shown without --all: LKP says changed, or p < 0.05

    @property
    def family(self) -> str:
        return lkp.family(self.metric)

    def lkp_line(self) -> str:
        return lkp.lkp_line(
            self.metric, self.base_mean, self.base_stddev, self.change_pct,
            self.head_mean, self.head_stddev,
        )  # fmt: skip


@dataclass
class Comparison:
    base_label: str
    head_label: str
    base_runs: list[str]
    head_runs: list[str]
    rows: list[Row]
    warnings: list[str] = field(default_factory=list)
    sort: str = "lkp"
    axes: list[dict[str, str]] = field(default_factory=list)  # base's, head's

    def as_dict(self) -> dict[str, Any]:
        rows = []
        for r in self.rows:
            row = asdict(r)
            row["ci_pct"] = list(r.ci_pct) if r.ci_pct else None
            row["base_n"], row["head_n"] = len(r.base), len(r.head)
            rows.append(row)
        return {
            "schema": "spftrace.compare/1",
            "base": {"label": self.base_label, "runs": self.base_runs},
            "head": {"label": self.head_label, "runs": self.head_runs},
            "sort": self.sort,
            "warnings": self.warnings,
            "rows": rows,
        }


def make_row(
    metric: str, base_runs: list[str], base: list[float], head_runs: list[str], head: list[float]
) -> Row:
    mb, mh = lkp.average(base), lkp.average(head)  # compare.rb:761
    sb, sh = lkp.standard_deviation(base), lkp.standard_deviation(head)  # compare.rb:762
    decision = lkp.decide(metric, base, head)
    w = welch(base, head)
    return Row(
        metric, base_runs, head_runs, base, head, mb, mh, sb, sh,
        100 * sb / mb if sb is not None and mb else None,
        100 * sh / mh if sh is not None and mh else None,
        lkp.change_pct(mb, mh), decision.changed, decision.reason,
        w.p_value, w.ci_pct, w.note, decision.changed or w.significant,
    )  # fmt: skip


def sort_rows(rows: list[Row], sort: str) -> list[Row]:
    if sort == "lkp":
        counts: dict[str, int] = {}
        for r in rows:
            counts[r.family] = counts.get(r.family, 0) + 1
        return sorted(rows, key=lambda r: lkp.sort_key(r.metric, counts))
    # families grouped, the family with the largest change first, rows by |%change|
    best: dict[str, float] = {}
    for r in rows:
        best[r.family] = max(best.get(r.family, 0.0), abs(r.change_pct))
    return sorted(rows, key=lambda r: (-best[r.family], r.family, -abs(r.change_pct), r.metric))


def compare(
    ds: Dataset, base: str, head: str, *, show_all: bool = False, sort: str = "lkp"
) -> Comparison:
    if sort not in SORTS:
        raise SpftraceError(f"--sort must be one of {', '.join(SORTS)}, not {sort!r}")
    con = ds.connect()
    try:
        bl, base_runs = resolve(con, base)
        hl, head_runs = resolve(con, head)
        axes = run_axes(con, base_runs + head_runs)
    finally:
        con.close()
    # 16 runs at a time on a connection of their files (store.Dataset.connect: a query
    # over a view plans in time linear in its files, so a fleet's would cost runs x files)
    metrics: dict[str, dict[str, float]] = {}
    sides = sorted({*base_runs, *head_runs})
    for i in range(0, len(sides), 16):
        some = sides[i : i + 16]
        con = ds.connect(runs=some)
        try:
            metrics.update((r, run_metrics(con, r)) for r in some)
        finally:
            con.close()
    bm = {r: metrics[r] for r in base_runs}
    hm = {r: metrics[r] for r in head_runs}
    return compare_metrics(bl, base_runs, bm, hl, head_runs, hm, axes, show_all, sort)


def compare_metrics(
    bl: str,
    base_runs: list[str],
    bm: dict[str, dict[str, float]],
    hl: str,
    head_runs: list[str],
    hm: dict[str, dict[str, float]],
    axes: dict[str, dict[str, str | None]],
    show_all: bool = False,
    sort: str = "lkp",
) -> Comparison:
    """The comparison from each run's metrics (``run_metrics``) and axes (``run_axes``):
    DuckDB computes them in ``compare``, Spark in fleet/."""
    in_base = set().union(*bm.values())
    in_head = set().union(*hm.values())
    rows = []
    for metric in sorted(in_base & in_head):
        br = [r for r in base_runs if metric in bm[r]]
        hr = [r for r in head_runs if metric in hm[r]]
        row = make_row(metric, br, [bm[r][metric] for r in br], hr, [hm[r][metric] for r in hr])
        if row.significant or show_all:
            rows.append(row)
    cmp = Comparison(bl, hl, base_runs, head_runs, sort_rows(rows, sort), sort=sort)
    cmp.axes = [side_axes(bl, base_runs, axes), side_axes(hl, head_runs, axes)]
    cmp.warnings = side_warnings(len(base_runs), len(head_runs))
    for side, only in (("base", in_base - in_head), ("head", in_head - in_base)):
        if only:
            names = sorted(only)
            more = f" and {len(names) - 5} more" if len(names) > 5 else ""
            cmp.warnings.append(
                f"{len(names)} metric{'s' if len(names) > 1 else ''} only in the {side}, not "
                f"compared: {', '.join(names[:5])}{more}"
            )
    return cmp


def side_warnings(n_base: int, n_head: int) -> list[str]:
    out = []
    if n_base < 3 and n_head < 3:
        out.append(
            f"LKP needs 3 runs on one side (base has {n_base}, head has {n_head}): it calls "
            "nothing changed; rows are shown on Welch's test alone"
        )
    for side, n in (("base", n_base), ("head", n_head)):
        if n < 2:
            out.append(
                f"{side} has 1 run: no Welch test (it needs 2 runs a side)"
                + ("; rows are shown on LKP's decision alone" if max(n_base, n_head) >= 3 else "")
            )
    return out


# --- text ------------------------------------------------------------------------------------


def render_lkp(cmp: Comparison) -> list[str]:
    """LKP's show_group (compare.rb:966-997): nothing when no row is shown (compare.rb:971),
    else the group header, one line per row and a blank line."""
    if not cmp.rows:
        return []
    return [*lkp.lkp_header(cmp.axes), *(r.lkp_line() for r in cmp.rows), ""]


def render_stats(cmp: Comparison) -> list[str]:
    """spftrace's addition: the run counts and the evidence behind each row."""
    width = max([len("metric"), *(len(r.metric) for r in cmp.rows)])
    out = [f"{'metric':<{width}} {'runs':>7} {'LKP':>11} {'p (Welch)':>10}  95% CI of %change"]
    for r in cmp.rows:
        runs = f"{len(r.base)}:{len(r.head)}"
        p = "n/a" if r.p_value is None else f"{r.p_value:.3g}"
        if r.ci_pct is not None:
            ci = f"[{r.ci_pct[0]:+.1f}%, {r.ci_pct[1]:+.1f}%]"
        else:
            ci = f"n/a: {r.stats_note}"
        out.append(f"{r.metric:<{width}} {runs:>7} {r.lkp_reason:>11} {p:>10}  {ci}")
    return out


def render_text(cmp: Comparison) -> list[str]:
    def runs(n: int) -> str:
        return f"{n} run{'' if n == 1 else 's'}"

    out = [
        f"base: {cmp.base_label} ({runs(len(cmp.base_runs))})   head: {cmp.head_label} "
        f"({runs(len(cmp.head_runs))})",
        *[f"warning: {w}" for w in cmp.warnings],
        "",
    ]
    if not cmp.rows:
        return [*out, "(no change that LKP or Welch calls significant; --all shows every metric)"]
    return [*out, *render_lkp(cmp), *render_stats(cmp)]
