"""Workload presets for the fault simulator.

Every preset is a loop per thread: a VMA change (mmap), a run of faults on the
new chunk, some computation, another VMA change (munmap).  Costs are in
microseconds of one CPU, measured on this project's machine by
bench/sim_calibrate/costs.c (medians in bench/sim_calibrate/runs.txt); geometry
comes from the programs' sources (ebizzy.c: a 512 KiB chunk per record).  The
table of every constant, its source and the figures it moves: docs/simulator.md.
Nothing is fitted to the ebizzy figures; kernbench's threaded share is taken from
the seed's x86 kernbench counts (there is no other source for it).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from itertools import pairwise
from typing import Any

#: measured (bench/sim_calibrate/fault_idle.c, runs_idle.txt; medians.py): a 128-fault
#: run's mean cost per fault after its thread slept S us, over the same run back to back
#: (median of six runs' ratios), as (S, ratio)
IDLE_FAULT_RATIO = ((0.0, 1.0), (300.0, 1.063), (1000.0, 1.065), (3000.0, 1.166), (10000.0, 1.355))


@dataclass(frozen=True)
class Workload:
    """One workload on one machine.  Every cost and rate has its source in
    docs/simulator.md (the constants table); "measured" means
    bench/sim_calibrate/costs.c on this project's machine (a 2-CPU KVM guest)."""

    name: str
    description: str
    command: str
    comm: str
    threads: int = 16
    cpus: int = 16
    threads_per_mm: int = 16  # 1 = single-threaded processes (never speculative)
    chunk_pages: int = 128  # faults per run (derived from chunk_kib / page_kib when set)
    chunk_kib: int = 0  # bytes mapped per loop, when the program fixes them (ebizzy: 512)
    page_kib: int = 4  # base page size: 4 on x86, 64 on the seed's Power8 (ppc64 64K pages)
    pmd_span_kib: int = 2048  # memory one PTE page maps: x86 2 MiB, ppc64 hash-64K 16 MiB
    layout: bool = False  # place chunks top-down in merged anonymous VMAs (mmap layout)
    vm_next_seq: bool = True  # a VMA change also moves the sequence count of vm_next
    static_chunks: int = 0  # chunks mapped once before the threads start (ebizzy's mem[])
    fault_us: float = 1.49  # measured: first-touch anonymous 4 KiB write fault
    pace_cv: float = 0.105  # measured: log-spread of a chunk's mean fault time (IQR / 1.349)
    clear_4k_us: float = 0.036  # measured: clearing 4 KiB (added per extra 4 KiB of a page)
    # measured (fault_idle.c): a run after its thread slept is slower (IDLE_FAULT_RATIO);
    # the factor scales that slowdown (0 = off)
    idle_fault: float = 1.0
    touch_us: float = 0.0  # user work between two faults of a run (ebizzy -T: one store)
    compute_us: float = 0.0  # work after the run, before the munmap
    gap_us: float = 0.0  # work after the munmap, before the next mmap
    mmap_us: float = 1.92  # measured: mmap of a 512 KiB anonymous chunk
    munmap_us: float = 2.63  # measured: munmap of a 512 KiB chunk with no page touched
    munmap_page_us: float = 0.268  # measured: munmap cost per mapped page (zap, free)
    # measured (vma_window.c): one __vma_adjust, the only place SPF v11 moves the
    # sequence counts of mapped VMAs; 0 = the whole syscall's fixed part (the old rule)
    adjust_us: float = 0.65
    ipi_us: float = 1.46  # measured: per other CPU of the mm, TLB-shootdown IPI (x86)
    bounce_us: float = 0.048  # measured: one cache-line transfer between two CPUs
    # SPF v11: the sequence count is read after get_vma() (the lock line's transfers) and
    # checked last in pte_map_lock(), before put_vma(): the transfers are outside the window
    seq_after_get_vma: bool = True
    wake_cv: float = 0.14  # measured: log-spread of a wake-up (IQR / 1.349)
    rwsem_fifo: bool = False  # readers wait for every queued writer (else: the current one)
    rwsem_queue: bool = False  # base kernel on 4.17's rwsem wait list (sim/rwsem.py)
    wakeup_us: float = 17.7  # measured: futex wake until the woken thread runs
    lazy_tlb_ipi: bool = False  # munmap's shootdown also waits for an idle vCPU's wake-up
    # every fault does an atomic on (mmap_sem's count on base, the mm_rb rwlock on spf)
    vma_groups: int = 4  # merged anonymous VMAs the chunks land in (without ``layout``)
    ops_per_round: int = 1  # workload operations per loop (records, iterations)
    ops_per_fault: bool = False  # count an operation per fault (will-it-scale's loops)
    notsup_frac: float = 0.0  # faults on file-backed / stack / uffd / interleaved VMAs
    noanon_frac: float = 0.0
    access_frac: float = 0.0
    pmd_changed_frac: float = 0.0
    pte_lock: bool = False  # v9/v10 behaviour: spf_pte_lock instead of looping
    pte_lock_frac: float = 0.0005  # per other thread faulting in the same VMA
    kernel_fault_frac: float = 0.0  # kernel-mode faults: never speculative
    mt_fault_frac: float = 0.0  # single-threaded presets: share of faults in threaded processes
    mt_notsup_frac: float = 0.0  # ... and the file-backed share of those runs' faults
    retry_frac: float = 0.0  # per-VMA-lock: faults returning VM_FAULT_RETRY (I/O)
    miss_frac: float = 0.00005  # per-VMA-lock: VMA replaced during the lookup
    abort_us: float = 0.2  # an aborted speculative attempt: 4 atomics (get_vma, put_vma)
    spf_write_us: float = 0.1  # SPF's extra work per VMA change: 2 atomics (seqcount, rwlock)
    snapshot_interval_us: float = 20_000.0  # /proc/vmstat sampling period of the emitters
    duration_us: float = 200_000.0

    def write_hold_us(self, op: str, spf: bool) -> float:
        """mmap_sem write hold of a VMA change: the syscall's cost (munmap: plus one zap
        and free per mapped page, and a shootdown IPI per other CPU running the mm)."""
        extra = self.spf_write_us if spf else 0.0
        if op == "munmap":
            others = max(0, min(self.threads_per_mm, self.cpus) - 1)
            pages = self.munmap_page_us * self.chunk_pages
            idle = self.wakeup_us if self.lazy_tlb_ipi and others else 0.0
            return self.munmap_us + pages + self.ipi_us * others + idle + extra
        return self.mmap_us + extra

    def change_window_us(self, op: str, spf: bool, adjusts: int | None = None) -> float:
        """How long a VMA change holds the sequence counts of the VMAs around it odd:
        SPF v11 write-begins them only inside ``__vma_adjust`` (patch "mm: VMA sequence
        count"): once for an mmap's merge, once per split of a munmap (``adjusts``, from
        the layout; else one and two).  With ``adjust_us`` 0, the call's fixed part."""
        extra = self.spf_write_us if spf else 0.0
        if self.adjust_us > 0:
            n = adjusts if adjusts is not None else (2 if op == "munmap" else 1)
            return self.adjust_us * n + extra
        return (self.munmap_us if op == "munmap" else self.mmap_us) + extra

    def startup_faults(self, end_us: float) -> int:
        """Faults of the single-threaded start (ebizzy writes its ``static_chunks``
        before creating threads), never attempted: their share of a run of ebizzy's
        default 10 seconds, whatever the simulated window ``end_us``."""
        return round(self.static_chunks * self.chunk_pages * end_us / 10e6)

    def idle_extra_us(self, slept_us: float) -> float:
        """Extra cost per fault of a run whose thread slept ``slept_us`` before it (its
        CPU idle: caches and TLB gone cold): ``page_fault_us`` times the measured ratio
        to a back-to-back run less one (IDLE_FAULT_RATIO, interpolated, flat beyond the
        longest sleep measured).  The cache-line transfers are not scaled."""
        if self.idle_fault <= 0 or slept_us <= 0:
            return 0.0
        pts = IDLE_FAULT_RATIO
        ratio = pts[-1][1]
        for (x0, y0), (x1, y1) in pairwise(pts):
            if slept_us <= x1:
                ratio = y0 + (y1 - y0) * (slept_us - x0) / (x1 - x0)
                break
        return self.page_fault_us * (ratio - 1.0) * self.idle_fault

    @property
    def page_fault_us(self) -> float:
        """One fault on this machine's page size: a 4 KiB fault plus clearing the rest."""
        return self.fault_us + (self.page_kib / 4 - 1) * self.clear_4k_us


