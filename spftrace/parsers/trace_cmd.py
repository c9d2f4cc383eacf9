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

import re
from typing import Any

from .tracetext import (
    Record,
    TraceTextParser,
    bare_event_columns,
    bracketed,
    full_event_name,
    int_or_null,
    rsplit_tokens,
    split_parts,
    time_to_ns,
    ts_from_text,
)

FORMAT = "trace-cmd"
TABLE = "events"

_INSTANCE_RE = re.compile(r"^(?P<inst>[A-Za-z0-9_.-]+): (?=\s*\S.*-\d+\s)")
_RECORD_RE = re.compile(
    r"^\s*(?P<comm>.*)-(?P<pid>\d+)\s+(?:\[(?P<cpu>\d+)\]|(?P<lcpu>\d+)(?P<lflags>\S*))"
    r"(?:\s+(?P<flags>[^\s\d]\S{2,6}))?\s+(?P<time>\d+(?:\.\d+)?): "
    r"(?P<event>[^\s:]+):\s*(?P<payload>.*)$"
)
_DROPPED_RE = re.compile(r"CPU:(\d+) \[(\d+) EVENTS DROPPED\]")
_CPUS_RE = re.compile(r"^cpus=(\d+)\s*$")


def sniff(head: str) -> bool:
    lines = [ln for ln in head.splitlines()[:50] if ln.strip()]
    if not lines:
        return False
    if _CPUS_RE.match(lines[0]) or (len(lines) > 1 and lines[0].startswith("version = ")):
        return True
    return any(_INSTANCE_RE.match(ln) and _RECORD_RE.match(ln[_INSTANCE_RE.match(ln).end():])  # type: ignore[union-attr]
               for ln in lines[:20])  # fmt: skip


class TraceCmdParser(TraceTextParser):
    FORMAT = FORMAT
    RECORD_PATTERN = _RECORD_RE.pattern

    def __init__(self) -> None:
        super().__init__()
        self.instances: set[str] = set()
        self.latency: bool | None = None  # -l layout (cpu and flags in one token)

    def _strip_instance(self, line: str) -> str:
        m = _INSTANCE_RE.match(line)
        if m is not None:
            self.instances.add(m.group("inst"))
            return line[m.end() :]
        return line

    def parse_line(self, line: str) -> Record | None:
        m = _RECORD_RE.match(self._strip_instance(line))
        if m is None:
            return None
        if self.latency is None:
            self.latency = m.group("lcpu") is not None
        cpu = m.group("cpu") or m.group("lcpu")
        return Record(
            time_to_ns(m.group("time")), int(cpu), None, int(m.group("pid")),
            m.group("comm").strip(), full_event_name(m.group("event")), m.group("payload"),
        )  # fmt: skip

    def classify(self, line: str) -> str | tuple[str, int | None, int] | None:
        s = line.strip()
        if not s:
            return "ignore"
        m = _DROPPED_RE.search(s)
        if m is not None:
            return ("events_dropped", int(m.group(1)), int(m.group(2)))
        m = _CPUS_RE.match(s)
        if m is not None:
            self.meta["cpus"] = m.group(1)
            return "ignore"
        if s.startswith(("version = ", "CPU ", "#")) or s.endswith(".dat") or s.endswith(":"):
            return "ignore"
        return None

    def reject_reason(self, line: str) -> str:
        return "not a trace-cmd report record (expected 'comm-pid [cpu] time: event: fields')"

    def layout_known(self) -> bool:
        return self.latency is not None

    def regex_ok(self, arr: Any) -> Any:
        """The per-line path strips an instance prefix (its lookahead, which RE2
        lacks, written out) and matches the record regex on the rest."""
        import pyarrow.compute as pc

        def match(pattern: str) -> Any:
            m = pc.match_substring_regex(arr, pattern)
            return pc.fill_null(m, False).to_numpy(zero_copy_only=False)

        inst = r"^[A-Za-z0-9_.-]+: "
        has_inst = match(inst + r"\s*\S.*-\d+\s")
        rec = _RECORD_RE.pattern
        return (has_inst & match(inst + rec[1:])) | (~has_inst & match(rec))

    def vector_prefix(self, arr: Any) -> dict[str, Any] | None:
        import pyarrow as pa
        import pyarrow.compute as pc

        if not self.layout_known():
            return None
        if self.instances:
            # records with and without the "NAME: " prefix are cut separately
            (p0, p1, p2, p3), cnt4 = split_parts(arr, ": ", 4)
            (q0, q1, q2), cnt3 = split_parts(arr, ": ", 3)
            inst = pc.fill_null(pc.is_in(p0, pa.array(sorted(self.instances))), False)
            prefix = pc.if_else(inst, p1, q0)
            ev = pc.if_else(inst, p2, q1)
            payload = pc.if_else(inst, p3, q2)
            with_inst = inst.to_numpy(zero_copy_only=False)
            ok = ((cnt3 == 3) & ~with_inst) | ((cnt4 == 4) & with_inst)
        else:
            (prefix, ev, payload), cnt = split_parts(arr, ": ", 3)
            ok = cnt == 3
        toks, ok2 = rsplit_tokens(pc.fill_null(prefix, ""), 2, True)
        ok &= ok2
        comm_pid, ctok, t = toks
        if self.latency:  # "1d....": the cpu, then the latency flags
            digits = pc.utf8_rtrim(ctok, ".dDbXNnpZzHhs-abcdef")
            cpu_i = int_or_null(digits, pa.int32())
        else:
            cpu_i = int_or_null(pc.ascii_trim(ctok, "[]"), pa.int32())
            ok &= bracketed(ctok)
        ts, ts_ok = ts_from_text(t)
        ok &= ts_ok
        ok &= cpu_i.is_valid().to_numpy(zero_copy_only=False)
        # names are padded to 20 columns, so the payload starts after spaces
        payload = pc.ascii_ltrim_whitespace(pc.fill_null(payload, ""))
        return bare_event_columns(ok, ts, cpu_i, None, comm_pid, ev, payload)
