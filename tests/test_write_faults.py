"""Faults while writing: a full disk at every stage of an ingest (a real tmpfs), a
journal that cannot be written, SIGTERM and SIGHUP mid-ingest.  Each leaves the dataset
byte-identical (files, hashes, directories), no staging or temporary file behind, and
a one-line error."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import spftrace
from spftrace.errors import SpftraceError

from .faults import fill, fingerprint, tiny_fs
from .helpers import DATA

SEED = DATA / "seed" / "ebizzy-x86-16cpu.txt"
TRACE = DATA / "traces" / "perf-script-default.txt"


def leftovers(data: Path) -> list[str]:
    return sorted(p.name for p in data.iterdir() if p.name.startswith((".staging", ".commit")))


@pytest.fixture
def big_trace(tmp_path: Path) -> Path:
    f = tmp_path / "big.txt"
    f.write_bytes(TRACE.read_bytes() * 40)  # 13k lines: ~60 KiB of Parquet
    return f


def test_full_disk_at_every_stage(tmp_path: Path, big_trace: Path) -> None:
    """Free space from none up to enough, a page (4 KiB, tmpfs's unit) at a time, so that
    the disk fills during the events file, stats, runs, the manifest, the journal or
    the moves.  Every failure is one line naming the dataset; then the dataset is as
    it was.  The first success is a dataset `check` finds whole."""
    with tiny_fs(tmp_path / "fs", 1024) as fs:
        data = fs / "ds"
        spftrace.ingest([SEED], data=data)
        before = fingerprint(data)
        failures = 0
        for pages in range(0, 64):
            (fs / "filler").unlink(missing_ok=True)
            fill(fs, leave=pages * 4096)
            try:
                spftrace.ingest([big_trace], data=data)
            except SpftraceError as exc:
                failures += 1
                msg = str(exc)
                assert "\n" not in msg
                assert msg.startswith(f"{data}: cannot write to the dataset: ")
                assert "(ENOSPC)" in msg and "nothing was changed" in msg
                assert fingerprint(data) == before, f"changed with {pages} pages free"
                assert leftovers(data) == []
                continue
            break
        else:
            raise AssertionError("never enough space: make the tmpfs bigger")
        assert failures >= 3  # the sweep really crossed several stages
        assert spftrace.check(data).ok
        assert sorted(spftrace.api.open_dataset(data).run_names()) == ["big", "ebizzy-x86-16cpu"]


def test_full_disk_when_creating_a_dataset(tmp_path: Path) -> None:
    with tiny_fs(tmp_path / "fs", 64) as fs:
        fill(fs)
        with pytest.raises(SpftraceError, match=r"cannot create the dataset: .*\(ENOSPC\)"):
            spftrace.ingest([SEED], data=fs / "ds")
        assert sorted(p.name for p in fs.iterdir()) == ["filler"]


def test_journal_that_cannot_be_written(
    data: Path, big_trace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC while writing the commit journal: its temporary file is removed (it was
    left, 0 bytes), the staged files too."""
    spftrace.ingest([SEED], data=data)
    before = fingerprint(data)
    real_write = os.write

    def full(fd: int, buf: Any) -> int:
        if ".commit-" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, buf)

    monkeypatch.setattr("spftrace.outfile.os.write", full)
    with pytest.raises(SpftraceError, match=r"No space left on device \(ENOSPC\)"):
        spftrace.ingest([big_trace], data=data)
    assert fingerprint(data) == before and leftovers(data) == []


