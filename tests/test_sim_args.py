"""Issue 10: simulator arguments the model cannot run are one-line errors, before any
work and with nothing written (they were tracebacks, and ``--scale nan`` ran forever)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BAD = [
    (["--cpus", "0"], "--cpus 0: must be at least 1"),
    (["--threads", "0"], "--threads 0: must be at least 1"),
    (["--threads", "-5"], "--threads -5: must be at least 1"),
    (["--seed", "-1"], "--seed -1: must be 0 or more"),
    (["--scale", "nan"], "--scale nan: must be a positive, finite number"),
    (["--scale", "inf"], "--scale inf: must be a positive, finite number"),
    (["--scale", "0"], "--scale 0.0: must be a positive, finite number"),
    (["--scale", "1e9"], "--scale 1e+09: at most 10000"),
    (["--set", "fault_us=-1"], "--set fault_us=-1.0: must be a finite number, 0 or more"),
    (["--set", "fault_us=nan"], "--set fault_us=nan: must be a finite number, 0 or more"),
    (["--set", "notsup_frac=2"], "--set notsup_frac=2.0: a fraction, at most 1"),
    (["--set", "chunk_pages=0"], "--set chunk_pages=0: must be at least 1"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_simulator_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "spftrace", "simulate", "ebizzy", *args, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("error: " + message), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    assert proc.stdout == ""


def test_every_integer_setting_at_its_preset_value_is_accepted() -> None:
    """The bounds never refuse a preset's own values (chunk_kib=0 and static_chunks=0
    mean "not used")."""
    from dataclasses import fields

    from spftrace.api import _check_sim_setting
    from spftrace.sim.workloads import OVERRIDABLE, PRESETS

    for w in PRESETS.values():
        for f in fields(w):
            if f.name in OVERRIDABLE:
                _check_sim_setting(f.name, getattr(w, f.name))


def test_simulate_sweep_prints_the_sensitivity_table() -> None:
    """``spftrace simulate --sweep NAME=a,b`` (issue 15, point 6) prints the table of
    ``python -m spftrace.sim.sweep``: the seed's published figures first (SPF v11 cover
    letter: 98.14% speculative on 16 CPUs, 22.05% spf_vma_changed on 80), then the
    defaults, then one row per value, in the order given."""
    from typer.testing import CliRunner

    from spftrace.cli import app
    from spftrace.sim import sweep

    args = [
        "simulate",
        "--sweep",
        "wakeup_us=8.85,35.4",
        "--sweep",
        "adjust_us=0",
        "--scale",
        "0.1",
    ]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    rows = r.stdout.splitlines()
    assert rows[2].split("|")[3:9] == [
        " 98.14 ",
        " 1.79 ",
        " 100.69 ",
        " 77.94 ",
        " 22.05 ",
        " 84.46 ",
    ]
    assert [row.split("|")[1:3] for row in rows[4:]] == [
        [" wakeup_us ", " 8.85 "],
        [" wakeup_us ", " 35.4 "],
        [" adjust_us ", " 0 "],
    ]
    # the same table as the module's own entry point gives for the same arguments
    same = ["wakeup_us=8.85,35.4", "adjust_us=0", "--scale", "0.1"]
    assert r.stdout == sweep.table(*sweep.parse(same))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("bogus=1", "--sweep: expected NAME=a,b,c"),
        ("fault_us=-1", "--sweep fault_us=-1.0: must be a finite number, 0 or more"),
        ("adjust_us", "--sweep: expected NAME=a,b,c"),
    ],
)
def test_simulate_sweep_refuses_what_it_cannot_run(value: str, message: str) -> None:
    from typer.testing import CliRunner

    from spftrace.cli import app

    r = CliRunner().invoke(app, ["simulate", "--sweep", value])
    assert r.exit_code == 1 and r.stderr.startswith("error: " + message), r.output
    assert r.stdout == ""


@pytest.mark.parametrize(
    "extra", [["ebizzy"], ["--cpus", "80"], ["--threads", "4"]], ids=["workload", "cpus", "threads"]
)
def test_simulate_sweep_refuses_arguments_it_would_ignore(extra: list[str]) -> None:
    """The sweep runs the seed's own ebizzy cases (16 and 80 CPUs), so a WORKLOAD,
    --cpus or --threads beside it would be silently ignored: a usage error instead."""
    from typer.testing import CliRunner

    from spftrace.cli import app

    r = CliRunner().invoke(app, ["simulate", *extra, "--sweep", "fault_us=1"])
    assert r.exit_code == 2, r.output
    assert "--sweep runs the seed's ebizzy cases" in r.stderr
    assert r.stdout == ""
