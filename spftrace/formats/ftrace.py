"""ftrace text (``trace`` / ``trace_pipe``) -> event rows.

Produced by: echo 1 > /sys/kernel/tracing/instances/NAME/events/.../enable; cat .../trace
Sample:      ebizzy-4321    [003] .....  1234.567890: spf_vma_changed: ip:ffffffff8123abcd ...
Variants:    tests/data/traces/ftrace-*.txt (PROVENANCE.tsv has the steps)

Line = ``%16s-%-7d`` comm-pid, optional ``(%7d)`` tgid (record-tgid), ``[%03d]``
cpu, optional irq-info flags (4 or 5 characters), time (``sec.usec`` for
nanosecond clocks, a bare counter for ``counter``/``x86-tsc``), then
``event: payload`` where the event has no system prefix: known names are
mapped to ``system:name`` (``kernel.SYSTEMS``), unknown ones kept as written.
``CPU:N [LOST M EVENTS]`` and ``##### CPU N buffer started ####`` are stats.

The function tracer's lines (``time: func <-caller``, also with ``sym-offset`` or
``sym-addr``) become ``ftrace:function`` events with fields ``function`` and
``caller``: call-site evidence next to the tracepoints of a mixed trace.  A
``tracing_mark_write`` (print) payload may hold newlines: the lines after it
that are nothing else are its continuation.  Prose before the trace (a mail)
is counted as ``foreign_lines``, not rejected; ``# tracer:`` may follow it.
"""

from __future__ import annotations

import re

from ..kernel import full_event_name
from ..lazy_re import lazy
from .lines import Chunk
from .numbers import time_to_ns
from .spec import FormatSpec, Head, Stat
from .tracetext import Fast, Record, TraceTextParser, scanner

FORMAT = "ftrace"
TABLE = "events"

_RECORD_RE = lazy(
    globals(),
    "_RECORD_RE",
    r"^\s*(?P<comm>(?:\S.*)?)-(?P<pid>\d+)\s+(?:\(\s*(?P<tgid>\d+|-+)\)\s+)?\[(?P<cpu>\d+)\]\s+"
    r"(?:(?P<flags>[^\s\d][^\s]{2,6})\s+)?(?P<time>\d+(?:\.\d+)?): "
    r"(?P<event>[^\s:]+): ?(?P<payload>.*)$",
)
_FUNC_RE = lazy(
    globals(),
    "_FUNC_RE",
    r"^\s*(?P<comm>(?:\S.*)?)-(?P<pid>\d+)\s+(?:\(\s*(?P<tgid>\d+|-+)\)\s+)?\[(?P<cpu>\d+)\]\s+"
    r"(?:(?P<flags>[^\s\d][^\s]{2,6})\s+)?(?P<time>\d+(?:\.\d+)?): "
    r"(?P<payload>(?P<func>[^\s:<]+)(?: <[0-9a-f]+>)? <-(?P<caller>[^\s<]+)(?: <[0-9a-f]+>)?)\s*$",
)
FUNCTION_EVENT = "ftrace:function"
#: events whose payload may span lines: trace_marker writes (the print event)
PRINT_EVENTS = frozenset(["tracing_mark_write", "print", "ftrace:print"])
_LOST_RE = lazy(globals(), "_LOST_RE", r"^CPU:(\d+) \[LOST (\d+) EVENTS\]")
_STARTED_RE = lazy(globals(), "_STARTED_RE", r"^##### CPU (\d+) buffer started ####")
_SNIFF_RE = re.compile(
    r"-\d+\s+(?:\(\s*(?:\d+|-+)\)\s+)?\[\d{3}\]\s+(?:\S{4,7}\s+)?\d+(?:\.\d+)?: "
    r"(?:[^\s:]+: |[^\s:<]+(?: <[0-9a-f]+>)? <-\S)"
)
#: this many record lines in a row make a trace even after prose (a mail, a doc)
_SNIFF_RUN = 3


def sniff(head: Head) -> bool:
    """Rules, in order: tracefs's own header; records on a third of the lines; a run
    of records after prose."""
    lines = [ln.lstrip() for ln in head.lines[:200] if ln.strip()]
    if any(ln.startswith("# tracer:") for ln in lines):
        return True
    lines = [ln for ln in lines if not ln.startswith("#")]
    hit = [bool(_SNIFF_RE.search(ln)) for ln in lines]
    if lines and sum(hit) >= max(1, len(lines) // 3):
        return True
    run = 0
    for h in hit:
        run = run + 1 if h else 0
        if run >= _SNIFF_RUN:
            return True
    return False


class FtraceParser(TraceTextParser):
    FORMAT = FORMAT
    MULTILINE = PRINT_EVENTS
    PREAMBLE = True

    def parse_line(self, line: str) -> Record | None:
        m = _RECORD_RE.match(line)
        if m is None:
            return self._function_line(line)
        tgid = m.group("tgid")
        return Record(
            time_to_ns(m.group("time")), int(m.group("cpu")),
            int(tgid) if tgid and tgid.isdigit() else None, int(m.group("pid")),
            m.group("comm").strip(), full_event_name(m.group("event")), m.group("payload"),
        )  # fmt: skip

    def _function_line(self, line: str) -> Record | None:
        m = _FUNC_RE.match(line)
        if m is None:
            return None
        tgid = m.group("tgid")
        return Record(
            time_to_ns(m.group("time")), int(m.group("cpu")),
            int(tgid) if tgid and tgid.isdigit() else None, int(m.group("pid")),
            m.group("comm").strip(), FUNCTION_EVENT, m.group("payload"),
            extra=[("function", m.group("func")), ("caller", m.group("caller"))],
        )  # fmt: skip

    def classify(self, line: str) -> str | Stat | None:
        if not line.strip() or line.lstrip().startswith("#"):  # (quoted: indented)
            m = _STARTED_RE.match(line)
            if m is not None:
                return Stat("cpu_buffer_started", int(m.group(1)), 1)
            return "ignore"
        m = _LOST_RE.match(line.strip())
        if m is not None:
            return Stat("events_lost", int(m.group(1)), int(m.group(2)))
        return None

    def reject_reason(self, line: str) -> str:
        return "not an ftrace record (expected 'comm-pid [cpu] [flags] time: event: fields')"

    def fast_columns(self, chunk: Chunk) -> Fast | None:
        """Cut the whole chunk with the compiled scanner (_native.scan_ftrace)."""
        native = scanner()
        if native is None:
            return None
        return self.scanned(chunk, native.ftrace(chunk, tracecmd=False))


SPEC = FormatSpec(
    FORMAT,
    TABLE,
    "ftrace text (tracefs trace or trace_pipe of an instance)",
    sniff,
    parser=FtraceParser,
    threads=1,  # as perf-script: see its SPEC
    chunk_bytes=2 << 20,
)
