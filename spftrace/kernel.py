"""The kernel's vocabulary, in one place: events, fallback reasons and what they mean.

Parsers (bare ftrace names -> ``system:name``), the analysis (which events and
counters count what), the simulator (what it emits) and the reports all import
this module; none spells a kernel name of its own.  The words of each kernel model
and the colour of each reason live in spftrace/vocabulary.py, re-exported here.

Sources (reference/kernel-formats.md): the SPF series' ``pagefault:spf_*``
tracepoints and their v8/v10/v11 ``mm/memory.c`` call sites (§1.1), the v11
cover letter, mainline's ``lock_vma_under_rcu()`` and x86
``do_user_addr_fault()`` with the ``vma_lock_*`` vmstat items of
CONFIG_PER_VMA_LOCK_STATS (``include/linux/vm_event_item.h``, §2.1, §2.2).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .vocabulary import FALLBACK_PATH as FALLBACK_PATH
from .vocabulary import KERNEL_MODELS as KERNEL_MODELS
from .vocabulary import PER_VMA_LOCK as PER_VMA_LOCK
from .vocabulary import SPF as SPF
from .vocabulary import UNKNOWN as UNKNOWN
from .vocabulary import WORDS
from .vocabulary import colour as _colour
from .vocabulary import words as words

# --- tracepoints ----------------------------------------------------------------------

FAULT_USER = "exceptions:page_fault_user"
FAULT_KERNEL = "exceptions:page_fault_kernel"
MMAP_LOCK_START = "mmap_lock:mmap_lock_start_locking"
MMAP_LOCK_ACQUIRED = "mmap_lock:mmap_lock_acquire_returned"
MMAP_LOCK_RELEASED = "mmap_lock:mmap_lock_released"
MMAP_LOCK_SYSTEM = "mmap_lock"
SPF_SYSTEM = "pagefault"
#: every SPF fallback tracepoint is ``pagefault:spf_<why>``
SPF_EVENT_PREFIX = f"{SPF_SYSTEM}:spf_"
#: a LIKE pattern for them (SQL)
SPF_EVENT_LIKE = f"{SPF_SYSTEM}:spf_%"

#: the SPF series' fallback tracepoints (v8-v11; spf_pte_lock v8-v10, spf_vma_dead v4)
SPF_REASONS = (
    "spf_vma_changed",
    "spf_vma_noanon",
    "spf_vma_notsup",
    "spf_vma_access",
    "spf_pmd_changed",
    "spf_pte_lock",
    "spf_vma_dead",
)
#: v4's: its kernels also print vm_start in decimal
SPF_VMA_DEAD = f"{SPF_SYSTEM}:spf_vma_dead"
#: the reasons every SPF run reports, zero or not (v11's set)
SPF_REASONS_REPORTED = SPF_REASONS[:5]

#: syscalls that change a VMA (who changed it before an spf_vma_changed)
VMA_CHANGERS = (
    "syscalls:sys_enter_mmap",
    "syscalls:sys_enter_munmap",
    "syscalls:sys_enter_mprotect",
    "syscalls:sys_enter_mremap",
    "syscalls:sys_enter_brk",
    "syscalls:sys_enter_madvise",
)

#: bare ftrace / trace-cmd event names -> their system (unknown names are kept as written)
SYSTEMS: dict[str, str] = {
    "page_fault_user": "exceptions",
    "page_fault_kernel": "exceptions",
    "mmap_lock_start_locking": MMAP_LOCK_SYSTEM,
    "mmap_lock_acquire_returned": MMAP_LOCK_SYSTEM,
    "mmap_lock_released": MMAP_LOCK_SYSTEM,
    **dict.fromkeys(SPF_REASONS, SPF_SYSTEM),
}


def full_event_name(name: str) -> str:
    """``spf_vma_changed`` -> ``pagefault:spf_vma_changed``; qualified or unknown names
    are returned as they are."""
    if ":" in name:
        return name
    system = SYSTEMS.get(name)
    return f"{system}:{name}" if system else name


# --- counters -------------------------------------------------------------------------

#: perf stat's fault counters (the workload's own), most direct first
FAULT_EVENTS = ("faults", "page-faults", "faults:u", "page-faults:u", "minor-faults")
#: perf stat's SPF software event, under both names it had
SPF_EVENTS = ("spf", "speculative-faults", "spf:u", "speculative-faults:u")
#: vmstat: all faults, system-wide
VMSTAT_FAULTS = "pgfault"
#: vmstat: the SPF series' speculative faults
VMSTAT_SPECULATIVE = ("speculative_pgfault", "speculative_pgfault_anon", "speculative_pgfault_file")
#: vmstat: Lespinasse's series counts attempts and aborts
VMSTAT_SPF_ATTEMPT = "spf_attempt"
VMSTAT_SPF_ABORT = "spf_abort"
#: vmstat gauges are levels, not events: they never enter the fault model
VMSTAT_GAUGE_PREFIX = "nr_"

# per-VMA locks (mainline 6.4+, CONFIG_PER_VMA_LOCK_STATS), named as the kernel's vmstat
#: the fault was completed under the VMA lock
VMA_LOCK_SUCCESS = "vma_lock_success"
#: lock_vma_under_rcu() found no usable VMA: the fault took mmap_lock (a fallback)
VMA_LOCK_ABORT = "vma_lock_abort"
#: the fault returned VM_FAULT_RETRY under the VMA lock and was redone (a fallback)
VMA_LOCK_RETRY = "vma_lock_retry"
#: the VMA changed during the lookup, which was retried: not a fallback
VMA_LOCK_MISS = "vma_lock_miss"
VMA_LOCK_FALLBACKS = (VMA_LOCK_ABORT, VMA_LOCK_RETRY)

# --- kernel models and their words (spftrace/vocabulary.py) ----------------------------
#: the fast path of each model, as a column or table heading
FAST_PATH = {m: w.fast_path for m, w in WORDS.items()}
#: how a fault on the fast path was handled, in a sentence
HANDLED = {m: w.handled for m, w in WORDS.items()}


# --- what each reason means -------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    name: str
    meaning: str
    likely_cause: str
    advice: str
    #: the likely cause in a few words, for a verdict sentence
    short: str

    @property
    def colour(self) -> str:
        """A fixed colour for charts (the same reason looks the same in every report)."""
        return _colour(self.name)


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
            "other threads changed the VMA (mmap/munmap/mprotect) during the fault.",
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
            "first touches of new anonymous VMAs without an anon_vma yet.",
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
            "faults on VMAs the speculative handler does not support "
            "(file-backed, stack, userfaultfd, interleaved).",
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
            "accesses that violate the VMA's protection.",
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
            "concurrent THP collapse or page-table changes.",
        ),
        Reason(
            "spf_pte_lock",
            "spin_trylock() of the PTE lock failed, so the speculative fault gave up (v8-v10; "
            "v11 loops instead and no longer has this event).",
            "Another CPU held the page-table lock: a TLB shootdown or concurrent faults in "
            "the same page table (the same 2 MiB region).",
            "Spread the threads' working sets across page tables, or use a v11+ series "
            "that retries the lock instead of aborting.",
            "contention on the page-table lock.",
        ),
        Reason(
            "spf_vma_dead",
            "The VMA was being torn down when the speculative fault looked it up (v4 series).",
            "munmap of the region racing with the fault.",
            _CHURN_ADVICE,
            "munmap racing with the fault.",
        ),
        Reason(
            VMSTAT_SPF_ABORT,
            "The speculative attempt was aborted and redone under mmap_lock "
            "(Lespinasse's series counts attempts and aborts in vmstat).",
            "Any of the abort cases: concurrent VMA changes, unsupported VMAs, missing page "
            "tables or anon_vma (SPF_ABORT_* counters break it down when enabled).",
            _CHURN_ADVICE,
            "aborted speculative attempts.",
        ),
        Reason(
            VMA_LOCK_ABORT,
            "lock_vma_under_rcu() returned no VMA: nothing mapped at the address, the VMA "
            "was write-locked by a concurrent change, or it changed during the lookup. "
            "The fault took mmap_lock instead.",
            "Concurrent mmap/munmap/mprotect/mremap on the VMA being faulted (the writer "
            "holds the VMA write lock), stack growth, or faults outside any VMA.",
            _CHURN_ADVICE,
            "the VMA lock could not be taken (concurrent VMA changes).",
        ),
        Reason(
            VMA_LOCK_RETRY,
            "The fault ran under the per-VMA lock but returned VM_FAULT_RETRY and was "
            "redone under mmap_lock.",
            "The handler had to drop the lock: waiting for I/O or a page lock (file-backed "
            "or swap-in major faults), userfaultfd, or fault types the kernel does not yet "
            "handle under the VMA lock.",
            "Mostly I/O-bound faults: pre-read or pre-fault file mappings "
            "(madvise(MADV_WILLNEED), MAP_POPULATE), reduce swapping; newer kernels handle "
            "more fault types under the VMA lock.",
            "faults that had to be retried under mmap_lock (I/O, userfaultfd).",
        ),
        Reason(
            "mmap_lock_fallback",
            "A user fault was followed by an mmap_lock acquisition by the same thread before "
            "its next fault: it was not completed under the per-VMA lock.",
            "The VMA lock could not be taken (concurrent VMA change: abort) or the fault "
            "needed a retry under mmap_lock (I/O, userfaultfd).",
            _CHURN_ADVICE,
            "faults completed under mmap_lock instead of the VMA lock.",
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
            "faults that never tried the fast path.",
        ),
    )
}


def reason(name: str, kernel_model: str | None = None) -> Reason:
    """The catalogue entry, or a generic one for reasons this version does not know;
    with a kernel model, ``not_attempted`` speaks of that model's fast path."""
    known = REASONS.get(name)
    if known is not None and name == "not_attempted" and kernel_model is not None:
        return replace(known, meaning=words(kernel_model).not_attempted_meaning)
    if known is not None:
        return known
    return Reason(
        name,
        f"A fallback reported as {name!r}, which this version of spftrace does not describe.",
        "Unknown; see the kernel's tracepoint or vmstat definition.",
        "Check the kernel source that emits it.",
        f"a fallback reported as {name!r}, which this version of spftrace does not describe.",
    )
