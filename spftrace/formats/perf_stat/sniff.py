"""Is this perf stat output?  Parse the head with the real parser and see."""

from __future__ import annotations

from ..spec import Head
from .parser import PerfStatParser
from .tokens import ERROR_RE


def sniff(head: Head) -> bool:
    """perf stat if some of the first lines are counters (or perf's own error output)
    and few are anything else.  Never raises."""
    lines = head.lines[:59]
    text = "\n".join(lines)
    if "Performance counter stats for" in text or "seconds time elapsed" in text:
        return True
    if any(ERROR_RE.match(ln) for ln in lines[:5]):
        return True
    try:
        p = PerfStatParser()
        p.line_path(lines, 1)
        out = p.close()
    except Exception:
        return False
    if any(r.reason.startswith("decimal comma") for r in out.rejects):
        return True  # a locale-mangled CSV: perf stat, but it needs a clear error
    meaningful = out.lines - out.ignored + p.foreign
    return out.record_lines >= 1 and out.record_lines >= 0.5 * max(meaningful, 1)
