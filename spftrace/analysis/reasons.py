"""What each fallback reason means, what usually causes it, and what to do.

Written from the sources quoted in reference/kernel-formats.md: the v8/v10/v11
``mm/memory.c`` call sites of the ``pagefault:spf_*`` tracepoints (§1.1), the
v11 cover letter, and mainline's ``lock_vma_under_rcu()`` / x86
``do_user_addr_fault()`` for the per-VMA-lock counters (§2.1, §2.2).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    name: str
    meaning: str
    likely_cause: str
    advice: str


_CHURN_ADVICE = (
    "Reduce address-space churn in the threads that fault: keep memory mapped and reuse it "
    "(a pooling allocator, larger glibc arenas via M_MMAP_THRESHOLD/M_TRIM_THRESHOLD, "
    "jemalloc or tcmalloc), return memory with madvise(MADV_DONTNEED or MADV_FREE) instead "
    "of munmap, and avoid mprotect on hot regions. To see who changes the VMA, record "
    "mmap_lock:* (write acquisitions) and the mmap/munmap/mprotect syscalls."
)

REASONS: dict[str, Reason] = {
    r.name: r
    for r in (
        Reason(
            "spf_vma_changed",
            "The VMA changed while the fault was handled without the lock: its sequence "
            "count was odd or moved, the address fell outside [vm_start, vm_end), or the "
            "VMA was modified before the PTE was locked. The fault was redone under mmap_sem.",
            "Another thread of the same process changed the address space at the same time "
            "(mmap, munmap, mprotect, mremap, brk, madvise) - typically an allocator that "
            "returns memory with munmap and maps it again. It grows with threads and CPUs.",
            _CHURN_ADVICE,
        ),
        Reason(
            "spf_vma_noanon",
            "The anonymous VMA had no anon_vma yet, so a new page could not be attached "
            "without the lock. (In the v8-v11 code read, this case is traced as "
            "spf_vma_notsup; spf_vma_noanon comes from other carriers of the series.)",
            "The first touch of a freshly mapped anonymous VMA: only a classic fault sets up "
            "anon_vma. Frequent when a program maps new anonymous regions and touches them "
            "immediately (fresh malloc arenas, thread stacks, mmap-then-fill buffers).",
            "Expected once per new VMA. If frequent, reuse mappings instead of mapping new "
            "ones, or pre-fault them (MAP_POPULATE, or touch them once at start-up).",
        ),
        Reason(
            "spf_vma_notsup",
            "The VMA is of a kind the speculative handler does not support: it has vm_ops "
            "(file-backed or special mappings), no anon_vma yet, is registered with "
            "userfaultfd (VM_UFFD_MISSING), can grow (VM_GROWSDOWN/VM_GROWSUP stacks), uses "
            "MPOL_INTERLEAVE, or the page-table walk bailed out.",
            "Faults on executables, shared libraries and mmap'ed files, on the stack, on "
            "userfaultfd regions or on memory with an interleaved NUMA policy.",
            "Largely inherent to the SPF series (file-backed faults are not speculative). "
            "For hot regions prefer private anonymous memory, avoid MPOL_INTERLEAVE there, "
            "and pre-fault stacks and file mappings (MAP_POPULATE, mlock).",
        ),
        Reason(
            "spf_vma_access",
            "The access is not allowed by the VMA's protection (for example a write to a "
            "read-only mapping); the fault is redone under mmap_sem, which delivers the "
            "signal or handles the special case.",
            "Deliberate protection faults - guard pages, garbage-collector or JIT write "
            "barriers built on mprotect - or a thread racing with an mprotect.",
            "Expected for programs that fault on purpose. Otherwise look for mprotect calls "
            "racing with accesses to the same region.",
        ),
        Reason(
            "spf_pmd_changed",
            "The PMD entry changed between the start of the speculative page-table walk and "
            "the PTE lock (checked with interrupts disabled).",
            "A concurrent transparent-huge-page collapse by khugepaged, or the page table "
            "being split or freed under the fault.",
            "Occasional with THP on. If frequent, khugepaged is collapsing the range being "
            "faulted in: use MADV_NOHUGEPAGE for it or tune "
            "/sys/kernel/mm/transparent_hugepage/khugepaged.",
        ),
        Reason(
            "spf_pte_lock",
            "spin_trylock() of the PTE lock failed, so the speculative fault gave up (v8-v10; "
            "v11 loops instead and no longer has this event).",
            "Another CPU held the page-table lock: a TLB shootdown or concurrent faults in "
            "the same page table (the same 2 MiB region).",
            "Spread the threads' working sets across page tables, or use a v11+ series "
            "that retries the lock instead of aborting.",
        ),
        Reason(
            "spf_vma_dead",
            "The VMA was being torn down when the speculative fault looked it up (v4 series).",
            "munmap of the region racing with the fault.",
            _CHURN_ADVICE,
        ),
        Reason(
            "spf_abort",
            "The speculative attempt was aborted and redone under mmap_lock "
            "(Lespinasse's series counts attempts and aborts in vmstat).",
            "Any of the abort cases: concurrent VMA changes, unsupported VMAs, missing page "
            "tables or anon_vma (SPF_ABORT_* counters break it down when enabled).",
            _CHURN_ADVICE,
        ),
        Reason(
            "vma_lock_abort",
            "lock_vma_under_rcu() returned no VMA: nothing mapped at the address, the VMA "
            "was write-locked by a concurrent change, or it changed during the lookup. "
            "The fault took mmap_lock instead.",
            "Concurrent mmap/munmap/mprotect/mremap on the VMA being faulted (the writer "
            "holds the VMA write lock), stack growth, or faults outside any VMA.",
            _CHURN_ADVICE,
        ),
        Reason(
            "vma_lock_retry",
            "The fault ran under the per-VMA lock but returned VM_FAULT_RETRY and was "
            "redone under mmap_lock.",
            "The handler had to drop the lock: waiting for I/O or a page lock (file-backed "
            "or swap-in major faults), userfaultfd, or fault types the kernel does not yet "
            "handle under the VMA lock.",
            "Mostly I/O-bound faults: pre-read or pre-fault file mappings "
            "(madvise(MADV_WILLNEED), MAP_POPULATE), reduce swapping; newer kernels handle "
            "more fault types under the VMA lock.",
        ),
        Reason(
            "mmap_lock_fallback",
            "A user fault was followed by an mmap_lock acquisition by the same thread before "
            "its next fault: it was not completed under the per-VMA lock.",
            "The VMA lock could not be taken (concurrent VMA change: abort) or the fault "
            "needed a retry under mmap_lock (I/O, userfaultfd).",
            _CHURN_ADVICE,
        ),
        Reason(
            "not_attempted",
            "Faults that never tried the speculative path.",
            "In the SPF series, faults of single-threaded processes (mm_users == 1) are "
            "handled directly under mmap_sem and never try the speculative path; kernel-mode "
            "and protection-key faults are not attempted either. Per-VMA-lock kernels never "
            "try the VMA lock for kernel-mode faults.",
            "Nothing to fix: a single-threaded process cannot contend with itself on the "
            "mmap lock. Multi-threaded workloads are where speculative handling pays off.",
        ),
    )
}


def reason(name: str) -> Reason:
    """The catalogue entry, or a generic one for reasons this version does not know."""
    known = REASONS.get(name)
    if known is not None:
        return known
    return Reason(
        name,
        f"A fallback reported as {name!r}, which this version of spftrace does not describe.",
        "Unknown; see the kernel's tracepoint or vmstat definition.",
        "Check the kernel source that emits it.",
    )
