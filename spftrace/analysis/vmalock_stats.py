"""The per-VMA-lock pass's running figures: duration distributions, write holders,
and the intervals the culprit search needs, each kept as the batches go.

Why: a 50M-event run has millions of holds and waits; keeping every one as Python or
numpy lists until the end (and concatenating them then) was most of the report's
peak memory.  Durations are kept as distinct values with their counts (the same
percentiles as the whole list), holders as per-(thread, call site) counts, sums and
maxima (the same figures), and the culprit search's intervals, needed only when the
run can be classified exactly, in compact columns dropped as soon as it cannot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Dist:
    """Durations (ns) and whether each was of a write hold, kept as the distinct
    (duration, write) values with their counts: the same summary as the whole list,
    in memory that grows with the distinct durations rather than with the events."""

    keys: Any = field(default_factory=lambda: np.zeros(0, np.int64))  # ns * 2 + write, sorted
    counts: Any = field(default_factory=lambda: np.zeros(0, np.int64))
    pending: list[Any] = field(default_factory=list)
    npending: int = 0

    def add(self, ns: Any, write: Any) -> None:
        if len(ns):
            self.pending.append(ns.astype(np.int64) * 2 + write.astype(np.int64))
            self.npending += len(ns)
            if self.npending >= 1 << 20:
                self._compact()

    def _compact(self) -> None:
        if not self.pending:
            return
        new = np.concatenate(self.pending)
        keys = np.concatenate([self.keys, new])
        counts = np.concatenate([self.counts, np.ones(len(new), np.int64)])
        self.keys, inv = np.unique(keys, return_inverse=True)
        self.counts = np.zeros(len(self.keys), np.int64)
        np.add.at(self.counts, inv, counts)
        self.pending, self.npending = [], 0

    def summary(self) -> dict[str, Any]:
        self._compact()
        if not len(self.keys):
            return {"count": 0}
        ns, wr, c = self.keys >> 1, (self.keys & 1).astype(bool), self.counts
        us = ns / 1e3
        edges = [1, 10, 100, 1000]
        names = ["<1", "1-10", "10-100", "100-1000", ">=1000"]
        at = np.searchsorted(edges, us, side="right")
        hist = np.bincount(at, weights=c, minlength=5).astype(np.int64)
        p50, p90, p99 = (float(x) for x in _quantiles(us, c, [0.5, 0.9, 0.99]))
        n = int(c.sum())
        return {
            "count": n, "p50": _r(p50), "p90": _r(p90), "p99": _r(p99),
            "max": _r(float(us[-1])), "total": _r(_sum_us(ns, c)),
            "write_count": int(c[wr].sum()), "write_total": _r(_sum_us(ns[wr], c[wr])),
            "histogram": {k: int(v) for k, v in zip(names, hist, strict=True)},
        }  # fmt: skip


def _sum_us(ns: Any, counts: Any) -> float:
    """The durations' sum in us, from the exact sum in ns."""
    return sum(int(v) * int(k) for v, k in zip(ns, counts, strict=True)) / 1e3


def _quantiles(values: Any, counts: Any, qs: list[float]) -> Any:
    """``np.quantile`` (linear) of ``values`` (sorted, distinct) each repeated
    ``counts`` times, computed as numpy does, so the figures are the same."""
    n = int(counts.sum())
    q = np.asarray(qs, np.float64)
    virtual = (n - 1) * q
    prev = np.floor(virtual)
    nxt = prev + 1
    prev[virtual >= n - 1] = n - 1
    nxt[virtual >= n - 1] = n - 1
    prev[virtual < 0] = 0
    nxt[virtual < 0] = 0
    ends = np.cumsum(counts)
    a = values[np.searchsorted(ends, prev.astype(np.int64), side="right")]
    b = values[np.searchsorted(ends, nxt.astype(np.int64), side="right")]
    gamma = virtual - np.floor(virtual)
    diff = b - a
    out = a + diff * gamma
    hi = gamma >= 0.5
    out[hi] = (b - diff * (1 - gamma))[hi]
    return out


def _r(v: float) -> float:
    return round(v, 3)


@dataclass
class Holders:
    """Write holds per (thread, call site): the order each pair first held (its
    position among all write holds), how many holds, their total and longest (ns)."""

    stats: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    seen: int = 0  # write holds so far

    def add(self, tid: Any, held: Any, site: Any) -> None:
        if not len(tid):
            return
        key = (tid.astype(np.int64) << 32) | (site.astype(np.int64) & 0xFFFFFFFF)
        uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
        held = held.astype(np.int64)
        count = np.bincount(inv, minlength=len(uniq))
        total = np.zeros(len(uniq), np.int64)
        np.add.at(total, inv, held)
        longest = np.zeros(len(uniq), np.int64)
        np.maximum.at(longest, inv, held)
        for u, f, n, t, m in zip(uniq.tolist(), first.tolist(), count.tolist(),
                                 total.tolist(), longest.tolist(), strict=True):  # fmt: skip
            s = u & 0xFFFFFFFF
            k = (u >> 32, s - (1 << 32) if s >= 1 << 31 else s)
            e = self.stats.get(k)
            if e is None:
                self.stats[k] = [self.seen + f, n, t, m]
            else:
                e[1] += n
                e[2] += t
                e[3] = max(e[3], m)
        self.seen += len(tid)

    def rows(
        self, comms: dict[int, str], op: Callable[[int], str], top: int
    ) -> list[dict[str, Any]]:
        """The ``top`` threads by time held (then tid), each with its operations
        (most holds first, ties in the order they first held)."""
        by_tid: dict[int, list[tuple[int, int, int, int, int]]] = {}
        for (tid, site), (first, n, total, longest) in self.stats.items():
            by_tid.setdefault(tid, []).append((first, site, n, total, longest))
        sums = {t: (sum(e[3] for e in v), t) for t, v in by_tid.items()}
        rows = []
        for tid in sorted(by_tid, key=lambda t: (-sums[t][0], t))[:top]:
            entries = sorted(by_tid[tid])
            ops: Counter[str] = Counter()
            for _first, site, n, _t, _m in entries:
                ops[op(site)] += n
            rows.append({
                "comm": comms.get(tid), "tid": tid, "holds": sum(e[2] for e in entries),
                "held_us": _r(sums[tid][0] / 1e3),
                "longest_us": _r(max(e[4] for e in entries) / 1e3),
                "ops": dict(ops.most_common()),
            })  # fmt: skip
        return rows


@dataclass
class Spans:
    """Rows of equal-length columns appended a batch at a time; ``columns()`` joins
    each column once, dropping its pieces as it goes (no second copy of the rest)."""

    pieces: list[list[Any]] = field(default_factory=list)

    def append(self, *cols: Any) -> None:
        if not self.pieces:
            self.pieces = [[] for _ in cols]
        for store, col in zip(self.pieces, cols, strict=True):
            store.append(col)

    def __bool__(self) -> bool:
        return bool(self.pieces) and bool(self.pieces[0])

    def clear(self) -> None:
        self.pieces = []

    def columns(self) -> tuple[Any, ...]:
        out = []
        for store in self.pieces:
            out.append(np.concatenate(store))
            store.clear()
        self.pieces = []
        return tuple(out)
