"""A model of the page-fault path: base, SPF (v11) and per-VMA-lock kernels.

What is modelled (seed pseudo-code of ``arch_fault_handler`` and
``speculative_page_fault``; reference/kernel-formats.md §1-§2; the constants and
their sources: docs/simulator.md):

* An address space (``mm``) per process.  With ``layout`` (ebizzy) every chunk is
  placed top-down in the highest free range (get_unmapped_area) below the chunks
  mapped at start-up, and adjacent anonymous chunks are one merged VMA: an mmap
  changes the VMAs above and below its range, a munmap splits the one it is in.
  Without it, chunks land in one of ``vma_groups`` VMAs.  A munmap that leaves a
  PMD range empty frees its PTE page; the next fault there finds pmd_none, which
  v11 does not handle speculatively (traced as ``spf_vma_notsup``).
* The mmap semaphore: VMA changes take it for write, one after the other; munmap
  holds it for its zap (per mapped page) and a shootdown IPI per other CPU.  A
  fault that must take it for read (every fault on base, a fallback on spf) sleeps
  until the writer releases it; a writer queued after it waits for that reader batch.
* Threads pinned to CPUs (time-sliced when more threads than CPUs) loop: VMA change,
  a run of faults, compute, VMA change; a run's pace and a wake-up's latency vary,
  and a run after its thread slept for the mmap is slower (``idle_fault``, measured).
  (The base kernel with ``rwsem_queue`` runs on the wait list of sim/rwsem.py.)

Time is event driven at the granularity of writes: between two writes a thread's
fault run is an arithmetic schedule (one fault every ``fault_us + touch_us``), counted
in bulk.  Each write, in lock order, is applied to the threads its schedule crosses:

* ``base``: a fault starting while the write is pending or held waits for it.
* ``spf``: single-threaded mms never try (except ``mt_fault_frac`` of the faults of
  a population of processes); otherwise a fault on a VMA the write changes whose
  window ``[start + lock line, start + fault_us]`` (v11 reads the sequence count after
  get_vma's atomics: ``seq_after_get_vma``) overlaps the change (one ``__vma_adjust``
  per merge or split, ``adjust_us``) sees the sequence count move:
  ``spf_vma_changed``, then the classic path waits for the lock.  Faults of an
  unsupported kind (``notsup_frac`` ...) go classic and wait like base faults.
  ``spf_vma_noanon``, ``spf_vma_access``, ``spf_pmd_changed`` and ``spf_pte_lock``
  (v9/v10 trylock, behind an option) are drawn per run at their rates.
* ``per-vma-lock``: a fault on a write-locked VMA: ``vma_lock_abort`` then
  mmap_lock; file-backed major faults return ``VM_FAULT_RETRY``:
  ``vma_lock_retry``; a VMA replaced during the lookup: ``vma_lock_miss`` (the
  lookup is retried, not a fallback).

So the difference between kernels comes from lock waiting, never from a fixed
factor.  All randomness comes from one seeded generator (same seed, same result).
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from ..kernel import SPF_REASONS as ALL_SPF_REASONS
from .classify import RunCounter, _Thread
from .layout import Layout, chunk_addr, group_vma
from .result import Fallback, Result, Write
from .workloads import Workload

__all__ = ["KERNELS", "SPF_REASONS", "Fallback", "Result", "Simulator", "Write"]

KERNELS = ("base", "spf", "per-vma-lock")

#: the v8-v11 reasons (v4's spf_vma_dead is not modelled)
SPF_REASONS = tuple(r for r in ALL_SPF_REASONS if r != "spf_vma_dead")


class Simulator(RunCounter):
    def __init__(
        self, workload: Workload, kernel: str, *, seed: int = 1, keep_trace: bool = False
    ) -> None:
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {', '.join(KERNELS)}")
        self.w = workload
        self.kernel = kernel
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.keep = keep_trace
        w = workload
        # threads time-share CPUs: each runs at cpus/threads of a CPU
        self.speed = min(1.0, w.cpus / max(1, w.threads))
        # a fault's atomic on the shared lock word costs a cache-line transfer per
        # other CPU running this mm (mmap_sem on base, the mm_rb rwlock on spf,
        # the VMA's lock on per-vma-lock kernels, which is shared only per VMA)
        sharing = min(w.threads_per_mm, w.cpus) - 1
        if kernel == "per-vma-lock":
            sharing = max(0, sharing // max(1, w.vma_groups))
        fault = w.page_fault_us + w.bounce_us * sharing
        self.period = (fault + w.touch_us) / self.speed
        self.fault_us = fault / self.speed
        # SPF v11 reads the VMA's sequence count after get_vma() (the mm_rb rwlock and
        # the VMA's refcount: the lock line) and checks it last in pte_map_lock(), before
        # put_vma(): the line's transfers lie outside the window a change can abort
        pre = w.bounce_us * sharing if kernel == "spf" and w.seq_after_get_vma else 0.0
        self.pre_window_us = pre / self.speed
        self.threads = [
            _Thread(i, i // w.threads_per_mm, i % max(1, w.cpus)) for i in range(w.threads)
        ]
        self.multi = w.threads_per_mm > 1  # SPF only runs when mm_users > 1
        # share of faults the speculative (or VMA-locked) path hands to mmap_sem
        self.classic_frac = (
            w.notsup_frac + w.noanon_frac + w.access_frac + w.pmd_changed_frac
            if kernel == "spf" else w.retry_frac
        )  # fmt: skip
        if kernel == "spf" and self.multi:
            # an aborted speculative attempt costs its work before the classic retry,
            # and one more trip of the mm_rb rwlock's line (get_vma) than the retry
            static = w.notsup_frac + w.noanon_frac + w.access_frac + w.pmd_changed_frac
            self.period += static * (w.abort_us + w.bounce_us * sharing) / self.speed
        for t in self.threads:
            t.period, t.fault = self.period, self.fault_us
        self.lock_free_at: dict[int, float] = {}  # per mm: when its mmap_sem comes free
        self.fault_time_us = 0.0
        self.fault_wait_us = 0.0
        # per mm: (queued at, done) of the readers sleeping on its mmap_sem
        self.reader_marks: dict[int, list[tuple[float, float]]] = {}
        self.heap: list[tuple[float, int, int, int, str]] = []
        self.fallbacks = dict.fromkeys(SPF_REASONS, 0)
        self.vma_lock = {"success": 0, "abort": 0, "retry": 0, "miss": 0}
        self.faults = 0
        self.ops = 0
        self.writes = 0
        self.wait_us = 0.0
        self.samples: list[Fallback] = []
        self.write_log: list[Write] = []
        self.runs: list[tuple[int, float, float, int, int, int]] = []
        self.timeline: list[tuple[float, int, int, int, int, int, int]] = []
        self.rounds: dict[int, int] = {}
        # per group: threads currently in a fault run there
        self.members: dict[int, set[int]] = {}
        self.ops_thread = [0] * w.threads
        # the mmap layout (``layout``): slot i is the i-th chunk-sized range below the
        # chunks mapped at start-up; adjacent mapped slots form one merged VMA
        self.layout = Layout(w)

    # -- geometry: deterministic, realistic addresses for emitted traces -----------------
    def _touched_by(self, writer: _Thread, op: str) -> set[int]:
        """Threads whose VMA the write changes: the merged VMAs around its range and,
        when ``__vma_adjust`` runs on one of them only (a split, a one-sided merge), its
        ``vm_next`` too (layout.changed_by)."""
        nxt = self.w.vm_next_seq and self.kernel == "spf"  # SPF's seqcount, not VMA locks
        return set(self.layout.changed_by(writer.group, op, nxt))

    # -- the writer path ---------------------------------------------------------------
    def _apply_write(self, writer: _Thread, t_req: float, a: float, b: float, op: str) -> None:
        """Every other thread whose fault schedule crosses the write reacts to it."""
        k = self.kernel
        touched = self._touched_by(writer, op) if self.w.layout else None
        n = self.layout.adjusts(writer.group, op) if self.w.layout else None
        hi = a + self.w.change_window_us(op, k == "spf", n) if k == "spf" else b
        for t in self.threads:
            if t is writer or not t.in_run or t.mm != writer.mm:
                continue
            if k == "base" or not self.multi:
                # classic path: a fair rwsem queues new readers behind the waiting
                # writer, so a fault starting from the request on waits until release
                self._block(t, t_req, b, b, reason=None)
            elif (t.idx in touched) if touched is not None else (t.group == writer.group):
                # the VMA being written: a fault whose window overlaps the change aborts
                # (spf: the sequence count moved; per-vma-lock: the VMA is write-locked
                # until the writer unlocks) and the classic path waits for the release
                self._block(t, a - t.fault, hi - self.pre_window_us, b, reason="changed")
            elif self.classic_frac > 0:
                # faults the fast path does not support (file-backed, ...) take mmap_sem:
                # the first of them during the write waits for it like a base fault
                self._block_classic(t, t_req, b)

    def _block_classic(self, t: _Thread, t_req: float, b: float) -> None:
        i = t.run_i0 + max(0, math.ceil((t_req - t.run_t0) / t.period - 1e-12))
        i += int(self.rng.geometric(min(1.0, self.classic_frac))) - 1
        if i < t.run_k and t.run_t0 + (i - t.run_i0) * t.period < b:
            self._block(t, t.run_t0 + (i - t.run_i0) * t.period, b, b, reason=None)

    def _block(self, t: _Thread, lo: float, hi: float, b: float, reason: str | None) -> None:
        """The first fault of ``t`` starting in [lo, hi) waits until b."""
        if t.run_t0 >= hi:
            return
        i = t.run_i0 + max(0, math.ceil((lo - t.run_t0) / t.period - 1e-12))
        if i >= t.run_k:
            return
        start = t.run_t0 + (i - t.run_i0) * t.period
        if start >= hi:
            return
        start = max(start, t.run_t0)
        wake = self.w.wakeup_us  # it slept in the rwsem slow path
        if self.w.wake_cv > 0:
            wake *= float(self.rng.lognormal(0.0, self.w.wake_cv))
        # the fault sleeps on mmap_sem behind every writer already waiting (FIFO wait
        # list, kernel/locking/rwsem-xadd.c) and runs after all of them; a writer that
        # queues after it waits in turn until it is woken and done (the reader batch)
        arrival = max(start + t.fault, lo + t.fault) if reason is not None else start
        if self.w.rwsem_fifo:
            b = self._queue_release(t, arrival, b)
        self.reader_marks.setdefault(t.mm, []).append((arrival, b + wake + t.fault))
        wait = b - start + wake
        self.wait_us += wait
        self.fault_wait_us += wait
        if reason is not None and i not in t.fallback_index:
            t.fallback_index.add(i)
            name = "spf_vma_changed" if self.kernel == "spf" else "abort"
            if self.kernel == "spf":
                self.fallbacks[name] += 1
            else:
                self.vma_lock["abort"] += 1
            if self.keep:
                vs, ve = group_vma(self.w, t.mm, t.group)
                addr = chunk_addr(self.w, t.mm, t.group, t.run_chunk) + i * self.w.page_kib * 1024
                self.samples.append(Fallback(start, t.idx, name, addr, vs, ve))
        # the fault (and the rest of the run) resumes when the write is released
        t.run_t0 = b + wake + (t.fault if reason is not None else 0.0)
        t.run_i0 = i + (1 if reason is not None else 0)
        t.version += 1

    def _queue_release(self, t: _Thread, s: float, b: float) -> float:
        """When the writers queued before time ``s`` (after the one releasing at ``b``)
        have all released the lock: each takes it in turn, after a wake-up."""
        ahead = sorted(
            (e[0], e[4]) for e in self.heap
            if e[0] < s and e[2] != t.idx and e[3] == self.threads[e[2]].version
        )  # fmt: skip
        end = b
        for t_req, op in ahead:
            end = (
                max(end, t_req) + self.w.wakeup_us + self.w.write_hold_us(op, self.kernel == "spf")
            )
        return end

    # -- the run -----------------------------------------------------------------------
    def run(self, duration_us: float | None = None) -> Result:
        w = self.w
        limit = duration_us if duration_us is not None else w.duration_us
        heap: list[tuple[float, int, int, int, str]] = []
        self.heap = heap
        seq = 0
        rounds_done = [0] * len(self.threads)
        # each thread starts with its first mmap, staggered a little
        for t in self.threads:
            start = float(self.rng.uniform(0, w.mmap_us + w.compute_us / 4))
            heapq.heappush(heap, (start, seq, t.idx, t.version, "mmap"))
            seq += 1
        now = 0.0
        while heap:
            t_req, _, idx, ver, op = heapq.heappop(heap)
            t = self.threads[idx]
            if ver != t.version:
                # the thread was delayed since this was queued: re-queue at the new time
                heapq.heappush(heap, (self._next_request(t), seq, idx, t.version, op))
                seq += 1
                continue
            if t_req > limit:
                break
            now = t_req
            if op == "mmap":
                self._finish_run_if_any(t, now)
            hold = self.w.write_hold_us(op, self.kernel == "spf")
            # fair rwsem: the writer waits for the previous writer and, on the classic
            # path, for readers already inside a fault (half a fault on average)
            # readers queued before this writer hold the lock first (FIFO)
            # (each mm has its own mmap_sem: a build's processes do not wait for each other)
            marks = self.reader_marks.get(t.mm, [])
            free = max([self.lock_free_at.get(t.mm, 0.0)] + [d for q, d in marks if q < t_req])
            self.reader_marks[t.mm] = [m for m in marks if m[0] >= t_req]
            a = max(t_req, free)
            if self.kernel == "base" or not self.multi:
                a += self._readers_inside(t, a)
            if a > t_req:  # the writer slept until the lock came free
                a += w.wakeup_us
            b = a + hold
            self.wait_us += a - t_req
            self.lock_free_at[t.mm] = b
            self.writes += 1
            if op == "mmap":
                t.group = self._place(t)
            if self.keep:
                vs, ve = group_vma(self.w, t.mm, t.group)
                self.write_log.append(Write(t_req, a, b, t.idx, op, vs, ve))
            self._apply_write(t, t_req, a, b, op)
            if op == "mmap":
                # start touching the new chunk when the mapping exists
                t.run_chunk = rounds_done[idx] + idx * 100003
                # a run's pace varies (measured spread of a chunk's mean fault time)
                jitter = float(self.rng.lognormal(0.0, w.pace_cv)) if w.pace_cv > 0 else 1.0
                cold = w.idle_extra_us(a - t_req) / self.speed  # it slept for the mmap
                t.period, t.fault = (self.period + cold) * jitter, (self.fault_us + cold) * jitter
                t.in_run = True
                t.run_t0 = b
                t.run_start = b
                t.run_i0 = 0
                t.run_k = w.chunk_pages
                t.fallback_index, t.first_notsup = set(), None
                t.version += 1
                self.members.setdefault(t.group, set()).add(idx)
                self._first_touch(t, b)
                heapq.heappush(heap, (self._next_request(t), seq, idx, t.version, "munmap"))
            else:
                rounds_done[idx] += 1
                self.rounds[idx] = rounds_done[idx]
                self._unplace(t)
                if not w.ops_per_fault:
                    self.ops += w.ops_per_round
                    self.ops_thread[idx] += w.ops_per_round
                heapq.heappush(heap, (b + w.gap_us / self.speed, seq, idx, t.version, "mmap"))
            seq += 1
        end = max(limit, now, 1.0)  # the run lasts its whole window; runs in flight count
        for t in self.threads:
            self._finish_run_if_any(t, end, partial=True)
        return self._result(end)

    def _place(self, t: _Thread) -> int:
        """The group of a new chunk: one of ``vma_groups`` merged VMAs at random, or
        with ``layout`` its slot (the highest free range)."""
        if not self.w.layout:
            return int(self.rng.integers(0, max(1, self.w.vma_groups)))
        return self.layout.place(t.idx)

    def _unplace(self, t: _Thread) -> None:
        if self.w.layout:
            self.layout.unplace(t.idx, t.group)

    def _first_touch(self, t: _Thread, at: float) -> None:
        """SPF v11 does not allocate page tables: a run starting in a PMD range whose PTE
        page was freed takes its first fault classically (traced as spf_vma_notsup)."""
        if not (self.w.layout and self.layout.take_fresh_pte(t.group)):
            return
        if self.kernel != "spf" or not self.multi:
            return
        t.fallback_index.add(0)  # counted with the run, if the window's end leaves it one
        t.first_notsup = at

    def _readers_inside(self, writer: _Thread, a: float) -> float:
        """How long the writer waits for faults already in progress (classic path)."""
        longest = 0.0
        for t in self.threads:
            if t is writer or not t.in_run or t.mm != writer.mm or t.run_t0 > a:
                continue
            phase = (a - t.run_t0) % t.period
            j = t.run_i0 + int((a - t.run_t0) // t.period)
            if j < t.run_k and phase < t.fault:
                longest = max(longest, t.fault - phase)
        return longest

    def _next_request(self, t: _Thread) -> float:
        """When ``t`` will ask for its munmap: after the run and the compute phase."""
        if not t.in_run:
            return t.run_t0
        remaining = t.run_k - t.run_i0
        return t.run_t0 + remaining * t.period + self.w.compute_us / self.speed

    def _finish_run_if_any(self, t: _Thread, now: float, partial: bool = False) -> None:
        if not t.in_run:
            return
        k = t.run_k
        if partial:
            done = t.run_i0 + max(0, int((now - t.run_t0) // t.period))
            k = min(k, done)
        self._count_run(t, k)
        self.members.get(t.group, set()).discard(t.idx)
        t.in_run = False

    def _count_run(self, t: _Thread, k: int) -> None:
        """Classify the ``k`` faults of a finished run (dynamic fallbacks already counted)."""
        if k <= 0:
            return
        self._count_run_inner(t, k)
        if self.keep:
            self.timeline.append(
                (t.run_t0 + (t.run_k - t.run_i0) * t.period, self.faults, self._speculative,
                 self.vma_lock["success"], self.vma_lock["abort"], self.vma_lock["retry"],
                 self.vma_lock["miss"])
            )  # fmt: skip

    def _result(self, end: float) -> Result:
        spf = self.kernel == "spf"
        if self.kernel != "per-vma-lock":  # its traces hold every user fault: none added
            n = self.w.startup_faults(end)
            self.faults += n
            self._not_attempted += n
        if spf:
            speculative, not_attempted = self._speculative, self._not_attempted
        elif self.kernel == "per-vma-lock":
            speculative = self.vma_lock["success"]
            not_attempted = 0
        else:
            speculative, not_attempted = 0, self.faults
        fb = dict(self.fallbacks) if spf else {}
        if spf and not self.w.pte_lock:
            fb.pop("spf_pte_lock", None)
        return Result(
            workload=self.w.name,
            kernel=self.kernel,
            threads=self.w.threads,
            cpus=self.w.cpus,
            seed=self.seed,
            duration_us=end,
            faults=self.faults,
            speculative=speculative,
            not_attempted=not_attempted,
            fallbacks=fb,
            vma_lock=dict(self.vma_lock) if self.kernel == "per-vma-lock" else {},
            ops=self.ops,
            ops_by_thread=list(self.ops_thread),
            writes=self.writes,
            lock_wait_us=self.wait_us,
            fault_latency_us=(self.faults * self.fault_us + self.wait_us) / max(1, self.faults),
            fault_time_us=self.fault_time_us,
            fault_wait_us=self.fault_wait_us,
            samples=sorted(self.samples, key=lambda s: (s.t_us, s.thread)),
            write_log=self.write_log,
            runs=self.runs,
            mm_of_thread=[t.mm for t in self.threads],
            timeline=sorted(self.timeline),
            cpu_of_thread=[t.cpu for t in self.threads],
        )
