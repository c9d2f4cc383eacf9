"""Shared machinery for tracepoint text (perf script, ftrace, trace-cmd report).

Two paths, one result.  The fast path hands a whole chunk to a grammar's
``fast_columns``, which runs its compiled byte scanner (scan.py: the prefix cut,
the payload decoded, the strings copied in one pass per line).  Lines a scanner
is not sure of (odd comms, warnings, markers, damaged or non-ASCII lines) take
the exact per-line Python path (``parse_line`` and ``decode_payload``), in the
same order, and tests hold the two paths equal.

scan.py (and numba) is imported when a trace parser is made (``scanner()``),
not when these modules are: sniffing imports every parser module.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..kernel import SPF_EVENT_PREFIX, SPF_VMA_DEAD, full_event_name
from ..schema import parser_schema, to_arrow
from ..text import escape
from .lines import Chunk
from .numbers import seconds_to_ns
from .spec import Batch, Reject, Stat

TABLE = "events"

#: payload keys that fill typed columns (everything else goes to ``fields``)
HEX_KEYS = ("address", "ip", "error_code", "mm")
BOOL_KEYS = ("write", "success")

COLUMNS = (
    "line_no", "ts", "cpu", "pid", "tid", "comm", "event", "ip", "vm_start", "vm_end",
    "address", "error_code", "mm", "write", "success", "fields", "payload",
)  # fmt: skip


# --- the exact, per-line payload decoder ------------------------------------------

_HEX_RE = re.compile(r"^(?:0x)?([0-9a-fA-F]{1,16})$")


def _hex(text: str) -> int | None:
    m = _HEX_RE.match(text)
    return int(m.group(1), 16) if m else None


def _vm_start(text: str, decimal: bool) -> int | None:
    if decimal:
        return int(text) if text.isdigit() and int(text) < 2**64 else None
    return _hex(text)


def looks_decimal_vma(text: str) -> bool:
    """v4's ``vma:%lu-%lx``: a user VMA start in decimal has 13+ digits, in hex at most 12."""
    return text.isdigit() and len(text) >= 13


def decode_payload(payload: str, *, v4: bool = False) -> dict[str, Any]:
    """Typed columns and other fields of one payload (the per-line reference)."""
    out: dict[str, Any] = {}
    fields: list[tuple[str, str]] = []
    for token in payload.split(" "):
        if not token:
            continue
        key, sep, value = token.partition("=")
        if not sep:
            key, sep, value = token.partition(":")
            if not sep:
                continue
        if not key:
            continue
        if key in HEX_KEYS:
            out[key] = _hex(value)
        elif key in BOOL_KEYS:
            out[key] = {"true": True, "false": False}.get(value)
        elif key == "vma":
            start, dash, end = value.partition("-")
            out["vm_start"] = _vm_start(start, v4) if dash else None
            out["vm_end"] = _hex(end) if dash else None
        else:
            fields.append((key, value))
    out["fields"] = fields
    return out


# --- columnar helpers ---------------------------------------------------------------


def scanner() -> Any:
    """The compiled scanners (scan.py), numba initialised (once per process)."""
    from . import scan

    scan.ready()
    return scan


def arrow_strings(offsets: Any, data: Any, n: int) -> Any:
    """A pyarrow StringArray of the first ``n`` strings of (int32 offsets, bytes).
    The used parts are copied: the scanners' buffers are sized for the worst case,
    and a table that kept them alive until written would hold several times its size."""
    import pyarrow as pa

    end = int(offsets[n])
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets[: n + 1].copy()), pa.py_buffer(data[:end].copy())
    )


def masked(values: Any, valid: Any, typ: Any) -> Any:
    """A pyarrow array of numpy ``values``, null where ``valid`` is False (None: no
    nulls).  Built from buffers: ``pa.array(ndarray)`` initialises Arrow's compute
    functions, which costs ~40 MB of resident memory the ingest otherwise avoids."""
    import numpy as np
    import pyarrow as pa

    n = len(values)
    if typ == pa.bool_():
        data = pa.py_buffer(np.packbits(values, bitorder="little"))
    else:
        data = pa.py_buffer(values.copy())  # a view would keep its whole base alive
    if valid is None or valid.all():
        return pa.Array.from_buffers(typ, n, [None, data])
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(typ, n, [bitmap, data])


