"""Workload presets for the fault simulator.

Every preset is a loop per thread: a VMA change (mmap), a run of faults on the
new chunk, some computation, another VMA change (munmap).  Costs are in
microseconds of one CPU.  The rates are chosen from what the real programs do
(sources named per preset) and from ordinary kernel costs on a server-class
CPU: an anonymous fault with page zeroing ~0.5 us, mmap ~2 us, munmap ~3 us
plus a TLB-shootdown IPI per CPU of ~0.15 us.  They are not fitted to the
seed's numbers: the tests check that the published *shape* follows from them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    command: str
    comm: str
    threads: int = 16
    cpus: int = 16
    threads_per_mm: int = 16  # 1 = single-threaded processes (never speculative)
    chunk_pages: int = 128  # faults per run
    fault_us: float = 0.5  # service time of one fault
    touch_us: float = 0.1  # work between two faults of a run
    compute_us: float = 90.0  # work after the run, before the munmap
    gap_us: float = 1.0  # work after the munmap, before the next mmap
    mmap_us: float = 2.0
    munmap_us: float = 3.0
    ipi_us: float = 0.03  # per CPU, added to munmap (TLB shootdown IPIs go out in parallel)
    bounce_us: float = 0.04  # per other CPU of the mm: cache-line transfer of the lock word
    wakeup_us: float = 3.0  # a task that blocked on the rwsem sleeps: wake-up latency
    # every fault does an atomic on (mmap_sem's count on base, the mm_rb rwlock on spf)
    vma_groups: int = 4  # merged anonymous VMAs the chunks land in
    ops_per_round: int = 1  # workload operations per loop (records, iterations)
    notsup_frac: float = 0.0002  # faults on file-backed / stack / uffd / interleaved VMAs
    noanon_frac: float = 0.0
    access_frac: float = 0.0
    pmd_changed_frac: float = 0.0
    pte_lock: bool = False  # v9/v10 behaviour: spf_pte_lock instead of looping
    pte_lock_frac: float = 0.0005  # per other thread faulting in the same VMA
    kernel_fault_frac: float = 0.0005  # kernel-mode faults: never speculative
    retry_frac: float = 0.0  # per-VMA-lock: faults returning VM_FAULT_RETRY (I/O)
    miss_frac: float = 0.00005  # per-VMA-lock: VMA replaced during the lookup
    abort_us: float = 0.15  # cost of a speculative attempt that aborts
    spf_write_us: float = 0.1  # SPF's extra work per VMA change (seqcount, mm_rb write lock)
    snapshot_interval_us: float = 20_000.0  # /proc/vmstat sampling period of the emitters
    duration_us: float = 200_000.0


PRESETS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            "ebizzy",
            "ebizzy -mTt N: every thread allocates chunks with mmap, fills and searches "
            "them, then frees them with munmap - heavy mmap/munmap churn next to the "
            "faults (the seed's ebizzy runs).",
            "./ebizzy -mTt {threads}",
            "ebizzy",
        ),
        Workload(
            "kernbench",
            "A kernel build: many short single-threaded processes (compilers), each "
            "with its own mm, so speculative handling is never tried.",
            "../kernbench -M",
            "cc1",
            threads_per_mm=1,
            chunk_pages=64,
            compute_us=150.0,
            vma_groups=4,
        ),
        Workload(
            "page_fault1",
            "will-it-scale page_fault1 (threads): mmap 128 MiB anonymous, write one "
            "byte per page, munmap.",
            "./page_fault1_threads -t {threads}",
            "page_fault1_thr",
            chunk_pages=32768,
            ops_per_round=32768,  # will-it-scale counts one iteration per page
            touch_us=0.05,
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
            ops_per_round=32768,  # will-it-scale counts one iteration per page
            fault_us=0.9,
            touch_us=0.05,
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
            ops_per_round=32768,  # will-it-scale counts one iteration per page
            fault_us=0.8,
            touch_us=0.05,
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
    return w
