"""One golden test per point of issue 13, with LKP's decision derived by hand from its source.

Line numbers: lib/stats.rb and lib/changed_stat.rb at 2409d6a4, lib/compare.rb at 1ebd315e
(intel/lkp-tests); etc/perf-metrics-threshold.yaml ("yaml") of weishan18/lkp-tests at 36b78fbb.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import spftrace
from spftrace import api
from spftrace.analysis.compare import make_row, sort_rows
from spftrace.analysis.compare.welch import welch

from .test_compare import ingest_side, perf_stat, rows_of, wis_csv

SEED = Path(spftrace.__file__).parent / "samples" / "seed"


def compared(data: Path, *, show_all: bool = False) -> dict[str, dict[str, Any]]:
    out = json.loads(api.compare("base", "head", data=data, as_json=True, show_all=show_all))
    return {r["metric"]: r for r in out["rows"]}


# --- 1: a label whose runs carry different metrics ----------------------------------------------

PERF = {"base": [(1000, 900), (1010, 910), (990, 890)], "head": [(1100, 1050), (1150, 1060),
                                                                 (1050, 1040)]}  # fmt: skip
WIS = {"base": [8300, 8310, 8290], "head": [8500, 8510, 8490]}


def test_1_mixed_runs_compare_like_combined_runs(tmp_path: Path) -> None:
    separate, combined = tmp_path / "separate", tmp_path / "combined"
    for side in ("base", "head"):
        ingest_side(separate, tmp_path, side, [perf_stat(f, s) for f, s in PERF[side]], "-perf")
        ingest_side(separate, tmp_path, side, [wis_csv(p) for p in WIS[side]], "-wis")
        for i, ((f, s), p) in enumerate(zip(PERF[side], WIS[side], strict=True)):
            (tmp_path / f"c{side}{i}.txt").write_text(perf_stat(f, s))
            (tmp_path / f"c{side}{i}.csv").write_text(wis_csv(p))
            spftrace.ingest([tmp_path / f"c{side}{i}.txt", tmp_path / f"c{side}{i}.csv"],
                            data=combined, run=f"{side}-{i}", label=side, force=True)  # fmt: skip
    for show_all in (False, True):
        a, b = compared(separate, show_all=show_all), compared(combined, show_all=show_all)
        assert a.keys() == b.keys() and "will-it-scale.per_thread_ops" in a
        for metric in a:
            for key in ("base_runs", "head_runs"):
                a[metric].pop(key), b[metric].pop(key)
            assert a[metric] == b[metric], metric
            assert a[metric]["base_n"] == a[metric]["head_n"] == 3
    # the will-it-scale row is computed over the will-it-scale runs only
    wis = compared(separate)["will-it-scale.per_thread_ops"]
    assert sorted(wis["base_runs"]) == ["base-wis-0", "base-wis-1", "base-wis-2"]
    # sorted 8290/8300/8310 and 8490/8500/8510: 8490 > 8300 and 8500 > 8310
    # (changed_stat.rb:78); ratio 8500 / 8300 = 1.024 > 1.01, a perf test's metric (stats.rb:604)
    assert rows_of(api.compare("base", "head", data=separate))["will-it-scale.per_thread_ops"] == (
        "      8300            +2.4%       8500        will-it-scale.per_thread_ops"
    )


# --- 2: vmstat per-key thresholds ------------------------------------------------------------


def vmstat(compact_stall: int, pgmigrate_fail: int, pgfault: int) -> str:
    return (
        "time: 1000\npgfault 500\npgmajfault 1\ncompact_stall 1000\npgmigrate_fail 5000\n"
        f"time: 1001\npgfault {500 + pgfault}\npgmajfault 1\ncompact_stall {1000 + compact_stall}\n"
        f"pgmigrate_fail {5000 + pgmigrate_fail}\n"
    )


def test_2_vmstat_thresholds(data: Path, tmp_path: Path) -> None:
    ingest_side(data, tmp_path, "base", [vmstat(110, 1465, 10000)] * 3)
    ingest_side(data, tmp_path, "head", [vmstat(310, 1505, 12000)] * 3)
    rows = compared(data)
    # yaml:14 compact_stall 100: max 310 >= 100 and delta 200 >= 50 (stats.rb:65-66)
    assert rows["proc-vmstat.compact_stall"]["lkp_changed"] is True
    # yaml:20 pgmigrate_fail 100: delta 40 < 50 (stats.rb:66); both sides constant: no Welch
    assert "proc-vmstat.pgmigrate_fail" not in rows
    # no yaml pattern: proc-vmstat needs max > 1000 (stats.rb:76-77): 12000
    assert rows["proc-vmstat.pgfault"]["lkp_changed"] is True
    every = compared(data, show_all=True)
    assert every["proc-vmstat.pgmigrate_fail"]["lkp_reason"] == "threshold"
    assert rows_of(api.compare("base", "head", data=data))["proc-vmstat.compact_stall"] == (
        "    110.00          +181.8%     310.00        proc-vmstat.compact_stall"
    )


# --- 3: spftrace's own metrics need a 1.05 ratio ---------------------------------------------


def test_3_spftrace_metrics_get_the_five_percent_rule(data: Path, tmp_path: Path) -> None:
    ingest_side(data, tmp_path, "base", [perf_stat(1000, 901)] * 3)  # 90.1% speculative
    ingest_side(data, tmp_path, "head", [perf_stat(1000, 931)] * 3)  # 93.1%
    rows = compared(data)
    # spf 901 -> 931: ratio 1.033 > 1.01 and perf-stat. is a perf metric (stats.rb:603-604)
    assert rows["perf-stat.spf"]["lkp_changed"] is True
    # speculative_pct 90.1 -> 93.1: 1.033 <= 1.05 and spftrace. is not a perf metric
    assert "spftrace.speculative_pct" not in rows
    pct = compared(data, show_all=True)["spftrace.speculative_pct"]
    assert pct["lkp_reason"] == "ratio<=1.05" and pct["base_mean"] == pytest.approx(90.1)


# --- 4: 3 v 1 and 1 v 3 ------------------------------------------------------------------------


@pytest.mark.parametrize(("base", "head", "line"), [
    # sorted b 990/1000/1010, a 1500: 1500 > 1000 and 1500 > 1010 (changed_stat.rb:78); one run
    # has stddev -1 (compare.rb:762): no ±
    ([1000, 1010, 990], [1500], "      1000           +50.0%       1500        perf-stat.faults"),
    # b 1500, a 990/1000/1010: 1500 > 1000 and 1500 > 1010 (changed_stat.rb:74)
    ([1500], [1000, 1010, 990], "      1500           -33.3%       1000        perf-stat.faults"),
])  # fmt: skip
def test_4_one_run_side_shows_lkp_changes(
    data: Path, tmp_path: Path, base: list[int], head: list[int], line: str
) -> None:
    ingest_side(data, tmp_path, "base", [perf_stat(f, 900) for f in base])
    ingest_side(data, tmp_path, "head", [perf_stat(f, 900) for f in head])
    out = api.compare("base", "head", data=data)
    assert rows_of(out)["perf-stat.faults"] == line
    assert "has 1 run: no Welch test (it needs 2 runs a side); rows are shown on LKP's" in out
    row = compared(data)["perf-stat.faults"]
    assert row["lkp_changed"] and row["significant"] and row["p_value"] is None
    assert row["stats_note"].endswith("has 1 run")


# --- 5: statistics at the edges ----------------------------------------------------------------


def t_two_sided_p_df2(t: float) -> float:
    """Student's t with 2 degrees of freedom has CDF 1/2 + t / (2 sqrt(t^2 + 2))."""
    return 1 - abs(t) / math.sqrt(t * t + 2)


