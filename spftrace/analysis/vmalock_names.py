"""The per-VMA-lock vocabulary: events, kernel frames, classes and what they mean.

Everything here is read from the kernel (docs/per-vma-lock.md cites file and
function) and belongs in the kernel vocabulary module (spftrace/kernel.py) once it
exists; until then the analysis and the reports import it from here.
"""

from __future__ import annotations

FAULT_USER = "exceptions:page_fault_user"
FAULT_KERNEL = "exceptions:page_fault_kernel"
START = "mmap_lock:mmap_lock_start_locking"
ACQ = "mmap_lock:mmap_lock_acquire_returned"
REL = "mmap_lock:mmap_lock_released"
MMAP_LOCK_EVENTS = (START, ACQ, REL)

#: mm/mmap_lock.c: the fault's mmap_lock path (get_mmap_lock_carefully, and the
#: write lock of a stack expansion); any frame of that name means a fallback
LOCK_MM_AND_FIND_VMA = "lock_mm_and_find_vma"
#: mm/memory.c: the mmap_read_trylock taken under the VMA lock for a fresh anon_vma
ANON_PREPARE = "__vmf_anon_prepare"
#: the tracepoint wrappers (mm/mmap_lock.c) that sit innermost in every stack
TRACE_WRAPPERS = (
    "__mmap_lock_do_trace_start_locking",
    "__mmap_lock_do_trace_acquire_returned",
    "__mmap_lock_do_trace_released",
)
#: the arch fault handlers: x86-64 (do_user_addr_fault is inlined into exc_page_fault
#: on 6.18) and arm64 (do_page_fault under do_translation_fault/do_mem_abort)
FAULT_HANDLERS = (
    "exc_page_fault", "do_user_addr_fault", "asm_exc_page_fault",
    "do_page_fault", "do_translation_fault", "do_mem_abort", "el0_da", "el1_abort",
)  # fmt: skip

# classes, named after the kernel's vmstat counters (include/linux/vm_event_item.h)
SUCCESS = "vma_lock_success"
ABORT = "vma_lock_abort"
RETRY = "vma_lock_retry"
MISS = "vma_lock_miss"  # counted inside lock_vma_under_rcu(); a trace cannot see it
STACK_EXPANSION = "stack_expansion"
KERNEL_FAULT = "kernel_fault"
FALLBACK_CLASSES = (ABORT, RETRY, STACK_EXPANSION)
VMSTAT_COUNTERS = (SUCCESS, ABORT, RETRY, MISS)

#: the one sentence that says how to make a range exact
HOW_TO_EXACT = (
    "Record kernel callchains on the mmap_lock events to make it exact: spftrace capture -- CMD, "
    "or perf record -e 'mmap_lock:mmap_lock_start_locking/call-graph=fp/' (and the same for "
    "acquire_returned and released) with exceptions:page_fault_user and page_fault_kernel."
)

_CHURN = (
    "Reduce address-space churn in the process: keep memory mapped and reuse it (a pooling "
    "allocator, larger glibc arenas via M_MMAP_THRESHOLD/M_TRIM_THRESHOLD, jemalloc or "
    "tcmalloc), return memory with madvise(MADV_DONTNEED or MADV_FREE) instead of munmap, "
    "and avoid mprotect on hot regions; the culprits table names the writers."
)

#: name -> (meaning, likely cause, advice when the classification supports the cause)
MEANINGS: dict[str, tuple[str, str, str]] = {
    SUCCESS: (
        "The fault completed under the per-VMA lock (the first touch of a fresh anonymous "
        "VMA took mmap_lock only for the read trylock of __vmf_anon_prepare, and still "
        "counts here).",
        "The fast path worked.",
        "Nothing to do.",
    ),
    ABORT: (
        "lock_vma_under_rcu() gave no VMA and the fault went to lock_mm_and_find_vma(): "
        "nothing mapped at the address, the VMA write-locked by a writer of the same mm, or "
        "the VMA replaced during the lookup. (A VM_FAULT_RETRY whose cause takes no "
        "mmap_lock, I/O or userfaultfd, looks the same in a trace.)",
        "A writer of the same process (mmap, munmap, mprotect, mremap, brk) held the VMA "
        "it faulted on.",
        _CHURN,
    ),
    RETRY: (
        "The fault ran under the per-VMA lock, needed mmap_lock (the __vmf_anon_prepare "
        "trylock of a VMA's first fault) while a writer held it, returned VM_FAULT_RETRY "
        "and was redone under mmap_lock.",
        "Another thread held mmap_lock for write when this thread first touched a fresh "
        "anonymous VMA.",
        _CHURN + " Fresh mappings can also be pre-faulted (MAP_POPULATE, "
        "madvise(MADV_POPULATE_WRITE)) by the thread that maps them.",
    ),
    STACK_EXPANSION: (
        "The address lay below the stack VMA: lock_mm_and_find_vma() took mmap_lock for "
        "write to grow the stack (the kernel counts it as vma_lock_abort).",
        "Stack growth of a thread.",
        "Usually nothing: stacks grow once. Pre-touch or size thread stacks if it recurs.",
    ),
    KERNEL_FAULT: (
        "A kernel-mode fault on user memory (read() or copy_to_user() into a page not yet "
        "present): the kernel never tries the VMA lock for these and always takes mmap_lock.",
        "System calls that write into untouched user pages.",
        "Not a fallback. Pre-fault buffers that system calls fill if they are many.",
    ),
}

_NEUTRAL = {
    ABORT: "No writer held mmap_lock during these faults: look for faults outside any VMA "
    "or mappings replaced underneath the faulting thread.",
    RETRY: "No writer held mmap_lock during these faults: the retries came from I/O or "
    "userfaultfd; pre-read file mappings (madvise(MADV_WILLNEED), MAP_POPULATE).",
}


def advice(name: str, churn_supported: bool) -> str:
    """The advice for a class, given whether writers were seen overlapping it."""
    if name in _NEUTRAL and not churn_supported:
        return _NEUTRAL[name]
    return MEANINGS[name][2] if name in MEANINGS else ""
