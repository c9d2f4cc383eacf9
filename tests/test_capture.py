"""`spftrace capture` on the per-VMA-lock workloads, checked against its own kept
recording (tests/vmalock_truth.py reads trace.txt's stacks) and perf's own output."""

from __future__ import annotations

import json
import os
import shlex
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


# A parent that leaves its child unreaped and exits 0, as perf stat does when the
# command's SIGCHLD comes before its wait4 (builtin-stat.c's skip_signal): the child
# ends with EXIT (a code, or "kill" for SIGKILL), the parent waits until it is a
# zombie and exits 0 without reaping it.
LOSES_THE_STATUS = r"""
import os, signal, sys, time
pid = os.fork()
if pid == 0:
    if sys.argv[1] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(int(sys.argv[1]))
while open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
    time.sleep(0.01)
os._exit(0)
"""
REAPER = Path(spftrace.__file__).with_name("reaper.py")


@pytest.mark.parametrize(("how", "expected"), [("7", "exit 7"), ("0", "exit 0"),
                                                ("kill", "signal 9")])  # fmt: skip
def test_the_reaper_finds_a_status_its_parent_did_not_collect(
    tmp_path: Path, how: str, expected: str
) -> None:
    out = tmp_path / "status"
    done = subprocess.run([sys.executable, str(REAPER), str(out), "--", sys.executable, "-c",
                           LOSES_THE_STATUS, how], check=False)  # fmt: skip
    assert done.returncode == 0  # the parent's own status, passed through
    assert out.read_text().split() == expected.split()


def test_the_reaper_writes_nothing_when_the_parent_reaped(tmp_path: Path) -> None:
    out = tmp_path / "status"
    done = subprocess.run([sys.executable, str(REAPER), str(out), "--", "sh", "-c", "exit 3"],
                          check=False)  # fmt: skip
    assert done.returncode == 3
    assert not out.exists()


@pytest.mark.parametrize(("how", "status"), [("7", 7), ("kill", 128 + 9)])
def test_capture_keeps_the_status_perf_stat_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, status: int
) -> None:
    """A stand-in perf on PATH writes a real perf stat capture (tests/data/perf_stat/
    human-default.txt) and runs the command the way perf stat does when it loses the
    race: exit 0, no psignal line, the command left unreaped."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    sample = Path(__file__).parent / "data" / "perf_stat" / "human-default.txt"
    fake = bindir / "perf"
    fake.write_text(
        "#!/bin/sh\n"
        '[ "$1" = list ] && exit 0\n'
        '[ "$1" = stat ] && [ "$2" = -o ] || exit 99\n'
        f'cp {shlex.quote(str(sample))} "$3"\n'
        'while [ "$1" != -- ]; do shift; done; shift\n'
        'exec "$@"\n'
    )  # fmt: skip
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    result = api.capture([sys.executable, "-c", LOSES_THE_STATUS, how], data=tmp_path / "ds",
                         trace=False)  # fmt: skip
    assert result.exit_status == status
