"""Why per-VMA-lock sources disagree, in causes computed from the run's own data.

perf stat's ``page-faults`` counts the command's faults on user addresses (x86:
``perf_sw_event(PERF_COUNT_SW_PAGE_FAULTS)`` in ``do_user_addr_fault``, for user-
and kernel-mode faults alike); the trace holds ``page_fault_user`` and
``page_fault_kernel`` events of what it recorded; vmstat counts the whole system.
Each sentence here subtracts what is known (kernel-address faults, perf's own
faults, lost events) and says what is left, rather than naming a likely cause.
"""

from __future__ import annotations

from typing import Any

from . import vmalock_names as N
from .sources import SourceTotals


def _n(v: float | None) -> int:
    return int(v or 0)


def per_vma_lock_notes(per_source: list[SourceTotals]) -> list[str]:
    src = {s.origin: s for s in per_source}
    tr, ps, vm = src.get("trace"), src.get("perf-stat"), src.get("vmstat")
    notes: list[str] = []
    if tr is not None and ps is not None and ps.faults is not None:
        notes.append(_stat_vs_trace(ps, tr))
    if vm is not None and vm.faults is not None and ps is not None and ps.faults is not None:
        notes.append(_vmstat_vs_stat(vm, ps))
    if vm is not None and tr is not None and N.SUCCESS in vm.values:
        notes.append(_vmstat_counters(vm, tr))
    return [n for n in notes if n]


def _stat_vs_trace(ps: SourceTotals, tr: SourceTotals) -> str:
    f = _n(ps.faults)
    user, kern = _n(tr.values.get("user_faults")), _n(tr.values.get("kernel_faults"))
    kaddr, own = _n(tr.values.get("kernel_address_faults")), _n(tr.values.get("perf_own_faults"))
    counted = user + kern - kaddr - own
    parts = [f"perf stat counted {f:,} faults; the trace holds {user:,} user-mode and {kern:,} "
             "kernel-mode faults"]  # fmt: skip
    if kaddr:
        parts.append(f"{kaddr:,} of them on kernel addresses, which page-faults does not count")
    if own:
        parts.append(f"{own:,} of them perf's own (comm perf), which perf stat did not count")
    missing = f - counted
    lost: dict[str, Any] = tr.detail.get("lost", {})
    n_lost = int(lost.get("count") or 0)
    if missing == 0:
        parts.append("the rest equals the count exactly")
    elif missing > 0:
        user_lost = lost.get("by_event", {}).get(N.FAULT_USER)
        if n_lost and n_lost >= missing:
            which = (f"{user_lost:,} of them page_fault_user samples"
                     if user_lost is not None else "faults among them")  # fmt: skip
            about = "about " if lost.get("approx") else ""
            parts.append(f"{missing:,} counted faults are not in the trace: it lost "
                         f"{about}{n_lost:,} events ({which})")  # fmt: skip
        elif n_lost:
            parts.append(f"{missing:,} counted faults are not in the trace; it lost "
                         f"{n_lost:,} events, which leaves {missing - n_lost:,} unexplained "
                         "(does the trace cover the whole run?)")  # fmt: skip
        else:
            parts.append(f"{missing:,} counted faults are not in the trace and it records no "
                         "loss (does the trace cover the whole run?)")  # fmt: skip
    else:
        parts.append(f"the trace holds {-missing:,} faults more than perf stat counted "
                     "(another process in the trace, or a different run?)")  # fmt: skip
    return "; ".join(parts) + "."


def _vmstat_vs_stat(vm: SourceTotals, ps: SourceTotals) -> str:
    v, f = _n(vm.faults), _n(ps.faults)
    if v >= f:
        return (f"vmstat counted {v:,} faults between its snapshots, {v - f:,} more than perf "
                "stat: vmstat is system-wide (every process over the snapshots' span), perf "
                "stat counts the command only.")  # fmt: skip
    return (f"vmstat counted {v:,} faults between its snapshots, fewer than perf stat's {f:,}: "
            "the snapshots do not span the whole run.")  # fmt: skip


def _vmstat_counters(vm: SourceTotals, tr: SourceTotals) -> str:
    ok = _n(vm.values.get(N.SUCCESS))
    ab, rt = _n(vm.values.get(N.ABORT)), _n(vm.values.get(N.RETRY))
    miss = _n(vm.values.get(N.MISS))
    user = _n(tr.values.get("user_faults"))
    text = (f"vmstat's vma_lock_* counters (system-wide) saw {ok + ab + rt:,} user faults try "
            f"the VMA lock, {ab + rt:,} of them fall back (abort {ab:,}, retry {rt:,}; "
            f"{miss:,} misses, which are not fallbacks); the trace's {user:,} user faults are "
            "this workload's")  # fmt: skip
    if tr.fallbacks:
        fb = sum(_n(v) for v in tr.fallbacks.values())
        text += f", {fb:,} of them fallen back"
    return text + "."


