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
    max_pending: int = 4_000_000
    ts: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0, U64))
    ref: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0, np.int64))
    next_flush: int = 0
    max_timestamp: int = 0
    last_ts: int = 0  # oe->last->timestamp: the record queued last
    half_flushes: int = 0
    out_of_order: int = 0
    last_flush: int = 0

    def __len__(self) -> int:
        return len(self.ts)

    def push(self, ts: np.ndarray[Any, Any], ref: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Queue records (in arrival order); returns refs delivered by a half flush."""
        if not len(ts):
            return np.zeros(0, np.int64)
        ts = np.asarray(ts, U64)
        self.out_of_order += int(np.count_nonzero(ts < U64(self.last_flush)))
        hi = int(ts.max())
        if not len(self.ts) or hi >= int(self.ts.max()):
            self.max_timestamp = hi
        self.last_ts = int(ts[-1])
        # stable merge: the queue is sorted; new records go after equal times
        allts = np.concatenate([self.ts, ts])
        allref = np.concatenate([self.ref, np.asarray(ref, np.int64)])
        order = np.argsort(allts, kind="stable")
        self.ts, self.ref = allts[order], allref[order]
        if len(self.ts) > self.max_pending:
            return self._half()
        return np.zeros(0, np.int64)

    def _deliver(self, limit: int) -> np.ndarray[Any, Any]:
        cut = int(np.searchsorted(self.ts, U64(limit), side="right"))
        out = self.ref[:cut]
        if cut:
            self.last_flush = int(self.ts[cut - 1])
        self.ts, self.ref = self.ts[cut:], self.ref[cut:]
        return out

    def round(self) -> np.ndarray[Any, Any]:
        """FINISHED_ROUND: refs delivered now, in order."""
        out = self._deliver(self.next_flush) if self.next_flush else np.zeros(0, np.int64)
        self.next_flush = self.max_timestamp
        return out

    def _half(self) -> np.ndarray[Any, Any]:
        self.half_flushes += 1
        first = int(self.ts[0])
        limit = first + (self.last_ts - first) // 2 if self.last_ts >= first else first
        self.next_flush = limit
        return self._deliver(limit)

    def final(self) -> np.ndarray[Any, Any]:
        out = self.ref
        self.ts, self.ref = np.zeros(0, U64), np.zeros(0, np.int64)
        return out
