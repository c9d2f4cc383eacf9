"""Draining a pipe on stdin from the process's first moments.

``perf script | spftrace ingest -``: perf script blocks whenever the pipe is full,
so every moment the ingest does not read is a moment the pipe runs slower than
perf script alone.  Without this module such moments were the interpreter's
start-up and imports (pyarrow, numpy: 0.2-0.3 s, during which a 64 KiB pipe holds
a few milliseconds of perf script's output), and any stall of the parser or the
Parquet writer longer than the read-ahead.

``Drain`` reads the pipe on a thread of its own from the moment the command line
is known to ingest stdin (``spftrace.__main__`` starts it before typer, pyarrow
or numpy are imported), into a bounded buffer (``BUDGET`` bytes: memory stays
bounded whatever the input's size), and the ingest reads from that buffer.
``os.read`` releases the GIL, so the imports and the parsing go on meanwhile.

A read that returns little (the pipe nearly empty: we keep up) is followed by a
short nap: perf script writes 4 KiB at a time, and waking for each write cost
more CPU (in both processes) than the parsing of those bytes.  The nap is far
shorter than the time the pipe (widened to 1 MiB) takes to fill.

This module imports nothing heavy: it runs before everything else.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

#: the most one read takes from the pipe
BLOCK = 1 << 20
#: the most bytes held, read but not yet taken by the ingest, while it starts (its
#: imports: perf script writes ~20 MB meanwhile) ...
BUDGET = 32 << 20
#: ... and once it parses (``steady``): the parser's read-ahead holds a few chunks
#: more, and a producer faster than the ingest keeps the drain full, so this adds to
#: the peak RSS of a long ingest while the start-up budget does not
STEADY = 8 << 20
#: a read shorter than this means the pipe was nearly empty: nap before the next one
LOW = 256 << 10
NAP = 0.004
#: what the pipe on stdin is widened to (Linux's default ceiling for users)
PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031

#: the options of ``spftrace ingest`` that take a value (cli.py; a test holds them equal)
INGEST_VALUE_OPTIONS = frozenset(["--data", "--run", "--label", "--format", "--errors"])


class Drain:
    """Bytes of ``fd``, read ahead on a daemon thread into at most ``budget`` bytes.

    ``readinto`` hands them out in order; an error of the read (``OSError``) is
    raised there once the bytes read before it are taken, as a direct read would
    have raised it.  ``close`` stops the reading and wakes a waiting ``readinto``
    (which then returns 0): the consumer has gone.  A thread blocked in a read of a
    silent pipe stays behind, a daemon holding no lock."""

    def __init__(
        self,
        fd: int,
        *,
        budget: int = BUDGET,
        read: Callable[[int, int], bytes] = os.read,
        nap: float = NAP,
    ) -> None:
        self.fd = fd
        self.budget = budget
        self._read = read
        self._nap = nap
        self._blocks: deque[memoryview] = deque()
        self._held = 0
        self._eof = False
        self._error: OSError | None = None
        self._closed = False
        self._cond = threading.Condition()
        #: the most bytes ever held (tests, bench)
        self.peak = 0
        self.thread = threading.Thread(target=self._run, name="spftrace-drain", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        cond = self._cond
        while True:
            with cond:
                while self._held >= self.budget and not self._closed:
                    cond.wait()
                if self._closed:
                    return
            try:
                data = self._read(self.fd, BLOCK)
            except OSError as exc:
                with cond:
                    self._error = exc
                    cond.notify_all()
                return
            with cond:
                if self.closed:  # while we read: drop what came
                    return
                if not data:
                    self._eof = True
                    cond.notify_all()
                    return
                self._blocks.append(memoryview(data))
                self._held += len(data)
                self.peak = max(self.peak, self._held)
                cond.notify_all()
            if len(data) < LOW and self._nap:
                time.sleep(self._nap)

    def steady(self, budget: int = STEADY) -> None:
        """From now on hold at most ``budget`` bytes (the start-up is over)."""
        with self._cond:
            self.budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, b: WriteableBuffer) -> int:
        """Up to ``len(b)`` bytes into ``b`` (as many as are held); 0 at the end."""
        with memoryview(b) as whole, whole.cast("B") as view:
            return self._take(view)

    def _take(self, view: memoryview) -> int:
        if not view:
            return 0
        cond = self._cond
        with cond:
            while not (self._blocks or self._eof or self._error or self._closed):
                cond.wait()
            n = 0
            while self._blocks and n < len(view):
                block = self._blocks[0]
                take = min(len(block), len(view) - n)
                view[n : n + take] = block[:take]
                n += take
                if take == len(block):
                    self._blocks.popleft()
                else:
                    self._blocks[0] = block[take:]
            if n:
                self._held -= n
                cond.notify_all()
                return n
            if self._error is not None and not self._closed:
                # a fresh one each time: a raised exception's traceback would keep the
                # caller's buffer (a memoryview of it) alive in self._error
                raise type(self._error)(*self._error.args)
            return 0

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._blocks.clear()
            self._held = 0
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


_stdin: Drain | None = None
_lock = threading.Lock()


def stdin_drain() -> Drain | None:
    """The drain of fd 0, started now if it is not yet: only for a pipe or a socket
    (a file or a terminal is read directly), never twice for one process."""
    global _stdin
    with _lock:
        if _stdin is not None and not _stdin.closed:
            return _stdin
        if sys.stdin is None:  # closed (``exec 0<&-``): fd 0 may be another file now
            return None
        try:
            mode = os.fstat(0).st_mode
        except OSError:
            return None
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
            return None
        if stat.S_ISFIFO(mode):
            widen_pipe(0)
        _stdin = Drain(0, nap=NAP)
        return _stdin


def widen_pipe(fd: int) -> None:
    """Give a pipe ``PIPE_BYTES`` instead of 64 KiB (best effort)."""
    import fcntl

    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", _F_SETPIPE_SZ), PIPE_BYTES)


def ingest_inputs(argv: Sequence[str]) -> list[str] | None:
    """The inputs ``spftrace ARGV`` ingests (``-``: stdin), or None when it is not an
    ingest (or asks for its help)."""
    if not argv or argv[0] != "ingest":
        return None
    inputs: list[str] = []
    args = iter(argv[1:])
    for a in args:
        if a == "--":
            inputs += args
            break
        if a == "--help":
            return None
        if a in INGEST_VALUE_OPTIONS:
            next(args, None)
        elif a.startswith("-") and a != "-":
            continue
        else:
            inputs.append(a)
    return inputs


def ingests_stdin(argv: Sequence[str]) -> bool:
    """Whether ``spftrace ARGV`` is an ingest that reads stdin: ``-`` among its
    inputs, or no input at all (it then reads stdin when that is not a terminal)."""
    inputs = ingest_inputs(argv)
    return inputs is not None and (not inputs or "-" in inputs)


def start_early(argv: Sequence[str]) -> Drain | None:
    """Start draining stdin if ``argv`` ingests it, and hashing the files it ingests
    (spftrace.prehash), before the heavy imports."""
    inputs = ingest_inputs(argv)
    if inputs is None:
        return None
    files = [a for a in inputs if a != "-"]
    if files and os.environ.get("SPFTRACE_PREHASH") != "0":
        from .prehash import start

        start(files)
    return stdin_drain() if not inputs or "-" in inputs else None
