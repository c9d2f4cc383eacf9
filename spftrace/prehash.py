"""Hashing the input files from the process's first moments.

``spftrace ingest FILE``: every input's SHA-256 (the runs table's ``sha256``, the
check that the same bytes are not ingested twice) is taken over the bytes as read.
Taken while the lines are read, it was 0.09 s of CPU per 150 MB on the read-ahead
thread, in the middle of the ingest where both CPUs are busy; the start-up
(interpreter, pyarrow, typer: ~0.2 s) keeps only one of them busy.  So
``spftrace.__main__`` starts hashing the regular files an ingest names before the
heavy imports (``start``), on a daemon thread that reads each file a block at a
time into one buffer (``_feed``) and feeds hashlib, which releases the GIL; ``open_input``
claims the result of the file it opens (``claim``: same device, inode, size and
modification time) and its reader then only counts the bytes.

The semantics stay those of hashing while reading: ``Early.digest(n)`` is the hash
of the file's first ``n`` bytes, where ``n`` is how many the ingest read (all of
them, unless a damaged compressed stream stopped it early: the first ``n`` are then
hashed again).

This module imports nothing heavy: it runs before everything else.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Sequence

#: bytes read and fed to hashlib at a time (it releases the GIL for updates over
#: 2 KiB); small enough to stay in a core's L2 cache between the copy and the hash
BLOCK = 1 << 18
#: smaller files are hashed while read, as before (the thread would cost more)
MIN_BYTES = 1 << 20
#: nor files over this share of the physical memory: the page cache might not keep
#: them until the parser reads them, which would then read them from disk twice
MAX_SHARE = 0.25

Key = tuple[int, int, int, int]


def _key(st: os.stat_result) -> Key:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class Early:
    """One file's SHA-256, taken on a thread of its own."""

    def __init__(self, path: str, key: Key) -> None:
        self.path = path
        self.key = key
        self.nbytes = 0
        self._sha: object = None  # a hashlib object once done
        self.error: str | None = None
        self.done = threading.Event()

    def run(self) -> None:
        import hashlib

        sha = hashlib.sha256()
        try:
            n = _feed(sha, self.path, self.key[2])
        except (OSError, ValueError) as exc:
            self.error = str(exc)
        else:
            self.nbytes = n
            self._sha = sha
        self.done.set()

    def digest(self, nbytes: int) -> str | None:
        """The hex SHA-256 of the file's first ``nbytes`` bytes: the early hash, or
        (it failed, or fewer bytes were read) those bytes hashed now; None when they
        cannot be read any more."""
        self.done.wait()
        if self._sha is not None and nbytes == self.nbytes:
            return str(self._sha.hexdigest())  # type: ignore[attr-defined]
        import hashlib

        sha = hashlib.sha256()
        try:
            got = _feed(sha, self.path, nbytes)
        except (OSError, ValueError):
            return None
        return sha.hexdigest() if got == nbytes else None


def _feed(sha: object, path: str, limit: int) -> int:
    """Feed the first ``limit`` bytes of ``path`` to ``sha``; how many there were.

    Read into one BLOCK-sized buffer, not mapped: hashed while still in the CPU's
    cache, the copy costs less than the page faults of a mapping (a 272 MB file:
    0.234 s of CPU against 0.274 mapped, a 144 MB one 0.131 against 0.145, best of 5
    alternating), the resident set stays one buffer, and a file truncated while it
    is hashed is a short read, not the SIGBUS a mapping raises."""
    update = sha.update  # type: ignore[attr-defined]
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    n = 0
    with open(path, "rb", buffering=0) as f:
        size = min(os.fstat(f.fileno()).st_size, limit)
        while n < size:
            got = f.readinto(view[: min(BLOCK, size - n)])
            if not got:
                break
            update(view[:got])
            n += got
    return n


_lock = threading.Lock()
_early: dict[Key, Early] = {}


def start(paths: Sequence[str]) -> None:
    """Hash the regular files among ``paths`` (of at least MIN_BYTES), one after
    another, on a daemon thread."""
    todo: list[Early] = []
    try:
        most = int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") * MAX_SHARE)
    except (OSError, ValueError):
        most = 1 << 30
    for p in paths:
        try:
            st = os.stat(p)
        except (OSError, ValueError):
            continue
        if stat.S_ISREG(st.st_mode) and MIN_BYTES <= st.st_size <= most:
            e = Early(p, _key(st))
            with _lock:
                if e.key not in _early:
                    _early[e.key] = e
                    todo.append(e)
    if not todo:
        return

    def run() -> None:
        for e in todo:
            e.run()

    threading.Thread(target=run, name="spftrace-prehash", daemon=True).start()


def claim(fd: int) -> Early | None:
    """The early hash of the file open on ``fd``, if one was started (once)."""
    with _lock:
        if not _early:
            return None
        try:
            key = _key(os.fstat(fd))
        except OSError:
            return None
        return _early.pop(key, None)
