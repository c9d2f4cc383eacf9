"""perf's delivery order on arrays (perf_data/order.py) against a record-at-a-time
model of tools/perf/util/ordered-events.c (perf 6.1), and the distinct-value
helpers the row builder uses against np.unique and a plain loop.

The model keeps perf's list: every record is queued one at a time in (time,
arrival) order; FINISHED_ROUND delivers what is at or before the limit and sets
the limit to max_timestamp (the time of the last record queued while the list
was empty or that sorted last); past the allocation limit half the span is
flushed (OE_FLUSH__HALF: first + (last - first) / 2); a record older than the
last delivered one is counted as out of order.  Seeds make every case repeatable."""

from __future__ import annotations

import bisect
import random

import numpy as np
import pytest

from spftrace.formats.numbers import unique_inverse
from spftrace.formats.perf_data.order import Queue
from spftrace.formats.perf_data.rows import run_tid_pairs


class Model:
    def __init__(self, max_pending: int) -> None:
        self.max_pending = max_pending
        self.keys: list[tuple[int, int]] = []  # (time, arrival), sorted
        self.refs: dict[tuple[int, int], int] = {}
        self.arrival = 0
        self.max_timestamp = 0
        self.next_flush = 0
        self.last_flush = 0
        self.last_ts = 0
        self.out_of_order = 0
        self.half_flushes = 0

    def queue(self, ts: int, ref: int) -> list[int]:
        if ts < self.last_flush:
            self.out_of_order += 1
        if not self.keys or ts >= self.keys[-1][0]:
            self.max_timestamp = ts
        key = (ts, self.arrival)
        self.arrival += 1
        bisect.insort(self.keys, key)
        self.refs[key] = ref
        self.last_ts = ts
        if len(self.keys) > self.max_pending:
            self.half_flushes += 1
            first = self.keys[0][0]
            limit = first + (self.last_ts - first) // 2
            self.next_flush = limit
            return self.deliver(limit)
        return []

    def deliver(self, limit: int) -> list[int]:
        out = [k for k in self.keys if k[0] <= limit]
        self.keys = self.keys[len(out) :]
        if out:
            self.last_flush = out[-1][0]
        return [self.refs.pop(k) for k in out]

    def round(self) -> list[int]:
        out = self.deliver(self.next_flush) if self.next_flush else []
        self.next_flush = self.max_timestamp
        return out


def _script(seed: int) -> list[list[int] | None]:
    """Chunks of times as perf record writes them (a few CPUs' buffers, each in
    time order, some late), None for a FINISHED_ROUND."""
    rng = random.Random(seed)
    clocks = [rng.randrange(1, 50) for _ in range(rng.randrange(1, 5))]
    out: list[list[int] | None] = []
    for _ in range(rng.randrange(5, 60)):
        if rng.random() < 0.3:
            out.append(None)
            continue
        chunk = []
        for _ in range(rng.randrange(1, 40)):
            c = rng.randrange(len(clocks))
            clocks[c] += rng.randrange(0, 20)
            late = rng.random() < 0.05
            chunk.append(max(1, clocks[c] - rng.randrange(0, 200)) if late else clocks[c])
        out.append(chunk)
    return out


@pytest.mark.parametrize("seed", range(60))
def test_queue_delivers_as_perf_ordered_events(seed: int) -> None:
    max_pending = [4, 16, 10_000][seed % 3]
    model = Model(max_pending)
    q = Queue(max_pending=max_pending)
    got: list[int] = []
    want: list[int] = []
    ref = 0
    for step in _script(seed):
        if step is None:
            got += q.round().tolist()
            want += model.round()
            continue
        refs = list(range(ref, ref + len(step)))
        ref += len(step)
        # the array queue takes a chunk whole and flushes half at its end, the
        # model record by record: compare where both agree, chunks that do not
        # cross the limit, and otherwise one record at a time
        if q.count + len(step) > max_pending:
            for t, r in zip(step, refs, strict=True):
                got += q.push(np.array([t], np.uint64), np.array([r])).tolist()
                want += model.queue(t, r)
        else:
            got += q.push(np.array(step, np.uint64), np.array(refs)).tolist()
            for t, r in zip(step, refs, strict=True):
                want += model.queue(t, r)
        assert got == want
    got += q.final().tolist()
    want += model.deliver((1 << 64) - 1)
    assert got == want
    assert sorted(got) == list(range(ref))
    assert (q.out_of_order, q.half_flushes) == (model.out_of_order, model.half_flushes)


@pytest.mark.parametrize("k", [1, 3, 17, 70, 5000])
def test_unique_inverse_is_np_unique(k: int) -> None:
    rng = np.random.default_rng(k)
    for dtype in (np.uint64, np.int64, np.int32):
        vals = rng.integers(-(2**31), 2**31 - 1, k).astype(dtype)
        for n in (0, 1, 300, 5000, 40000):
            a = rng.choice(vals, n) if n else np.zeros(0, dtype)
            u, inv = unique_inverse(a)
            want_u, want_inv = np.unique(a, return_inverse=True)
            assert u.dtype == want_u.dtype and (u == want_u).all()
            assert inv.shape == (n,) and (inv == want_inv.reshape(-1)).all()


@pytest.mark.parametrize("seed", range(8))
def test_run_tid_pairs_is_the_sorted_distinct_pairs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 3000))
    nruns = int(rng.integers(1, [4, 40, 3000][seed % 3]))
    run = np.sort(rng.integers(0, nruns, n))
    pool = np.array([-1, 0, 1, 7, 2**31 - 1, -(2**31), 4242, 99], np.int32)
    tid = rng.choice(pool[: int(rng.integers(1, 9))], n) if n else np.zeros(0, np.int32)
    if seed == 7:
        tid = rng.integers(-(2**31), 2**31 - 1, n).astype(np.int32)  # many threads
    pair_run, pair_tid, inv = run_tid_pairs(run, tid, nruns)
    want = sorted({(int(r), int(t)) for r, t in zip(run, tid, strict=True)})
    assert list(zip(pair_run.tolist(), pair_tid, strict=True)) == want
    assert [want[i] for i in inv.tolist()] == list(zip(run.tolist(), tid.tolist(), strict=True))
