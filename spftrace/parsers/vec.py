"""Numbers out of Arrow string arrays, decoded with numpy on the raw bytes.

Arrow has no hex cast, and a regex check before every decimal cast cost more
than the rest of the parse.  These decoders read each string's bytes straight
from the array's buffers and return the values plus a validity mask, in a few
vectorised passes and without per-row Python.  Each mirrors an exact Python
function (``int(x, 16)``, ``int(x)``, ``seconds_to_ns``) and is tested against it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_HEX = np.full(256, 255, np.uint8)
_DEC = np.full(256, 255, np.uint8)
for _i, _c in enumerate(b"0123456789"):
    _HEX[_c] = _i
    _DEC[_c] = _i
for _i, _c in enumerate(b"abcdef"):
    _HEX[_c] = 10 + _i
    _HEX[ord(chr(_c).upper())] = 10 + _i
_DOT = ord(".")


def string_ranges(arr: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(bytes, starts, ends, valid) of a pyarrow StringArray; starts/ends index bytes."""
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    bufs = arr.buffers()
    offs = np.frombuffer(bufs[1], np.int32, count=n + 1, offset=4 * arr.offset).astype(np.int64)
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    valid = (
        np.ones(n, bool) if arr.null_count == 0 else arr.is_valid().to_numpy(zero_copy_only=False)
    )
    return data, offs[:-1], offs[1:], valid


def _groups(starts: np.ndarray, ends: np.ndarray, ok: np.ndarray):  # type: ignore[no-untyped-def]
    """Rows grouped by string length: yields (rows, length). A column holds few lengths,
    so each group is decoded as one (rows x length) byte matrix."""
    length = ends - starts
    sel = np.flatnonzero(ok)
    if len(sel) == 0:
        return
    lens = length[sel]
    order = np.argsort(lens, kind="stable")
    sorted_lens = lens[order]
    cuts = np.flatnonzero(np.diff(sorted_lens)) + 1
    for part in np.split(order, cuts):
        rows = sel[part]
        yield rows, int(length[rows[0]])


def _matrix(data: np.ndarray, starts: np.ndarray, rows: np.ndarray, width: int) -> np.ndarray:
    return data[starts[rows, None] + np.arange(width)]


_W16 = np.array([16**k for k in range(15, -1, -1)], dtype=np.uint64)
_W10 = np.array([10**k for k in range(18, -1, -1)], dtype=np.int64)