def test_5_welch_at_the_edges() -> None:
    # [0,0,0] v [1,50,100]: se^2 = var(head)/3 = (4900.67/2)/3, df = 2 (the base adds nothing)
    w = welch([0.0, 0.0, 0.0], [1.0, 50.0, 100.0])
    t = (151 / 3) / math.sqrt((sum((x - 151 / 3) ** 2 for x in (1, 50, 100)) / 2) / 3)
    assert w.p_value == pytest.approx(t_two_sided_p_df2(t), rel=1e-9)
    assert round(w.p_value, 2) == 0.22 and not w.significant
    assert w.ci_pct is None and w.note == "base mean 0"
    for b, h in (([5.0] * 3, [5.0] * 3), ([5.0] * 3, [7.0] * 3)):  # constants: no evidence
        assert welch(b, h) == type(w)(None, None, "both sides constant")
    assert welch([1.0, 2.0], [3.0]).note == "head has 1 run"
    # 2 v 2 apart: equal variances 0.5, so df = 2; t_0.975 solves t / sqrt(t^2 + 2) = 0.95
    w = welch([100.0, 101.0], [200.0, 201.0])
    se = math.sqrt(0.5 / 2 + 0.5 / 2)
    assert w.p_value == pytest.approx(t_two_sided_p_df2(100 / se), rel=1e-6)
    q = math.sqrt(2 * 0.95**2 / (1 - 0.95**2))
    assert w.ci_pct == pytest.approx((100 * (100 - q * se) / 100.5, 100 * (100 + q * se) / 100.5))


