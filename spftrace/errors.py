"""The one user-facing error type.

Anything the user can fix (bad input, unknown format, missing dataset, a run
that already exists) raises ``SpftraceError``; the CLI prints its message as a
single ``error: ...`` line and exits 1.  Any other exception is a bug.
"""

from __future__ import annotations


class SpftraceError(Exception):
    """An error the user can act on.  ``str(err)`` is the whole message."""


def quote_line(line: str, limit: int = 120) -> str:
    """Render an input line for an error message: printable, bounded, quoted."""
    text = line.rstrip("\r\n")
    shown = text.encode("ascii", "backslashreplace").decode("ascii")
    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in shown)
    if len(shown) > limit:
        shown = shown[:limit] + "..."
    return repr(shown)