def hex_ranges(
    data: np.ndarray, starts: np.ndarray, ends: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """uint64 of ``[0x]HEX`` strings (1-16 digits); invalid -> (0, False)."""
    n = len(starts)
    out = np.zeros(n, np.uint64)
    ok = valid & (ends - starts >= 1) & (ends - starts <= 18)
    for rows, width in _groups(starts, ends, ok):
        m = _matrix(data, starts, rows, width)
        has0x = (m[:, 0] == 0x30) & (m[:, 1] == 0x78) if width >= 3 else np.zeros(len(rows), bool)
        for prefixed in (False, True):
            pick = has0x == prefixed
            if not pick.any():
                continue
            sub = rows[pick]
            mm = m[pick][:, 2:] if prefixed else m[pick]
            digits = mm.shape[1]
            if digits == 0 or digits > 16:
                ok[sub] = False
                continue
            nib = _HEX[mm]
            good = (nib != 255).all(axis=1)
            # one matrix-vector product; uint64 arithmetic wraps, but the exact sum fits
            v = nib.astype(np.uint64) @ _W16[16 - digits :]
            out[sub] = np.where(good, v, 0)
            ok[sub] = good
    return out, ok


def _fixed(values: Any, width: int) -> tuple[Any, np.ndarray] | None:
    """The strings left-padded with '0' to ``width`` bytes, as a (rows x width) uint8
    matrix view; None when some string is longer or not ASCII (callers fall back)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    padded = pc.utf8_lpad(values, width, "0")
    if isinstance(padded, pa.ChunkedArray):
        padded = padded.combine_chunks()
    data, starts, ends, _ = string_ranges(padded)
    n = len(starts)
    if n == 0 or ends[-1] - starts[0] != n * width or not (ends - starts == width).all():
        return None
    return padded, data[starts[0] : starts[0] + n * width].reshape(n, width)


_W16X = np.array([0, 0, *(16**k for k in range(15, -1, -1))], dtype=np.uint64)


def hex_u64(arr: Any) -> tuple[np.ndarray, np.ndarray]:
    """uint64 of ``[0x]HEX`` (1-16 digits); invalid -> (0, False).  Fast path: ``0x``
    becomes ``00`` (leading zeros do not change the value), strings are left-padded
    to the widest one and the byte matrix is decoded with one product."""
    import pyarrow.compute as pc

    n = len(arr)
    if n == 0:
        return np.zeros(0, np.uint64), np.zeros(0, bool)
    at = pc.fill_null(pc.find_substring(arr, "0x"), -2).to_numpy(zero_copy_only=False)
    length = pc.fill_null(pc.binary_length(arr), 0).to_numpy(zero_copy_only=False)
    ok = ((at == -1) & (length >= 1) & (length <= 16)) | (
        (at == 0) & (length >= 3) & (length <= 18)
    )
    if not ok.any():
        return np.zeros(n, np.uint64), ok
    width = int(length[ok].max())
    text = pc.replace_substring(arr, "0x", "00", max_replacements=1)
    fixed = _fixed(pc.if_else(pa_mask(ok), text, "0"), width)
    if fixed is None:
        return hex_ranges(*string_ranges(arr))
    nib = _HEX[fixed[1]]
    ok &= (nib != 255).all(axis=1)
    v = nib.astype(np.uint64) @ _W16X[18 - width :]
    return np.where(ok, v, np.uint64(0)), ok


def pa_mask(mask: np.ndarray) -> Any:
    import pyarrow as pa

    return pa.array(mask, pa.bool_())


def dec_ranges(
    data: np.ndarray, starts: np.ndarray, ends: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """int64 of ``[-]DIGITS`` strings (1-18 digits); invalid -> (0, False)."""
    n = len(starts)
    out = np.zeros(n, np.int64)
    ok = valid & (ends - starts >= 1) & (ends - starts <= 19)
    for rows, width in _groups(starts, ends, ok):
        m = _matrix(data, starts, rows, width)
        neg = (m[:, 0] == 0x2D) if width >= 2 else np.zeros(len(rows), bool)
        dig = _DEC[m]
        dig[neg, 0] = 0
        good = (dig != 255).all(axis=1) & ((width <= 18) | neg)
        v = np.where(dig == 255, 0, dig).astype(np.int64) @ _W10[19 - width :]
        out[rows] = np.where(good, np.where(neg, -v, v), 0)
        ok[rows] = good
    return out, ok


def dec_i64(arr: Any) -> tuple[np.ndarray, np.ndarray]:
    """int64 of ``[-]DIGITS`` (1-18 digits); invalid -> (0, False).  Fast path as hex."""
    import pyarrow.compute as pc

    n = len(arr)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    length = pc.fill_null(pc.binary_length(arr), 0).to_numpy(zero_copy_only=False)
    neg = pc.fill_null(pc.starts_with(arr, "-"), False).to_numpy(zero_copy_only=False)
    ok = (length - neg >= 1) & (length - neg <= 18)
    if not ok.any():
        return np.zeros(n, np.int64), ok
    width = int(length[ok].max())
    text = (
        pc.if_else(pa_mask(neg), pc.replace_substring(arr, "-", "0", max_replacements=1), arr)
        if neg.any()
        else arr
    )
    fixed = _fixed(pc.if_else(pa_mask(ok), text, "0"), width)
    if fixed is None:
        return dec_ranges(*string_ranges(arr))
    dig = _DEC[fixed[1]]
    if neg.any():  # a '-' anywhere but first is invalid; first became '0'
        ok &= ~(neg & (pc.find_substring(arr, "-").to_numpy(zero_copy_only=False) != 0))
    ok &= (dig != 255).all(axis=1)
    v = np.where(dig == 255, 0, dig).astype(np.int64) @ _W10[19 - width :]
    v = np.where(neg, -v, v)
    return np.where(ok, v, 0), ok


def seconds_ns(arr: Any) -> tuple[np.ndarray, np.ndarray]:
    """``SEC.FRAC`` -> exact int64 ns (digits past 9 truncated); ``DIGITS`` (counter
    clocks) -> the count itself.  Mirrors ``tracetext.time_to_ns``."""
    data, starts, ends, valid = string_ranges(arr)
    n = len(starts)
    out = np.zeros(n, np.int64)
    ok = valid & (ends - starts >= 1) & (ends - starts <= 40)
    if n and ok.all() and (ends - starts == ends[0] - starts[0]).all():
        # the usual case: every stamp has the same layout (e.g. "1527.730986")
        width = int(ends[0] - starts[0])
        m = data[starts[0] : starts[0] + n * width].reshape(n, width)
        d = int(np.argmax(m[0] == _DOT)) if (m[0] == _DOT).any() else width
        if d < width and d <= 10 and (m[:, d] == _DOT).all():
            dig = _DEC[np.delete(m, d, axis=1)]
            if (dig != 255).all() and width - 1 - d <= 9 and width > 1:
                w = dig.astype(np.int64)
                whole = w[:, :d] @ _W10[19 - d :] if d else np.zeros(n, np.int64)
                fd = width - 1 - d
                frac = w[:, d:] @ _W10[19 - fd :] if fd else np.zeros(n, np.int64)
                return whole * 1_000_000_000 + frac * 10 ** (9 - fd), ok
    for rows, width in _groups(starts, ends, ok):
        m = _matrix(data, starts, rows, width)
        is_dot = m == _DOT
        dots = is_dot.sum(axis=1)
        dig = _DEC[m]
        bad = ((dig == 255) & ~is_dot).any(axis=1) | (dots > 1) | (width - dots == 0)
        dpos = np.where(dots == 1, is_dot.argmax(axis=1), width)
        for d in np.unique(dpos[~bad]):
            pick = (~bad) & (dpos == d)
            sub = m[pick]
            whole_digits = int(d)
            if whole_digits > (10 if d < width else 18):
                bad |= pick
                continue
            dd = _DEC[sub].astype(np.int64)
            whole = (
                dd[:, :whole_digits] @ _W10[19 - whole_digits :]
                if whole_digits
                else np.zeros(len(sub), np.int64)
            )
            if d < width:
                fd = min(width - whole_digits - 1, 9)
                part: Any = (
                    dd[:, whole_digits + 1 : whole_digits + 1 + fd] @ _W10[19 - fd :] if fd else 0
                )
                val: Any = whole * 1_000_000_000 + part * 10 ** (9 - fd)
            else:
                val = whole
            out[rows[pick]] = val
        out[rows[bad]] = 0
        ok[rows] = ~bad
    return out, ok
