"""The base kernel on 4.17's rwsem wait list (``Workload.rwsem_queue``).

Every fault takes mmap_sem for read and every VMA change for write, on one FIFO wait
list (kernel/locking/rwsem-xadd.c, 4.17):

* a fault starting while no writer holds or waits and nobody is queued takes the lock
  at once (the ``__down_read`` fast path) and holds it for its service time;
* otherwise it queues.  A release by a writer wakes the head of the list: a writer
  alone, or "an infinite number of read locks to the readers at the front of the
  queue" (``__rwsem_mark_wake``, up to the first queued writer); each woken task runs
  one wake-up later (``wakeup_us``, spread ``wake_cv``);
* a writer waits until the readers holding the lock are done; when it had to queue it
  sleeps and runs one wake-up after the lock came free (a queued writer cannot spin
  on a reader-owned lock; writers spinning on a writer and stealing the lock are not
  modelled, as in the spf model's hand-off).

So between two VMA changes queued behind each other sits, when faults queued between
them, a reader batch: woken, one fault each, released, and then the next writer woken
(H + W + f + W per change instead of H + W).  Each thread loops as in ``model``: mmap,
a run of ``chunk_pages`` faults, compute, munmap, gap.  Faults are events one by one.
"""

from __future__ import annotations

import heapq
from collections import deque

import numpy as np

from .layout import Layout, group_vma
from .result import Result, Write
from .workloads import Workload

# event kinds, in the order ties are handled
_RELEASE, _GRANT, _REQUEST, _FAULT = range(4)


class _Lock:
    def __init__(self) -> None:
        self.writer: int | None = None  # thread holding it for write
        self.reserved = False  # a woken writer is on its way (the lock is its)
        self.readers_until = 0.0  # when the readers holding it are done
        self.queue: deque[tuple[str, int, float]] = deque()  # (R|W, thread, queued at)

    def open_for_readers(self) -> bool:
        return self.writer is None and not self.reserved and not self.queue


