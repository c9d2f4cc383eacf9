"""Review of d755b40 (a failed ingest into a new --data leaves it as it was).

Two holes: the undo unlinked a ``.lock`` the user had in the directory before (spftrace
accepts a directory holding only a ``.lock`` as empty, since another spftrace may be
creating a dataset there), and a creator that found the directory an undone creation
was about to remove failed with "cannot create the dataset" when it went between its
mkdir and its marker.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import spftrace
from spftrace import store
from spftrace.store import MARKER, Dataset

from .test_dataset_dirs import SEED
from .test_failed_create import _ingest


@pytest.mark.parametrize("name", ["bad.txt", "cut.dat"])
def test_a_lock_file_the_user_had_stays(name: str, tmp_path: Path) -> None:
    data = tmp_path / "mine"
    data.mkdir()
    (data / ".lock").write_bytes(b"the user's own lock file\n")
    _ingest(tmp_path, name, data)
    assert (data / ".lock").read_bytes() == b"the user's own lock file\n"
    assert sorted(p.name for p in data.iterdir()) == [".lock"]


def test_an_empty_lock_file_the_user_had_stays(tmp_path: Path) -> None:
    data = tmp_path / "mine"
    data.mkdir()
    (data / ".lock").touch()
    _ingest(tmp_path, "bad.txt", data)
    assert sorted(p.name for p in data.iterdir()) == [".lock"]


def test_the_lock_file_of_an_undone_creation_still_goes(tmp_path: Path) -> None:
    """A guard for the fix above: the .lock a creator found is another spftrace's when
    that one's undo had unlinked only the marker; it is unlinked next, and the .lock
    the second one then locks is its own: its own undo removes it."""
    data = tmp_path / "ds"
    first = Dataset(data, create=True)
    with first.locked():
        (data / MARKER).unlink()  # the first one's undo, half done
        second = Dataset(data, create=True)  # sees only the first one's .lock: creates
        (data / ".lock").unlink()  # what the first one's undo unlinks last
    with second.locked():
        assert second.undo_create()
    second.remove_made_dir()
    assert list(data.iterdir()) == []


def test_two_failed_creations_leave_no_directory(tmp_path: Path) -> None:
    """Two ingests into a new --data that both fail: the first made the directory and
    removed it only after its lock, by when the second (which had waited) had made a
    dataset in it again, not knowing it was new; its undo then left the directory."""
    data = tmp_path / "ds"
    first = Dataset(data, create=True)
    second = Dataset(data, create=True)  # finds the first one's marker
    assert first.made_dir and not second.created
    with first.locked():
        assert first.undo_create()
    with second.locked():  # it waited: the creation was undone, so it creates
        first.remove_made_dir()  # the first one's clean-up, while the second ingests
        assert second.undo_create()
    second.remove_made_dir()
    assert not data.exists() and tmp_path.is_dir()


def test_a_creator_racing_the_removal_of_an_undone_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failed creator removes the directory it made after it released the lock; a
    second ingest that had just found that directory (mkdir, exist_ok) must not fail
    writing its marker into it: it makes the directory again."""
    data = tmp_path / "ds"
    failed = Dataset(data, create=True)
    with failed.locked():
        assert failed.undo_create()
    real = store.atomic_write
    raced: list[bool] = []

    def removed_first(path: Path, blob: bytes, **kw: bool) -> None:
        if not raced:
            raced.append(True)
            failed.remove_made_dir()  # runs between the other's mkdir and its marker
            assert not data.exists()
        real(path, blob, **kw)

    monkeypatch.setattr(store, "atomic_write", removed_first)
    ds = Dataset(data, create=True)
    assert raced and (data / MARKER).is_file()
    assert ds.made_dir  # it made the directory again: a failure of its own removes it
    monkeypatch.undo()
    spftrace.ingest([SEED], data=data)
    assert sorted(spftrace.load(data).runs.run) == ["kernbench-x86-16cpu"]


def test_sigterm_mid_ingest_into_a_new_directory_leaves_none(tmp_path: Path) -> None:
    """SIGTERM is the clean-up of Ctrl-C (cli.Terminated): into a new --data, nothing is
    left, not even the directory (its parent, which existed, stays)."""
    import signal
    import subprocess
    import sys
    import time

    from .test_write_faults import TRACE

    data = tmp_path / "ds"
    with subprocess.Popen(
        [sys.executable, "-m", "spftrace", "ingest", "-", "--data", str(data)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    ) as proc:  # fmt: skip
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write(TRACE.read_bytes() * 20)  # a live producer: the pipe stays open
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while not (data.is_dir() and list(data.glob(".staging-*"))):
            assert time.monotonic() < deadline and proc.poll() is None, "no ingest started"
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=60)
        finally:
            proc.stdin.close()
        err = proc.stderr.read().decode()
    assert rc == 128 + signal.SIGTERM, err
    assert not data.exists() and tmp_path.is_dir()
