"""The commit's journal and directories, made on a thread of their own while the last
rows are encoded (runwriter.RunWriter._prepare): a failure on either side after the
other has done its part leaves the dataset as it was (files, hashes, directories), no
journal and no staging behind, and one line naming the dataset."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

import spftrace
from spftrace import runwriter
from spftrace.errors import SpftraceError
from spftrace.integrity import sha256_file, sha256_head
from spftrace.runwriter import RunWriter

from .faults import fingerprint
from .helpers import DATA

SEED = DATA / "seed" / "ebizzy-x86-16cpu.txt"  # perf stat: no events table
TRACE = DATA / "traces" / "perf-script-default.txt"  # perf script: events


def leftovers(data: Path) -> list[str]:
    return sorted(p.name for p in data.iterdir() if p.name.startswith((".staging", ".commit")))


@pytest.fixture
def prepared(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set once _prepare has made the journal and the directories."""
    done = threading.Event()
    real = RunWriter._prepare

    def prepare(self: RunWriter, *args: Any) -> None:
        real(self, *args)
        done.set()

    monkeypatch.setattr(RunWriter, "_prepare", prepare)
    return done


@pytest.mark.parametrize("fault", ["ENOSPC", "interrupt"])
def test_a_failure_after_the_journal_and_directories_takes_them_back(
    data: Path, prepared: threading.Event, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """The manifest's hashing fails (a full disk, Ctrl-C) once the journal is durable and
    ``events/`` and ``events/run=...`` (new to this dataset) are made: both go."""
    spftrace.ingest([SEED], data=data)
    prepared.clear()  # (set by that ingest's commit)
    before = fingerprint(data)
    assert not (data / "events").exists()
    seen: dict[str, object] = {}

    def manifest_for(*_args: Any) -> dict[str, Any]:
        assert prepared.wait(10)
        seen["journal"] = json.loads(next(data.glob(".commit-*.json")).read_text())
        seen["events dir"] = (data / "events" / "run=perf-script-default").is_dir()
        if fault == "interrupt":
            raise KeyboardInterrupt
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("spftrace.runwriter.manifest_for", manifest_for)
    expected = SpftraceError if fault == "ENOSPC" else KeyboardInterrupt
    with pytest.raises(expected) as err:
        spftrace.ingest([TRACE], data=data)
    if fault == "ENOSPC":
        assert str(err.value).startswith(f"{data}: cannot write to the dataset: ")
        assert "(ENOSPC)" in str(err.value) and "\n" not in str(err.value)
    # the failure really came after the journal and the directories
    assert seen["events dir"] is True
    moves = seen["journal"]["moves"]  # type: ignore[index]
    assert [Path(d).relative_to(data).as_posix() for _s, d in moves] == [
        "events/run=perf-script-default/part-00000.parquet",
        "stats/run=perf-script-default/part-00000.parquet",
        "manifests/run=perf-script-default/part-00000.json",
        "runs/run=perf-script-default/part-00000.parquet",
    ]
    assert fingerprint(data) == before and leftovers(data) == []


def test_a_directory_that_cannot_be_made(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The partition directory of the events file cannot be made (EACCES): the journal
    and the directories made before it go; the error names the dataset."""
    spftrace.ingest([SEED], data=data)
    before = fingerprint(data)
    real_mkdir = Path.mkdir

    def mkdir(self: Path, *args: Any, **kwargs: Any) -> None:
        if self.name == "run=perf-script-default" and self.parent.name == "events":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    with pytest.raises(SpftraceError, match=r"cannot write to the dataset: .*\(EACCES\)"):
        spftrace.ingest([TRACE], data=data)
    assert not (data / "events").exists()  # made by the commit, then taken back
    assert fingerprint(data) == before and leftovers(data) == []


def test_the_journal_is_durable_before_the_first_move(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file is moved after the journal that lists it was fsynced, and its directory."""
    synced: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        if ".staging-" in str(src):
            journal = [p for p in synced if "/.commit-" in p]
            assert journal, f"{dst} moved before the journal was synced"
            assert str(data.resolve()) in synced[synced.index(journal[0]) + 1 :]
        real_replace(src, dst)

    monkeypatch.setattr("spftrace.outfile.os.fsync", fsync)
    monkeypatch.setattr("spftrace.runwriter.os.replace", replace)
    spftrace.ingest([TRACE], data=data)
    assert spftrace.check(data).ok
    assert leftovers(data) == []


@pytest.mark.parametrize("k", [0, 1, 4096, 1 << 20, (1 << 20) + 7, 3 << 20])
def test_a_hash_finished_from_its_head_is_the_files(tmp_path: Path, k: int) -> None:
    """SHA-256 of the first k bytes, then of the rest: hashlib's of the whole file."""
    f = tmp_path / "f"
    f.write_bytes(os.urandom((2 << 20) + 123))
    want = hashlib.sha256(f.read_bytes()).hexdigest()
    head = sha256_head(f, k)
    assert head.n == min(k, f.stat().st_size)
    assert sha256_file(f, head) == want


def test_a_file_hashed_in_two_parts_is_recorded_whole(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row groups of 256 rows and heads from 1 KiB: the events file is several row groups
    long when the commit starts, and its head is hashed while its last group is written;
    the manifest holds hashlib's hash of the published file."""
    monkeypatch.setattr("spftrace.runwriter.WRITE_ROWS", 256)
    monkeypatch.setattr("spftrace.runwriter.HEAD_HASH", 1024)
    heads: list[tuple[str, int]] = []
    real = runwriter.sha256_head

    def spy(path: Path, n: int) -> Any:
        heads.append((path.name, n))
        return real(path, n)

    monkeypatch.setattr("spftrace.runwriter.sha256_head", spy)
    big = data.parent / "big.txt"
    big.write_bytes(TRACE.read_bytes() * 10)
    spftrace.ingest([big], data=data)
    rel = "events/run=big/part-00000.parquet"
    published = data / rel
    [(name, n)] = heads
    assert name.endswith(".events.parquet") and 1024 <= n < published.stat().st_size
    m = json.loads((data / "manifests/run=big/part-00000.json").read_text())
    assert m["files"][rel] == {
        "bytes": published.stat().st_size,
        "sha256": hashlib.sha256(published.read_bytes()).hexdigest(),
    }
    assert spftrace.check(data).ok


def test_staged_files_and_an_old_staging_directory_are_recovered(data: Path) -> None:
    """What a killed ingest leaves (staged files in the dataset's directory, or a staging
    directory as ingests made before) is removed by the next writer, and nothing else."""
    spftrace.ingest([SEED], data=data)
    before = fingerprint(data)
    (data / ".staging-0123456789ab.events.parquet").write_bytes(b"PAR1")
    (data / ".staging-0123456789ab.manifest.json").write_text("{}")
    old = data / ".staging-ba9876543210" / "events" / "run=x"
    old.mkdir(parents=True)
    (old / "part-00000.parquet").write_bytes(b"PAR1")
    assert len(leftovers(data)) == 3
    assert any("left by an interrupted ingest" in n for n in spftrace.check(data).notes)
    spftrace.ingest([TRACE], data=data)
    assert leftovers(data) == []
    after = fingerprint(data)
    assert {k: v for k, v in after.items() if k in before} == before
    assert spftrace.check(data).ok
