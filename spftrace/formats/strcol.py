"""Columns of byte strings built with numpy, for the binary readers.

A binary trace holds numbers; its text (payloads as perf and trace-cmd print them)
is built here a column at a time: a ``StrCol`` is one buffer of bytes and int64
offsets, like an Arrow string array, so formatting two million payloads is a few
dozen array operations instead of two million ``%``-formats in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

_HEX_LO = np.frombuffer(b"0123456789abcdef", np.uint8)
_HEX_UP = np.frombuffer(b"0123456789ABCDEF", np.uint8)
_DIGITS = np.frombuffer(b"0123456789", np.uint8)


@dataclass
class StrCol:
    """``n`` byte strings: row i is ``data[offsets[i]:offsets[i + 1]]``."""

    data: np.ndarray[Any, np.dtype[np.uint8]]
    offsets: np.ndarray[Any, np.dtype[np.int64]]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        return np.diff(self.offsets)

    def row(self, i: int) -> bytes:
        return self.data[self.offsets[i] : self.offsets[i + 1]].tobytes()

    def to_list(self) -> list[bytes]:
        raw = self.data.tobytes()
        off = self.offsets.tolist()
        return [raw[off[i] : off[i + 1]] for i in range(len(off) - 1)]

    def take(self, idx: np.ndarray[Any, Any]) -> StrCol:
        lens = self.lengths[idx]
        return gather(self.data, self.offsets[:-1][idx], lens)


def _offsets(lengths: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.int64]]:
    off = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=off[1:])
    return off


def const(value: bytes, n: int) -> StrCol:
    """``value`` on every one of ``n`` rows."""
    data = np.frombuffer(value * n, np.uint8) if n else np.zeros(0, np.uint8)
    return StrCol(data.copy(), np.arange(n + 1, dtype=np.int64) * len(value))


def from_list(values: list[bytes]) -> StrCol:
    lens = np.fromiter((len(v) for v in values), np.int64, len(values))
    return StrCol(np.frombuffer(b"".join(values), np.uint8).copy(), _offsets(lens))


def choose(table: list[bytes], idx: np.ndarray[Any, Any]) -> StrCol:
    """Row i is ``table[idx[i]]`` (a few distinct strings: symbols, flags, booleans)."""
    return from_list(table).take(np.asarray(idx, np.int64))


def gather(
    buf: np.ndarray[Any, Any], starts: np.ndarray[Any, Any], lengths: np.ndarray[Any, Any]
) -> StrCol:
    """Row i is ``buf[starts[i]:starts[i] + lengths[i]]`` (the caller checked the bounds)."""
    lengths = np.asarray(lengths, np.int64)
    off = _offsets(lengths)
    total = int(off[-1])
    if total == 0:
        return StrCol(np.zeros(0, np.uint8), off)
    shift = np.repeat(np.asarray(starts, np.int64) - off[:-1], lengths)
    return StrCol(buf[np.arange(total, dtype=np.int64) + shift], off)


def cstrings(
    buf: np.ndarray[Any, Any], starts: np.ndarray[Any, Any], lengths: np.ndarray[Any, Any]
) -> StrCol:
    """Like ``gather``, each string cut at its first NUL (C strings in fixed arrays)."""
    col = gather(buf, starts, lengths)
    if not len(col.data) or not (col.data == 0).any():
        return col
    pos = np.arange(len(col.data), dtype=np.int64)
    big = np.int64(len(col.data))
    zpos = np.where(col.data == 0, pos, big)
    first = np.full(len(col), big, np.int64)
    nonempty = col.lengths > 0
    starts_ = col.offsets[:-1][nonempty]
    first[nonempty] = np.minimum.reduceat(zpos, starts_) if len(starts_) else first[nonempty]
    end = np.minimum(first, col.offsets[1:])
    return gather(col.data, col.offsets[:-1], end - col.offsets[:-1])


def concat(pieces: list[StrCol]) -> StrCol:
    """Row-wise concatenation: row i is ``pieces[0][i] + pieces[1][i] + ...``."""
    if len(pieces) == 1:
        return pieces[0]
    n = len(pieces[0])
    lens = np.zeros(n, np.int64)
    for p in pieces:
        lens += p.lengths
    off = _offsets(lens)
    out = np.empty(int(off[-1]), np.uint8)
    at = off[:-1].copy()
    for p in pieces:
        plen = p.lengths
        if len(p.data):
            shift = np.repeat(at - p.offsets[:-1], plen)
            out[np.arange(len(p.data), dtype=np.int64) + shift] = p.data
        at += plen
    return StrCol(out, off)


def _digits_matrix(v: np.ndarray[Any, Any], base: int, upper: bool) -> tuple[Any, Any]:
    """(n, w) ASCII digits of unsigned ``v`` right-aligned, and each row's digit count."""
    v = np.asarray(v, np.uint64)
    if base == 16:
        w = 16
        shifts = np.arange(60, -4, -4, dtype=np.uint64)
        nib = ((v[:, None] >> shifts) & np.uint64(15)).astype(np.intp)
        mat = (_HEX_UP if upper else _HEX_LO)[nib]
        nz = nib != 0
    else:
        w = 22 if base == 8 else 20
        mat = np.empty((len(v), w), np.uint8)
        nz = np.empty((len(v), w), bool)
        rest = v.copy()
        b = np.uint64(base)
        for col in range(w - 1, -1, -1):
            d = (rest % b).astype(np.intp)
            mat[:, col] = _DIGITS[d]
            nz[:, col] = rest != 0
            rest //= b
    first = np.where(nz.any(axis=1), nz.argmax(axis=1), w - 1)  # zero still prints one digit
    return mat, w - first


