"""Counting a finished fault run (``model.Simulator``): its faults, how each kernel's
fast path classified them, and the samples emitted for traces.  A mixin, split from
model.py, whose state lives on the simulator."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .layout import chunk_addr, group_vma
from .result import Fallback
from .workloads import Workload


@dataclass
class _Thread:
    idx: int
    mm: int
    cpu: int
    group: int = 0
    in_run: bool = False
    run_t0: float = 0.0  # start time of fault ``run_i0`` of the current run segment
    run_start: float = 0.0  # when the run began
    run_i0: int = 0
    run_k: int = 0
    run_chunk: int = 0
    version: int = 0
    fallback_index: set[int] = field(default_factory=set)
    period: float = 1.0  # this run's pace: one fault every ``period`` us
    fault: float = 1.0  # this run's fault service time
    first_notsup: float | None = None  # the run's first fault found pmd_none (at this time)


class RunCounter:
    """Classify the faults of a finished run; the attributes are the simulator's."""

    w: Workload
    kernel: str
    keep: bool
    multi: bool
    rng: np.random.Generator
    faults: int
    fault_time_us: float
    ops: int
    ops_thread: list[int]
    fallbacks: dict[str, int]
    vma_lock: dict[str, int]
    samples: list[Fallback]
    runs: list[tuple[int, float, float, int, int, int]]
    members: dict[int, set[int]]
    _speculative = _not_attempted = 0

    def _count_run_inner(self, t: _Thread, k: int) -> None:
        w = self.w
        self.faults += k
        self.fault_time_us += k * t.fault
        if w.ops_per_fault:
            self.ops += k
            self.ops_thread[t.idx] += k
        dyn = len([i for i in t.fallback_index if i < k])
        if t.first_notsup is not None:
            self.fallbacks["spf_vma_notsup"] += 1
            if self.keep:
                vs, ve = group_vma(w, t.mm, t.group)
                self.samples.append(Fallback(t.first_notsup, t.idx, "spf_vma_notsup", vs, vs, ve))
        if self.keep:
            self.runs.append((t.idx, t.run_start, t.period, k, t.group, t.run_chunk))
        if self.kernel == "base":
            self._not_attempted += k
            return
        rng = self.rng
        if self.kernel == "spf" and not self.multi:
            # single-threaded: handled under mmap_sem, never attempted - except the
            # faults of the few threaded processes of the population (mt_fault_frac)
            mt = int(rng.binomial(k, min(1.0, w.mt_fault_frac))) if w.mt_fault_frac > 0 else 0
            n = int(rng.binomial(mt, min(1.0, w.mt_notsup_frac))) if mt else 0
            self.fallbacks["spf_vma_notsup"] += n
            self._speculative += mt - n
            self._not_attempted += k - mt
            if n and self.keep:
                self._sample_static(t, k, n, "spf_vma_notsup")
            return
        rest = k - dyn
        if self.kernel == "spf":
            static = {
                "spf_vma_notsup": w.notsup_frac,
                "spf_vma_noanon": w.noanon_frac,
                "spf_vma_access": w.access_frac,
                "spf_pmd_changed": w.pmd_changed_frac,
            }
            if w.pte_lock:
                static["spf_pte_lock"] = w.pte_lock_frac * max(0, len(self.members[t.group]) - 1)
            for name, frac in static.items():
                n = int(rng.binomial(rest, min(1.0, frac))) if frac > 0 and rest > 0 else 0
                if n:
                    self.fallbacks[name] += n
                    rest -= n
                    if self.keep:
                        self._sample_static(t, k, n, name)
        else:
            retry = int(rng.binomial(rest, w.retry_frac)) if w.retry_frac > 0 and rest > 0 else 0
            miss = int(rng.binomial(rest, w.miss_frac)) if w.miss_frac > 0 and rest > 0 else 0
            self.vma_lock["retry"] += retry
            self.vma_lock["miss"] += miss
            rest -= retry
            self.vma_lock["success"] += rest
            return
        # not-attempted faults: kernel-mode share of a multi-threaded workload
        na = int(rng.binomial(rest, w.kernel_fault_frac)) if w.kernel_fault_frac > 0 else 0
        self._not_attempted += na
        self._speculative += rest - na

    def _sample_static(self, t: _Thread, k: int, n: int, name: str) -> None:
        idx = np.sort(self.rng.choice(k, size=min(n, k), replace=False))
        vs, ve = group_vma(self.w, t.mm, t.group)
        if name == "spf_vma_notsup":  # file-backed text and libraries live elsewhere
            vs, ve = (
                0x555555554000 + t.mm * 0x10000000,
                0x555555554000 + t.mm * 0x10000000 + 0x200000,
            )
        base = chunk_addr(self.w, t.mm, t.group, t.run_chunk)
        for i in idx.tolist():
            addr = base + i * 4096 if name != "spf_vma_notsup" else vs + (i * 4096) % (ve - vs)
            self.samples.append(
                Fallback(t.run_t0 + (i - t.run_i0) * t.period, t.idx, name, addr, vs, ve)
            )
