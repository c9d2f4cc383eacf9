"""The ``spftrace`` command (console script and ``python -m spftrace``).

Before anything heavy is imported, an ingest of stdin starts draining the pipe
(``spftrace.drain``): the producer (``perf script``) then runs on while typer,
pyarrow and numpy load.  An ingest ends with ``os._exit`` once its output is
flushed: everything it wrote is committed and closed by then, and tearing down
an interpreter that holds pyarrow and numpy took longer than the last batch.
An ingest imports pyarrow without numpy (``spftrace.lazy_numpy``): only inputs
whose parsers use numpy pay for it (``SPFTRACE_LAZY_NUMPY=0``: at start, as before).
numpy's OpenBLAS is held to one thread (``quiet_blas``): spftrace makes no BLAS call,
and OpenBLAS's own threads, started with numpy, spin on the CPUs the reader and the
writer need.  An ingest's Arrow buffers come from malloc (``system_allocator``).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Iterator
from typing import Any


def quiet_blas() -> None:
    """OpenBLAS (numpy's BLAS) on the calling thread only, unless the user chose a
    number: its worker threads start with ``import numpy`` and busy-wait for work
    that never comes (spftrace does no linear algebra).  On 2 CPUs they took a
    1.4M-sample perf.data ingest from 1.26 s to 1.57 s (wall) and from 1.75 to
    1.89 CPU s, best of 5 each, in the same run (sched_yield: system time)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def system_allocator() -> None:
    """Arrow's buffers from the C library's malloc, not the bundled mimalloc, unless
    the user chose a pool: an ingest's batches are made and freed at a steady rate,
    and mimalloc gave their memory back and faulted it in again (zeroed 2 MB pages:
    system time), and held more.  Same run, best of 5: a 1.4M-sample perf.data
    ingest 2.32 -> 2.05 CPU s and 239 -> 203 MB peak RSS; 1M perf script lines
    0.90 -> 0.91 CPU s, 179 -> 138 MB."""
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


def main() -> None:
    argv = sys.argv[1:]
    ingest = argv[:1] == ["ingest"]
    if ingest:
        gc.disable()  # until the imports are done (imported)
    from .drain import start_early

    quiet_blas()  # before numpy is imported: OpenBLAS reads it once, as it loads
    if ingest:
        system_allocator()  # before pyarrow is imported: Arrow reads it once
    start_early(argv)
    if ingest and os.environ.get("SPFTRACE_LAZY_NUMPY") != "0":
        from .lazy_numpy import import_pyarrow

        import_pyarrow()  # numpy when a parser asks for it: 0.1 s less for small inputs
    from .cli import main as cli_main

    if not ingest:
        with _only_named(argv):
            cli_main()
        return
    imported()
    try:
        with _only_named(argv):
            cli_main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    _fast_exit(code)


def imported() -> None:
    """The ingest's modules imported with the cyclic garbage collector off (``main``),
    then kept out of its reach (``gc.freeze``) and the collector on again.

    Imports make objects by the ten thousand and free few of them: each 700 more
    started a collection of the youngest, every tenth one also of the middle
    generation, and none found much to free (~400 objects of a 10-line ingest's
    start-up are garbage).  Those 43 collections were 14 of the 10-line ingest's 546 M
    instructions (callgrind) and happened in every ingest, big or small.  Frozen,
    the modules' objects are never traversed again by later collections."""
    import spftrace.ingest  # noqa: F401  (what the command imports first)

    gc.freeze()
    gc.enable()


@contextlib.contextmanager
def _only_named(argv: list[str]) -> Iterator[None]:
    """The app with only the command ``argv`` names.  typer builds every command of an
    app on each call (``inspect.signature`` and the annotations of each function:
    50-100 ms for all of them, 5 ms for one); the top-level help and an unknown name
    (click suggests the near ones) keep them all."""
    from .cli import app

    def name(info: Any) -> str:
        import typer.main

        return str(info.name or typer.main.get_command_name(info.callback.__name__))

    head = argv[0] if argv and not argv[0].startswith("-") else None
    cmds = [c for c in app.registered_commands if name(c) == head]
    groups = [g for g in app.registered_groups if g.name == head]
    if not cmds and not groups:
        yield
        return
    every = app.registered_commands, app.registered_groups
    app.registered_commands, app.registered_groups = cmds, groups
    try:
        yield
    finally:
        app.registered_commands, app.registered_groups = every


def _fast_exit(code: object) -> None:
    """Exit as ``sys.exit(code)`` would, without the interpreter's tear-down."""
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            code = code or 120  # as Python exits when its final flush fails
    os._exit(code)


if __name__ == "__main__":
    main()
