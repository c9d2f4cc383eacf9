"""perf script text of tracepoint samples -> event rows.

Produced by: perf record -e 'pagefault:*' -e exceptions:page_fault_user -e 'mmap_lock:*' ...
             perf script [-F comm,tid,pid,cpu,time,event,trace] [--ns] [--header]
Sample:      ebizzy  4321 [003] 12345.678901: pagefault:spf_vma_changed: ip:ffffffff8123abcd ...
Variants:    tests/data/traces/perf-script-*.txt (PROVENANCE.tsv has the commands)

The field order is fixed (comm, pid/tid, cpu, time, event, trace) but any field
may be missing and widths changed over time (tid 5 -> 7 wide in 2023), so the
layout is read from the first record and the prefix is cut from the right:
comms may contain spaces, digits, dashes or be ``:-1``.  A single id column is
stored as ``tid`` (perf's default); ``pid/tid`` fills both.  Callchain frames
(indented lines after a sample) are counted as ignored (``callchain_lines``).

Speed: whole chunks are cut by ``scan.scan_perf_script`` (compiled), which
mirrors ``_RECORD_RE`` and ``_prefix_re`` on printable-ASCII lines and leaves
every other line to ``parse_line``; tests/test_traces.py holds the two equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .lines import Chunk
from .spec import FormatSpec, Head, Stat
from .tracetext import Fast, Record, TraceTextParser, scanner, time_to_ns

FORMAT = "perf-script"
TABLE = "events"

#: one tracepoint sample: [comm] [pid/tid | id] [[cpu]] time: system:event: payload
#: the time starts where a run of digits does ((?<!\d): the leftmost match is the same,
#: and a line of digits costs linear time, not quadratic)
_RECORD_RE = re.compile(
    r"^(?P<prefix>.*?)(?<!\d)(?P<time>\d+\.\d+): +(?P<event>[\w.-]+:[\w.-]+): ?(?P<payload>.*)$"
)
_ID_RE = re.compile(r"^-?\d+(?:/-?\d+)?$")
_CPU_RE = re.compile(r"^\[\d+\]$")
_SNIFF_RE = re.compile(r"(?<!\d)\d+\.\d{6,9}: +[\w.-]+:[\w.-]+: ")
_LOST_RE = re.compile(r"Processed (\d+) events and lost (\d+) chunks!")
_IGNORABLE = (
    "'trace' not valid for",
    "Warning:",
    "Check IO/CPU overload!",
    "[ perf record:",
    "Processed ",
    "No samples found",
)


def sniff(head: Head) -> bool:
    lines = head.lines[:200]
    hits = sum(1 for ln in lines if _SNIFF_RE.search(ln))
    return hits >= 1 and hits >= 0.3 * sum(1 for ln in lines if ln.strip() and ln[0] not in "#\t ")


@dataclass(frozen=True)
class Layout:
    comm: bool
    ids: str  # "pid/tid", "id" or ""
    cpu: bool

    @property
    def k(self) -> int:
        """Tokens right of the comm: ids, cpu, time."""
        return (1 if self.ids else 0) + (1 if self.cpu else 0) + 1


def layout_of(prefix: str) -> Layout:
    toks = prefix.split()
    cpu = bool(toks) and _CPU_RE.match(toks[-1]) is not None
    if cpu:
        toks = toks[:-1]
    ids = ""
    if toks and _ID_RE.match(toks[-1]):
        ids = "pid/tid" if "/" in toks[-1] else "id"
        toks = toks[:-1]
    return Layout(comm=bool(toks), ids=ids, cpu=cpu)


_PREFIX_RES: dict[Layout, re.Pattern[str]] = {}


def _prefix_re(layout: Layout) -> re.Pattern[str]:
    """The prefix (everything before the time) of a layout, anchored on the right."""
    pat = _PREFIX_RES.get(layout)
    if pat is None:
        parts = [r"^\s*(?P<comm>\S.*?)" if layout.comm else r"^(?P<comm>)"]
        if layout.ids:
            sp = r"\s+" if layout.comm else r"\s*"
            ids = r"-?\d+/-?\d+" if layout.ids == "pid/tid" else r"-?\d+"
            parts.append(sp + f"(?P<ids>{ids})")
        else:
            parts.append(r"(?P<ids>)?")
        parts.append(r"\s+\[(?P<cpu>\d+)\]" if layout.cpu else r"(?P<cpu>)?")
        pat = re.compile("".join(parts) + r"\s*$")
        if not layout.comm:
            pat = re.compile(pat.pattern.replace("^(?P<comm>)", "^\\s*(?P<comm>)"))
        _PREFIX_RES[layout] = pat
    return pat


class PerfScriptParser(TraceTextParser):
    FORMAT = FORMAT

    def __init__(self) -> None:
        super().__init__()
        self.layout: Layout | None = None
        self.in_header = False  # between the "# ========" lines of --header
        self._last_key = ""

    def layout_known(self) -> bool:
        return self.layout is not None

    # -- per line ------------------------------------------------------------------
    def parse_line(self, line: str) -> Record | None:
        m = _RECORD_RE.match(line)
        if m is None:
            return None
        prefix = m.group("prefix")
        layout = self.layout or layout_of(prefix)
        p = _prefix_re(layout).match(prefix)
        if p is None:
            return None
        pid = tid = None
        ident = p.group("ids")
        if ident:
            if "/" in ident:
                a, b = ident.split("/")
                pid, tid = int(a), int(b)
            else:
                tid = int(ident)
        cpu = p.group("cpu")
        if self.layout is None:
            self.layout = layout
        return Record(
            time_to_ns(m.group("time")), int(cpu) if cpu else None, pid, tid,
            p.group("comm") or None, m.group("event"), m.group("payload"),
        )  # fmt: skip

    def classify(self, line: str) -> str | Stat | None:
        s = line.strip()
        if not s:
            return "ignore"
        if line.startswith("# ========"):
            self.in_header = not self.in_header
            return "ignore"
        if line.startswith("#"):
            self._header(line)
            return "ignore"
        if self.in_header:  # a recorded command line may hold newlines
            if self._last_key == "cmdline" and "command" in self.meta:
                self.meta["command"] += "\n" + line
            return "ignore"
        if line[0] in "\t " and re.match(r"^\s+[0-9a-f]+ ", line):
            return Stat("callchain_lines", None, 1)
        m = _LOST_RE.search(line)
        if m is not None:
            return Stat("chunks_lost", None, int(m.group(2)))
        if s.startswith(_IGNORABLE):
            return Stat("perf_messages", None, 1)
        return None

    def reject_reason(self, line: str) -> str:
        return "not a perf script tracepoint sample (expected '... time: system:event: fields')"

    def _header(self, line: str) -> None:
        key, _, value = line[1:].partition(":")
        key = key.strip()
        self._last_key = key
        if key == "os release":
            self.meta["kernel"] = value.strip()
        elif key == "cmdline":
            self.meta["command"] = value.strip()
        elif key == "hostname":
            self.meta["host"] = value.strip()

    # -- fast path ------------------------------------------------------------------
    def fast_columns(self, chunk: Chunk) -> Fast | None:
        """Cut the whole chunk with the compiled scanner (scan.scan_perf_script)."""
        if self.layout is None and not self.learn_layout(chunk.head_lines(400)):
            return None
        lay = self.layout
        assert lay is not None
        scan = scanner()
        ids = {"": 0, "id": 1, "pid/tid": 2}[lay.ids]
        res = list(scan.scan_perf_script(chunk.buffer(), chunk.n_lines, lay.comm, ids, lay.cpu))
        # columns the layout lacks are null (pid_ok: a pid, when printed, is known)
        res[3] = res[3] if lay.cpu else None
        res[4], res[5] = (res[4] if ids == 2 else None), None
        res[6] = res[6] if ids else None
        res[7] = res[7] if lay.comm else None
        return self.scanned(chunk, tuple(res), qualify=False)


#: chunks are parsed on another thread once the first one has fixed the layout: the
#: compiled scanners outrun the Parquet writer on one thread (a second one gained ~5%
#: for ~15 MB more peak memory: bench/RESULTS.md has the budget)
SPEC = FormatSpec(
    FORMAT,
    TABLE,
    "perf script text of tracepoint samples (perf record -e ...; perf script)",
    sniff,
    parser=PerfScriptParser,
    threads=1,
    chunk_bytes=2 << 20,
)