def record_columns(rows: tuple[Any, ...], n: int, v4: bool) -> dict[str, Any]:
    """The payload columns of ``n`` records decoded by scan.py: typed columns,
    the fields map and the payload text (``decode_payload``'s columnar twin)."""
    import pyarrow as pa

    from . import scan

    u, uv, bv, bok, poff, pdata, foff, koff, kdata, voff, vdata = rows
    out: dict[str, Any] = {}
    for slot, key in enumerate(scan.U64_KEYS):
        src = 6 if (v4 and key == "vm_start") else slot
        out[key] = masked(u[src, :n], uv[src, :n], pa.uint64())
    for slot, key in enumerate(scan.BOOL_KEYS):
        out[key] = masked(bv[slot, :n], bok[slot, :n], pa.bool_())
    m = int(foff[n])
    out["fields"] = pa.MapArray.from_arrays(
        masked(foff[: n + 1], None, pa.int32()),
        arrow_strings(koff, kdata, m),
        arrow_strings(voff, vdata, m),
    )
    out["payload"] = arrow_strings(poff, pdata, n)
    return out


# --- the parser skeleton --------------------------------------------------------------


@dataclass
class Record:
    """One line decoded by the per-line path."""

    ts: int | None
    cpu: int | None
    pid: int | None
    tid: int | None
    comm: str | None
    event: str
    payload: str


_I32 = (-(2**31), 2**31 - 1)
_I64 = (-(2**63), 2**63 - 1)


def fits_columns(rec: Record) -> bool:
    """Whether a record's numbers fit their columns (int32 ids, int64 ns)."""
    ok = all(v is None or _I32[0] <= v <= _I32[1] for v in (rec.cpu, rec.pid, rec.tid))
    return ok and (rec.ts is None or _I64[0] <= rec.ts <= _I64[1])


@dataclass
class Fast:
    """What a grammar's fast path made of one chunk: its records (their line
    indices, prefix columns and decoded payload rows from scan.py) and the
    indices of the other lines, with a way to get their text."""

    line: Any  # numpy int64: line index of each record within the chunk
    columns: dict[str, Any]  # ts, cpu, pid, tid, comm, event: Arrow, one per record
    rows: tuple[Any, ...]  # payload rows (scan.new_rows)
    other: Any  # numpy int64: indices of the lines left to the per-line path
    text: Callable[[int], str]  # k -> text of the line other[k]


