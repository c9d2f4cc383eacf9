"""Shared machinery for tracepoint text (perf script, ftrace, trace-cmd report).

Why columnar: ``perf script`` emits about 700k lines/s here, and the ingest must
keep up with it at least twice over.  A Python loop over lines manages ~400k
lines/s, so a chunk of lines is turned into a pyarrow string array straight from
its bytes and cut into columns with Arrow kernels (splits, takes, casts); a
numpy table decodes hex.  Lines the columnar checks refuse (odd comms, warnings,
markers, damaged lines) take an exact per-line Python path, in the same order.

Each grammar supplies a ``Layout``: how to cut the prefix before ``event:`` into
comm, pid/tid, cpu and time, detected once per input from its first records.
Payloads are decoded the same way for every grammar (``decode_payload``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..inputs import Chunk
from . import vec
from .base import Output, Reject, seconds_to_ns

TABLE = "events"

#: bare ftrace / trace-cmd event names -> system:name (unknown names are kept as written)
KNOWN_SYSTEMS = {
    "page_fault_user": "exceptions",
    "page_fault_kernel": "exceptions",
    "mmap_lock_start_locking": "mmap_lock",
    "mmap_lock_acquire_returned": "mmap_lock",
    "mmap_lock_released": "mmap_lock",
    "spf_vma_changed": "pagefault",
    "spf_vma_noanon": "pagefault",
    "spf_vma_notsup": "pagefault",
    "spf_vma_access": "pagefault",
    "spf_pmd_changed": "pagefault",
    "spf_pte_lock": "pagefault",
    "spf_vma_dead": "pagefault",
}

#: payload keys that fill typed columns (everything else goes to ``fields``)
HEX_KEYS = ("address", "ip", "error_code", "mm")
BOOL_KEYS = ("write", "success")
TYPED_KEYS = frozenset((*HEX_KEYS, *BOOL_KEYS, "vma"))

COLUMNS = (
    "line_no", "ts", "cpu", "pid", "tid", "comm", "event", "ip", "vm_start", "vm_end",
    "address", "error_code", "mm", "write", "success", "fields", "payload",
)  # fmt: skip


def full_event_name(name: str) -> str:
    if ":" in name:
        return name
    system = KNOWN_SYSTEMS.get(name)
    return f"{system}:{name}" if system else name


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


def split_parts(arr: Any, sep: str, n: int) -> tuple[list[Any], Any]:
    """Split each string at the first ``n-1`` ``sep``; returns the parts (null where
    missing) and the number of parts per row, using take instead of list_element."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    lst = pc.split_pattern(arr, sep, max_splits=n - 1)
    offs = lst.offsets.to_numpy()
    off, cnt = offs[:-1], np.diff(offs)
    flat = lst.values
    base = lst.offsets[0].as_py()
    parts = []
    for i in range(n):
        idx = np.where(cnt > i, off + i - base, 0)
        parts.append(flat.take(pa.array(idx, mask=cnt <= i)))
    return parts, cnt


def scatter(n: int, rows: Any, values: Any, typ: Any) -> Any:
    """A length-n array holding ``values`` at ``rows`` and null elsewhere."""
    import numpy as np
    import pyarrow as pa

    if len(rows) == 0:
        return pa.nulls(n, typ)
    idx = np.full(n, -1, np.int64)
    idx[rows] = np.arange(len(rows))
    return values.take(pa.array(idx, mask=idx < 0)).cast(typ)


