"""Progress on stderr for long work: a transient rich line with the elapsed time and
the events (or lines, faults) done so far.

Shown only when the command line asked for it (``enable()``, which the CLI calls) and
stderr is a terminal: library calls, pipes, tests and CI never see a byte of it.  The
work reports through ``add(n)``, a no-op unless an ``activity`` is open, so the hot
loops that call it (the per-VMA-lock pass, the simulator's poll) need no plumbing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_enabled = False
_current: _Activity | None = None


def enable() -> None:
    """Allow progress displays in this process (the CLI's commands call it)."""
    global _enabled
    _enabled = True


def shown() -> bool:
    """Whether an activity opened now would be displayed."""
    return _enabled and sys.stderr.isatty()


class _Activity:
    def __init__(self, count: Callable[[], int] | None) -> None:
        self.done = 0
        self.count = count

    def value(self) -> int:
        return self.count() if self.count is not None else self.done


def add(n: int) -> None:
    """Count ``n`` more units of the open activity (no-op when none is shown)."""
    if _current is not None:
        _current.done += n


def ingest_callback() -> Callable[[str, int, int], None] | None:
    """A callback for ``ingest(progress=...)`` that counts the lines of every input
    into the open activity; None when no activity is shown."""
    act = _current
    if act is None:
        return None
    seen: dict[str, int] = {}

    def update(source: str, lines: int, _nbytes: int) -> None:
        act.done += lines - seen.get(source, 0)
        seen[source] = lines

    return update


@contextmanager
def activity(
    description: str, *, unit: str = "events", count: Callable[[], int] | None = None
) -> Iterator[Callable[[str], None]]:
    """Show ``description``, elapsed time and the units done so far (``add`` or, when
    given, ``count()`` polled at each refresh) while the block runs.  Yields a function
    that replaces the description (a new phase).  Nothing is shown when ``shown()`` is
    false, or when an activity is already open (the outer one keeps the line)."""
    global _current
    if not shown() or _current is not None:
        yield lambda _text: None
        return
    from rich.console import Console
    from rich.progress import Progress, ProgressColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.text import Text

    act = _Activity(count)

    class _Done(ProgressColumn):
        def render(self, task: Any) -> Text:
            n = act.value()
            return Text(f"{n:,} {unit}" if n else "")

    _current = act
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            _Done(),
            console=Console(stderr=True),
            transient=True,
            refresh_per_second=4,
        ) as bar:
            task = bar.add_task(description, total=None)
            yield lambda text: bar.update(task, description=text)
    finally:
        _current = None


@contextmanager
def ingest_lines(enabled: bool) -> Iterator[Any]:
    """The ingest's per-input display: lines so far, lines/s and MB/s per input.  Yields
    the callback ``ingest(progress=...)`` takes, or None when not shown."""
    if not enabled or not shown():
        yield None
        return
    import time

    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}
        start = time.perf_counter()

        def update(source: str, lines: int, nbytes: int) -> None:
            if source not in tasks:
                tasks[source] = bar.add_task(source, rate="")
            dt = max(time.perf_counter() - start, 1e-9)
            bar.update(
                tasks[source],
                rate=f"{lines:,} lines, {lines / dt:,.0f} lines/s, {nbytes / 1e6 / dt:.1f} MB/s",
            )

        yield update