def test_5_zero_base_row_through_the_dataset(data: Path, tmp_path: Path) -> None:
    ingest_side(data, tmp_path, "base", [perf_stat(1000, 900, 0)] * 3)
    ingest_side(data, tmp_path, "head", [perf_stat(1000, 900, c) for c in (1, 50, 100)])
    row = compared(data)["perf-stat.pagefault:spf_vma_changed"]
    # shown because LKP calls it changed (1 > 0, 50 > 0; ratio 5), not because p = 0
    assert row["lkp_changed"] and round(row["p_value"], 2) == 0.22 and row["ci_pct"] is None
    assert (
        rows_of(api.compare("base", "head", data=data))["perf-stat.pagefault:spf_vma_changed"]
        == "      0.00         +5e+103%      50.33 ± 80%  perf-stat.pagefault:spf_vma_changed"
    )


# --- 6: row order ------------------------------------------------------------------------------


def test_6_lkp_sort_and_change_sort() -> None:
    def row(metric: str, head: float) -> Any:
        return make_row(metric, ["b"] * 3, [100.0] * 3, ["h"] * 3, [head] * 3)

    rows = [row("perf-stat.b", 150), row("perf-stat.a", 120), row("perf-stat.c", 101.5),
            row("proc-vmstat.pgfault", 5000), row("proc-vmstat.pgmajfault", 140),
            row("spftrace.speculative_pct", 300), row("will-it-scale.workload", 110),
            row("will-it-scale.per_thread_ops", 105)]  # fmt: skip
    # compare.rb:820-841: family sizes perf-stat 3, proc-vmstat 2, spftrace 1; will-it-scale is
    # a test (programs/will-it-scale/run) and counts 0; then by name
    assert [r.metric for r in sort_rows(rows, "lkp")] == [
        "will-it-scale.per_thread_ops", "will-it-scale.workload", "spftrace.speculative_pct",
        "proc-vmstat.pgfault", "proc-vmstat.pgmajfault", "perf-stat.a", "perf-stat.b",
        "perf-stat.c",
    ]  # fmt: skip
    # --sort change: the family with the largest |change| first, rows by |change|
    assert [r.metric for r in sort_rows(rows, "change")] == [
        "proc-vmstat.pgfault", "proc-vmstat.pgmajfault", "spftrace.speculative_pct",
        "perf-stat.b", "perf-stat.a", "perf-stat.c", "will-it-scale.workload",
        "will-it-scale.per_thread_ops",
    ]  # fmt: skip


# --- 7: 0 -> 0 -----------------------------------------------------------------------------


def test_7_zero_to_zero_prints_plus_zero(data: Path, tmp_path: Path) -> None:
    ingest_side(data, tmp_path, "base", [perf_stat(1000, 900, 0)] * 3)
    ingest_side(data, tmp_path, "head", [perf_stat(1000, 900, 0)] * 3)
    line = rows_of(api.compare("base", "head", data=data, show_all=True))[
        "perf-stat.pagefault:spf_vma_changed"
    ]
    # LKP: 100 * (0 - 1e-100) / 1e-100 = -100.0% (compare.rb:790-792); spftrace keeps +0.0%
    assert (
        line == "      0.00            +0.0%       0.00        perf-stat.pagefault:spf_vma_changed"
    )


# --- 8: the across-runs sentence ---------------------------------------------------------------


def across(data: Path, names: list[str]) -> list[str]:
    for name in names:
        spftrace.ingest([SEED / name], data=data)
    return list(json.loads(spftrace.report("json", data=data))["across_runs"])


def test_8_different_workloads_are_not_compared(data: Path) -> None:
    # kernbench's spf_vma_changed is 3 of 526,743,764 faults, ebizzy's 30588 of 1,706,379
    assert across(data, ["kernbench-x86-16cpu.txt", "ebizzy-x86-16cpu.txt"]) == []


def test_8_same_workload_names_the_runs_compared(data: Path) -> None:
    (note,) = across(data, ["ebizzy-x86-16cpu.txt", "ebizzy-power8-80cpu.txt",
                            "kernbench-x86-16cpu.txt"])  # fmt: skip
    assert note.startswith(
        "spf_vma_changed grows from 1.79% of faults (ebizzy-x86-16cpu) to 22.04% "
        "(ebizzy-power8-80cpu) across the 2 runs of ebizzy (ebizzy-x86-16cpu, "
        "ebizzy-power8-80cpu): './ebizzy -mTt 16' against './ebizzy -mTt 80'; more concurrency"
    )
    assert "kernbench" not in note


def test_8_same_command_is_not_credited_to_concurrency(data: Path, tmp_path: Path) -> None:
    for i, changed in enumerate((100, 500)):
        f = tmp_path / f"run{i}.txt"
        f.write_text(perf_stat(10000, 10000 - changed, changed))
        spftrace.ingest([f], data=data)
    (note,) = json.loads(spftrace.report("json", data=data))["across_runs"]
    assert note == ("spf_vma_changed ranges from 1.00% of faults (run0) to 5.00% (run1) across "
                    "the 2 runs of ebizzy (run0, run1).")  # fmt: skip
