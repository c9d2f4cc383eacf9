"""An ingest that fails into a new ``--data`` directory leaves it as it was.

DESIGN.md: "an interrupted ingest leaves the dataset as it was".  For a directory that
was missing or empty, that is missing or empty: not an empty dataset (a marker and a
``.lock``, which made the user's new directory look like a dataset holding nothing).
Every input format fails the same way: a trace.dat or perf.data whose header cannot be
read, a text input with a bad line (strict).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

import spftrace
from spftrace.store import MARKER, Dataset

from .faults import fingerprint
from .test_dataset_dirs import SEED, cli, one_line_error

BAD = {
    # trace-cmd.dat.v6(5): magic, "6\0", endianness, long size, page size, then
    # "header_page\0": cut inside it
    "cut.dat": (b"\x17\x08\x44tracing6\0\0\x08\0\x10\0\0header_pa", None),
    # perf's header.h: "PERFILE2" then the header's size (104 bytes): cut after 16
    "cut.perf.data": (b"PERFILE2" + bytes(8), None),
    "bad.txt": (b"garbage line\nmore garbage\n", "perf-script"),
}


def _ingest(tmp: Path, name: str, data: Path) -> str:
    blob, fmt = BAD[name]
    src = tmp / name
    src.write_bytes(blob)
    extra = ["--format", fmt] if fmt else []
    return one_line_error(*cli("ingest", str(src), "--data", str(data), *extra))


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_new_directory_is_not_left_behind(name: str, tmp_path: Path) -> None:
    data = tmp_path / "new" / "ds"
    line = _ingest(tmp_path, name, data)
    assert name in line
    assert not (tmp_path / "new" / "ds").exists()
    assert (tmp_path / "new").is_dir()  # a parent it made stays: only --data is its own


@pytest.mark.parametrize("name", sorted(BAD))
def test_an_empty_directory_stays_empty(name: str, tmp_path: Path) -> None:
    data = tmp_path / "empty"
    data.mkdir()
    _ingest(tmp_path, name, data)
    assert list(data.iterdir()) == []


@pytest.mark.parametrize("name", sorted(BAD))
def test_an_existing_dataset_is_unchanged(name: str, tmp_path: Path) -> None:
    data = tmp_path / "ds"
    spftrace.ingest([SEED], data=data)
    before = fingerprint(data)
    _ingest(tmp_path, name, data)
    assert fingerprint(data) == before


def test_a_run_published_before_the_failure_stays(tmp_path: Path) -> None:
    """Each input is its own run, published on its own: the first one is a dataset."""
    bad = tmp_path / "cut.dat"
    bad.write_bytes(BAD["cut.dat"][0])
    data = tmp_path / "ds"
    one_line_error(*cli("ingest", str(SEED), str(bad), "--data", str(data)))
    assert (data / MARKER).is_file()
    assert sorted(spftrace.load(data).runs.run) == ["kernbench-x86-16cpu"]


def test_a_writer_waiting_on_an_undone_creation_makes_the_dataset(tmp_path: Path) -> None:
    """The creator that fails unlinks the marker and .lock while it holds the lock; an
    ingest that was waiting for it must not write into a directory without a marker
    (or one removed under it): it opens the dataset again and locks the new .lock."""
    data = tmp_path / "ds"
    creator = Dataset(data, create=True)
    with creator.locked():
        waiter = subprocess.Popen(
            [sys.executable, "-m", "spftrace", "ingest", str(SEED), "--data", str(data)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert waiter.stderr is not None
        first = waiter.stderr.readline()  # said once, before it waits
        assert "waiting for the dataset lock" in first, first
        time.sleep(0.5)
        assert waiter.poll() is None
        assert creator.undo_create()
    creator.remove_made_dir()
    err = waiter.communicate(timeout=120)[1]
    assert waiter.returncode == 0, err
    assert (data / MARKER).is_file()
    assert sorted(spftrace.load(data).runs.run) == ["kernbench-x86-16cpu"]