class TraceTextParser:
    """Fast path + exact per-line path; subclasses provide the grammar.

    Subclass hooks:
      ``fast_columns(chunk) -> Fast | None``: a compiled scanner's cut of the whole
      chunk (see ``scanned``); ``parse_line(line) -> Record | None``: the exact
      per-line path; ``classify(line)``: for lines that are not records: 'ignore',
      a stat to count, or None for a reject.
    """

    FORMAT = ""
    #: chunks of fewer lines take the per-line path (tests set it to 1 or to infinity)
    _VECTOR_MIN_LINES = 64

    def __init__(self) -> None:
        self.v4 = False
        self.meta: dict[str, str] = {}
        scanner()  # numba is imported and initialised with the parser, not mid-input

    # -- hooks ---------------------------------------------------------------------
    def parse_line(self, line: str) -> Record | None:
        raise NotImplementedError

    def classify(self, line: str) -> str | Stat | None:
        """'ignore', a (stat, cpu, value) to count and ignore, or None for a reject."""
        raise NotImplementedError

    def reject_reason(self, line: str) -> str:
        return f"not a {self.FORMAT} record"

    def layout_known(self) -> bool:
        """Whether the per-input layout (fields, columns) has been learnt."""
        return True

    def learn_layout(self, lines: Sequence[str]) -> bool:
        """Parse the first lines until the layout is known: the first line the
        per-line path takes as a record fixes it, whatever the line looks like."""
        for text in lines:
            if self.layout_known():
                break
            self.parse_line(text)
        return self.layout_known()

    def fast_columns(self, chunk: Chunk) -> Fast | None:
        """The grammar's fast path (None: every line takes the per-line path)."""
        return None

    def scanned(self, chunk: Chunk, res: tuple[Any, ...], qualify: bool) -> Fast:
        """A Fast from a scanner's result (scan.scan_perf_script / scan_ftrace):
        (records, line, ts, cpu, pid, pid valid, tid, comm offsets, comm bytes,
        event offsets, event bytes, payload rows, v4, other lines, their starts,
        their ends); ``qualify`` maps bare event names to system:name."""
        import pyarrow as pa

        r, line, ts, cpu, pid, pid_ok, tid, coff, cdata, eoff, edata, rows, v4, o, o_s, o_e = res
        self.v4 = self.v4 or bool(v4)
        event = arrow_strings(eoff, edata, r)
        cols = {
            "ts": masked(ts[:r], None, pa.int64()),
            "cpu": masked(cpu[:r], None, pa.int32())
            if cpu is not None
            else pa.nulls(r, pa.int32()),
            "pid": masked(pid[:r], None if pid_ok is None else pid_ok[:r], pa.int32())
            if pid is not None
            else pa.nulls(r, pa.int32()),
            "tid": masked(tid[:r], None, pa.int32())
            if tid is not None
            else pa.nulls(r, pa.int32()),
            "comm": arrow_strings(coff, cdata, r) if coff is not None else pa.nulls(r, pa.string()),
            "event": dictionary_map(event, full_event_name) if qualify else event,
        }
        return Fast(line[:r], cols, rows, o, lambda k: chunk.line(int(o_s[k]), int(o_e[k])))

    # -- driving -------------------------------------------------------------------
    def feed(self, chunk: Chunk) -> Batch:
        fast = self.fast_columns(chunk) if chunk.n_lines >= self._VECTOR_MIN_LINES else None
        if fast is None:
            return self.feed_lines(chunk.lines(), chunk.first_line_no)
        return self._feed_fast(fast, chunk)

    def feed_lines(self, lines: Sequence[str], first_line_no: int) -> Batch:
        out = Batch(TABLE, rows_table([]))
        records = self._records(enumerate(lines, first_line_no), out)
        out.rows = rows_table(self._rows(records))
        self._finish(out)
        return out

    def close(self) -> Batch:
        out = Batch(TABLE, rows_table([]))
        self._finish(out)
        return out

    def _finish(self, out: Batch) -> None:
        out.meta.update(self.meta)

    def _records(self, numbered: Iterable[tuple[int, str]], out: Batch) -> list[tuple[int, Record]]:
        """The per-line path, first half: the records among (line_no, line) pairs;
        every other line is counted as ignored (or a statistic) or rejected."""
        records: list[tuple[int, Record]] = []
        for line_no, raw in numbered:
            out.lines += 1
            line = raw.rstrip("\r\n")
            rec = self.parse_line(line)
            if rec is not None and not fits_columns(rec):
                rec = None  # an id or time too large for its column: not a record
            if rec is not None:
                records.append((line_no, rec))
                out.record_lines += 1
                continue
            verdict = self.classify(line)
            if verdict == "ignore":
                out.ignored += 1
            elif isinstance(verdict, Stat):
                out.ignored += 1
                out.stats.append(verdict)
            else:
                out.rejects.append(Reject(line_no, raw, self.reject_reason(line)))
        for _, rec in records:  # v4 is decided per chunk, as the scanners decide it
            if not self.v4 and rec.event.startswith(SPF_EVENT_PREFIX):
                self._note_v4(rec)
        return records

    def _rows(self, records: list[tuple[int, Record]]) -> list[tuple[Any, ...]]:
        """The per-line path, second half: records decoded into event rows.  Text
        from the input (comm, payload, field keys and values) is stored escaped
        (spftrace.text): bytes that are not UTF-8 and backslashes survive."""
        rows = []
        for line_no, rec in records:
            d = decode_payload(rec.payload, v4=self.v4)
            fields = [(escape(k), escape(v)) for k, v in d["fields"]]
            comm = None if rec.comm is None else escape(rec.comm)
            rows.append(
                (line_no, rec.ts, rec.cpu, rec.pid, rec.tid, comm, rec.event,
                 d.get("ip"), d.get("vm_start"), d.get("vm_end"), d.get("address"),
                 d.get("error_code"), d.get("mm"), d.get("write"), d.get("success"),
                 fields, escape(rec.payload))
            )  # fmt: skip
        return rows

    def _note_v4(self, rec: Record) -> None:
        if rec.event == SPF_VMA_DEAD:
            self.v4 = True
            return
        m = re.search(r"vma:(\d+)-", rec.payload)
        if m and looks_decimal_vma(m.group(1)):
            self.v4 = True

    def _feed_fast(self, fast: Fast, chunk: Chunk) -> Batch:
        import pyarrow as pa

        out = Batch(TABLE, rows_table([]))
        first = chunk.first_line_no
        records: list[tuple[int, Record]] = []
        if len(fast.other):  # first: their records may show a v4 kernel too
            lines = chunk.lines() if len(fast.other) > chunk.n_lines // 8 else None
            numbered = (
                (first + i, lines[i] if lines is not None else fast.text(k))
                for k, i in enumerate(fast.other.tolist())
            )
            records = self._records(numbered, out)
        n = len(fast.line)
        tables = []
        if n:
            cols = fast.columns
            t = {
                "line_no": masked(fast.line[:n] + first, None, pa.int64()),
                **{k: cols[k] for k in ("ts", "cpu", "pid", "tid", "comm", "event")},
                **record_columns(fast.rows, n, self.v4),
            }
            tables.append(pa.table(t, schema=text_schema()))
            out.lines += n
            out.record_lines += n
        if records:
            tables.append(rows_table(self._rows(records)))
        out.rows = merge_by_line(tables)
        self._finish(out)
        return out