def decode_payload_columns(payload: Any, v4: bool) -> dict[str, Any]:
    """The columnar twin of ``decode_payload``: typed columns plus the fields map.

    Typed keys are found with ``starts_with("key=")`` (or ``"key:"`` in a token
    without '=') and their values sliced at a constant offset; only the other
    tokens go through a generic key/value split, for the ``fields`` map."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(payload)
    toks = pc.split_pattern(pc.fill_null(payload, ""), " ")
    offs = toks.offsets.to_numpy()
    flat = toks.values.slice(offs[0], offs[-1] - offs[0])
    parent = pc.list_parent_indices(toks).to_numpy()
    no_eq = pc.equal(pc.find_substring(flat, "="), -1)
    typed = np.zeros(len(flat), bool)

    colon_form = bool(pc.any(no_eq).as_py())  # only spf_* payloads use key:value

    def select(key: str) -> tuple[Any, Any]:
        m = pc.starts_with(flat, key + "=")
        if colon_form:
            m = pc.or_(m, pc.and_(no_eq, pc.starts_with(flat, key + ":")))
        m = m.to_numpy(zero_copy_only=False)
        typed[:] |= m
        return parent[m], pc.utf8_slice_codeunits(flat.filter(pa.array(m)), len(key) + 1)

    out: dict[str, Any] = {}
    for key in HEX_KEYS:
        rows, vals = select(key)
        v, ok = vec.hex_u64(vals)
        out[key] = scatter(n, rows, pa.array(v, pa.uint64(), mask=~ok), pa.uint64())
    for key in BOOL_KEYS:
        rows, vals = select(key)
        b = pc.if_else(
            pc.equal(vals, "true"), True, pc.if_else(pc.equal(vals, "false"), False, None)
        )
        out[key] = scatter(n, rows, b, pa.bool_())
    rows, vma = select("vma")
    if len(rows):
        (start, end), cnt = split_parts(vma, "-", 2)
        good = cnt == 2
        if v4:
            vs, ok_s = vec.dec_i64(pc.fill_null(start, ""))
            vs = vs.astype(np.uint64)
            ok_s &= vs >= 0
        else:
            vs, ok_s = vec.hex_u64(pc.fill_null(start, ""))
        ve, ok_e = vec.hex_u64(pc.fill_null(end, ""))
        out["vm_start"] = scatter(
            n, rows, pa.array(vs, pa.uint64(), mask=~(ok_s & good)), pa.uint64()
        )
        out["vm_end"] = scatter(
            n, rows, pa.array(ve, pa.uint64(), mask=~(ok_e & good)), pa.uint64()
        )
    else:
        out["vm_start"] = pa.nulls(n, pa.uint64())
        out["vm_end"] = pa.nulls(n, pa.uint64())
    # everything else that is key=value (or key:value) goes to the fields map
    rest = ~typed
    if rest.any():
        other = flat.filter(pa.array(rest))
        oparent = parent[rest]
        (k1, v1), c1 = split_parts(other, "=", 2)
        keys, vals = k1, v1
        has = (c1 == 2) & pc.fill_null(pc.not_equal(k1, ""), False).to_numpy(zero_copy_only=False)
        need = c1 == 1
        if need.any():
            (k2, v2), c2 = split_parts(other, ":", 2)
            need_a = pa.array(need)
            keys, vals = pc.if_else(need_a, k2, k1), pc.if_else(need_a, v2, v1)
            has |= (
                need
                & (c2 == 2)
                & pc.fill_null(pc.not_equal(k2, ""), False).to_numpy(zero_copy_only=False)
            )
        keep = pa.array(has)
        keys, vals, oparent = keys.filter(keep), vals.filter(keep), oparent[has]
    else:
        keys, vals, oparent = pa.array([], pa.string()), pa.array([], pa.string()), parent[:0]
    counts = np.bincount(oparent, minlength=n)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(counts, out=offsets[1:])
    out["fields"] = pa.MapArray.from_arrays(pa.array(offsets), keys, vals)
    return out


def ts_from_text(t: Any) -> tuple[Any, Any]:
    """Timestamps as printed -> (int64 array, ok mask): ``sec.frac`` to exact ns,
    counter clocks (no dot) as the count."""
    import pyarrow as pa

    v, ok = vec.seconds_ns(t)
    return pa.array(v, pa.int64(), mask=~ok), ok


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


class TraceTextParser:
    """Columnar fast path + exact per-line path; subclasses provide the grammar.

    Subclass hooks:
      ``vector_prefix(lines) -> dict | None``: columns comm/pid/tid/cpu/ts/event/payload
      and a boolean ``ok`` mask, or None when no layout is known yet;
      ``parse_line(line) -> Record | None``; ``classify(line, line_no)``: for lines
      that are not records: 'ignore', a stat to count, or a reject reason.
    """

    FORMAT = ""
    _VECTOR_MIN_LINES = 64
    #: chunks may be parsed on several threads once the first one has fixed the layout
    PARALLEL = True
    CHUNK_BYTES = 2 << 20

    def __init__(self) -> None:
        self.v4 = False
        self.meta: dict[str, str] = {}

    # -- hooks ---------------------------------------------------------------------
    def vector_prefix(self, arr: Any) -> dict[str, Any] | None:
        return None

    def parse_line(self, line: str) -> Record | None:
        raise NotImplementedError

    def classify(self, line: str) -> str | tuple[str, int | None, int] | None:
        """'ignore', a (stat, cpu, value) to count and ignore, or None for a reject."""
        raise NotImplementedError

    def reject_reason(self, line: str) -> str:
        return f"not a {self.FORMAT} record"

    def layout_known(self) -> bool:
        """Whether the per-input layout (fields, columns) has been learnt."""
        return True

    def learn_layout(self, arr: Any, limit: int = 400) -> bool:
        """Parse the first records line by line until the layout is known."""
        for i in range(min(len(arr), limit)):
            if self.layout_known():
                break
            text = arr[i].as_py()
            if text and not text.startswith("#"):
                self.parse_line(text)
        return self.layout_known()

    # -- driving -------------------------------------------------------------------
    def feed_chunk(self, chunk: Chunk) -> Output:
        arr = chunk.arrow() if chunk.n_lines >= self._VECTOR_MIN_LINES else None
        if arr is None:
            return self.feed(chunk.lines(), chunk.first_line_no)
        return self._feed_arrow(arr, chunk)

    def feed(self, lines: Sequence[str], first_line_no: int) -> Output:
        out = Output(TABLE, {})
        rows: list[tuple[Any, ...]] = []
        self._lines_python(lines, first_line_no, out, rows)
        out.rows = self._rows_table(rows)
        self._finish(out)
        return out

    def close(self) -> Output:
        out = Output(TABLE, self._rows_table([]))
        self._finish(out)
        return out

    def _finish(self, out: Output) -> None:
        out.meta.update(self.meta)

    def _lines_python(
        self, lines: Sequence[str], first_line_no: int, out: Output, rows: list[tuple[Any, ...]]
    ) -> None:
        for i, raw in enumerate(lines):
            line_no = first_line_no + i
            out.lines += 1
            line = raw.rstrip("\r\n")
            rec = self.parse_line(line)
            if rec is not None:
                if rec.event.startswith("pagefault:spf_"):
                    self._note_v4(rec)
                d = decode_payload(rec.payload, v4=self.v4)
                rows.append(
                    (line_no, rec.ts, rec.cpu, rec.pid, rec.tid, rec.comm, rec.event,
                     d.get("ip"), d.get("vm_start"), d.get("vm_end"), d.get("address"),
                     d.get("error_code"), d.get("mm"), d.get("write"), d.get("success"),
                     d["fields"], rec.payload)
                )  # fmt: skip
                out.record_lines += 1
                continue
            verdict = self.classify(line)
            if verdict == "ignore":
                out.ignored += 1
            elif isinstance(verdict, tuple):
                out.ignored += 1
                out.stats.append(verdict)
            else:
                out.rejects.append(Reject(line_no, raw, self.reject_reason(line)))

    def _note_v4(self, rec: Record) -> None:
        if rec.event == "pagefault:spf_vma_dead":
            self.v4 = True
            return
        m = re.search(r"vma:(\d+)-", rec.payload)
        if m and looks_decimal_vma(m.group(1)):
            self.v4 = True

    def _rows_table(self, rows: list[tuple[Any, ...]]) -> Any:
        import pyarrow as pa

        schema = events_schema()
        if not rows:
            return schema.empty_table()
        cols = list(zip(*rows, strict=True))
        return pa.table(
            [pa.array(c, f.type) for c, f in zip(cols, schema, strict=True)], schema=schema
        )

    def _feed_arrow(self, arr: Any, chunk: Chunk) -> Output:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        out = Output(TABLE, {})
        n = len(arr)
        first = chunk.first_line_no
        pre = self.vector_prefix(arr)
        if pre is None:
            return self.feed(chunk.lines(), first)
        ok = pre.pop("ok")
        if not self.v4 and pc.any(pc.equal(pre["event"], "pagefault:spf_vma_dead")).as_py():
            self.v4 = True
        if not self.v4:
            spf = pc.starts_with(pre["event"], "pagefault:spf_")
            if pc.any(spf).as_py():
                vm = pc.extract_regex(pre["payload"].filter(spf), r"vma:(?P<s>\d{13,})-")
                if vm.null_count < len(vm):
                    self.v4 = True
        ok_np = ok.to_numpy(zero_copy_only=False)
        good = np.flatnonzero(ok_np)
        tables = []
        if len(good):
            if len(good) == n:  # the usual case: every line is a record
                cols = pre
            else:
                sel = pa.array(good)
                cols = {k: v.take(sel) for k, v in pre.items()}
            payload = cols["payload"]
            dec = decode_payload_columns(payload, self.v4)
            t = {
                "line_no": pa.array(good + first, pa.int64()),
                "ts": cols["ts"],
                "cpu": cols["cpu"],
                "pid": cols["pid"],
                "tid": cols["tid"],
                "comm": cols["comm"],
                "event": cols["event"],
                "ip": dec["ip"],
                "vm_start": dec["vm_start"],
                "vm_end": dec["vm_end"],
                "address": dec["address"],
                "error_code": dec["error_code"],
                "mm": dec["mm"],
                "write": dec["write"],
                "success": dec["success"],
                "fields": dec["fields"],
                "payload": payload,
            }
            tables.append(pa.table(t, schema=events_schema()))
            out.lines += len(good)
            out.record_lines += len(good)
        bad = np.flatnonzero(~ok_np)
        if len(bad):
            rows: list[tuple[Any, ...]] = []
            lines = chunk.lines() if len(bad) > n // 8 else None
            for i in bad.tolist():
                text = lines[i] if lines is not None else arr[i].as_py()
                self._lines_python([text], first + i, out, rows)
            if rows:
                tables.append(self._rows_table(rows))
        table = pa.concat_tables(tables) if tables else events_schema().empty_table()
        if len(tables) > 1:
            table = table.take(pc.sort_indices(table["line_no"]))
        out.rows = table
        self._finish(out)
        return out


_SCHEMA: list[Any] = []


def events_schema() -> Any:
    if not _SCHEMA:
        from ..schema import arrow_schema

        full = arrow_schema(TABLE)
        _SCHEMA.append(full.remove(full.get_field_index("input")))
    return _SCHEMA[0]


def dictionary_map(values: Any, fn: Any) -> Any:
    """Apply a Python function to each distinct string (event names: a handful)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(values)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    mapped = pa.array([fn(v) for v in enc.dictionary.to_pylist()], pa.string())
    return mapped.take(enc.indices)