def headline(
    per_source: list[SourceTotals],
) -> tuple[float | None, list[str], dict[str, float], float | None, tuple[int, int] | None]:
    """(faults, sources used, fallbacks, speculative, (min, max) or None) of a run whose
    trace classifies per-VMA-lock faults: faults from the exact per-process counter
    (perf stat), else vmstat (system-wide), else the trace; the classification from
    the trace (README "How the numbers are computed")."""
    tr = next(s for s in per_source if s.origin == "trace")
    fsrc = next((s for s in per_source if s.faults is not None), tr)
    used = [fsrc.origin] + ([] if fsrc is tr else ["trace"])
    pv = tr.detail["per_vma_lock"]
    rng = None if pv["exact"] else (int(pv["fell_back_min"]), int(pv["fell_back_max"]))
    return fsrc.faults, used, dict(tr.fallbacks), tr.speculative, rng


def findings(
    fb: dict[str, int], not_attempted: int | None, faults: int | None, tr: SourceTotals
) -> list[Any]:
    """Fallback classes with advice only where the trace supports the cause, then the
    faults that never tried the VMA lock: kernel-mode ones (counted in the trace) and
    any counted but not in the trace."""
    from .sources import Finding, pct

    pv = tr.detail["per_vma_lock"]
    overlapped: dict[str, int] = pv.get("overlapped_writer", {})
    items = [(k, v) for k, v in fb.items() if v > 0]
    kern = _n(tr.values.get("kernel_faults")) - _n(tr.values.get("kernel_address_faults"))
    if not_attempted and kern > 0:
        items.append((N.KERNEL_FAULT, min(kern, not_attempted)))
    rest = (not_attempted or 0) - max(0, min(kern, not_attempted or 0))
    if rest > 0:
        items.append(("untraced", rest))
    items.sort(key=lambda kv: (-kv[1], kv[0]))
    out = []
    for name, count in items:
        meaning, cause, _ = N.MEANINGS.get(name, _UNTRACED)
        churn = overlapped.get(name, 0) > 0
        advice = N.advice(name, churn) if name in N.MEANINGS else _UNTRACED[2]
        if name in (N.ABORT, N.RETRY):
            cause = (f"{overlapped.get(name, 0):,} of them overlapped a writer of the same mm "
                     "(holding or waiting for mmap_lock for write): " + cause[0].lower() + cause[1:]
                     if churn else "No writer of the same mm was seen holding or waiting for "
                     "mmap_lock during them.")  # fmt: skip
        out.append(Finding(name, count, pct(count, faults) or 0.0, meaning, cause, advice))
    return out


_UNTRACED = (
    "Faults the counter saw that the trace does not hold.",
    "Events the trace lost, or a trace that covers less than the counted run.",
    "Record with a larger buffer (perf record -m) or fewer events; see the disagreements.",
)


def vma_verdict(s: Any) -> str | None:
    """Per-VMA-lock runs classified by their trace: the share of traced user faults."""
    tr = next((p for p in s.per_source if "per_vma_lock" in p.detail), None)
    if tr is None:
        return None
    from .sources import share_text

    pv = tr.detail["per_vma_lock"]
    u, kern = int(pv["faults"]), int(pv["kernel_faults"])
    kernel = (
        f" {kern:,} kernel-mode fault{'s' if kern != 1 else ''} took mmap_lock, as they always do."
        if kern
        else ""
    )
    if s.fell_back_range is not None:
        lo, hi = s.fell_back_range
        return (
            f"Between {lo:,} and {hi:,} of {u:,} traced user faults ({share_text(lo, u)} to "
            f"{share_text(hi, u)}) fell back from the per-VMA lock to mmap_lock: without kernel "
            f"callchains the trace cannot say which.{kernel} {N.HOW_TO_EXACT}"
        )
    fell = int(pv["fell_back"])
    if fell == 0:
        return f"All {u:,} traced user faults completed under the per-VMA lock.{kernel}"
    top = next(f for f in s.findings if f.reason in s.fallbacks)
    return (
        f"{share_text(u - fell, u)} of {u:,} traced user faults completed under the per-VMA "
        f"lock; {fell:,} ({share_text(fell, u)}) fell back to mmap_lock, mostly {top.reason} "
        f"({top.count:,}): {top.likely_cause[:1].lower()}{top.likely_cause[1:]}{kernel}"
    )
