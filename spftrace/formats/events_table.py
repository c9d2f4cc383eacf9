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


def _coded(spec: tuple[np.ndarray[Any, Any], list[bytes]]) -> Any:
    """Strings given as indices into a table (-1: null): symbols, objects."""
    idx, table = spec
    valid = idx >= 0
    col = sc.choose(table or [b""], np.where(valid, idx, 0))
    return sc.to_arrow(col, valid)


def _fields(groups: list[tuple[np.ndarray[Any, Any], EventRows]], n: int) -> Any:
    """The fields map column: each group's static pairs, or its per-row pairs.
    Items are placed at their final positions (keys by a small table, values as
    rows of matrices), so the map is built without per-item Python work."""
    import pyarrow as pa

    counts = np.zeros(n, np.int64)
    for rows, er in groups:
        counts[rows] = len(er.keys)
        for i, pairs in er.row_fields.items():
            counts[rows[i]] = len(pairs)
    off = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=off[1:])
    total = int(off[-1])
    key_table: dict[bytes, int] = {}
    key_idx = np.zeros(total, np.int64)
    parts: list[tuple[np.ndarray[Any, Any], StrCol]] = []
    for rows, er in groups:
        k = len(er.keys)
        m = len(rows)
        special = np.zeros(m, bool)
        if er.row_fields:
            special[list(er.row_fields)] = True
        normal = np.flatnonzero(~special)
        if k and len(normal):
            dest = (off[rows[normal]][:, None] + np.arange(k)).reshape(-1)
            ids = np.array([key_table.setdefault(x, len(key_table)) for x in er.keys], np.int64)
            key_idx[dest] = np.tile(ids, len(normal))
            parts.append((dest, _interleave([v.take(normal) for v in er.values])))
        extra_dest: list[int] = []
        extra_v: list[bytes] = []
        for i, pairs in sorted(er.row_fields.items()):
            for t, (kk, vv) in enumerate(pairs):
                at = int(off[rows[i]]) + t
                key_idx[at] = key_table.setdefault(kk, len(key_table))
                extra_dest.append(at)
                extra_v.append(vv)
        if extra_dest:
            parts.append((np.array(extra_dest, np.int64), sc.from_list(extra_v)))
    keys = sc.choose(list(key_table) or [b""], key_idx)
    vals = sc.scatter(total, parts)
    offsets = _masked(off.astype(np.int32), None, pa.int32())
    return pa.MapArray.from_arrays(offsets, sc.to_arrow(keys), sc.to_arrow(vals))


def _interleave(cols: list[StrCol]) -> StrCol:
    """Rows of k columns in row-major order: c0[0], c1[0], ..., c0[1], c1[1] ..."""
    if len(cols) == 1:
        return cols[0]
    mats = [c.matrix() for c in cols]
    if all(m is not None for m in mats):
        w = max(m[0].shape[1] for m in mats if m is not None)
        mat = np.stack([_pad_to(m[0], w, 0) for m in mats if m is not None], axis=1)
        mask = np.stack([_pad_to(m[1], w, False) for m in mats if m is not None], axis=1)
        lens = np.stack([c.lengths for c in cols], axis=1).reshape(-1)
        return StrCol(mat=mat.reshape(-1, w), mask=mask.reshape(-1, w), lens=lens)
    m = len(cols[0])
    k = len(cols)
    order = (np.arange(k)[None, :] * m + np.arange(m)[:, None]).reshape(-1)
    return sc.stack(cols).take(order)


def _pad_to(a: np.ndarray[Any, Any], w: int, fill: Any) -> np.ndarray[Any, Any]:
    if a.shape[1] == w:
        return a
    out = np.full((a.shape[0], w), fill, a.dtype)
    out[:, : a.shape[1]] = a
    return out


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
            _coded(f_sym),
            _masked(f_off, f_sym[0] >= 0, pa.uint64()),
            _coded(f_dso),
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
    out["sym"] = _coded(cols["sym"]) if "sym" in cols else pa.nulls(n, pa.string())
    out["dso"] = _coded(cols["dso"]) if "dso" in cols else pa.nulls(n, pa.string())
    out["callchain"] = _callchain(cols.get("callchain"), n)
    return pa.table([out[f.name] for f in schema], schema=schema)


def empty_events_table() -> Any:
    """No rows, the events schema (``Schema.empty_table`` would import pandas)."""
    empty = sc.from_list([])
    return build_events_table({"event": empty, "payload": empty}, 0, 1)