PRESETS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            "ebizzy",
            "ebizzy -mTt N (ebizzy.c): N threads each loop mmap a 512 KiB chunk "
            "(record_size 8 x 64Ki records), write one byte per page (-T), munmap it (-m); "
            "one record per loop.  Ten chunks are mapped and written before the threads "
            "start.  --set page_kib=64 for the seed's Power8.",
            "./ebizzy -mTt {threads}",
            "ebizzy",
            chunk_kib=512,
            layout=True,
            static_chunks=10,
            rwsem_queue=True,
        ),
        Workload(
            "kernbench",
            "A kernel build: many short single-threaded processes (compilers), each "
            "with its own mm, so speculative handling is never tried - except in the few "
            "threaded processes of the build, whose faults are mostly file-backed.",
            "../kernbench -M",
            "cc1",
            threads_per_mm=1,
            chunk_pages=64,
            compute_us=150.0,
            vma_groups=4,
            mt_fault_frac=4.73e-6,  # the seed's x86 kernbench: 2,491 attempted of 526.7M
            mt_notsup_frac=0.914,  # ... of which 2,278 spf_vma_notsup
        ),
        Workload(
            "page_fault1",
            "will-it-scale page_fault1 (threads): mmap 128 MiB anonymous, write one "
            "byte per page, munmap.",
            "./page_fault1_threads -t {threads}",
            "page_fault1_thr",
            chunk_pages=32768,
            ops_per_fault=True,  # will-it-scale counts one iteration per page
            touch_us=0.0,
            compute_us=5.0,
            vma_groups=64,  # each task maps its own 128 MiB region
        ),
        Workload(
            "page_fault2",
            "will-it-scale page_fault2 (threads): a private file mapping per task, "
            "written page by page (copy-on-write of page-cache pages): file-backed, so "
            "the speculative handler does not support it.",
            "./page_fault2_threads -t {threads}",
            "page_fault2_thr",
            chunk_pages=32768,
            ops_per_fault=True,  # will-it-scale counts one iteration per page
            fault_us=1.67,  # measured: write fault on a private mapping of a cached file
            touch_us=0.0,
            compute_us=5.0,
            vma_groups=64,  # a separate file, hence a separate VMA, per task
            notsup_frac=1.0,
        ),
        Workload(
            "page_fault3",
            "will-it-scale page_fault3 (threads): a shared file mapping written page by "
            "page (page-cache write faults): file-backed, not speculative.",
            "./page_fault3_threads -t {threads}",
            "page_fault3_thr",
            chunk_pages=32768,
            ops_per_fault=True,  # will-it-scale counts one iteration per page
            fault_us=1.44,  # measured: write fault on a shared mapping of a cached file
            touch_us=0.0,
            compute_us=5.0,
            vma_groups=64,  # a separate file, hence a separate VMA, per task
            notsup_frac=1.0,
        ),
        Workload(
            "malloc1",
            "will-it-scale malloc1: malloc/free of 128 MiB, which glibc turns into "
            "mmap/munmap; only the allocator header page is touched.",
            "./malloc1_threads -t {threads}",
            "malloc1_threads",
            chunk_pages=1,
            compute_us=0.5,
            gap_us=0.5,
            vma_groups=1,
        ),
        Workload(
            "app-launch",
            "An Android application launch: ~100 threads mapping libraries and resources "
            "(file-backed faults are not speculative) while allocating heap.",
            "am start -W com.example.app",
            "RenderThread",
            threads=100,
            cpus=8,
            chunk_pages=32,
            compute_us=300.0,  # class loading and layout dominate; mmap churn is secondary
            vma_groups=12,
            notsup_frac=0.35,
            noanon_frac=0.002,
            access_frac=0.0005,
            duration_us=400_000.0,
        ),
    )
}

