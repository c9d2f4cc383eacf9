"""Base versus head: LKP's numbers and layout, its significance rule, and Welch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import spftrace
from spftrace import api
from spftrace.analysis.compare import lkp_avg, lkp_change, lkp_changed, lkp_std, welch


def perf_stat_block(faults: int, spf: int, changed: int, elapsed: str) -> str:
    return (
        "\n Performance counter stats for './ebizzy -mTt 16':\n\n"
        f"{faults:>18}      faults\n{spf:>18}      spf\n"
        f"{changed:>18}      pagefault:spf_vma_changed\n"
        f"\n {elapsed:>17} seconds time elapsed\n\n"
    )


def wis_csv(per_thread: int, tasks: int = 1) -> str:
    return (
        "tasks,processes,processes_idle,threads,threads_idle,linear\n0,0,100,0,100,0\n"
        f"{tasks},{per_thread * tasks * 2},0.00,{per_thread * tasks},0.00,"
        f"{per_thread * tasks * 2}\n"
    )


def ingest_side(data: Path, tmp: Path, label: str, texts: list[str]) -> None:
    for i, text in enumerate(texts):
        f = tmp / f"{label}-{i}.txt"
        f.write_text(text)
        spftrace.ingest([f], data=data, label=label, force=True)  # equal results are real runs


def test_lkp_number_formats() -> None:
    assert lkp_avg(957.6666) == "    957.67"
    assert lkp_avg(10092.0) == "     10092"
    assert lkp_avg(2.1e9) == "   2.1e+09"
    assert lkp_std(2.0) == "      " and lkp_std(2.5) == " ±  2%" and lkp_std(13.9) == " ± 13%"
    assert lkp_change(-17.52) == "     -17.5% " and lkp_change(469.8) == "    +469.8% "


def test_golden_rows_from_hand_checked_inputs(data: Path, tmp_path: Path) -> None:
    # base faults 1000/1010/990: mean 1000, pop. stddev 8.16 (0.8%: not shown)
    # head faults 1100/1150/1050: mean 1100, pop. stddev 40.8 (3.7%: " ±  3%"); +10.0%
    # spf 900/910/890 -> 1050/1060/1040: +16.7%; elapsed 1.0 s each, so ps.* equal
    base = [
        perf_stat_block(f, s, 100, "1.000000000") for f, s in ((1000, 900), (1010, 910), (990, 890))
    ]
    head = [
        perf_stat_block(f, s, 50, "1.000000000")
        for f, s in ((1100, 1050), (1150, 1060), (1050, 1040))
    ]
    ingest_side(data, tmp_path, "base", base)
    ingest_side(data, tmp_path, "head", head)
    out = api.compare("base", "head", data=data).splitlines()
    assert out[0] == "base: base (3 runs)   head: head (3 runs)"
    assert out[2] == "         %stddev     %change         %stddev"
    assert out[3] == "             \\          |                \\  "
    rows = {
        ln.rsplit("  ", 1)[-1]: ln for ln in out[4:] if ln.strip() and not ln.startswith("metric")
    }
    assert (
        rows["perf-stat.faults"] == "      1000           +10.0%       1100 ±  3%  perf-stat.faults"
    )
    assert rows["perf-stat.spf"] == "    900.00           +16.7%       1050        perf-stat.spf"
    assert rows["perf-stat.pagefault:spf_vma_changed"] == (
        "    100.00           -50.0%      50.00        perf-stat.pagefault:spf_vma_changed"
    )
    assert "perf-stat.seconds-time-elapsed" not in rows  # identical: not significant


SEED = [  # testcase, base, head, %change, as published (seed, LKP on a v9 series)
    ("page_fault3-thp", 10092, 8323, -17.5),
    ("page_fault2-thp", 8300, 6869, -17.2),
    ("brk1-thp", 957.67, 885, -7.6),
    # the seed's malloc1 row with THP enabled prints 66.33 -> 383.67 as +469.8%, which
    # those means do not give (+478.4%); every other row agrees with its means
    ("malloc1-nothp", 90.33, 467.33, 417.3),
    ("page_fault1-nothp", 8607, 11736, 36.4),
]


def three_runs(mean: float) -> list[int]:
    """Three integer samples whose mean is ``mean`` to 2 decimals (LKP prints 3-run means)."""
    total = round(mean * 3)
    lo = total // 3
    rest = total - 3 * lo
    return [lo + (1 if i < rest else 0) for i in range(3)]


@pytest.mark.parametrize(("case", "base", "head", "change"), SEED, ids=[s[0] for s in SEED])
def test_seed_regression_table_shape(
    case: str, base: float, head: float, change: float, tmp_path: Path
) -> None:
    data = tmp_path / "ds"
    ingest_side(data, tmp_path, f"{case}-base", [wis_csv(v) for v in three_runs(base)])
    ingest_side(data, tmp_path, f"{case}-head", [wis_csv(v) for v in three_runs(head)])
    out = api.compare(f"{case}-base", f"{case}-head", data=data).splitlines()
    row = next(ln for ln in out if ln.endswith("  will-it-scale.per_thread_ops"))
    assert row.startswith(lkp_avg(base))
    assert lkp_change(change) in row
    assert lkp_avg(head) in row


def test_significance_on_both_sides() -> None:
    separated_b, separated_h = [100.0, 101.0, 99.0, 100.5], [120.0, 121.0, 119.0, 120.5]
    assert lkp_changed("perf-stat.faults", separated_b, separated_h)
    p, ci = welch(separated_b, separated_h)
    assert p is not None and p < 0.001 and ci is not None and ci[0] > 15 and ci[1] < 25
    overlap_b, overlap_h = [100.0, 110.0, 90.0, 105.0], [102.0, 95.0, 112.0, 99.0]
    assert not lkp_changed("perf-stat.faults", overlap_b, overlap_h)
    p, ci = welch(overlap_b, overlap_h)
    assert p is not None and p > 0.5 and ci is not None and ci[0] < 0 < ci[1]
    # a 3% change is below LKP's 5% for non-perf metrics, but kept for perf metrics
    b, h = [100.0, 100.1, 99.9], [103.0, 103.1, 102.9]
    assert lkp_changed("perf-stat.faults", b, h) and not lkp_changed("latency.p99", b, h)
    # proc-vmstat values must exceed 1000
    assert not lkp_changed("proc-vmstat.pgmajfault", [1, 1, 1], [9, 9, 9])


def test_single_run_side_warns_instead_of_judging(data: Path, tmp_path: Path) -> None:
    ingest_side(data, tmp_path, "b1", [perf_stat_block(1000, 900, 10, "1.000000000")])
    ingest_side(data, tmp_path, "h1", [perf_stat_block(2000, 1900, 10, "1.000000000")])
    out = json.loads(api.compare("b1", "h1", data=data, as_json=True))
    assert any("1 run" in w and "no change is called significant" in w for w in out["warnings"])
    assert out["rows"] == []
    shown = json.loads(api.compare("b1", "h1", data=data, as_json=True, show_all=True))
    faults = next(r for r in shown["rows"] if r["metric"] == "perf-stat.faults")
    assert (
        faults["change_pct"] == 100.0
        and faults["significant"] is False
        and faults["p_value"] is None
    )


def test_simulated_ebizzy_base_vs_spf(tmp_path: Path) -> None:
    data = tmp_path / "ds"
    for seed in (1, 2, 3):
        for kernel in ("base", "spf"):
            api.simulate("ebizzy", kernel=kernel, seed=seed, scale=0.1, ingest=True, data=data)
    out = json.loads(api.compare("base", "spf", data=data, as_json=True))
    rows = {r["metric"]: r for r in out["rows"]}
    for metric in ("perf-stat.records/s", "perf-stat.faults", "proc-vmstat.pgfault"):
        assert rows[metric]["significant"] and rows[metric]["change_pct"] > 30
        assert rows[metric]["ci_pct"][0] > 0


def test_unknown_side_is_a_clear_error(data: Path, tmp_path: Path) -> None:
    ingest_side(data, tmp_path, "b", [perf_stat_block(1, 1, 1, "1.0")])
    with pytest.raises(spftrace.SpftraceError, match="neither a label nor a list of run names"):
        api.compare("b", "nope", data=data)
