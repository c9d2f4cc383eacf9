"""spftrace/fleet/local.py: every run's summary and the comparison from one grouped
scan per table equal spftrace's per-run path (``summarize`` per run over
``Dataset.connect()``, ``analysis.compare.compare``), which is independent SQL."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from spftrace.analysis.compare import compare as duck_compare
from spftrace.analysis.model import summarize
from spftrace.fleet import local
from spftrace.fleet.cli import run_record
from spftrace.ingest import ingest
from spftrace.store import Dataset

from .helpers import DATA

sys.path.insert(0, str(Path(__file__).parent / "spark"))
import fleetdata

REAL = DATA / "realworld"
#: page-faults as the files read (by hand): blocks of different workloads count the
#: first workload only, repetitions of one workload are summed
MULTI = {
    "two-workloads": ("perf-stat-csv-two-workloads.txt", 49),
    "two-commands": ("perf-stat-two-commands.txt", 49),
    "same-twice": ("perf-stat-csv-same-workload-twice.txt", 49 + 50),
}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every bundled sample, the perf stat inputs above, and two runs written again
    under new names by fleetdata.copy_run (bench/fleet.py's fleets are made so)."""
    data = tmp_path_factory.mktemp("fleet-local") / "data"
    for name, label, inputs in fleetdata.samples():
        ingest(inputs, data=data, run=name, label=label, force=True)
    for run, (name, _faults) in MULTI.items():
        ingest([REAL / name], data=data, run=run, label="multi", force=True)
    ds = Dataset(data)
    with ds.locked():
        fleetdata.copy_run(ds, "ebizzy-spf", "copy-ebizzy-spf", "host-b")
        fleetdata.copy_run(ds, "mtfault-capture-trace", "copy-mtfault-trace", "host-c")
    return data


def per_run(data: Path) -> dict[str, Any]:
    ds = Dataset(data)
    con = ds.connect()
    try:
        return {r: summarize(con, r, breakdowns=False) for r in ds.run_names()}
    finally:
        con.close()


def test_summaries_equal_the_per_run_path(data: Path) -> None:
    got = {s.run: s for s in local.summaries(Dataset(data))}
    want = per_run(data)
    assert sorted(got) == sorted(want) and len(got) == len(list(fleetdata.samples())) + 5
    for run, s in want.items():
        assert run_record(got[run]) == run_record(s), run
        assert [(p.origin, p.values, p.status, p.notes) for p in got[run].per_source] == [
            (p.origin, p.values, p.status, p.notes) for p in s.per_source
        ], run
        assert got[run].formats == s.formats and got[run].fell_back_range == s.fell_back_range
    assert {r: got[r].faults for r in MULTI} == {r: f for r, (_n, f) in MULTI.items()}
    # the per-VMA-lock capture classified from its trace, by both paths
    assert got["mtfault-capture-trace"].kernel_model == "per-vma-lock"


def test_copied_runs_are_their_templates_under_another_name_and_host(data: Path) -> None:
    got = {s.run: run_record(s) for s in local.summaries(Dataset(data))}
    pairs = [("ebizzy-spf", "copy-ebizzy-spf"), ("mtfault-capture-trace", "copy-mtfault-trace")]
    for src, dst in pairs:
        assert {**got[src], "run": dst} == got[dst]
    con = Dataset(data).connect()
    hosts = con.execute("SELECT DISTINCT host FROM runs WHERE run = 'copy-ebizzy-spf'").fetchall()
    con.close()
    assert hosts == [("host-b",)]
    from spftrace import api

    res = api.check(data)  # manifests written by the commit protocol
    assert (res.problems, res.unverified_runs) == ([], [])


@pytest.mark.parametrize(("base", "head"), [("base", "spf"), ("spf", "per-vma-lock")])
def test_comparisons_equal_the_per_run_path(data: Path, base: str, head: str) -> None:
    a = local.compare(Dataset(data), base, head, show_all=True)
    b = duck_compare(Dataset(data), base, head, show_all=True)
    assert a.as_dict() == b.as_dict()
    assert len(a.rows) > 10


def test_cli_engine_duckdb(data: Path) -> None:
    """``spftrace fleet summary|compare --engine duckdb``: no Spark, the same output."""
    import json

    from typer.testing import CliRunner

    from spftrace.analysis.compare import render_text
    from spftrace.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["fleet", "summary", str(data), "--json", "--engine", "duckdb"])
    assert res.exit_code == 0, res.output
    want = [json.loads(json.dumps(run_record(s))) for _r, s in sorted(per_run(data).items())]
    assert json.loads(res.stdout)["runs"] == want
    cmd = ["fleet", "compare", str(data), "--base", "base", "--head", "spf", "--engine", "duckdb"]
    res = runner.invoke(app, cmd)
    assert res.exit_code == 0, res.output
    assert res.stdout == "\n".join(render_text(duck_compare(Dataset(data), "base", "spf"))) + "\n"
    res = runner.invoke(app, ["fleet", "summary", "s3a://b/fleet", "--engine", "duckdb"])
    assert (res.exit_code, res.stderr) == (
        1,
        "error: --engine duckdb reads a local dataset directory, not s3a://b/fleet\n",
    )