class WaitListBase:
    """Simulate ``w`` on the base kernel with the rwsem wait list."""

    def __init__(self, w: Workload, *, seed: int = 1, keep_trace: bool = False) -> None:
        self.w = w
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.keep = keep_trace
        speed = min(1.0, w.cpus / max(1, w.threads))
        sharing = min(w.threads_per_mm, w.cpus) - 1
        self.fault_us = (w.page_fault_us + w.bounce_us * sharing) / speed
        self.touch_us = w.touch_us / speed
        self.speed = speed
        n = w.threads
        self.mm = [i // max(1, w.threads_per_mm) for i in range(n)]
        self.locks = {m: _Lock() for m in set(self.mm)}
        self.jitter = [1.0] * n  # this run's pace (measured spread of a run's mean fault)
        self.run_fault = [self.fault_us] * n  # this run's fault (after its thread's sleep)
        self.granted = [0.0] * n  # when the current VMA change got the lock
        self.left = [0] * n  # faults left in the current run
        self.op = ["mmap"] * n  # the VMA change a thread asks for next
        self.t_req = [0.0] * n
        self.run_start = [0.0] * n
        self.group = [0] * n
        self.layout = Layout(w)
        self.heap: list[tuple[float, int, int, int]] = []
        self.seq = 0
        self.faults = 0
        self.ops = 0
        self.ops_thread = [0] * n
        self.writes = 0
        self.wait_us = 0.0
        self.fault_wait_us = 0.0
        self.fault_time_us = 0.0
        self.write_log: list[Write] = []
        self.runs: list[tuple[int, float, float, int, int, int]] = []
        self.timeline: list[tuple[float, int, int, int, int, int, int]] = []
        self.rounds = [0] * n

    # -- helpers ------------------------------------------------------------------------
    def _push(self, at: float, kind: int, thread: int) -> None:
        heapq.heappush(self.heap, (at, kind, self.seq, thread))
        self.seq += 1

    def _wake(self) -> float:
        wake = self.w.wakeup_us
        if self.w.wake_cv > 0:
            wake *= float(self.rng.lognormal(0.0, self.w.wake_cv))
        return wake

    def _fault(self, t: int, start: float) -> None:
        """Fault of ``t`` runs from ``start``: the lock is held for read until it ends."""
        f = self.run_fault[t]
        lock = self.locks[self.mm[t]]
        lock.readers_until = max(lock.readers_until, start + f)
        self.faults += 1
        self.fault_time_us += f
        if self.w.ops_per_fault:
            self.ops += 1
            self.ops_thread[t] += 1
        self.left[t] -= 1
        end = start + f
        if self.left[t] > 0:
            self._push(end + self.touch_us * self.jitter[t], _FAULT, t)
        else:
            if self.keep:
                period = self.run_fault[t] + self.touch_us * self.jitter[t]
                k = self.w.chunk_pages
                self.runs.append((t, self.run_start[t], period, k, self.group[t], 0))
                self.timeline.append((end, self.faults, 0, 0, 0, 0, 0))
            self.op[t] = "munmap"
            self._push(end + self.w.compute_us / self.speed, _REQUEST, t)

    def _grant_writer(self, lock: _Lock, t: int, at: float) -> None:
        lock.reserved = True
        self._push(at, _GRANT, t)

    def _dispatch(self, lock: _Lock, now: float) -> None:
        """The lock came free of its writer at ``now``: wake the head of the list."""
        if not lock.queue or lock.reserved:
            return
        kind, t, queued = lock.queue[0]
        if kind == "W":
            lock.queue.popleft()
            self._grant_writer(lock, t, max(now, lock.readers_until) + self._wake())
            return
        while lock.queue and lock.queue[0][0] == "R":
            _, t, queued = lock.queue.popleft()
            start = now + self._wake()
            wait = start - queued
            self.wait_us += wait
            self.fault_wait_us += wait
            self._fault(t, start)
        if lock.queue:  # a writer behind the batch: woken when the batch is done
            _, t, _ = lock.queue.popleft()
            self._grant_writer(lock, t, lock.readers_until + self._wake())

    # -- the run ------------------------------------------------------------------------
    def run(self) -> Result:
        w = self.w
        limit = w.duration_us
        for t in range(w.threads):
            self._push(float(self.rng.uniform(0, w.mmap_us)), _REQUEST, t)
        while self.heap:
            now, kind, _, t = heapq.heappop(self.heap)
            if now > limit:
                break
            lock = self.locks[self.mm[t]]
            if kind == _FAULT:
                if lock.open_for_readers():
                    self._fault(t, now)
                else:
                    lock.queue.append(("R", t, now))
            elif kind == _REQUEST:
                self.t_req[t] = now
                if lock.writer is None and not lock.reserved and not lock.queue:
                    if lock.readers_until <= now:
                        self._push(now, _GRANT, t)
                        lock.reserved = True
                    else:  # readers inside: sleep until they are done
                        self._grant_writer(lock, t, lock.readers_until + self._wake())
                else:
                    lock.queue.append(("W", t, now))
            elif kind == _GRANT:
                lock.reserved = False
                lock.writer = t
                self.granted[t] = now
                self.wait_us += now - self.t_req[t]
                self.writes += 1
                hold = w.write_hold_us(self.op[t], False)
                if self.op[t] == "mmap":
                    self.group[t] = self.layout.place(t) if w.layout else 0
                if self.keep:
                    vs, ve = group_vma(w, self.mm[t], self.group[t])
                    self.write_log.append(
                        Write(self.t_req[t], now, now + hold, t, self.op[t], vs, ve)
                    )
                self._push(now + hold, _RELEASE, t)
            else:  # _RELEASE
                lock.writer = None
                self._after_write(t, now)
                self._dispatch(lock, now)
        return self._result(max(limit, 1.0))

    def _after_write(self, t: int, now: float) -> None:
        w = self.w
        if self.op[t] == "mmap":
            cv = w.pace_cv
            self.jitter[t] = float(self.rng.lognormal(0.0, cv)) if cv > 0 else 1.0
            # the run is slower when the thread slept for its mmap (fault_idle.c)
            cold = w.idle_extra_us(self.granted[t] - self.t_req[t]) / self.speed
            self.run_fault[t] = (self.fault_us + cold) * self.jitter[t]
            self.left[t] = w.chunk_pages
            self.run_start[t] = now
            self._push(now, _FAULT, t)
            return
        if w.layout:
            self.layout.unplace(t, self.group[t])
        self.rounds[t] += 1
        if not w.ops_per_fault:
            self.ops += w.ops_per_round
            self.ops_thread[t] += w.ops_per_round
        self.op[t] = "mmap"
        self._push(now + w.gap_us / self.speed, _REQUEST, t)

    def _result(self, end: float) -> Result:
        w = self.w
        self.faults += w.startup_faults(end)
        return Result(
            workload=w.name,
            kernel="base",
            threads=w.threads,
            cpus=w.cpus,
            seed=self.seed,
            duration_us=end,
            faults=self.faults,
            speculative=0,
            not_attempted=self.faults,
            fallbacks={},
            vma_lock={},
            ops=self.ops,
            ops_by_thread=list(self.ops_thread),
            writes=self.writes,
            lock_wait_us=self.wait_us,
            fault_latency_us=(self.fault_time_us + self.fault_wait_us) / max(1, self.faults),
            fault_time_us=self.fault_time_us,
            fault_wait_us=self.fault_wait_us,
            write_log=self.write_log,
            runs=self.runs,
            mm_of_thread=list(self.mm),
            timeline=sorted(self.timeline),
            cpu_of_thread=[i % max(1, w.cpus) for i in range(w.threads)],
        )
