"""LKP's compare: its rule for "changed" and its text layout, as intel/lkp-tests has them.

Read from intel/lkp-tests with these versions (every ``file:line`` below refers to them):
lib/stats.rb, lib/changed_stat.rb, lib/programs.rb at 2409d6a4b297b8cff8704a2cc5fe982df0da1414;
lib/compare.rb at 1ebd315e207da42d83bf84e2a1f6f867dcb45e5a; lib/perf_metrics.rb at
198b16c78a6d25fc80b43bca74c1ef8b1f1d2584; etc/perf-metrics-prefixes at 937e810e; etc/
linux-perf-test-cases at f3e06e4e; lib/statistics.rb from fengguang/lkp-tests at 38f619e5 (no
intel/ copy is stored); etc/perf-metrics-threshold.yaml: see perf-metrics-threshold.tsv.

spftrace decides as ``compare -m`` (more stats): without ``-m``, skip_stat? (stats.rb:614) drops
every stat etc/stat-denylist lists, and it lists ``^perf-stat\\.`` and ``^proc-vmstat\\.``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .rubyfmt import fmt_f, fmt_g

MARGIN_SHIFT = 5  # stats.rb:20
MAX_RATIO = 5.0  # stats.rb:21
ABS_WIDTH, REL_WIDTH, ERR_WIDTH = 10, 10, 6  # compare.rb:98-100

#: perf_metric? (stats.rb:56-58 -> perf_metrics.rb:19-35): etc/perf-metrics-prefixes:20
#: ``perf-stat\.`` and :22 ``proc-vmstat\.``, plus the prefix of every test that is not a
#: functional one (perf_metrics.rb:21-26): will-it-scale is etc/linux-perf-test-cases:112.
#: spftrace's own metrics match none, so they need ratio > 1.05 like any non-perf stat.
PERF_METRIC_PREFIXES = ("perf-stat.", "proc-vmstat.", "will-it-scale.")
#: LKP::Programs.all_tests_set (programs.rb:19-32): programs/will-it-scale/run exists;
#: perf-stat and proc-vmstat are monitors (programs/perf-stat has monitor and parse only).
TEST_FAMILIES = frozenset({"will-it-scale"})


@dataclass(frozen=True)
class Decision:
    """Would LKP list this stat, and if not, the first of its rules that said no."""

    changed: bool
    reason: str  # changed | runs<3 | empty | overlap | ratio<=1.01 | ratio<=1.05 | threshold
    ratio: float | None = None
    delta: float | None = None
    max: float | None = None


# --- the numbers -----------------------------------------------------------------------------


def ruby_sum(xs: Sequence[float]) -> float:
    """Ruby's Array#sum (array.c rb_ary_sum): Kahan-Babuska compensated summation.  It is what
    statistics.rb:16-18 ``average`` calls, because Array's own #sum takes precedence over the
    Enumerable#sum of statistics.rb:7-14."""
    f = c = 0.0
    for x in xs:
        t = f + x
        c += (f - t) + x if abs(f) >= abs(x) else (x - t) + f
        f = t
    return f + c


def average(xs: Sequence[float]) -> float:
    """Enumerable#average (statistics.rb:16-18)."""
    return ruby_sum(xs) / float(len(xs))


def standard_deviation(xs: Sequence[float]) -> float | None:
    """Population stddev (statistics.rb:35-43: ``1 / n * sum``); None where compare.rb:762
    stores -1 (fewer than two samples)."""
    if len(xs) < 2:
        return None
    avg = average(xs)
    total = 0.0
    for x in xs:
        d = x - avg
        total += d * d  # Ruby's Float ** 2 is this product; Python's ** (libm pow) can differ
    return math.sqrt(1 / float(len(xs)) * total)


def change_pct(base_mean: float, head_mean: float) -> float:
    """calc_perf_change (compare.rb:777-795), except that 0 -> 0 is 0.0: LKP divides by 1e-100
    (compare.rb:790) and prints -100.0% for it."""
    if base_mean == 0 and head_mean == 0:
        return 0.0
    avg0 = 1e-100 if base_mean == 0 else base_mean
    return 100.0 * (head_mean - avg0) / avg0


