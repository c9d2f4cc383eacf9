"""Regular expressions compiled on first use instead of at import.

A text ingest imports every format module sniffed before its own (spftrace.formats:
will-it-scale, trace-cmd and ftrace come before perf script), and those compiled
their parsers' patterns at import: 10 of the 516 M instructions of a 10-line perf
script ingest (callgrind) went to patterns only another format's parser uses.

``NAME = lazy(globals(), "NAME", pattern)`` stands for ``NAME = re.compile(pattern)``:
the first use of the stand-in compiles the pattern and puts the compiled pattern
under NAME in the module's namespace, so the module's own code then meets the
pattern itself (no indirection, no cost).  Only for module-level patterns that
are used through their methods and attributes (``NAME.match(s)``), never handed to
``re``'s functions: a reference taken before the first use keeps the stand-in,
which compiles once and forwards.
"""

from __future__ import annotations

import re
from typing import cast


class _Pattern:
    __slots__ = ("_compiled", "_flags", "_name", "_namespace", "_pattern")

    def __init__(self, namespace: dict[str, object], name: str, pattern: str, flags: int) -> None:
        self._namespace = namespace
        self._name = name
        self._pattern = pattern
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, attr: str) -> object:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self._pattern, self._flags)
            if self._namespace.get(self._name) is self:
                self._namespace[self._name] = compiled
        return getattr(compiled, attr)

    def __repr__(self) -> str:
        return f"lazy({self._pattern!r})"


def lazy(namespace: dict[str, object], name: str, pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)`` when first used, bound to ``name`` in ``namespace``."""
    return cast("re.Pattern[str]", _Pattern(namespace, name, pattern, flags))
