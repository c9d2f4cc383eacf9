"""perf's delivery order: the ordered-events queue of perf 6.1, on arrays.

Reference: tools/perf/util/ordered-events.c and session.c (perf_session__process_event).
A record with a time (samples, and others with sample_id_all) is queued; one
without (time 0 or ~0, and perf's own user records) is delivered at once.  The
queue is kept sorted by time, equal times in arrival order.  FINISHED_ROUND
delivers every queued record with time <= the limit, then sets the limit to the
largest time queued so far (max_timestamp: updated by a record queued while the
queue is empty or that sorts last); the first round's limit is 0, so it delivers
nothing.  At the end everything left is delivered.  perf grows the queue without
bound; here a queue past ``max_pending`` records is halved the way perf does when
its allocation limit is hit (OE_FLUSH__HALF), and the count is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

U64 = np.uint64


@dataclass
class Queue:
    """The pending records as chunks in arrival order; sorted only when delivered
    (the list perf keeps sorted holds the same records in the same (time,
    arrival) order, so a stable sort of the delivered part gives perf's order)."""

    max_pending: int = 4_000_000
    chunks: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = field(default_factory=list)
    count: int = 0
    pending_max: int = 0
    next_flush: int = 0
    max_timestamp: int = 0
    last_ts: int = 0  # oe->last->timestamp: the record queued last
    half_flushes: int = 0
    out_of_order: int = 0
    last_flush: int = 0

    def __len__(self) -> int:
        return self.count

    @property
    def ref(self) -> np.ndarray[Any, Any]:
        if not self.chunks:
            return np.zeros(0, np.int64)
        return np.concatenate([r for _, r in self.chunks])

    def push(self, ts: np.ndarray[Any, Any], ref: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Queue records (in arrival order); returns refs delivered by a half flush."""
        if not len(ts):
            return np.zeros(0, np.int64)
        ts = np.asarray(ts, U64)
        self.out_of_order += int(np.count_nonzero(ts < U64(self.last_flush)))
        hi = int(ts.max())
        if not self.count or hi >= self.pending_max:
            self.max_timestamp = hi
            self.pending_max = hi
        self.last_ts = int(ts[-1])
        self.chunks.append((ts, np.asarray(ref, np.int64)))
        self.count += len(ts)
        if self.count > self.max_pending:
            return self._half()
        return np.zeros(0, np.int64)

    def _deliver(self, limit: int) -> np.ndarray[Any, Any]:
        if not self.chunks:
            return np.zeros(0, np.int64)
        if len(self.chunks) == 1:
            ts, ref = self.chunks[0]
        else:
            ts = np.concatenate([t for t, _ in self.chunks])
            ref = np.concatenate([r for _, r in self.chunks])
        sel = ts <= U64(limit)
        n_out = int(np.count_nonzero(sel))
        if n_out == 0:  # nothing due: the chunks kept as one
            self.chunks = [(ts, ref)]
            return np.zeros(0, np.int64)
        if n_out == len(ts):  # everything due
            out_ts, out_ref = ts, ref
            self.chunks = []
            self.count = self.pending_max = 0
        else:
            out_ts, out_ref = ts[sel], ref[sel]
            keep = ~sel
            kept = ts[keep]
            self.chunks = [(kept, ref[keep])]
            self.count = len(kept)
            self.pending_max = int(kept.max())
        order = np.argsort(out_ts, kind="stable")
        self.last_flush = int(out_ts[order[-1]])  # the largest time delivered
        return out_ref[order]

    def round(self) -> np.ndarray[Any, Any]:
        """FINISHED_ROUND: refs delivered now, in order."""
        out = self._deliver(self.next_flush) if self.next_flush else np.zeros(0, np.int64)
        self.next_flush = self.max_timestamp
        return out

    def _half(self) -> np.ndarray[Any, Any]:
        self.half_flushes += 1
        first = int(min(int(t.min()) for t, _ in self.chunks))
        # u64 arithmetic, as perf: first + (last - first) / 2
        limit = (first + (((self.last_ts - first) & 0xFFFFFFFFFFFFFFFF) // 2)) & 0xFFFFFFFFFFFFFFFF
        self.next_flush = limit
        return self._deliver(limit)

    def final(self) -> np.ndarray[Any, Any]:
        return self._deliver((1 << 64) - 1)
