"""One round of the trace.dat merge (merge.py): which records it takes, merged into
trace-cmd's order, and the rows waiting for a full batch; what a piece keeps."""

from __future__ import annotations

from typing import Any

import numpy as np


def compact(
    blob: np.ndarray[Any, Any], off: np.ndarray[Any, Any], ln: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The records' bytes of a piece, end to end, and their offsets in them: a piece
    of few records is not held whole while they wait (512 CPUs of 1 MiB pages of one
    record each held 512 MiB: peak RSS 587 MB)."""
    starts = np.zeros(len(ln), np.int64)
    np.cumsum(ln[:-1], out=starts[1:])
    idx = np.repeat(off - starts, ln) + np.arange(int(ln.sum()), dtype=np.int64)
    return blob[idx], starts


def cap_cuts(keys: list[np.ndarray[Any, Any]], cuts: list[int], cap: int) -> list[int]:
    """The cuts (records taken from each stream, whose merge keys ``keys`` are sorted,
    in stream order) of a round, at most about ``cap`` records in all, still a prefix
    of the merge's order: every record below a time ``t`` (the (cap+1)-th least key
    taken), or, when all those are at the least time, that time's records stream by
    stream.  Every stream's unread records are at or past the round's bound, so the
    records below ``t`` are all among those waiting.  A round took every waiting
    record at or below its bound: 64 CPUs' first pieces, 1.4M records merged at once
    (67 MB beside the 56 MB they came from)."""
    if sum(cuts) <= cap:
        return cuts
    least = np.concatenate([k[:c] for k, c in zip(keys, cuts, strict=True)])
    t = least.dtype.type(np.partition(least, cap)[cap])
    del least
    new = [min(c, int(np.searchsorted(k, t, "left"))) for k, c in zip(keys, cuts, strict=True)]
    if any(new):
        return new
    got = 0
    for j, (k, c) in enumerate(zip(keys, cuts, strict=True)):  # all at t: by stream
        if got < cap:
            new[j] = min(c, int(np.searchsorted(k, t, "right")))
            got += new[j]
    return new


def merge_parts(
    parts: list[tuple[Any, ...]], *, drop: bool = False
) -> tuple[np.ndarray[Any, Any], ...]:
    """The parts' records by time, ties by stream, then in stream order: the parts come
    in stream order, so one stable sort of the concatenated times is that order (what
    ``np.lexsort((stream, time))`` gives, the reference), and one part needs none.
    ``drop``: empty ``parts`` and merge a column at a time, each column's pieces let go
    once merged (the cut records and their merge were held together: 64 CPUs of
    12-byte records, 56 MB twice)."""
    if len(parts) == 1:
        p = parts[0]
        return (p[2], np.full(len(p[0]), p[6], np.int64), p[3], p[4], p[5])
    order = np.argsort(np.concatenate([p[0] for p in parts]), kind="stable")  # sorted runs
    cols = [[p[k] for p in parts] for k in (2, 3, 4, 5)]
    cpu = np.concatenate([np.full(len(p[0]), p[6], np.int64) for p in parts])[order]
    if drop:
        parts.clear()
    out = []
    for k in range(4):
        out.append(np.concatenate(cols[k])[order])
        cols[k] = []
    return (out[0], cpu, out[1], out[2], out[3])


def own(p: tuple[np.ndarray[Any, Any], ...]) -> tuple[np.ndarray[Any, Any], ...]:
    """Waiting rows that are the rest of a larger merge, copied: as views they kept the
    whole merge (1.4M records of 64 CPUs) through the next loads.  A copy owns its
    rows, so each row is copied at most once."""
    base = p[0].base
    if base is None or len(base) <= 2 * len(p[0]) + 4096:
        return p
    return tuple(c.copy() for c in p)


def take_rows(
    pend: list[tuple[np.ndarray[Any, Any], ...]], k: int
) -> tuple[tuple[np.ndarray[Any, Any], ...], list[tuple[np.ndarray[Any, Any], ...]], int]:
    """The first ``k`` pending records, the rest (as views) and their count: only the
    taken records are copied (all of them were, for each batch of a merge's 2M)."""
    took: list[tuple[np.ndarray[Any, Any], ...]] = []
    rest: list[tuple[np.ndarray[Any, Any], ...]] = []
    got = 0
    for p in pend:
        n = len(p[0])
        if got >= k:
            rest.append(p)
        elif got + n <= k:
            took.append(p)
            got += n
        else:
            took.append(tuple(c[: k - got] for c in p))
            rest.append(tuple(c[k - got :] for c in p))
            got = k
    take = (
        took[0] if len(took) == 1 else tuple(np.concatenate([p[i] for p in took]) for i in range(5))
    )
    return take, rest, sum(len(p[0]) for p in rest)
