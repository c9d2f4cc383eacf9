"""perf script text of tracepoint and sample-only events -> event rows.

Produced by: perf record -e 'pagefault:*' -e exceptions:page_fault_user -e 'mmap_lock:*' ...
             perf record -e page-faults -g ...  (or minor-faults, cpu-clock:uhH, task-clock ...)
             perf script [-F comm,tid,pid,cpu,time,period,event,trace,ip,sym,dso] [--ns] [--header]
Sample:      ebizzy  4321 [003] 12345.678901: pagefault:spf_vma_changed: ip:ffffffff8123abcd ...
             faultread 12610  1289.002267:          1 page-faults:u:
Variants:    tests/data/traces/perf-script-*.txt, tests/data/fault_samples/*.txt (PROVENANCE.tsv)

A record is keyed on perf's sample header (comm, pid[/tid], [cpu], time, an
optional period column, the event name): a tracepoint ``system:event`` or a
sample event (``page-faults``, ``cpu-clock:uhH``, ``cpu/mem-loads/P``, ``vpa-dtl``)
whose ``:mods`` are perf's modifier letters.  ``page-faults:u`` reads the same
either way, so the event is stored as printed; ``is_sample_event`` tells them apart.
A sample event's payload is perf's own fields, not a tracepoint's: its ``ip sym
(dso)`` gives ``ip``/``sym``/``dso`` when it has no callchain (perf prints the ip
on the sample line only then); with one, the ip is the innermost frame's and a
hex number on the sample line is the ``addr`` field (``address``).  Its ``fields``
stay empty and ``payload`` keeps the text as printed.  ``PERF_RECORD_*`` side-band
lines (--show-mmap-events ...) are counted, and ``-F +srcline`` lines after a frame
or a sample event's line join their sample.

The field order is fixed (comm, pid/tid, cpu, time, event, trace) but any field
may be missing and widths changed over time (tid 5 -> 7 wide in 2023), so the
layout is read from the first record and the prefix is cut from the right:
comms may contain spaces, digits, dashes or be ``:-1``.  A single id column is
stored as ``tid`` (perf's default); ``pid/tid`` fills both.  Callchain frames
(tab-indented lines after a sample; grammar in callchain.py) are the sample's
``callchain``, the ``ip sym (dso)`` perf prints after a payload its ``sym``/``dso``
(and not part of the payload).
A sample's frames may continue into the next chunk, so the last sample of a chunk
is held back until the next one shows whether they do (chunks are fed in order:
one parse thread).  ``--show-lost-events`` lines and perf's loss warnings become
statistics: ``events_lost`` (PERF_RECORD_LOST counts), ``chunks_lost``,
``samples_lost_approx`` (perf's ``lost P%`` of the samples it processed).  The
header spftrace capture writes adds ``# exit status : N`` (``exit_status``) and
``# samples lost : EVENT=N ...`` (perf report --stats: ``samples_lost``, per event
``samples_lost:EVENT``).

Speed: whole chunks are cut by ``_native.scan_perf_script`` (compiled C), which
mirrors ``_RECORD_RE`` and ``_prefix_re`` on printable-ASCII lines and leaves
every other line to ``parse_line``; tests/test_traces.py holds the two equal.
Chunks with stacks (a tab, or a line ending in ``)``) or sample events take the
per-line path (the scanner counts those it meets: ``_stacks_or_samples``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import callchain
from .lines import Chunk
from .numbers import time_to_ns
from .spec import Batch, FormatSpec, Head, Stat
from .tracetext import TABLE, Fast, Record, TraceTextParser, rows_table, scanner

FORMAT = "perf-script"

#: the event: a tracepoint, or a sample event with perf's modifier letters
#: (tools/perf/util/parse-events.l ``modifier_event``) and an optional PMU /config/
_MODS = r"(?::[ukhpPGHSDIWeb]{1,15})?"
_SAMPLE_EVENT = r"(?!PERF_RECORD_)[\w.-]+(?:/[^/\s]*/\w*)?" + _MODS
_EVENT = r"[\w.-]+:[\w.-]+|" + _SAMPLE_EVENT
#: one sample: [comm] [pid/tid | id] [[cpu]] time: [period] event: payload
#: the time starts where a run of digits does ((?<!\d): the leftmost match is the same,
#: and a line of digits costs linear time, not quadratic)
_RECORD_RE = re.compile(
    r"^(?P<prefix>.*?)(?<!\d)(?P<time>\d+\.\d+): +(?:(?P<period>\d+) +)?"
    rf"(?P<event>{_EVENT}): ?(?P<payload>.*)$"
)
_SAMPLE_EVENT_RE = re.compile(rf"^{_SAMPLE_EVENT}$")
#: ``ip [sym]`` of a sample line without a dso field (with one, callchain's tail)
_IP_SYM_RE = re.compile(r"^([0-9a-fA-F]{1,16})(?: (\S.*))?$")
_HEX_RE = re.compile(r"^([0-9a-fA-F]{1,16})(?:\s|$)")
_ID_RE = re.compile(r"^-?\d+(?:/-?\d+)?$")
_CPU_RE = re.compile(r"^\[\d+\]$")
#: sniffing keys on the sample header shape: a tracepoint after the time (any prefix:
#: -F may drop the ids), or a sample event after the time and period whose prefix ends
#: in ids [and a cpu] (_sniff_hit).  Anchored on the time: a hostile head costs what
#: the tracepoint rule alone cost (tests/test_sniff_bounds.py)
_SNIFF_RE = re.compile(
    r"(?<!\d)\d+\.\d{6,9}: +(?:[\w.-]+:[\w.-]+: |(?P<sample>(?:\d+ +)?"
    rf"{_SAMPLE_EVENT}:(?: |$)))"
)
_IGNORABLE = (
    "'trace' not valid for",
    "Warning:",
    "Check IO/CPU overload!",
    "[ perf record:",
    "Processed ",
    "No samples found",
)


def _sniff_hit(line: str) -> bool:
    m = _SNIFF_RE.search(line)
    if m is None or m.group("sample") is None:
        return m is not None
    toks = line[: m.start()].rsplit(None, 3)[-2:]  # [... ids] [cpu]
    if toks and _CPU_RE.match(toks[-1]):
        toks = toks[:-1]
    return bool(toks) and _ID_RE.match(toks[-1]) is not None and line[m.start() - 1] == " "


def sniff(head: Head) -> bool:
    lines = head.lines[:200]
    hits = sum(1 for ln in lines if _sniff_hit(ln))
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
    PARSE_THREADS = 1  # in order: a sample's frames may continue into the next chunk

    def __init__(self) -> None:
        super().__init__()
        self.layout: Layout | None = None
        self.in_header = False  # between the "# ========" lines of --header
        self._last_key = ""
        self.stacks = False  # frames or sample symbols seen: the per-line path from then on
        self._carry: tuple[int, Record] | None = None  # held back, frames maybe unfinished
        self._carry_rows: Any = None  # the same, as the fast path's 1-row table
        self._frame_end = 0  # line of the last frame taken
        self._after = b""  # the start of the line after the chunk being fed (Chunk.after)
        self._next_line: int | None = None
        self._first = 1  # first line number of the chunk on the per-line path
        self._pending: list[Stat] = []  # header statistics

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
        period = m.group("period")
        rec = Sample(
            time_to_ns(m.group("time")), int(cpu) if cpu else None, pid, tid,
            p.group("comm") or None, m.group("event"), m.group("payload"),
            period=int(period) if period else None,
            sample=_SAMPLE_EVENT_RE.match(m.group("event")) is not None,
        )  # fmt: skip
        if rec.sample:
            rec.payload = rec.payload.strip()
            return rec  # perf's own fields: decoded with its frames (sample_row)
        tail = callchain.sample_tail(rec.payload)
        if tail is not None:
            rec.payload, rec.sym, rec.dso = tail
        return rec

    def continues(self, line: str, records: list[tuple[int, Record]], out: Batch) -> bool:
        """A frame line right after its sample (or that sample's frames) joins it, and
        so does a ``-F +srcline`` line (two spaces, one word) right after either."""
        if not callchain.is_frame(line):
            return self._srcline(line, records, out)
        f = callchain.frame(line)
        target = records[-1] if records else self._carry
        if f is None or target is None:
            return False
        line_no = self._line_no(out)
        if max(target[0], self._frame_end) != line_no - 1:
            return False  # a blank or other line came between: not this sample's
        rec = target[1]
        if rec.frames is None:
            rec.frames = []
        rec.frames.append(f)
        self._frame_end = line_no
        out.record_lines += 1
        return True

    def _srcline(self, line: str, records: list[tuple[int, Record]], out: Batch) -> bool:
        """``-F +srcline``: after each frame, or after a sample event's own line."""
        if line[:2] != "  ":
            return False
        line_no = self._line_no(out)
        target = records[-1] if records else self._carry
        after_frame = self._frame_end == line_no - 1 and self._frame_end != 0
        after_sample = (
            target is not None
            and target[0] == line_no - 1
            and isinstance(target[1], Sample)
            and target[1].sample
        )
        if not (after_frame or after_sample):
            return False
        text = line.strip()  # "file.c:12" or "[dso][ip]": one word, never a record
        if not text or len(text.split()) != 1 or _RECORD_RE.match(line) is not None:
            return False
        self._frame_end = line_no  # the frames may go on after it
        out.record_lines += 1
        out.stats.append(Stat("callchain_srcline_lines", None, 1))
        return True

    def _line_no(self, out: Batch) -> int:
        return self._first + out.lines - 1

    def records_table(self, records: list[tuple[int, Record]]) -> Any:
        import pyarrow as pa

        from ..schema import to_arrow
        from ..text import escape

        t = rows_table(self._rows(records))
        recs = [r for _, r in records]
        periods = [getattr(r, "period", None) for r in recs]
        if any(p is not None for p in periods):
            t = t.append_column("period", to_arrow(periods, pa.uint64()))
        if any(r.frames is not None or r.sym is not None for r in recs):
            sym = [None if r.sym is None else escape(r.sym) for r in recs]
            dso = [None if r.dso is None else escape(r.dso) for r in recs]
            t = t.append_column("sym", to_arrow(sym, pa.string()))
            t = t.append_column("dso", to_arrow(dso, pa.string()))
            t = t.append_column("callchain", callchain.frames_array([r.frames for r in recs]))
        return t

    def _rows(self, records: list[tuple[int, Record]]) -> list[tuple[Any, ...]]:
        rows = []
        for line_no, rec in records:
            if isinstance(rec, Sample) and rec.sample:
                rows.append(sample_row(line_no, rec))
            else:
                rows.extend(super()._rows([(line_no, rec)]))
        return rows

    # -- chunks in order, the last sample held back -----------------------------------
    def feed(self, chunk: Chunk) -> Batch:
        # in order; a gap is a damaged chunk the pipeline made a reject of (frames never
        # join a sample across it: continues() asks for adjacent lines)
        if self._next_line is not None and chunk.first_line_no < self._next_line:
            raise AssertionError("perf script chunks must be fed in input order")
        self._next_line = chunk.first_line_no + chunk.n_lines
        self._after = chunk.after
        # stacks or sample events: the per-line path from then on (the scanner: tracepoints)
        fast = None
        if not self.stacks and chunk.n_lines >= self._VECTOR_MIN_LINES:
            fast = self.fast_columns(chunk)
            if fast is not None and self._stacks_or_samples(fast):
                self.stacks, fast = True, None
        self.stacks = self.stacks or (fast is None and callchain.has_stacks(chunk.data))
        if fast is None:
            return self.feed_lines(chunk.lines(), chunk.first_line_no)
        out = self._feed_fast(fast, chunk)
        pieces = [] if self._carry is None else [self.records_table([self._carry])]
        if self._carry_rows is not None:
            pieces.append(self._carry_rows)
        self._carry = self._carry_rows = None
        t: Any = out.rows  # a pyarrow Table (the seam types it as ArrowTable)
        n = t.num_rows
        # held only if the next line may be a frame (else a 1-row chunk of the next batch)
        may = callchain.may_continue(self._after, srcline=False)
        if n and may and t.column("line_no")[n - 1].as_py() == self._next_line - 1:
            self._carry_rows, t = t.slice(n - 1), t.slice(0, n - 1)
        out.rows = _concat([*pieces, t])
        return out

    def _stacks_or_samples(self, fast: Fast) -> bool:
        """What ``callchain.has_stacks`` finds, or a sample event (page-faults ...), in a chunk
        the scanner cut: it counts the lines ending in ``)`` and those of sample
        events (leaving them over) and never accepts a tab; the lines it left over
        are asked here (a sample event with a period column, or a comm not ASCII)."""
        if fast.scan.samples or fast.scan.tails:
            return True
        for k in range(len(fast.other)):
            text = fast.text(k)
            if "\t" in text:
                return True
            m = _RECORD_RE.match(text)
            if m is not None and _SAMPLE_EVENT_RE.match(m.group("event")):
                return True
        return False

    def feed_lines(self, lines: Sequence[str], first_line_no: int) -> Batch:
        self._first = first_line_no
        if self._carry_rows is not None:  # its frames may start here
            row = self._carry_rows.to_pylist()[0]
            self._carry = (row["line_no"], Record(
                row["ts"], row["cpu"], row["pid"], row["tid"], row["comm"], row["event"],
                row["payload"],
            ))  # fmt: skip
            self._carry_rows = None
        out = Batch(TABLE, rows_table([]))
        records = self._records(enumerate(lines, first_line_no), out)
        if self._carry is not None:
            records.insert(0, self._carry)
            self._carry = None
        last = first_line_no + len(lines) - 1
        if records and max(records[-1][0], self._frame_end) == last:
            rec = records[-1][1]
            srcline = self._frame_end == last or (isinstance(rec, Sample) and rec.sample)
            if callchain.may_continue(self._after, srcline=srcline):
                self._carry = records.pop()  # its frames may go on in the next chunk
        out.rows = self.records_table(records)
        self._finish(out)
        return out

    def close(self) -> Batch:
        out = super().close()
        pieces = [] if self._carry is None else [self.records_table([self._carry])]
        if self._carry_rows is not None:
            pieces.append(self._carry_rows)
        self._carry = self._carry_rows = None
        if pieces:
            out.rows = _concat(pieces)
        return out

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
        if callchain.is_frame(line) and callchain.frame(line) is not None:
            return Stat("callchain_orphan_lines", None, 1)  # no sample before it (a cut file)
        notice = callchain.perf_notice(line)  # lost events, side-band records
        if notice is not None:
            return Stat(notice[0], None, notice[1])
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
        elif key == "exit status" and value.strip().lstrip("-").isdigit():  # spftrace capture
            self._pending.append(Stat("exit_status", None, int(value)))
        elif key == "samples lost":  # spftrace capture: perf report --stats, per event
            for item in value.split():
                event, eq, n = item.rpartition("=")
                if eq and n.isdigit():
                    self._pending.append(Stat(f"samples_lost:{event}", None, int(n)))
                    self._pending.append(Stat("samples_lost", None, int(n)))

    def _finish(self, out: Batch) -> None:
        super()._finish(out)
        out.stats.extend(self._pending)
        self._pending.clear()

    # -- fast path ------------------------------------------------------------------
    def fast_columns(self, chunk: Chunk) -> Fast | None:
        """Cut the whole chunk with the compiled scanner (_native.scan_perf_script)."""
        native = scanner()
        if native is None:
            return None
        if self.layout is None and not self.learn_layout(chunk.head_lines(400)):
            return None
        lay = self.layout
        assert lay is not None
        ids = {"": 0, "id": 1, "pid/tid": 2}[lay.ids]
        return self.scanned(chunk, native.perf_script(chunk, comm=lay.comm, ids=ids, cpu=lay.cpu))


@dataclass
class Sample(Record):
    """A record of this grammar: the period column, and whether the event is a
    sample event (not a tracepoint)."""

    period: int | None = None
    sample: bool = False


def is_sample_event(event: str) -> bool:
    """``page-faults``, ``cpu-clock:uhH``, ``cpu/mem-loads/P``: not ``system:event``."""
    return _SAMPLE_EVENT_RE.match(event) is not None


def sample_row(line_no: int, rec: Record) -> tuple[Any, ...]:
    """The events row of a sample event (tracetext.COLUMNS order): perf's fields
    on the sample line, read with its frames (see the module docstring)."""
    from ..text import escape

    text = rec.payload
    ip = address = None
    tail = callchain.tail(text)
    if tail is not None:
        rest, ip, sym, dso = tail
    else:
        m = _IP_SYM_RE.match(text)
        rest, sym, dso = text, None, None
        if m is not None:
            rest, ip, sym = "", int(m.group(1), 16), m.group(2)
    lead = _HEX_RE.match(rest.strip())
    if rec.frames:  # the ip is the callchain's; the sample line's number is addr
        address = ip if not rest.strip() else (int(lead.group(1), 16) if lead else None)
        ip, sym, dso = rec.frames[0][0], None, None
    elif lead is not None:
        address = int(lead.group(1), 16)
    if sym is not None and (sym in ("[unknown]", "") or sym.startswith("[0x")):
        sym = None
    rec.sym, rec.dso = sym, dso
    comm = None if rec.comm is None else escape(rec.comm)
    return (line_no, rec.ts, rec.cpu, rec.pid, rec.tid, comm, rec.event,
            ip, None, None, address, None, None, None, None, [], escape(text))  # fmt: skip


def _concat(tables: list[Any]) -> Any:
    import pyarrow as pa

    tables = [t for t in tables if t.num_rows]
    if not tables:
        return rows_table([])
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")


#: chunks are parsed on another thread once the first one has fixed the layout: the
#: compiled scanners outrun the Parquet writer on one thread (a second one gained ~5%
#: for ~15 MB more peak memory: bench/RESULTS.md has the budget).  3 MiB chunks, not 2:
#: a batch is one more chunk of every column the writer passes (a row group of 3, not 5):
#: writer CPU -8 to -22 ms per 1M lines, same peak RSS; 4.5 MiB: no more, for 12 MB more
SPEC = FormatSpec(
    FORMAT,
    TABLE,
    "perf script text of tracepoint samples (perf record -e ...; perf script)",
    sniff,
    parser=PerfScriptParser,
    threads=1,
    chunk_bytes=3 << 20,
)
