"""Reading fields of ring-buffer records for the trace.dat merge (merge.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import strcol as sc


def _read_uint(
    buf: np.ndarray[Any, Any], at: np.ndarray[Any, Any], size: int, big: bool
) -> np.ndarray[Any, Any]:
    if not len(at):
        return np.zeros(0, np.int64)
    if int(at.min()) >= 0 and int(at.max()) + size <= len(buf):
        # every field inside the buffer: one gather per byte instead of a clipped
        # (records x size) index matrix; _read_uint_clipped is the reference
        out = np.zeros(len(at), np.int64)
        for k in range(size):
            shift = 8 * (size - 1 - k) if big else 8 * k
            out |= buf[at + k].astype(np.int64) << shift
        return out
    return _read_uint_clipped(buf, at, size, big)


def _read_uint_clipped(
    buf: np.ndarray[Any, Any], at: np.ndarray[Any, Any], size: int, big: bool
) -> np.ndarray[Any, Any]:
    """Fields that may run past the buffer: their bytes clipped to its ends."""
    if not len(at):
        return np.zeros(0, np.int64)
    idx = np.clip(at[:, None] + np.arange(size), 0, max(len(buf) - 1, 0))
    mat = np.ascontiguousarray(buf[idx])
    return mat.view((">" if big else "<") + f"u{size}").reshape(-1).astype(np.int64)


def _lstrip(col: sc.StrCol) -> sc.StrCol:
    """The text parser strips the blanks after 'event:' (trace-cmd pads names)."""
    if not len(col.data):
        return col
    lead = np.zeros(len(col), np.int64)
    starts = col.offsets[:-1].copy()
    lens = col.lengths
    for _ in range(8):  # payloads rarely start with blanks; bound the scan
        more = (lead < lens) & np.isin(
            col.data[np.minimum(starts + lead, len(col.data) - 1)], (32, 9)
        )
        if not more.any():
            break
        lead += more
    if not lead.any():
        return col
    return sc.gather(col.data, starts + lead, lens - lead)


def _cmdlines(text: bytes) -> dict[int, bytes]:
    """saved_cmdlines as libtraceevent reads it: '%d %m[^\\n]s' per line."""
    out: dict[int, bytes] = {}
    for line in text.split(b"\n"):
        head, _, rest = line.partition(b" ")
        try:
            pid = int(head)
        except ValueError:
            continue
        if rest and pid not in out:
            out[pid] = rest
    return out