def _from_matrix(mat: Any, count: Any) -> StrCol:
    _n, w = mat.shape
    keep = np.arange(w)[None, :] >= (w - count)[:, None]
    return StrCol(mat[keep], _offsets(count))


def unsigned(v: np.ndarray[Any, Any], base: int = 10, upper: bool = False) -> StrCol:
    """``%llu`` / ``%llx`` / ``%llo`` of every value (no padding)."""
    mat, count = _digits_matrix(v, base, upper)
    return _from_matrix(mat, count)


def signed(v: np.ndarray[Any, Any]) -> StrCol:
    """``%lld`` of every value."""
    v = np.asarray(v, np.int64)
    neg = v < 0
    mag = np.where(neg, (~v.astype(np.uint64)) + np.uint64(1), v.astype(np.uint64))
    digits = unsigned(mag)
    if not neg.any():
        return digits
    return concat([choose([b"", b"-"], neg.astype(np.int64)), digits])


def pad(col: StrCol, width: int, left: bool = False, fill: bytes = b" ") -> StrCol:
    """Pad every row to ``width`` (printf's field width)."""
    short = np.maximum(0, width - col.lengths)
    if not short.any():
        return col
    padding = gather(np.frombuffer(fill * width, np.uint8), np.zeros(len(col), np.int64), short)
    return concat([col, padding] if left else [padding, col])


def contains_any(col: StrCol, chars: bytes) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Per row: does it contain any of ``chars``?"""
    n = len(col)
    if not len(col.data):
        return np.zeros(n, bool)
    hit = np.isin(col.data, np.frombuffer(chars, np.uint8))
    if not hit.any():
        return np.zeros(n, bool)
    csum = np.zeros(len(hit) + 1, np.int64)
    np.cumsum(hit, out=csum[1:])
    out: np.ndarray[Any, np.dtype[np.bool_]] = (csum[col.offsets[1:]] - csum[col.offsets[:-1]]) > 0
    return out


def equals(col: StrCol, value: bytes) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Per row: is it exactly ``value``?"""
    ok: np.ndarray[Any, np.dtype[np.bool_]] = col.lengths == len(value)
    if not ok.any() or not value:
        return ok
    rows = np.flatnonzero(ok)
    mat = col.data[col.offsets[:-1][rows, None] + np.arange(len(value))]
    ok[rows] = (mat == np.frombuffer(value, np.uint8)).all(axis=1)
    return ok


def to_arrow(col: StrCol, valid: np.ndarray[Any, Any] | None = None) -> Any:
    """A pyarrow string array, text escaped as the dataset stores it (spftrace/text.py):
    rows that are not plain ASCII, or hold a backslash, go through ``escape_bytes``."""
    import pyarrow as pa

    from ..text import escape_bytes

    special = contains_any(col, b"\\") | _non_ascii(col)
    if special.any():
        rows = col.to_list()
        for i in np.flatnonzero(special).tolist():
            rows[i] = escape_bytes(rows[i]).encode()
        col = from_list(rows)
    n = len(col)
    bitmap = None
    if valid is not None and not valid.all():
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    if int(col.offsets[-1]) < 2**31:
        offs = pa.py_buffer(col.offsets.astype(np.int32))
        return pa.StringArray.from_buffers(n, offs, pa.py_buffer(col.data), bitmap)
    return pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(col.offsets), pa.py_buffer(col.data), bitmap
    ).cast(pa.string())


def _non_ascii(col: StrCol) -> np.ndarray[Any, np.dtype[np.bool_]]:
    n = len(col)
    if not len(col.data) or int(col.data.max()) < 0x80:
        return np.zeros(n, bool)
    hit = col.data >= 0x80
    csum = np.zeros(len(hit) + 1, np.int64)
    np.cumsum(hit, out=csum[1:])
    out: np.ndarray[Any, np.dtype[np.bool_]] = (csum[col.offsets[1:]] - csum[col.offsets[:-1]]) > 0
    return out
