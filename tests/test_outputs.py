"""`report -o PATH` writes where the user said: stdout, devices, FIFOs and symlinks are
written through, regular files replaced atomically with their mode kept, directories
refused.  Each test also checks that the dataset did not change."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

import spftrace
from spftrace.cli import app
from spftrace.errors import SpftraceError
from spftrace.outfile import atomic_write, write_output

from .faults import fill, fingerprint, tiny_fs
from .helpers import DATA

SEED = DATA / "seed" / "ebizzy-x86-16cpu.txt"


@pytest.fixture
def seeded(data: Path) -> Path:
    spftrace.ingest([SEED], data=data, label="spf")
    return data


def report(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, ["report", *args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stdout, r.stderr


def one_line_error(code: int, _out: str, err: str) -> str:
    assert code == 1, err
    (line,) = err.strip().splitlines()
    assert line.startswith("error: ")
    return line


def test_dash_is_stdout(seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    before = fingerprint(seeded)
    code, out, err = report("json", "--data", str(seeded), "-o", "-")
    assert code == 0, err
    assert json.loads(out)["runs"][0]["faults"] == 1706379  # the seed's perf stat block
    assert not (tmp_path / "-").exists()
    code, out, _ = report("html", "--data", str(seeded), "-o", "-")
    assert code == 0 and out.startswith("<!DOCTYPE html>")
    assert not (tmp_path / "-").exists()
    assert fingerprint(seeded) == before


def test_dev_null_stays_a_device(seeded: Path) -> None:
    before = os.stat("/dev/null")
    code, _, err = report("text", "--data", str(seeded), "-o", "/dev/null")
    assert code == 0, err
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev, after.st_mode) == (
        before.st_ino,
        before.st_rdev,
        before.st_mode,
    )
    assert not list(Path("/dev").glob(".null.*.tmp"))


def test_dev_stdout_reaches_the_real_stdout(seeded: Path, tmp_path: Path) -> None:
    """With a real process: /dev/stdout is a link to the pipe our reader holds."""
    link_before = os.readlink("/dev/stdout")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "spftrace",
            "report",
            "json",
            "--data",
            str(seeded),
            "-o",
            "/dev/stdout",
        ],
        capture_output=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["runs"][0]["run"] == "ebizzy-x86-16cpu"
    assert os.readlink("/dev/stdout") == link_before


def test_symlink_target_is_written_and_the_link_kept(seeded: Path, tmp_path: Path) -> None:
    target = tmp_path / "real" / "report.txt"
    target.parent.mkdir()
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "latest.txt"
    link.symlink_to(target)
    code, _, err = report("text", "--data", str(seeded), "-o", str(link))
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("run ebizzy-x86-16cpu")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.txt"]  # no temp left
    assert err.strip() == str(target)


def test_dangling_symlink_creates_its_target(seeded: Path, tmp_path: Path) -> None:
    link = tmp_path / "r.json"
    link.symlink_to(tmp_path / "made.json")
    code, _, err = report("json", "--data", str(seeded), "-o", str(link))
    assert code == 0, err
    assert link.is_symlink()
    assert json.loads((tmp_path / "made.json").read_text())["schema"] == "spftrace.report/1"


def test_fifo_reader_gets_everything(seeded: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    code, _, err = report("json", "--data", str(seeded), "-o", str(fifo))
    reader.join(timeout=30)
    assert code == 0, err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert json.loads(got[0])["runs"][0]["faults"] == 1706379


def test_directory_is_a_one_line_error(seeded: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    before = fingerprint(tmp_path)
    line = one_line_error(*report("html", "--data", str(seeded), "-o", str(out)))
    assert f"{out}: is a directory" in line and "report.html" in line
    assert fingerprint(tmp_path) == before


def test_missing_directory_is_a_one_line_error(seeded: Path, tmp_path: Path) -> None:
    line = one_line_error(*report("text", "--data", str(seeded), "-o", str(tmp_path / "no/r")))
    assert "does not exist" in line


def test_replacing_a_regular_file_keeps_its_mode(tmp_path: Path) -> None:
    f = tmp_path / "r.txt"
    f.write_text("old")
    f.chmod(0o600)
    assert write_output(f, "new") == str(f)
    assert f.read_text() == "new" and stat.S_IMODE(f.stat().st_mode) == 0o600


def test_new_file_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_output(tmp_path / "n.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "n.txt").stat().st_mode) == 0o640


def test_full_disk_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    """A real ENOSPC from a full tmpfs: the old report stays, nothing else appears."""
    with tiny_fs(tmp_path / "fs", 256) as fs:
        f = fs / "report.txt"
        f.write_text("old report\n")
        fill(fs)
        with pytest.raises(SpftraceError, match=r"report.txt: cannot write: .*\(ENOSPC\)"):
            write_output(f, "x" * 100_000)
        assert f.read_text() == "old report\n"
        assert sorted(p.name for p in fs.iterdir()) == ["filler", "report.txt"]
        with pytest.raises(OSError):
            atomic_write(fs / "j.json", b"y" * 100_000, durable=True)
        assert sorted(p.name for p in fs.iterdir()) == ["filler", "report.txt"]
