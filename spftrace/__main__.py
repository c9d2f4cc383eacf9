"""The ``spftrace`` command (console script and ``python -m spftrace``).

Before anything heavy is imported, an ingest of stdin starts draining the pipe
(``spftrace.drain``): the producer (``perf script``) then runs on while typer,
pyarrow and numpy load.  An ingest ends with ``os._exit`` once its output is
flushed: everything it wrote is committed and closed by then, and tearing down
an interpreter that holds pyarrow and numpy took longer than the last batch.
An ingest imports pyarrow without numpy (``spftrace.lazy_numpy``): only inputs
whose parsers use numpy pay for it (``SPFTRACE_LAZY_NUMPY=0``: at start, as before).
An ingest's Arrow buffers come from the system allocator, not pyarrow's default
mimalloc (``_memory_pool``; ARROW_DEFAULT_MEMORY_POOL set by the user wins).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any


def main() -> None:
    from .drain import start_early

    argv = sys.argv[1:]
    _memory_pool(argv)
    start_early(argv)
    if argv[:1] == ["ingest"] and os.environ.get("SPFTRACE_LAZY_NUMPY") != "0":
        from .lazy_numpy import import_pyarrow

        import_pyarrow()  # numpy when a parser asks for it: 0.1 s less for small inputs
    from .cli import main as cli_main

    if not argv or argv[0] != "ingest":
        with _only_named(argv):
            cli_main()
        return
    try:
        with _only_named(argv):
            cli_main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    _fast_exit(code)


def _memory_pool(argv: list[str]) -> None:
    """An ingest allocates its Arrow buffers with the system allocator (glibc), not
    mimalloc, pyarrow's default: on the 2-CPU machine of bench/whole.py, 1M perf script
    lines took 0.33-0.46 CPU s in the writer thread instead of 0.64-0.79 (load 4-5;
    mimalloc kept initialising fresh pages, ``mi_page_free_list_extend`` and the
    kernel's page zeroing) and a peak of 150 MB instead of 188; a 1M-sample perf.data
    181 MB instead of 223 at the same CPU time.  Read by pyarrow when it makes its
    default pool, so set before anything imports it."""
    if argv[:1] == ["ingest"]:
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


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
