"""What a simulated run gives: counts, the trace's raw material, and time shares."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Fallback:
    """One fault that left the fast path (kept for trace emission)."""

    t_us: float
    thread: int
    reason: str
    address: int
    vm_start: int
    vm_end: int


@dataclass
class Write:
    """One VMA change holding the mmap semaphore for write."""

    t_request: float
    t_acquire: float
    t_release: float
    thread: int
    op: str
    vm_start: int
    vm_end: int


@dataclass
class Result:
    workload: str
    kernel: str
    threads: int
    cpus: int
    seed: int
    duration_us: float
    faults: int
    speculative: int  # spf: handled speculatively; per-vma-lock: vma_lock_success
    not_attempted: int
    fallbacks: dict[str, int]
    vma_lock: dict[str, int]  # per-vma-lock counters (success, abort, retry, miss)
    ops: int  # workload operations completed (records, iterations)
    ops_by_thread: list[int]
    writes: int
    lock_wait_us: float
    fault_latency_us: float  # mean service + wait per fault
    fault_time_us: float = 0.0  # thread time spent handling faults (service, no waiting)
    fault_wait_us: float = 0.0  # the part of lock_wait_us spent by faults (not writers)
    samples: list[Fallback] = field(default_factory=list)
    write_log: list[Write] = field(default_factory=list)
    thread_tids: list[int] = field(default_factory=list)
    runs: list[tuple[int, float, float, int, int, int]] = field(default_factory=list)
    mm_of_thread: list[int] = field(default_factory=list)
    timeline: list[tuple[float, int, int, int, int, int, int]] = field(default_factory=list)
    cpu_of_thread: list[int] = field(default_factory=list)

    @property
    def faults_per_s(self) -> float:
        return self.faults / (self.duration_us / 1e6)

    @property
    def ops_per_s(self) -> float:
        return self.ops / (self.duration_us / 1e6)

    @property
    def fallback_total(self) -> int:
        return sum(self.fallbacks.values())

    def time_shares(self) -> dict[str, float]:
        """Where the threads' time went: handling faults, faults sleeping on mmap_sem,
        VMA changes waiting for it, and the rest (the changes themselves, user work)."""
        total = max(1e-9, self.duration_us * max(1, min(self.threads, self.cpus)))
        fault = min(1.0, self.fault_time_us / total)
        fwait = min(1.0 - fault, self.fault_wait_us / total)
        wwait = min(1.0 - fault - fwait, (self.lock_wait_us - self.fault_wait_us) / total)
        return {"faulting": fault, "fault_waiting": fwait, "change_waiting": wwait,
                "other": 1.0 - fault - fwait - wwait}  # fmt: skip