#: the seed's 80-CPU Power8 node: 64 KiB pages, a PTE page maps 16 MiB (book3s/64
#: hash-64k.h: H_PTE_INDEX_SIZE 8), TLB invalidation by broadcast tlbie, no IPIs
POWER8: dict[str, Any] = {"page_kib": 64, "pmd_span_kib": 16384, "ipi_us": 0.0}

#: the seed's 16-vCPU x86 guest: its wake-up latency (a sleeper woken on an idle vCPU)
#: cannot be measured here; calibrated on the seed's spf records/s alone (1,490.24;
#: bench/sim_calibrate/guest_wakeup.py), so its base records/s and gain stay predictions
X86_GUEST: dict[str, Any] = {"wakeup_us": 305.0}

#: options that ``spftrace simulate`` lets the user override
OVERRIDABLE = tuple(
    f.name for f in fields(Workload) if f.name not in ("name", "description", "command", "comm")
)


def preset(name: str, **overrides: object) -> Workload:
    if name not in PRESETS:
        raise KeyError(name)
    w = PRESETS[name]
    clean = {k: v for k, v in overrides.items() if v is not None}
    if "threads" in clean and "threads_per_mm" not in clean and w.threads_per_mm > 1:
        clean["threads_per_mm"] = clean["threads"]
    w = replace(w, **clean)  # type: ignore[arg-type]
    if w.threads_per_mm > 1:
        w = replace(w, threads_per_mm=w.threads)
    if w.chunk_kib and "chunk_pages" not in clean:  # the program fixes the bytes, not pages
        w = replace(w, chunk_pages=max(1, w.chunk_kib // w.page_kib))
    return w