@functools.cache
def text_schema() -> Any:
    """The events columns the text grammars fill (COLUMNS); the writer adds the
    others (period, sym, dso, callchain) as nulls."""
    import pyarrow as pa

    full = parser_schema(TABLE)
    return pa.schema([full.field(c) for c in COLUMNS], metadata=full.metadata)


def rows_table(rows: list[tuple[Any, ...]]) -> Any:
    """An events table (without ``input``) of rows from the per-line path."""
    import pyarrow as pa

    schema = text_schema()
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    return pa.table([to_arrow(c, f.type) for c, f in zip(cols, schema, strict=True)], schema=schema)


def merge_by_line(tables: list[Any]) -> Any:
    """One table of the rows of tables each ordered by line_no, in line order.
    Slices rather than a sort: the fast path's rows come in runs, and staying out
    of Arrow's compute functions keeps the ingest from loading them."""
    import numpy as np
    import pyarrow as pa

    tables = [t for t in tables if t.num_rows]
    if len(tables) <= 1:
        return tables[0] if tables else rows_table([])
    a, b = tables
    la, lb = a.column("line_no").to_numpy(), b.column("line_no").to_numpy()
    at = np.searchsorted(la, lb)  # where each row of b goes among a's rows
    pieces, prev = [], 0
    for cut, group in zip(*np.unique(at, return_counts=True), strict=True):
        first = int(np.searchsorted(at, cut))
        pieces += [a.slice(prev, int(cut) - prev), b.slice(first, int(group))]
        prev = int(cut)
    pieces.append(a.slice(prev))
    return pa.concat_tables(pieces)


def dictionary_map(values: Any, fn: Any) -> Any:
    """Apply a Python function to each distinct string (event names: a handful)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(values)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    mapped = to_arrow([fn(v) for v in enc.dictionary.to_pylist()], pa.string())
    return mapped.take(enc.indices)


def time_to_ns(text: str) -> int:
    return seconds_to_ns(text) if "." in text else int(text)
