"""Progress on long work: shown on a terminal (a pty here), never a byte of it in
pipes, tests or library calls."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from spftrace import progress

from .helpers import DATA

SPF = [sys.executable, "-m", "spftrace"]
SEED = DATA / "seed" / "ebizzy-x86-16cpu.txt"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SPFTRACE_DATA"}
    env["TERM"] = "xterm"
    env["COLUMNS"] = "120"
    return env


def on_a_terminal(args: list[str], cwd: Path) -> tuple[int, bytes]:
    """Run with stderr on a pseudo-terminal (stdout a pipe); all the terminal got."""
    master, slave = os.openpty()
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other side closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    p = subprocess.run(args, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=slave,
                       stdin=subprocess.DEVNULL, timeout=300, check=False)  # fmt: skip
    os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    return p.returncode, b"".join(chunks)


def piped(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, cwd=cwd, env=_env(), capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=300, check=False)  # fmt: skip


# ebizzy stretched 5x: a couple of seconds, several refreshes of the display
SIM = [*SPF, "simulate", "ebizzy", "--scale", "5"]


def test_simulate_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    code, tty = on_a_terminal(SIM, tmp_path)
    assert code == 0
    text = tty.decode("utf-8", "replace")
    assert "simulating ebizzy on spf" in text
    assert " faults" in text and "0:00:0" in text  # faults so far, elapsed time
    assert "\x1b[" in text  # drawn as a transient terminal line


def test_simulate_prints_nothing_on_stderr_in_a_pipe(tmp_path: Path) -> None:
    p = piped(SIM, tmp_path)
    assert p.returncode == 0
    assert p.stderr == b""
    assert p.stdout.startswith(b"{")  # its JSON summary, on stdout as before


def test_report_progress_only_on_a_terminal(tmp_path: Path) -> None:
    data = tmp_path / "d"
    ok = piped([*SPF, "ingest", str(SEED), "--data", str(data)], tmp_path)
    assert ok.returncode == 0, ok.stderr
    report = [*SPF, "report", "text", "--data", str(data)]
    p = piped(report, tmp_path)
    assert p.returncode == 0 and p.stderr == b""
    assert p.stdout.startswith(b"run ebizzy-x86-16cpu")
    code, tty = on_a_terminal(report, tmp_path)
    assert code == 0 and b"report text" in tty


@pytest.mark.capture
def test_capture_prints_only_its_summaries_in_a_pipe(tmp_path: Path) -> None:
    if shutil.which("perf") is None:
        pytest.fail("perf is not installed: `make sysdeps` installs Debian's linux-perf")
    p = piped([*SPF, "capture", "--data", str(tmp_path / "d"), "--", "true"], tmp_path)
    assert p.returncode == 0, p.stderr
    err = p.stderr.decode()
    assert "\x1b" not in err and "rendering the trace" not in err
    assert "perf-stat -> run capture-true" in err


def test_library_calls_show_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    progress.add(5)  # no activity open: a no-op
    with progress.activity("working") as phase:
        progress.add(3)
        phase("still working")
    assert progress.ingest_callback() is None
    out, err = capfd.readouterr()
    assert out == "" and err == ""
