"""Spark and DuckDB on the same fleet dataset: identical summaries and comparisons.

The DuckDB side is spftrace's own single-machine path (``summarize`` per run over
``Dataset.connect()``, ``analysis.compare.compare``), so equality checks every aggregate
Spark computes (perf stat totals, vmstat deltas, tracepoint counts, losses, the
per-VMA-lock classification) against an independent engine's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from spftrace.analysis.compare import compare as duck_compare
from spftrace.analysis.compare import render_text
from spftrace.analysis.model import summarize
from spftrace.cli import app
from spftrace.fleet import Fleet
from spftrace.fleet.cli import run_record
from spftrace.ingest import ingest
from spftrace.store import Dataset

PAIRS = [("base", "spf"), ("spf", "per-vma-lock"), ("base", "per-vma-lock")]
REAL = Path(__file__).resolve().parents[1] / "data" / "realworld"
#: perf stat inputs of tests/data/realworld and their page-faults as the files read
#: (by hand): blocks of different workloads count the first only, repetitions are summed
MULTI = {
    "two-workloads": ("perf-stat-csv-two-workloads.txt", 49),
    "two-commands": ("perf-stat-two-commands.txt", 49),
    "same-twice": ("perf-stat-csv-same-workload-twice.txt", 49 + 50),
}


def duck_summaries(data: Path) -> list[Any]:
    ds = Dataset(data)
    con = ds.connect()
    try:
        return [summarize(con, r, breakdowns=False) for r in ds.run_names()]
    finally:
        con.close()


def reconciliation(s: Any) -> list[Any]:
    """Each source's own totals, as ``report json``'s reconciliation has them."""
    return [
        (p.origin, p.faults, p.speculative, p.fallbacks, p.values, p.status, p.snapshots,
         p.since_boot, p.duration_s, p.notes, p.kernel_model)
        for p in s.per_source
    ]  # fmt: skip


@pytest.fixture(scope="module")
def fleet(spark: Any, fleet_dir: Path) -> Fleet:
    return Fleet(str(fleet_dir), spark=spark)


@pytest.fixture(scope="module")
def duck(fleet_dir: Path) -> list[Any]:
    return duck_summaries(fleet_dir)


def test_the_fleet_is_many_hosts_labels_and_kernel_models(fleet_dir: Path, duck: list[Any]) -> None:
    con = Dataset(fleet_dir).connect()
    hosts, labels = con.execute(
        "SELECT count(DISTINCT host), count(DISTINCT label) FROM runs"
    ).fetchone()
    con.close()
    assert (len(duck), hosts, labels) == (120, 12, 3)
    models = {s.kernel_model for s in duck}
    assert {"spf", "per-vma-lock", "unknown"} <= models
    # per-VMA-lock runs classified from their traces, spf runs with fallbacks
    assert any(s.kernel_model == "per-vma-lock" and s.fallback_total for s in duck)
    assert any(s.kernel_model == "spf" and s.fallback_total for s in duck)


def test_summaries_equal_duckdb(fleet: Fleet, duck: list[Any]) -> None:
    spark = fleet.summaries()
    assert [s.run for s in spark] == [s.run for s in duck]
    for a, b in zip(spark, duck, strict=True):
        assert a.contract() == b.contract(), a.run
        assert run_record(a) == run_record(b), a.run
        assert reconciliation(a) == reconciliation(b), a.run
        assert a.formats == b.formats and a.fell_back_range == b.fell_back_range


@pytest.mark.parametrize(("base", "head"), PAIRS)
def test_comparisons_equal_duckdb(fleet: Fleet, fleet_dir: Path, base: str, head: str) -> None:
    a = fleet.compare(base, head, show_all=True)
    b = duck_compare(Dataset(fleet_dir), base, head, show_all=True)
    assert a.as_dict() == b.as_dict()
    assert render_text(a) == render_text(b)
    assert len(a.rows) > 20  # --all: a real table, not two empty ones


def test_significant_rows_sorted_by_change_equal_duckdb(fleet: Fleet, fleet_dir: Path) -> None:
    a = fleet.compare("base", "spf", sort="change")
    b = duck_compare(Dataset(fleet_dir), "base", "spf", sort="change")
    assert a.as_dict() == b.as_dict()
    assert 0 < len(a.rows) < len(fleet.compare("base", "spf", show_all=True).rows)


def test_comparison_of_run_lists_equals_duckdb(
    fleet: Fleet, fleet_dir: Path, duck: list[Any]
) -> None:
    spf = [s.run for s in duck if s.label == "spf"]
    base, head = ",".join(spf[:4]), ",".join(spf[4:9])
    a = fleet.compare(base, head, show_all=True)
    b = duck_compare(Dataset(fleet_dir), base, head, show_all=True)
    assert a.as_dict() == b.as_dict()
    assert (len(a.base_runs), len(a.head_runs)) == (4, 5)


def test_only_committed_inputs_count(spark: Any, small_dir: Path, tmp_path: Path) -> None:
    """A commit cut short before its runs file (store.py's commit point) leaves data
    files behind; staging directories hold files too.  Neither engine counts them."""
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    run = "ebizzy-spf"
    before = {s.run: s.contract() for s in duck_summaries(data)}
    trace = sorted(fleetdata_samples("ebizzy-spf"))
    ingest(trace, data=data, run=run, append=True, force=True)  # input 3 of the run
    ingest(trace, data=data, run="half-committed", label="spf", force=True)
    for part in [*data.glob(f"runs/run={run}/part-00003.parquet"),
                 *data.glob("runs/run=half-committed/*.parquet")]:  # fmt: skip
        part.unlink()  # as if the process died before the last move
    staged = data / ".staging-0123456789ab" / "events" / f"run={run}"
    staged.mkdir(parents=True)
    for f in data.glob(f"events/run={run}/*.parquet"):
        shutil.copy(f, staged / f"x-{f.name}")
    assert list(data.glob("events/run=half-committed/*.parquet"))
    spark_now = {s.run: s.contract() for s in Fleet(str(data), spark=spark).summaries()}
    duck_now = {s.run: s.contract() for s in duck_summaries(data)}
    assert spark_now == duck_now == before


def fleetdata_samples(name: str) -> list[Path]:
    from fleetdata import samples

    return next(inputs for n, _label, inputs in samples() if n == name)


def test_partition_names_stay_strings(spark: Any, tmp_path: Path) -> None:
    """Run directories such as run=2026 or run=1e3 are names, not numbers."""
    data = tmp_path / "data"
    inputs = fleetdata_samples("ebizzy-spf")
    for name in ("2026", "1e3", "007"):
        ingest(inputs, data=data, run=name, label="spf", force=True)
    a = [s.contract() for s in Fleet(str(data), spark=spark).summaries()]
    assert [s["run"] for s in a] == ["007", "1e3", "2026"]
    assert a == [s.contract() for s in duck_summaries(data)]


def test_cli_summary_and_compare(spark: Any, small_dir: Path) -> None:
    duck = duck_summaries(small_dir)
    runner = CliRunner()
    res = runner.invoke(app, ["fleet", "summary", str(small_dir), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["schema"] == "spftrace.fleet-summary/1"
    assert doc["runs"] == [json.loads(json.dumps(run_record(s))) for s in duck]
    res = runner.invoke(app, ["fleet", "summary", str(small_dir)])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    labels = {s.label for s in duck}
    assert len(lines) == 1 + len(duck) + 2 + len(labels)  # runs, blank, totals header
    total = next(x for x in lines if x.startswith("spf "))
    spf = [s for s in duck if s.label == "spf"]
    assert total.split()[1:3] == [str(len(spf)), f"{sum(s.faults or 0 for s in spf):,}"]
    cmd = ["fleet", "compare", str(small_dir), "--base", "base", "--head", "spf", "--all"]
    res = runner.invoke(app, cmd)
    assert res.exit_code == 0, res.output
    expected = render_text(duck_compare(Dataset(small_dir), "base", "spf", show_all=True))
    assert res.stdout == "\n".join(expected) + "\n"
    res = runner.invoke(app, [*cmd[:3], "--base", "nope", "--head", "spf"])
    assert res.exit_code == 1
    assert res.stderr.startswith("error: 'nope' is neither a label nor a list of run names")
    res = runner.invoke(app, ["fleet", "summary", str(small_dir), "--conf", "nonsense"])
    assert (res.exit_code, res.stderr) == (1, "error: --conf 'nonsense': expected KEY=VALUE\n")


def test_perf_stat_counts_only_the_first_workload(
    spark: Any, small_dir: Path, tmp_path: Path
) -> None:
    """A perf stat input holding several workloads' blocks (the parser's stat
    perf_stat_first_workload_blocks): Spark counts the first workload only, as DuckDB."""
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    for run, (name, _faults) in MULTI.items():
        ingest([REAL / name], data=data, run=run, label="multi", force=True)
    a = {s.run: s for s in Fleet(str(data), spark=spark).summaries()}
    b = {s.run: s for s in duck_summaries(data)}
    assert {r: a[r].faults for r in MULTI} == {r: f for r, (_n, f) in MULTI.items()}
    assert any("2 different workloads" in n for n in a["two-commands"].disagreements)
    assert not any("different workloads" in n for n in a["same-twice"].disagreements)
    assert sorted(a) == sorted(b)
    for run in a:
        assert run_record(a[run]) == run_record(b[run]), run
        assert reconciliation(a[run]) == reconciliation(b[run]), run


def test_local_engine_equals_spark(fleet: Fleet, fleet_dir: Path) -> None:
    """fleet/local.py (DuckDB, one grouped scan per table; bench/fleet.py's DuckDB side)
    and Spark: the same summaries and comparisons over the whole fleet."""
    from spftrace.fleet import local

    ds = Dataset(fleet_dir)
    a = [run_record(s) for s in local.summaries(ds)]
    assert a == [run_record(s) for s in fleet.summaries()]
    for base, head in PAIRS:
        got = local.compare(ds, base, head, show_all=True).as_dict()
        assert got == fleet.compare(base, head, show_all=True).as_dict()
