"""`spftrace capture` on the per-VMA-lock workloads, checked against its own kept
recording (tests/vmalock_truth.py reads trace.txt's stacks) and perf's own output."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import spftrace
from spftrace import api

from . import vmalock_truth
from .test_vmalock import ARGS, WORKLOADS, perf_records

pytestmark = pytest.mark.capture


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    why = perf_records()
    if why:  # make test installs perf (make sysdeps): a machine that cannot record fails
        pytest.fail(f"{why}: live captures need perf and root (or perf_event_paranoid <= -1)")
    out = tmp_path_factory.mktemp("bin")
    for name in ARGS:
        subprocess.run(["gcc", "-O1", "-pthread", "-o", str(out / name),
                        str(WORKLOADS / f"{name}.c")], check=True)  # fmt: skip
    return out


def run_json(data: Path) -> dict:
    return json.loads(spftrace.report("json", data=data))["runs"][0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", list(ARGS))
def test_capture_equals_the_stacks_of_its_own_recording(
    name: str, built: Path, tmp_path: Path
) -> None:
    keep, data = tmp_path / "keep", tmp_path / "ds"
    cmd = [str(built / name), *ARGS[name]]
    result = api.capture(cmd, data=data, keep=keep)
    assert result.exit_status == 0
    truth = vmalock_truth.classify(keep / "trace.txt")
    run = run_json(data)
    assert run["fallback_total"] == truth.fell_back
    assert {k: v for k, v in run["fallbacks"].items() if v} == {
        k: v for k, v in truth.classes.items() if v and k != "vma_lock_success"
    }
    assert run["speculative"] == truth.classes["vma_lock_success"]
    # the count is the command's: perf stat's page-faults, equal to the trace's user and
    # kernel-mode faults (nothing lost here), without perf's own thousands of faults
    stat = (keep / "perf-stat.txt").read_text()
    counted = int(next(ln.split()[0] for ln in stat.splitlines() if "page-faults" in ln)
                  .replace(",", ""))  # fmt: skip
    assert run["faults"] == counted == truth.user_faults + truth.kernel_faults
    assert run["command"] == " ".join(cmd)
    assert run["sources"] == ["perf-stat", "trace"]
    assert any("equals the count exactly" in d for d in run["disagreements"])


def test_capture_passes_the_exit_status_through(built: Path, tmp_path: Path) -> None:
    """faultread's 4th argument is its exit status; the CLI exits with it, and the run
    stores it."""
    data = tmp_path / "ds"
    spf = Path(sys.executable).with_name("spftrace")
    done = subprocess.run(
        [str(spf), "capture", "--data", str(data), "--", str(built / "faultread"), "2", "8",
         "/proc/self/exe", "7"], capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 7, done.stderr
    con = api.open_dataset(data).connect()
    (status,) = con.execute("SELECT value FROM stats WHERE name = 'exit_status'").fetchone()
    con.close()
    assert status == 7


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_capture_reports_a_signal_as_the_shell_does(
    built: Path, tmp_path: Path, sig: signal.Signals, capfd: pytest.CaptureFixture[str]
) -> None:
    """A signal a caller ignores stays ignored across exec (POSIX), so a CI runner that
    ignores SIGTERM would make ``kill -TERM $$`` a no-op: the test restores the default
    for its own child; SIGKILL cannot be ignored at all."""
    old = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        result = api.capture(["sh", "-c", f"kill -{sig.name[3:]} $$"], data=tmp_path / "ds",
                             trace=False)  # fmt: skip
    finally:
        signal.signal(signal.SIGTERM, old)
    assert result.exit_status == 128 + int(sig), capfd.readouterr().err[-2000:]


def test_capture_removes_its_files_unless_kept(built: Path, tmp_path: Path) -> None:
    tmp = Path(tempfile.gettempdir())
    before = set(tmp.glob("spftrace-capture-*"))
    api.capture([str(built / "faultread"), "1", "4"], data=tmp_path / "ds")
    assert set(tmp.glob("spftrace-capture-*")) == before


def test_capture_of_a_missing_command_is_an_error(built: Path, tmp_path: Path) -> None:
    with pytest.raises(spftrace.SpftraceError, match="could not run"):
        api.capture([str(tmp_path / "nope")], data=tmp_path / "ds")
