"""trace-cmd report text -> event rows.

Produced by: trace-cmd extract -B NAME -o t.dat; trace-cmd report [-l] -i t.dat
Sample:      cpus=2
             NAME:             bash-16577 [001]  1468.185464: page_fault_user:      address=0x...
Variants:    tests/data/traces/trace-cmd-*.txt (PROVENANCE.tsv has the commands)

Records of an instance buffer carry ``NAME: `` in front (but not always: the
line after a drop marker lacks it).  ``-l`` prints cpu and latency flags as one
token (``1d....``).  Event names are padded to 20 characters and carry no
system prefix (mapped like ftrace's).  ``CPU:N [M EVENTS DROPPED]`` lines are
recorded as ``events_dropped`` per CPU, not rejected.
"""

from __future__ import annotations

from ..kernel import full_event_name
from ..lazy_re import lazy
from .lines import Chunk
from .numbers import time_to_ns
from .spec import FormatSpec, Head, Stat
from .tracetext import Fast, Record, TraceTextParser, scanner

FORMAT = "trace-cmd"
TABLE = "events"

_INSTANCE_RE = lazy(globals(), "_INSTANCE_RE", r"^(?P<inst>[A-Za-z0-9_.-]+): (?=\s*\S.*-\d+\s)")
_RECORD_RE = lazy(
    globals(),
    "_RECORD_RE",
    r"^\s*(?P<comm>(?:\S.*)?)-(?P<pid>\d+)\s+(?:\[(?P<cpu>\d+)\]|(?P<lcpu>\d+)(?P<lflags>\S*))"
    r"(?:\s+(?P<flags>[^\s\d]\S{2,6}))?\s+(?P<time>\d+(?:\.\d+)?): "
    r"(?P<event>[^\s:]+):\s*(?P<payload>.*)$",
)
_DROPPED_RE = lazy(globals(), "_DROPPED_RE", r"CPU:(\d+) \[(\d+) EVENTS DROPPED\]")
_CPUS_RE = lazy(globals(), "_CPUS_RE", r"^cpus=(\d+)\s*$")


def sniff(head: Head) -> bool:
    lines = [ln for ln in head.lines[:50] if ln.strip()]
    if not lines:
        return False
    if _CPUS_RE.match(lines[0]) or (len(lines) > 1 and lines[0].startswith("version = ")):
        return True
    return any(_INSTANCE_RE.match(ln) and _RECORD_RE.match(ln[_INSTANCE_RE.match(ln).end():])  # type: ignore[union-attr]
               for ln in lines[:20])  # fmt: skip


class TraceCmdParser(TraceTextParser):
    FORMAT = FORMAT

    def _strip_instance(self, line: str) -> str:
        m = _INSTANCE_RE.match(line)
        if m is not None:
            return line[m.end() :]
        return line

    def parse_line(self, line: str) -> Record | None:
        m = _RECORD_RE.match(self._strip_instance(line))
        if m is None:
            return None
        cpu = m.group("cpu") or m.group("lcpu")
        return Record(
            time_to_ns(m.group("time")), int(cpu), None, int(m.group("pid")),
            m.group("comm").strip(), full_event_name(m.group("event")), m.group("payload"),
        )  # fmt: skip

    def classify(self, line: str) -> str | Stat | None:
        s = line.strip()
        if not s:
            return "ignore"
        m = _DROPPED_RE.search(s)
        if m is not None:
            return Stat("events_dropped", int(m.group(1)), int(m.group(2)))
        m = _CPUS_RE.match(s)
        if m is not None:
            self.meta["cpus"] = m.group(1)
            return "ignore"
        if s.startswith(("version = ", "CPU ", "#")) or s.endswith(".dat") or s.endswith(":"):
            return "ignore"
        return None

    def reject_reason(self, line: str) -> str:
        return "not a trace-cmd report record (expected 'comm-pid [cpu] time: event: fields')"

    def fast_columns(self, chunk: Chunk) -> Fast | None:
        """Cut the whole chunk with the compiled scanner (_native.scan_ftrace)."""
        native = scanner()
        if native is None:
            return None
        return self.scanned(chunk, native.ftrace(chunk, tracecmd=True))


SPEC = FormatSpec(
    FORMAT,
    TABLE,
    "trace-cmd report text (trace-cmd record/extract, then report [-l])",
    sniff,
    parser=TraceCmdParser,
    threads=1,  # as perf-script: see its SPEC
    chunk_bytes=2 << 20,
)
