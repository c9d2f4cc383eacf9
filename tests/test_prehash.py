"""The input files hashed from start-up (spftrace/prehash.py): the digest and byte
count an ingest records are hashlib's over the bytes it read, as when it hashed
while reading; a file changed after the early hash started is hashed as before."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from spftrace import prehash
from spftrace.drain import ingest_inputs
from spftrace.ingest.inputs import open_input

from .helpers import DATA

TRACE = DATA / "traces" / "perf-script-default.txt"


def _big(tmp_path: Path, name: str = "ps.txt") -> Path:
    """A perf script text over prehash.MIN_BYTES (the sample repeated)."""
    blob = TRACE.read_bytes()
    p = tmp_path / name
    p.write_bytes(blob * (prehash.MIN_BYTES // len(blob) + 2))
    return p


def test_the_inputs_of_an_ingest_are_its_arguments() -> None:
    argv = ["ingest", "--data", "d", "a.txt", "-", "--run", "r", "--force", "b.txt"]
    assert ingest_inputs(argv) == ["a.txt", "-", "b.txt"]
    assert ingest_inputs(["ingest", "--", "--data"]) == ["--data"]
    assert ingest_inputs(["report", "a.txt"]) is None
    assert ingest_inputs(["ingest", "--help"]) is None


def test_an_early_hash_is_claimed_and_is_hashlibs(tmp_path: Path) -> None:
    p = _big(tmp_path)
    raw = p.read_bytes()
    prehash.start([str(p)])
    inp = open_input(p)
    try:
        assert inp.hasher.early is not None  # claimed: the reader only counts
        for _ in inp.lines().chunks(1 << 16):
            pass
        assert inp.sha256 == hashlib.sha256(raw).hexdigest()
        assert inp.nbytes == len(raw)
    finally:
        inp.close()
    assert prehash.claim(os.open(p, os.O_RDONLY)) is None  # claimed once


def test_fewer_bytes_read_hash_as_those_bytes(tmp_path: Path) -> None:
    """An ingest stopped early (a damaged compressed stream) hashes what it read."""
    p = _big(tmp_path)
    raw = p.read_bytes()
    prehash.start([str(p)])
    fd = os.open(p, os.O_RDONLY)
    try:
        early = prehash.claim(fd)
    finally:
        os.close(fd)
    assert early is not None
    assert early.digest(len(raw)) == hashlib.sha256(raw).hexdigest()
    assert early.digest(12345) == hashlib.sha256(raw[:12345]).hexdigest()


def test_a_file_changed_after_the_early_hash_is_hashed_as_read(tmp_path: Path) -> None:
    p = _big(tmp_path)
    prehash.start([str(p)])
    with p.open("ab") as f:
        f.write(TRACE.read_bytes())  # size and mtime change: not the file hashed
    raw = p.read_bytes()
    inp = open_input(p)
    try:
        assert inp.hasher.early is None
        for _ in inp.lines().chunks(1 << 16):
            pass
        assert inp.sha256 == hashlib.sha256(raw).hexdigest()
    finally:
        inp.close()


def test_small_files_and_pipes_are_hashed_as_read(tmp_path: Path) -> None:
    small = tmp_path / "s.txt"
    small.write_bytes(TRACE.read_bytes())
    prehash.start([str(small), "-", str(tmp_path / "missing.txt"), str(tmp_path)])
    fd = os.open(small, os.O_RDONLY)
    try:
        assert prehash.claim(fd) is None
    finally:
        os.close(fd)


def test_the_command_records_hashlibs_digest(tmp_path: Path) -> None:
    """The whole process (spftrace.__main__ starts the early hash): the runs row of a
    plain and of a gzip file holds hashlib's digest of the file's bytes."""
    plain = _big(tmp_path)
    gz = tmp_path / "ps.txt.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes(), compresslevel=0))  # stored: as large
    assert gz.stat().st_size >= prehash.MIN_BYTES
    data = tmp_path / "ds"
    for f in (plain, gz):
        subprocess.run(
            [sys.executable, "-m", "spftrace", "ingest", str(f), "--data", str(data)],
            check=True, capture_output=True,
        )  # fmt: skip
    runs = pq.read_table(data / "runs").to_pydict()
    got = dict(zip(runs["source"], zip(runs["sha256"], runs["bytes"], strict=True), strict=True))
    for f in (plain, gz):
        raw = f.read_bytes()
        assert got[str(f)] == (hashlib.sha256(raw).hexdigest(), len(raw))


def test_a_failed_early_hash_is_taken_again(tmp_path: Path) -> None:
    """An early hash that failed (here: told so) costs nothing but the second read."""
    p = _big(tmp_path)
    raw = p.read_bytes()
    e = prehash.Early(str(p), (0, 0, len(raw), 0))
    e.error = "no mmap here"
    e.done.set()
    assert e.digest(len(raw)) == hashlib.sha256(raw).hexdigest()
    p.unlink()
    assert e.digest(len(raw)) is None  # gone: the ingest reports it cannot read


def test_without_mmap_the_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mmap

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("no mmap on this file system")

    monkeypatch.setattr(mmap, "mmap", refuse)
    p = _big(tmp_path)
    raw = p.read_bytes()
    e = prehash.Early(str(p), (0, 0, len(raw), 0))
    e.run()
    assert e.error is None and e.nbytes == len(raw)
    assert e.digest(len(raw)) == hashlib.sha256(raw).hexdigest()
    assert e.digest(len(raw) - 1) == hashlib.sha256(raw[:-1]).hexdigest()


def test_the_api_hashes_its_files_early_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """spftrace.ingest (no __main__) starts the early hash of the files it names, as the
    command does (not stdin), and records hashlib's digest; SPFTRACE_PREHASH=0 stops it."""
    import spftrace

    started: list[list[str]] = []
    real = prehash.start

    def spy(paths: list[str]) -> None:
        started.append(list(paths))
        real(paths)

    monkeypatch.setattr(prehash, "start", spy)
    p = _big(tmp_path)
    (s,) = spftrace.ingest([p], data=tmp_path / "ds")
    assert started == [[str(p)]]
    runs = pq.read_table(tmp_path / "ds" / "runs").to_pydict()
    assert runs["sha256"] == [hashlib.sha256(p.read_bytes()).hexdigest()]
    assert s.bytes == p.stat().st_size
    monkeypatch.setenv("SPFTRACE_PREHASH", "0")
    spftrace.ingest([p], data=tmp_path / "ds2")
    assert started == [[str(p)]]
