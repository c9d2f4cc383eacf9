"""Words and colours per kernel model: what the fast path is called, and each reason's colour.

An SPF kernel handles a fault *speculatively*; a per-VMA-lock kernel (mainline 6.4+)
handles it *under the VMA lock*; a fault that leaves either goes down the *classic
path under mmap_lock*.  Text, JSON labels and HTML all take their words from
``words(kernel_model)`` so the three never disagree, and every chart takes a reason's
colour from ``colour(name)``: one fixed colour per reason name, whatever the run, chart
or report (an unknown name gets a colour from a hash of the name, never from its
position, so it too is the same everywhere).

kernel.py re-exports the names below; this module imports nothing of spftrace.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

SPF = "spf"
PER_VMA_LOCK = "per-vma-lock"
UNKNOWN = "unknown"
KERNEL_MODELS = (SPF, PER_VMA_LOCK, UNKNOWN)

#: where a fault that fell back went, on every kernel model
FALLBACK_PATH = "classic path under mmap_lock"


@dataclass(frozen=True)
class Words:
    """How one kernel model's reports speak of its fast path."""

    model: str
    #: a column or row heading for the faults on the fast path ("speculative")
    fast_path: str
    #: the adverbial of a sentence: "were handled <handled>"
    handled: str
    #: the fast path as a noun: "left <path>", "never tried <path>"
    path: str
    #: the heading of the table of reasons
    fallbacks_title: str
    #: the heading of the not-attempted row and what it means
    not_attempted: str
    not_attempted_meaning: str


WORDS: dict[str, Words] = {
    SPF: Words(
        SPF,
        fast_path="speculative",
        handled="speculatively",
        path="the speculative path",
        fallbacks_title="Why faults left the speculative path",
        not_attempted="not attempted",
        not_attempted_meaning="Faults that never tried the speculative path.",
    ),
    PER_VMA_LOCK: Words(
        PER_VMA_LOCK,
        fast_path="under VMA lock",
        handled="under the per-VMA lock",
        path="the per-VMA lock",
        fallbacks_title="Why faults fell back from the per-VMA lock to mmap_lock",
        not_attempted="not attempted",
        not_attempted_meaning="Faults that never tried the per-VMA lock (kernel-mode faults "
        "take mmap_lock directly).",
    ),
    UNKNOWN: Words(
        UNKNOWN,
        fast_path="fast path",
        handled="on a fast path (speculatively or under the per-VMA lock)",
        path="the fast path",
        fallbacks_title="Why faults took the classic path under mmap_lock",
        not_attempted="not attempted",
        not_attempted_meaning="Faults that never tried a fast path.",
    ),
}


def words(kernel_model: str) -> Words:
    """The words of a kernel model (a model this version does not know: the neutral ones)."""
    return WORDS.get(kernel_model, WORDS[UNKNOWN])


def column(models: list[str] | tuple[str, ...] | set[str]) -> str:
    """The heading of a column of fast-path faults over runs of these kernel models."""
    known = set(models) - {UNKNOWN}
    if len(known) == 1:
        return words(known.pop()).fast_path
    return "speculative / under VMA lock" if known else WORDS[UNKNOWN].fast_path


def share(part: int | None, whole: int | None) -> str:
    """A share for prose: never rounds a non-zero part to 0.00% nor a partial one to 100%."""
    if part is None or not whole:
        return "n/a"
    p = 100.0 * part / whole
    if 0 < p < 0.01:
        return "<0.01%"
    if 99.99 < p < 100:
        return ">99.99%"
    return f"{p:.2f}%"


def handled_sentence(part: int | None, whole: int | None, w: Words) -> str:
    """How many faults were handled on the fast path, for a verdict: "No fault was
    handled speculatively", "Only 210 of 526,743,764 faults (<0.01%) ...", "Most faults
    (98.14%) ...", never "Only 0.00%"."""
    if part is None or not whole:
        return f"No count of the faults handled {w.handled}"
    if part == 0:
        return f"No fault was handled {w.handled}"
    p = 100.0 * part / whole
    if part == whole:
        return f"All {whole:,} faults were handled {w.handled}"
    if p >= 50:
        return f"Most faults ({share(part, whole)}) were handled {w.handled}"
    if p < 1:
        return f"Only {part:,} of {whole:,} faults ({share(part, whole)}) were handled {w.handled}"
    return f"Only {share(part, whole)} of faults were handled {w.handled}"


# --- colours ------------------------------------------------------------------------------

#: the fast path, whatever it is called: green in every chart
FAST_PATH_COLOUR = "#2e7d32"
NOT_ATTEMPTED_COLOUR = "#9e9e9e"
#: the timeline's line of all user faults
FAULTS_COLOUR = "#37474f"

#: reason name -> its colour, the same in every chart of every report
PALETTE: dict[str, str] = {
    "speculative": FAST_PATH_COLOUR,
    "vma_lock_success": FAST_PATH_COLOUR,
    "not_attempted": NOT_ATTEMPTED_COLOUR,
    "kernel_fault": "#757575",
    "untraced": "#cfd8dc",
    # the SPF series' tracepoints
    "spf_vma_changed": "#d62728",
    "spf_vma_noanon": "#ff7f0e",
    "spf_vma_notsup": "#9467bd",
    "spf_vma_access": "#1f77b4",
    "spf_pmd_changed": "#17becf",
    "spf_pte_lock": "#e377c2",
    "spf_vma_dead": "#8c564b",
    "spf_abort": "#bcbd22",
    # per-VMA locks
    "vma_lock_abort": "#c2185b",
    "vma_lock_retry": "#f9a825",
    "stack_expansion": "#5d4037",
    "mmap_lock_fallback": "#ad494a",
    "page_fault_user": FAULTS_COLOUR,
    "exceptions:page_fault_user": FAULTS_COLOUR,
}

#: colours for reasons this version does not know, chosen by a hash of the name
OTHER_COLOURS = ("#4527a0", "#455a64", "#827717", "#00695c", "#6a1b9a", "#bf360c")


def colour(name: str) -> str:
    """The fill of a reason (or path) in every chart: fixed per name, never per position."""
    known = PALETTE.get(name) or PALETTE.get(name.removeprefix("pagefault:"))
    if known is not None:
        return known
    return OTHER_COLOURS[zlib.crc32(name.encode("utf-8", "surrogateescape")) % len(OTHER_COLOURS)]