def int_or_null(values: Any, typ: Any) -> Any:
    """Decimal strings (optionally signed) as ``typ``; null where not an integer."""
    import pyarrow as pa

    v, ok = vec.dec_i64(values)
    return pa.array(v.astype(typ.to_pandas_dtype()), typ, mask=~ok)


def time_to_ns(text: str) -> int:
    return seconds_to_ns(text) if "." in text else int(text)


def rsplit_tokens(prefix: Any, k: int, rest: bool) -> tuple[list[Any], Any]:
    """The last ``k`` whitespace-separated tokens of each prefix (rightmost last),
    plus the remainder before them when ``rest``; and a mask of rows that had them."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    trimmed = pc.ascii_trim_whitespace(prefix)
    lst = pc.ascii_split_whitespace(trimmed, max_splits=k if rest else k - 1, reverse=True)
    offs = lst.offsets.to_numpy()
    off, cnt = offs[:-1] - offs[0], np.diff(offs)
    flat = lst.values.slice(offs[0], offs[-1] - offs[0])
    want = k + 1 if rest else k
    ok = cnt == want
    out = []
    for i in range(want):
        idx = np.where(ok, off + i, 0)
        out.append(flat.take(pa.array(idx, mask=~ok)))
    return out, ok


def bracketed(tok: Any, left: str = "[", right: str = "]") -> Any:
    """numpy mask: the token is ``[...]`` (or another pair of delimiters)."""
    import pyarrow.compute as pc

    m = pc.and_(pc.starts_with(tok, left), pc.ends_with(tok, right))
    return pc.fill_null(m, False).to_numpy(zero_copy_only=False)


def event_ok(event: Any, *, qualified: bool) -> Any:
    """numpy mask: a plausible event name (no spaces; ``system:name`` when qualified)."""
    import pyarrow.compute as pc

    colon = pc.fill_null(pc.find_substring(event, ":"), -1).to_numpy(zero_copy_only=False)
    space = pc.fill_null(pc.find_substring(event, " "), 0).to_numpy(zero_copy_only=False)
    length = pc.fill_null(pc.utf8_length(event), 0).to_numpy(zero_copy_only=False)
    good = (space < 0) & (length > 0)
    return good & (colon > 0) if qualified else good & (colon < 0)


def two_parts(lst: Any) -> tuple[tuple[Any, Any], Any]:
    """The two parts of a split list array (null where a row has fewer)."""
    import numpy as np
    import pyarrow as pa

    offs = lst.offsets.to_numpy()
    off, cnt = offs[:-1] - offs[0], np.diff(offs)
    flat = lst.values.slice(offs[0], offs[-1] - offs[0])
    a = flat.take(pa.array(np.where(cnt >= 1, off, 0), mask=cnt < 1))
    b = flat.take(pa.array(np.where(cnt >= 2, off + 1, 0), mask=cnt < 2))
    return (a, b), cnt


def split_comm_pid(comm_pid: Any) -> tuple[Any, Any, Any]:
    """``comm-pid`` split at the last dash (comms may hold dashes): comm, pid, ok mask."""
    import pyarrow as pa
    import pyarrow.compute as pc

    (comm, pid), cnt = two_parts(pc.split_pattern(comm_pid, "-", max_splits=1, reverse=True))
    pid_i = int_or_null(pid, pa.int32())
    ok = (cnt == 2) & pid_i.is_valid().to_numpy(zero_copy_only=False)
    return pc.ascii_trim_whitespace(comm), pid_i, ok


def bare_event_columns(
    ok: Any, ts: Any, cpu: Any, pid: Any, comm_pid: Any, ev: Any, payload: Any
) -> dict[str, Any]:
    """The columns of an ftrace-style record (``comm-pid ... time: event: payload``):
    comm and pid split at the last dash, the bare event name checked and qualified."""
    import pyarrow as pa
    import pyarrow.compute as pc

    comm, tid, ok_cp = split_comm_pid(comm_pid)
    event = pc.ascii_trim_whitespace(ev)
    ok = ok & ok_cp & event_ok(event, qualified=False)
    n = len(ok)
    return {
        "ok": pa.array(ok),
        "ts": ts,
        "cpu": cpu,
        "pid": pid if pid is not None else pa.nulls(n, pa.int32()),
        "tid": tid,
        "comm": comm,
        "event": dictionary_map(pc.fill_null(event, ""), full_event_name),
        "payload": pc.fill_null(payload, ""),
    }