def test_a_move_that_fails_is_taken_back(
    data: Path, big_trace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data files are in place when the runs file's rename fails: they are removed
    at once (not at the next writer's recovery)."""
    spftrace.ingest([SEED], data=data)
    before = fingerprint(data)
    real_replace = os.replace

    def fail_on_runs(src: Any, dst: Any) -> None:
        if "/runs/run=" in str(dst):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_replace(src, dst)

    monkeypatch.setattr("spftrace.runwriter.os.replace", fail_on_runs)
    with pytest.raises(SpftraceError, match=r"Input/output error \(EIO\)"):
        spftrace.ingest([big_trace], data=data)
    assert fingerprint(data) == before and leftovers(data) == []


@pytest.fixture(scope="module")
def huge_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    f = tmp_path_factory.mktemp("huge") / "huge.txt"
    f.write_bytes(TRACE.read_bytes() * 1500)  # 486k lines: a second or more to ingest
    return f


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
@pytest.mark.parametrize("source", ["pipe", "file"])
def test_signal_mid_ingest(tmp_path: Path, huge_trace: Path, sig: int, source: str) -> None:
    """The CLI turns SIGTERM and SIGHUP into the same clean-up as Ctrl-C: staging
    removed at once, exit 128+N, one line."""
    data = tmp_path / "ds"
    spftrace.ingest([SEED], data=data)
    before = fingerprint(data)
    arg = "-" if source == "pipe" else str(huge_trace)
    with subprocess.Popen(
        [sys.executable, "-m", "spftrace", "ingest", arg, "--data", str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdin is not None and proc.stderr is not None
        if source == "pipe":  # a live producer: data, and the pipe stays open
            proc.stdin.write(TRACE.read_bytes() * 20)
            proc.stdin.flush()
        deadline = time.monotonic() + 60
        while not list(data.glob(".staging-*")):
            assert time.monotonic() < deadline and proc.poll() is None, "no ingest started"
            time.sleep(0.01)
        proc.send_signal(sig)
        try:
            rc = proc.wait(timeout=60)
        finally:
            proc.stdin.close()
        err = proc.stderr.read().decode()
    assert rc == 128 + sig, err
    name = signal.Signals(sig).name
    assert err.strip().splitlines() == [f"stopped by {name}; the dataset is unchanged"]
    assert fingerprint(data) == before and leftovers(data) == []


def test_a_crash_mid_commit_is_undone_by_the_next_writer(
    data: Path, big_trace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if the process died between the moves (kill -9): the journal, the moved data
    files and manifest stay; readers do not see them; the next writer removes them."""
    from spftrace.runwriter import RunWriter

    spftrace.ingest([SEED], data=data)
    before = fingerprint(data)
    real_replace = os.replace

    def die_on_runs(src: Any, dst: Any) -> None:
        if "/runs/run=" in str(dst):
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr("spftrace.runwriter.os.replace", die_on_runs)
    monkeypatch.setattr(RunWriter, "_rollback", lambda *a: None)  # no clean-up: a crash
    monkeypatch.setattr(RunWriter, "abort", lambda self: None)
    with pytest.raises(KeyboardInterrupt):
        spftrace.ingest([big_trace], data=data)
    monkeypatch.undo()
    assert (data / "manifests/run=big/part-00000.json").exists()  # half a commit is there
    assert [p.name[:8] for p in data.glob(".commit-*.json")] == [".commit-"]
    assert spftrace.list_runs(data)[1].split()[0] == "ebizzy-x86-16cpu"  # and invisible
    assert len(spftrace.list_runs(data)) == 2
    (data / ".commit-dead.json.0123.tmp").write_bytes(b"")  # a journal cut short
    spftrace.ingest([TRACE], data=data)  # the next writer
    assert leftovers(data) == []
    after = fingerprint(data)
    new = {k for k in after if "perf-script-default" in k} | {"events/"}  # the new run
    assert {k: v for k, v in after.items() if k not in new} == before


def test_a_second_signal_ends_a_stuck_clean_up() -> None:
    """When the clean-up after the first SIGTERM cannot finish (a worker thread that
    never returns), the second one ends the process: spftrace is never unkillable."""
    code = (
        "import signal, threading, time\n"
        "import spftrace.cli as cli\n"
        "signal.signal(signal.SIGTERM, cli._on_signal)\n"
        "t = threading.Thread(target=time.sleep, args=(3600,), daemon=False)\n"
        "t.start()\n"
        "try:\n"  # (ready inside the try: the signal may land during the print)
        "    print('ready', flush=True)\n"
        "    t.join()\n"
        "except cli.Terminated:\n"
        "    print('cleaning up', flush=True)\n"
        "    t.join()\n"
    )
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        try:
            assert proc.stdout.readline() == "ready\n"
            proc.send_signal(signal.SIGTERM)
            assert proc.stdout.readline() == "cleaning up\n"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == -signal.SIGTERM
        finally:
            proc.kill()  # (a failed assertion must not leave the child holding pytest)


def test_load_generator_is_one_continuous_capture(tmp_path: Path) -> None:
    """bench/load.py's trace: the exact number of lines, the capture's own lines with
    time moving forward across repetitions, and every line a record for spftrace."""
    import io
    import re

    from bench.load import CAPTURE, generate

    buf = io.BytesIO()
    generate(buf, 1000)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 1000
    base = CAPTURE.read_bytes().splitlines()
    strip = re.compile(rb" \d+\.\d{6}: ")
    assert [strip.sub(b"", ln) for ln in lines[:324]] == [strip.sub(b"", ln) for ln in base]
    assert [strip.sub(b"", ln) for ln in lines[324:648]] == [strip.sub(b"", ln) for ln in base]
    times = [float(strip.search(ln).group().strip(b" :")) for ln in lines]  # type: ignore[union-attr]
    assert times == sorted(times)
    assert times[324] > times[323]
    (s,) = spftrace.ingest(["-"], stdin=io.BytesIO(buf.getvalue()), data=tmp_path / "ds")
    assert (s.lines, s.record_lines) == (1000, 1000)
