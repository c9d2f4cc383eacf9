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
