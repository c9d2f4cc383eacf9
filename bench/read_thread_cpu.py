"""`spftrace ingest` with the read-ahead thread's CPU time (reading and cutting chunks).

    python bench/read_thread_cpu.py ingest FILE --data DIR

Runs the CLI as ``python -m spftrace`` does, with ``pipeline._read_ahead``'s item
iterator timed by ``time.thread_time`` on the thread that runs it, and prints
``READTHREAD_CPU s PROCESS_CPU s`` on stderr as the process ends (the CLI ends
with ``os._exit``, so atexit handlers would not run).  CPU seconds, not wall: the
machine is shared; take the best of 3.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from typing import TypeVar

import spftrace.__main__ as entry
import spftrace.ingest.pipeline as pipeline

T = TypeVar("T")
_total = [0.0]
_read_ahead = pipeline._read_ahead


def _timed(items: Iterator[T]) -> Iterator[T]:
    it = iter(items)
    while True:
        t = time.thread_time()
        try:
            x = next(it)
        except StopIteration:
            _total[0] += time.thread_time() - t
            return
        _total[0] += time.thread_time() - t
        yield x


def _wrapped(items: Iterator[T], inp: pipeline.Input) -> Iterator[T]:
    return _read_ahead(_timed(items), inp)


_exit = os._exit


def _report_exit(code: int) -> None:
    print(f"READTHREAD_CPU {_total[0]:.3f} PROCESS_CPU {time.process_time():.3f}", file=sys.stderr)
    sys.stderr.flush()
    _exit(code)


if __name__ == "__main__":
    pipeline._read_ahead = _wrapped  # type: ignore[assignment]
    os._exit = _report_exit
    entry.main()