def sort_remove_margin(xs: Sequence[float], max_margin: int) -> list[float]:
    """stats.rb:341-349: sort, drop ``len >> 5`` (at most ``max_margin``) at each end; the
    sort is Enumerable#sorted (statistics.rb:20-24), which also drops leading -1 samples."""
    if not xs:
        return []
    margin = min(len(xs) >> MARGIN_SHIFT, max_margin)
    s = sorted(xs)
    while s and s[0] == -1:  # "-1 means empty data point"
        s.pop(0)
    return s[margin : len(s) - margin]


def min_mean_max(s: Sequence[float]) -> tuple[float, float, float]:
    """stats.rb:352-356: LKP's "mean" is the middle element of the sorted samples."""
    if not s:
        return 0.0, 0.0, 0.0
    return s[0], s[len(s) // 2], s[-1]


def is_perf_metric(metric: str) -> bool:
    return metric.startswith(PERF_METRIC_PREFIXES)


@cache
def thresholds() -> tuple[tuple[re.Pattern[str], int | float], ...]:
    """etc/perf-metrics-threshold.yaml, in its order (stats.rb:28 loads it, :63 walks it)."""
    text = resources.files(__package__).joinpath("perf-metrics-threshold.tsv").read_text()
    out: list[tuple[re.Pattern[str], int | float]] = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            pattern, value = line.split("\t")
            out.append((re.compile(pattern), float(value) if "." in value else int(value)))
    return tuple(out)


def threshold_for(metric: str) -> tuple[str, int | float] | None:
    for pattern, v in thresholds():
        if pattern.fullmatch(metric):  # stats.rb:64: %r{^#{k}$}
            return pattern.pattern, v
    return None


def reasonable_perf_change(name: str, delta: float, mx: float) -> bool:
    """reasonable_perf_change? (stats.rb:62-93)."""
    hit = threshold_for(name)
    if hit is not None:
        v = hit[1]
        if mx < v:  # stats.rb:65
            return False
        # stats.rb:66: Ruby's Integer#/ floors (100 / 2 == 50, 1 / 2 == 0); Floats skip this
        return not (isinstance(v, int) and delta < v // 2)
    if name.startswith("iostat"):  # stats.rb:72-73
        return mx > 1
    if name.startswith(("pagetypeinfo", "buddyinfo", "slabinfo")):  # stats.rb:74-75
        return delta > 100
    if name.startswith("proc-vmstat") or "meminfo" in name:  # stats.rb:76-77
        return mx > 1000
    if name.startswith("lock_stat"):  # stats.rb:78-88 (the first two compare the whole name)
        if name == "waittime-total":
            return delta > 10_000
        if name == "holdtime-total":
            return delta > 100_000
        return delta > 1_000 if "time" in name else delta > 10_000
    if name.startswith(("interrupts", "softirqs")):  # stats.rb:89-90
        return mx > 10_000
    return True  # stats.rb:92


def decide(metric: str, base: Sequence[float], head: Sequence[float]) -> Decision:
    """StatCompare#process (stats.rb:434-450) for a regular stat, as ``compare -m`` calls it.

    ``a`` is the head and ``b`` the base: _calc_changed_stat_keys passes every later matrix as
    ``a`` and the first as ``b`` (compare.rb:403, 412-413).  A run count is the number of runs
    that have the metric (LKP's matrix_cols, stats.rb:124-128, of the result root holding it).
    """
    if len(head) < 3 and len(base) < 3:  # skip_regular_stat?, stats.rb:589
        return Decision(False, "runs<3")
    sb = sort_remove_margin(base, 3)  # calculate_matrix_values, stats.rb:625-636
    max_margin = 1 if len(base) <= 3 else 3  # stats.rb:641
    sa = sort_remove_margin(head, max_margin)  # stats.rb:643
    if not sb or not sa:  # stats.rb:637, 644
        return Decision(False, "empty")
    min_b, mean_b, max_b = min_mean_max(sb)  # changed_stat.rb:19-20
    min_a, mean_a, max_a = min_mean_max(sa)
    # ChangedStat#change? without --distance (changed_stat.rb:73-80)
    if not ((min_b > mean_a and mean_b > max_a) or (min_a > mean_b and mean_a > max_b)):
        return Decision(False, "overlap")
    mx = max(max_b, max_a)  # calc_stats_metrics, stats.rb:658
    hi, lo = (mean_a, mean_b) if mean_a > mean_b else (mean_b, mean_a)  # stats.rb:663-667
    delta = hi - lo  # calc_diff_metrics, stats.rb:676
    ratio = hi / lo if lo > 0 else MAX_RATIO  # stats.rb:678-679
    ratio = min(ratio, MAX_RATIO)  # stats.rb:670
    # skip_small_change? (stats.rb:599-608)
    if not ratio > 1.01:  # stats.rb:603
        return Decision(False, "ratio<=1.01", ratio, delta, mx)
    if not (ratio > 1.05 or is_perf_metric(metric)):  # stats.rb:604
        return Decision(False, "ratio<=1.05", ratio, delta, mx)
    if not reasonable_perf_change(metric, delta, mx):  # stats.rb:605
        return Decision(False, "threshold", ratio, delta, mx)
    return Decision(True, "changed", ratio, delta, mx)


def family(metric: str) -> str:
    return metric.partition(".")[0]  # stat_key_base, stats.rb


def sort_key(metric: str, counts: dict[str, int]) -> tuple[int, str]:
    """Compare.sort_stats (compare.rb:820-841): by the number of shown stats in the metric's
    family (a test family counts 0, so it comes first), then by name; the third key, the
    change, never decides because names are unique."""
    fam = family(metric)
    return (0 if fam in TEST_FAMILIES else counts[fam], metric)


# --- the layout ------------------------------------------------------------------------------


def lkp_avg(avg: float) -> str:
    """compare.rb:884-891, printed as Ruby prints (rubyfmt; its %d truncates a Float toward
    zero, as int() does)."""
    if abs(avg) < 1000:
        return fmt_f(avg, 2, ABS_WIDTH)
    if abs(avg) > 100_000_000:
        return fmt_g(avg, 4, ABS_WIDTH)
    return f"{int(avg):{ABS_WIDTH}d}"


def lkp_std(stddev: float | None, avg: float) -> str:
    """compare.rb:892-898: a side with one run has stddev -1 (compare.rb:762), and the
    stddev is a percentage of the mean only when the mean is not zero."""
    s = -1.0 if stddev is None else stddev
    if avg != 0:
        s = 100 * s / avg
    return f" ±{int(s):{ERR_WIDTH - 3}d}%" if s > 2 else " " * ERR_WIDTH


def lkp_change(p: float) -> str:
    """compare.rb:876-881."""
    if abs(p) < 100_000:
        return fmt_f(p, 1, REL_WIDTH, plus=True) + "% "
    return fmt_g(p, 2, REL_WIDTH, plus=True) + "% "


def lkp_line(
    metric: str,
    base_mean: float,
    base_stddev: float | None,
    change: float,
    head_mean: float,
    head_stddev: float | None,
) -> str:
    """One row: show_perf_change (compare.rb:867-900) then show_stat (compare.rb:902-904)."""
    return (
        lkp_avg(base_mean) + lkp_std(base_stddev, base_mean) + lkp_change(change)
        + lkp_avg(head_mean) + lkp_std(head_stddev, head_mean) + "  " + metric
    )  # fmt: skip


def lkp_header(sides: Sequence[dict[str, str]], compare_key: str = "label") -> list[str]:
    """show_group_header (compare.rb:915-947) and show_perf_header (compare.rb:954-959).

    ``sides`` are the base's and the head's axes (``compare_key`` first).  LKP groups result
    roots by their other axes (compare.rb:31-35): when those agree they are printed once;
    otherwise (its ``-o`` case) each side's axes are printed in full.
    """
    others = [{k: v for k, v in s.items() if k != compare_key} for s in sides]
    common = others[0] if others[0] and all(o == others[0] for o in others) else {}
    out = ["=" * 89]
    blocks = [common] if common else list(sides)
    for axes in blocks:
        out += [f"{'/'.join(axes)}:", f"  {'/'.join(axes.values())}", ""]
    first_width = ABS_WIDTH + ERR_WIDTH
    width = first_width + REL_WIDTH + 1
    values = [s[compare_key] for s in sides]
    out += [f"{compare_key}: ", *[f"  {v}" for v in values], ""]
    out.append(
        f"{values[0][:first_width]:>{first_width}} "
        + "".join(f"{v[:width]:>{width}} " for v in values[1:])
    )
    out.append("-" * first_width + " " + ("-" * width + " ") * (len(values) - 1))
    n = len(values) - 1
    out.append("         %stddev" + "     %change         %stddev" * n)
    out.append("             \\  " + "        |                \\  " * n)
    return out
