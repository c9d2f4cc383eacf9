"""The dataset's writer lock, with a word about who holds it when we must wait.

``Dataset.locked()`` (store.py) serialises writers with ``flock``; a writer
that finds it taken waits silently, which looks like a hang when the holder is
an ingest of a pipe that stays open.  So before waiting we try the lock without
blocking; if it is held, we say once, on stderr, which process holds it, with
what command and since when (from ``.lock-holder``, which every holder writes).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from ..outfile import atomic_write
from ..store import Dataset
from ..text import visible

HOLDER = ".lock-holder"


@contextlib.contextmanager
def writer_lock(ds: Dataset, notify: Callable[[str], None]) -> Iterator[None]:
    """``ds.locked()``, telling ``notify`` who holds it if it is taken."""
    with contextlib.suppress(FileNotFoundError), (ds.path / ".lock").open("rb") as fh:
        try:  # (a creation undone meanwhile: ds.locked() opens the dataset again)
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fh, fcntl.LOCK_UN)
        except BlockingIOError:
            notify(waiting_message(ds.path))
    with ds.locked():
        holder = ds.path / HOLDER
        _write_holder(holder)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                holder.unlink()


def _write_holder(path: Path) -> None:
    info = {"pid": os.getpid(), "command": shlex.join(sys.argv)[:300], "since": time.time()}
    with contextlib.suppress(OSError):  # best effort: the lock itself is what counts
        atomic_write(path, json.dumps(info).encode())


def waiting_message(dataset: Path) -> str:
    """``waiting for ...: held by pid N (COMMAND) since HH:MM:SS (N s ago)``."""
    who = "another process"
    try:
        info = json.loads((dataset / HOLDER).read_text())
        pid, command, since = int(info["pid"]), str(info["command"]), float(info["since"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    else:
        when = datetime.fromtimestamp(since).strftime("%Y-%m-%d %H:%M:%S")
        ago = max(0, round(time.time() - since))
        who = f"pid {pid} ({visible(command)}) since {when} ({ago} s ago)"
    return (
        f"waiting for the dataset lock of {dataset}: it is held by {who}; "
        "this ingest goes on when that one ends"
    )
