"""Columns decoded from a binary trace -> one Arrow table of ``parser_schema("events")``.

Shared by the perf.data and trace.dat readers.  Arrays are built from buffers
(as parsers/tracetext.py does) so Arrow's compute kernels are not loaded; text
is stored escaped (spftrace/text.py) by strcol.to_arrow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..schema import parser_schema
from . import strcol as sc
from .strcol import StrCol
from .tracefs_rows import EventRows

U64 = np.uint64
TYPED = ("ip", "vm_start", "vm_end", "address", "error_code", "mm", "write", "success")


def _masked(values: np.ndarray[Any, Any], valid: np.ndarray[Any, Any] | None, typ: Any) -> Any:
    import pyarrow as pa

    n = len(values)
    if typ == pa.bool_():
        data = pa.py_buffer(np.packbits(values.astype(bool), bitorder="little"))
    else:
        data = pa.py_buffer(np.ascontiguousarray(values))
    if valid is None or valid.all():
        return pa.Array.from_buffers(typ, n, [None, data])
    return pa.Array.from_buffers(
        typ, n, [pa.py_buffer(np.packbits(valid, bitorder="little")), data]
    )


def _opt_strings(values: list[bytes | None] | list[str | None]) -> Any:
    """Strings with nulls, few distinct (symbols, objects): built from a small table."""
    table: dict[bytes, int] = {}
    idx = np.zeros(len(values), np.int64)
    valid = np.ones(len(values), bool)
    for i, v in enumerate(values):
        if v is None:
            valid[i] = False
            continue
        b = v if isinstance(v, bytes) else v.encode("utf-8", "surrogateescape")
        j = table.get(b)
        if j is None:
            j = table[b] = len(table)
        idx[i] = j
    col = sc.choose(list(table) or [b""], idx)
    return sc.to_arrow(col, valid)


def _fields(groups: list[tuple[np.ndarray[Any, Any], EventRows]], n: int) -> Any:
    """The fields map column: each group's static pairs, or its per-row pairs."""
    import pyarrow as pa

    counts = np.zeros(n, np.int64)
    for rows, er in groups:
        k = len(er.keys)
        counts[rows] = k
        for i, pairs in er.row_fields.items():
            counts[rows[i]] = len(pairs)
    off = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=off[1:])
    total = int(off[-1])
    src = np.zeros(total, np.int64)
    key_cols: list[StrCol] = []
    val_cols: list[StrCol] = []
    base = 0
    for rows, er in groups:
        k = len(er.keys)
        m = len(rows)
        special = np.zeros(m, bool)
        if er.row_fields:
            special[list(er.row_fields)] = True
        if k:
            normal = np.flatnonzero(~special)
            dest = off[rows[normal]][:, None] + np.arange(k)
            srcs = base + np.arange(k)[None, :] * m + normal[:, None]
            src[dest.reshape(-1)] = srcs.reshape(-1)
            for j in range(k):
                key_cols.append(sc.const(er.keys[j], m))
                val_cols.append(er.values[j])
            base += k * m
        extra_k: list[bytes] = []
        extra_v: list[bytes] = []
        for i, pairs in sorted(er.row_fields.items()):
            for t, (kk, vv) in enumerate(pairs):
                src[off[rows[i]] + t] = base + len(extra_k)
                extra_k.append(kk)
                extra_v.append(vv)
        if extra_k:
            key_cols.append(sc.from_list(extra_k))
            val_cols.append(sc.from_list(extra_v))
            base += len(extra_k)
    keys = _stack(key_cols).take(src) if total else sc.const(b"", 0)
    vals = _stack(val_cols).take(src) if total else sc.const(b"", 0)
    offsets = _masked(off.astype(np.int32), None, pa.int32())
    return pa.MapArray.from_arrays(offsets, sc.to_arrow(keys), sc.to_arrow(vals))


def _stack(cols: list[StrCol]) -> StrCol:
    if not cols:
        return sc.const(b"", 0)
    data = np.concatenate([c.data for c in cols])
    offs = [np.zeros(1, np.int64)]
    total = 0
    for c in cols:
        offs.append(c.offsets[1:] + total)
        total += int(c.offsets[-1])
    return StrCol(data, np.concatenate(offs))


def _callchain(spec: Any, n: int) -> Any:
    import pyarrow as pa

    from ..schema import frames_type

    if spec is None:
        return pa.nulls(n, frames_type())
    fr, f_sym, f_off, f_dso, has_chain = spec
    typ = frames_type()
    struct = pa.StructArray.from_arrays(
        [
            _masked(fr.ip, None, pa.uint64()),
            _opt_strings(f_sym),
            _masked(f_off, np.array([s is not None for s in f_sym], bool), pa.uint64()),
            _opt_strings(f_dso),
        ],
        fields=list(typ.value_type),
    )
    off = np.zeros(n + 1, np.int32)
    np.cumsum(fr.counts, out=off[1:])
    valid = None if has_chain is None or has_chain.all() else has_chain
    offsets = _masked(off, None, pa.int32())
    arr = pa.ListArray.from_arrays(offsets, struct, type=typ)
    if valid is not None:
        arr = pa.ListArray.from_arrays(offsets, struct, type=typ, mask=pa.array(~valid))
    return arr


def build_events_table(cols: dict[str, Any], n: int, first_line_no: int) -> Any:
    import pyarrow as pa

    schema = parser_schema("events")
    out: dict[str, Any] = {}
    out["line_no"] = _masked(
        np.arange(first_line_no, first_line_no + n, dtype=np.int64), None, pa.int64()
    )
    for name, typ in (
        ("ts", pa.int64()),
        ("cpu", pa.int32()),
        ("pid", pa.int32()),
        ("tid", pa.int32()),
    ):
        if name in cols:
            v, ok = cols[name]
            out[name] = _masked(np.asarray(v), ok, typ)
        else:
            out[name] = pa.nulls(n, typ)
    out["comm"] = sc.to_arrow(cols["comm"]) if "comm" in cols else pa.nulls(n, pa.string())
    out["event"] = sc.to_arrow(cols["event"])
    typed = cols.get("typed", {})
    for name in TYPED:
        typ = pa.bool_() if name in ("write", "success") else pa.uint64()
        if name in typed:
            v, ok = typed[name]
            out[name] = _masked(v, ok, typ)
        else:
            out[name] = pa.nulls(n, typ)
    out["fields"] = _fields(cols.get("fields", []), n)
    out["payload"] = sc.to_arrow(cols["payload"])
    if "period" in cols:
        v, ok = cols["period"]
        out["period"] = _masked(v, ok, pa.uint64())
    else:
        out["period"] = pa.nulls(n, pa.uint64())
    out["sym"] = _opt_strings(cols["sym"]) if "sym" in cols else pa.nulls(n, pa.string())
    out["dso"] = _opt_strings(cols["dso"]) if "dso" in cols else pa.nulls(n, pa.string())
    out["callchain"] = _callchain(cols.get("callchain"), n)
    return pa.table([out[f.name] for f in schema], schema=schema)
