"""Columns of byte strings built with numpy, for the binary readers.

A binary trace holds numbers; its text (payloads as perf and trace-cmd print them)
is built here a column at a time.  A ``StrCol`` is either flat (one buffer and
int64 offsets, like an Arrow string array) or a padded matrix (one row of
``width`` bytes per string and a mask of the bytes that belong to it).  Short
pieces (numbers, literals, names) are matrices: concatenating them is one hstack
and flattening one boolean compaction, instead of index arithmetic per byte.
Picking flat rows by index (``take_rows``) is a memcpy per row in the compiled
core (perf_walk.c take) when it is built; ``take_py`` is its numpy twin.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_HEX_LO = np.frombuffer(b"0123456789abcdef", np.uint8)
_HEX_UP = np.frombuffer(b"0123456789ABCDEF", np.uint8)
_DIGITS = np.frombuffer(b"0123456789", np.uint8)
MAT_MAX = 96  # wider strings stay flat
Arr = np.ndarray[Any, Any]


def _offsets(lengths: Arr) -> np.ndarray[Any, np.dtype[np.int64]]:
    off = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=off[1:])
    return off


class StrCol:
    """``n`` byte strings, flat or as a padded matrix (see the module doc)."""

    __slots__ = ("_data", "_lens", "_offsets", "mask", "mat")

    def __init__(
        self,
        data: Arr | None = None,
        offsets: Arr | None = None,
        *,
        mat: Arr | None = None,
        mask: Arr | None = None,
        lens: Arr | None = None,
    ) -> None:
        self._data = data
        self._offsets = offsets
        self.mat = mat
        self.mask = mask
        self._lens = lens  # row lengths of a matrix, when known

    @property
    def is_matrix(self) -> bool:
        return self.mat is not None

    def _flatten(self) -> None:
        assert self.mat is not None and self.mask is not None
        self._data = np.ascontiguousarray(self.mat[self.mask], np.uint8)
        self._offsets = _offsets(self.lengths)

    @property
    def data(self) -> Arr:
        if self._data is None:
            self._flatten()
        assert self._data is not None
        return self._data

    @property
    def offsets(self) -> Arr:
        if self._offsets is None:
            self._flatten()
        assert self._offsets is not None
        return self._offsets

    def __len__(self) -> int:
        if self.mat is not None:
            return int(self.mat.shape[0])
        assert self._offsets is not None
        return len(self._offsets) - 1

    @property
    def lengths(self) -> Arr:
        if self._lens is not None:
            return self._lens
        if self.mask is not None and self._offsets is None:
            self._lens = np.count_nonzero(self.mask, axis=1).astype(np.int64)
            return self._lens
        self._lens = np.diff(self.offsets)
        return self._lens

    def row(self, i: int) -> bytes:
        return bytes(self.data[self.offsets[i] : self.offsets[i + 1]].tobytes())

    def to_list(self) -> list[bytes]:
        raw = self.data.tobytes()
        off = self.offsets.tolist()
        return [raw[off[i] : off[i + 1]] for i in range(len(off) - 1)]

    def take(self, idx: Arr) -> StrCol:
        idx = np.asarray(idx, np.int64)
        if self.mat is not None and self.mask is not None:
            return StrCol(mat=self.mat[idx], mask=self.mask[idx], lens=self.lengths[idx])
        return take_rows(self.data, self.offsets[:-1], self.lengths, idx)

    def matrix(self) -> tuple[Arr, Arr] | None:
        """(mat, mask), left-aligned if made here; None if too wide."""
        if self.mat is not None and self.mask is not None:
            return self.mat, self.mask
        lens = self.lengths
        w = int(lens.max()) if len(lens) else 0
        if w > MAT_MAX:
            return None
        cols = np.arange(w)
        mask = cols[None, :] < lens[:, None]
        mat = np.zeros((len(lens), w), np.uint8)
        mat[mask] = self.data
        self.mat, self.mask, self._lens = mat, mask, lens
        return mat, mask


def const(value: bytes, n: int) -> StrCol:
    """``value`` on every one of ``n`` rows (a read-only broadcast, no copy)."""
    row = np.frombuffer(value, np.uint8) if value else np.zeros(0, np.uint8)
    return StrCol(
        mat=np.broadcast_to(row, (n, len(row))),
        mask=np.broadcast_to(True, (n, len(row))),
        lens=np.full(n, len(row), np.int64),
    )


def from_list(values: list[bytes]) -> StrCol:
    lens = np.fromiter((len(v) for v in values), np.int64, len(values))
    return StrCol(np.frombuffer(b"".join(values), np.uint8).copy(), _offsets(lens))


def choose(table: list[bytes], idx: Arr) -> StrCol:
    """Row i is ``table[idx[i]]`` (a few distinct strings: symbols, names, booleans)."""
    w = max((len(t) for t in table), default=0)
    idx = np.asarray(idx, np.int64)
    if len(idx) > 4 * len(table):  # flat: one copy of each row's bytes
        lens = np.array([len(t) for t in table], np.int64)
        return take_rows(np.frombuffer(b"".join(table), np.uint8), _offsets(lens)[:-1], lens, idx)
    if w <= MAT_MAX:
        mat = np.zeros((len(table), w), np.uint8)
        for i, t in enumerate(table):
            mat[i, : len(t)] = np.frombuffer(t, np.uint8)
        lens = np.array([len(t) for t in table], np.int64)
        mask = np.arange(w)[None, :] < lens[:, None]
        return StrCol(mat=mat[idx], mask=mask[idx], lens=lens[idx])
    return from_list(table).take(idx)


def take_rows(data: Arr, starts: Arr, lens: Arr, idx: Arr) -> StrCol:
    """Row i is ``data[starts[idx[i]]:][:lens[idx[i]]]``: the compiled take, else take_py."""
    from .native import perf_walk

    mod = perf_walk()
    starts = np.ascontiguousarray(starts, np.int64)
    lens = np.ascontiguousarray(lens, np.int64)
    idx = np.ascontiguousarray(idx, np.int64)
    if mod is None or not hasattr(mod, "take"):
        return take_py(data, starts, lens, idx)
    off = np.empty(len(idx) + 1, np.int64)
    out = mod.take(np.ascontiguousarray(data, np.uint8), starts, lens, idx, off)
    return StrCol(np.frombuffer(out, np.uint8), off)


def take_py(data: Arr, starts: Arr, lens: Arr, idx: Arr) -> StrCol:
    """The numpy twin of the compiled take."""
    return _gather(data, np.asarray(starts, np.int64)[idx], np.asarray(lens, np.int64)[idx])


def gather(buf: Arr, starts: Arr, lengths: Arr) -> StrCol:
    """Row i is ``buf[starts[i]:starts[i] + lengths[i]]`` (the caller checked the bounds)."""
    n = len(lengths)
    if n > 64:
        return take_rows(buf, starts, lengths, np.arange(n, dtype=np.int64))
    return _gather(buf, starts, lengths)


def _gather(buf: Arr, starts: Arr, lengths: Arr) -> StrCol:
    lengths = np.asarray(lengths, np.int64)
    off = _offsets(lengths)
    total = int(off[-1])
    if total == 0:
        return StrCol(np.zeros(0, np.uint8), off)
    shift = np.repeat(np.asarray(starts, np.int64) - off[:-1], lengths)
    shift += np.arange(total, dtype=np.int64)
    return StrCol(buf[shift], off)


def cstrings(buf: Arr, starts: Arr, lengths: Arr) -> StrCol:
    """Like ``gather``, each string cut at its first NUL (C strings)."""
    lengths = np.asarray(lengths, np.int64)
    w = int(lengths.max()) if len(lengths) else 0
    if w == 0:  # every string empty (argmax below needs a column)
        return StrCol(np.zeros(0, np.uint8), np.zeros(len(lengths) + 1, np.int64))
    if w <= MAT_MAX and len(buf):
        cols = np.arange(w)
        idx = np.asarray(starts, np.int64)[:, None] + cols[None, :]
        inside = cols[None, :] < lengths[:, None]
        mat = buf[np.clip(idx, 0, len(buf) - 1)]
        zero = (mat == 0) & inside
        first = np.where(zero.any(axis=1), zero.argmax(axis=1), lengths)
        mask = cols[None, :] < first[:, None]
        return StrCol(mat=mat, mask=mask, lens=first.astype(np.int64))
    col = gather(buf, starts, lengths)
    data = col.data
    if not len(data) or not (data == 0).any():
        return col
    rows = col.to_list()
    return from_list([r.split(b"\0", 1)[0] for r in rows])


def concat(pieces: list[StrCol]) -> StrCol:
    """Row-wise concatenation: row i is ``pieces[0][i] + pieces[1][i] + ...``."""
    if len(pieces) == 1:
        return pieces[0]
    mats = [p.matrix() for p in pieces]
    if all(m is not None for m in mats) and sum(m[0].shape[1] for m in mats if m) <= 8 * MAT_MAX:
        total = pieces[0].lengths.copy()
        for p in pieces[1:]:
            total += p.lengths
        return StrCol(
            mat=np.hstack([m[0] for m in mats if m is not None]),
            mask=np.hstack([m[1] for m in mats if m is not None]),
            lens=total,
        )
    n = len(pieces[0])
    lens = np.zeros(n, np.int64)
    for p in pieces:
        lens += p.lengths
    off = _offsets(lens)
    out = np.empty(int(off[-1]), np.uint8)
    at = off[:-1].copy()
    for p in pieces:
        plen = p.lengths
        data = p.data
        if len(data):
            shift = np.repeat(at - p.offsets[:-1], plen)
            shift += np.arange(len(data), dtype=np.int64)
            out[shift] = data
        at += plen
    return StrCol(out, off)


def stack(cols: list[StrCol]) -> StrCol:
    """The rows of several columns one after the other."""
    if not cols:
        return from_list([])
    if len(cols) == 1:
        return cols[0]
    data = np.concatenate([c.data for c in cols])
    offs = [np.zeros(1, np.int64)]
    total = 0
    for c in cols:
        offs.append(c.offsets[1:] + total)
        total += int(c.offsets[-1])
    return StrCol(data, np.concatenate(offs))


def scatter(n: int, parts: list[tuple[Arr, StrCol]]) -> StrCol:
    """``n`` rows: the rows ``rows`` of each part come from its column, the others
    are empty (each event's payloads put back in record order).  With the compiled
    take the rows are copied flat; without it padded matrices are the quicker copy."""
    from .native import perf_walk

    mats = [] if perf_walk() is not None else [(rows, col.matrix()) for rows, col in parts]
    if mats and all(m is not None for _, m in mats):
        w = max((m[0].shape[1] for _, m in mats if m is not None), default=0)
        mat = np.zeros((n, w), np.uint8)
        mask = np.zeros((n, w), bool)
        lens = np.zeros(n, np.int64)
        for (rows, m), (_, col) in zip(mats, parts, strict=True):
            assert m is not None
            mat[rows, : m[0].shape[1]] = m[0]
            mask[rows, : m[1].shape[1]] = m[1]
            lens[rows] = col.lengths
        return StrCol(mat=mat, mask=mask, lens=lens)
    pos = np.full(n, -1, np.int64)
    base = 0
    for rows, _col in parts:
        pos[rows] = base + np.arange(len(rows))
        base += len(rows)
    empty = np.flatnonzero(pos < 0)
    pos[empty] = base + np.arange(len(empty))
    blank = StrCol(np.zeros(0, np.uint8), np.zeros(len(empty) + 1, np.int64))
    return stack([c for _, c in parts] + [blank]).take(pos)


def where(test: Arr, yes: StrCol, no: StrCol) -> StrCol:
    """Row i is yes[i] where test[i], else no[i]."""
    a, b = yes.matrix(), no.matrix()
    if a is not None and b is not None:
        w = max(a[0].shape[1], b[0].shape[1])
        ma, ka = _widen(a, w)
        mb, kb = _widen(b, w)
        t = np.asarray(test, bool)
        lens = np.where(t, yes.lengths, no.lengths)
        return StrCol(
            mat=np.where(t[:, None], ma, mb), mask=np.where(t[:, None], ka, kb), lens=lens
        )
    n = len(test)
    both = stack([yes, no])
    return both.take(np.where(test, np.arange(n), np.arange(n) + n))


def _widen(m: tuple[Arr, Arr], w: int) -> tuple[Arr, Arr]:
    mat, mask = m
    extra = w - mat.shape[1]
    if not extra:
        return mat, mask
    n = mat.shape[0]
    return (
        np.hstack([mat, np.zeros((n, extra), np.uint8)]),
        np.hstack([mask, np.zeros((n, extra), bool)]),
    )


def _digits(v: Arr, base: int, upper: bool) -> StrCol:
    """Digits of unsigned ``v``: a right-aligned matrix, leading zeros masked off."""
    v = np.asarray(v, np.uint64)
    n = len(v)
    if base == 16:
        shifts = np.arange(60, -4, -4, dtype=np.uint64)
        nib = ((v[:, None] >> shifts) & np.uint64(15)).astype(np.uint8)
        mat = (_HEX_UP if upper else _HEX_LO)[nib]
        nz = nib != 0
    else:
        w = 22 if base == 8 else 20
        mat = np.empty((n, w), np.uint8)
        nz = np.empty((n, w), bool)
        rest = v.copy()
        b = np.uint64(base)
        for col in range(w - 1, -1, -1):
            d = rest % b
            mat[:, col] = _DIGITS[d.astype(np.uint8)]
            nz[:, col] = rest != 0
            rest //= b
    w = mat.shape[1]
    first = np.where(nz.any(axis=1), nz.argmax(axis=1), w - 1)  # zero still prints "0"
    mask = np.arange(w)[None, :] >= first[:, None]
    return StrCol(mat=mat, mask=mask, lens=(w - first).astype(np.int64))


def unsigned(v: Arr, base: int = 10, upper: bool = False) -> StrCol:
    """``%llu`` / ``%llx`` / ``%llo`` of every value (no padding)."""
    return _digits(v, base, upper)


def signed(v: Arr) -> StrCol:
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
    n = len(col)
    mat = np.full((n, width), fill[0], np.uint8)
    mask = np.arange(width)[None, :] < short[:, None]
    padding = StrCol(mat=mat, mask=mask, lens=short.astype(np.int64))
    return concat([col, padding] if left else [padding, col])


def contains_any(col: StrCol, chars: bytes) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Per row: does it contain any of ``chars``?"""
    n = len(col)
    want = np.frombuffer(chars, np.uint8)
    if col.mat is not None and col.mask is not None:
        if not col.mat.size:
            return np.zeros(n, bool)
        hit_m = np.asarray((np.isin(col.mat, want) & col.mask).any(axis=1), bool)
        return hit_m
    data = col.data
    if not len(data):
        return np.zeros(n, bool)
    hit = np.isin(data, want)
    if not hit.any():
        return np.zeros(n, bool)
    csum = _offsets(hit.astype(np.int64))
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


def to_arrow(col: StrCol, valid: Arr | None = None) -> Any:
    """A pyarrow string array, text escaped as the dataset stores it (spftrace/text.py):
    rows that are not plain ASCII, or hold a backslash, go through ``escape_bytes``."""
    import pyarrow as pa

    from ..text import escape_bytes

    data = col.data
    if len(data) and (int(data.max()) >= 0x80 or (data == 0x5C).any()):
        special = contains_any(col, b"\\") | _non_ascii(col)
        rows = col.to_list()
        for i in np.flatnonzero(special).tolist():
            rows[i] = escape_bytes(rows[i]).encode()
        col = from_list(rows)
        data = col.data
    n = len(col)
    bitmap = None
    if valid is not None and not valid.all():
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    offsets = col.offsets
    if int(offsets[-1]) < 2**31:
        offs = pa.py_buffer(offsets.astype(np.int32))
        return pa.StringArray.from_buffers(n, offs, pa.py_buffer(data), bitmap)
    return pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(data), bitmap
    ).cast(pa.string())


def _non_ascii(col: StrCol) -> np.ndarray[Any, np.dtype[np.bool_]]:
    data = col.data
    hit = data >= 0x80
    csum = _offsets(hit.astype(np.int64))
    out: np.ndarray[Any, np.dtype[np.bool_]] = (csum[col.offsets[1:]] - csum[col.offsets[:-1]]) > 0
    return out
