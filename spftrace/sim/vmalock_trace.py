"""The per-VMA-lock kernel's tracepoints, in the shapes a 6.18 kernel emits them.

docs/per-vma-lock.md has the shapes, recorded on a real kernel: a fault completed
under the VMA lock (the first touch of a chunk with the __vmf_anon_prepare read
trylock), an abort (lock_mm_and_find_vma, contended when a writer holds the lock),
a retry (a failed __vmf_anon_prepare trylock, then lock_mm_and_find_vma), kernel-mode
faults (page_fault_kernel, always under mmap_lock) and the writers (mmap: write lock;
munmap: write lock, downgrade, read release), each mmap_lock event with its kernel
callchain.  The injected counts stay exact: every abort and retry of the model is one
fault here, and the kernel-mode faults are carved out of the successes (the kernel
counts neither in vma_lock_*, and both in pgfault), so perf stat, vmstat and the
trace agree on the fault count.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Record = tuple[float, int, str, str, list[str] | None]

#: innermost frames of each acquisition (the __mmap_lock_do_trace_* wrapper first)
FRAMES = {
    "anon": ["__vmf_anon_prepare", "do_anonymous_page", "__handle_mm_fault", "handle_mm_fault",
             "exc_page_fault", "asm_exc_page_fault"],
    "fault": ["lock_mm_and_find_vma", "exc_page_fault", "asm_exc_page_fault"],
    "release": ["exc_page_fault", "asm_exc_page_fault"],
    "kernel": ["lock_mm_and_find_vma", "exc_page_fault", "asm_exc_page_fault",
               "_copy_to_user", "ksys_read", "do_syscall_64"],
    "kernel_release": ["exc_page_fault", "asm_exc_page_fault", "_copy_to_user", "ksys_read",
                       "do_syscall_64"],
    "mmap": ["vm_mmap_pgoff", "ksys_mmap_pgoff", "do_syscall_64"],
    "munmap": ["__vm_munmap", "__x64_sys_munmap", "do_syscall_64"],
    "downgrade": ["vms_complete_munmap_vmas", "do_vmi_align_munmap", "do_vmi_munmap",
                  "__vm_munmap", "__x64_sys_munmap", "do_syscall_64"],
}  # fmt: skip
_WRAP = {
    "mmap_lock_start_locking": "__mmap_lock_do_trace_start_locking",
    "mmap_lock_acquire_returned": "__mmap_lock_do_trace_acquire_returned",
    "mmap_lock_released": "__mmap_lock_do_trace_released",
}
KERNEL_EVERY = 8  # the first fault of every 8th run is a kernel-mode one (a read() into it)


def _lock(
    t: float, thread: int, mm: str, name: str, write: bool, where: str, ok: bool | None = None
) -> Record:
    payload = f"mm={mm} memcg_path=/user.slice write={'true' if write else 'false'}"
    if ok is not None:
        payload += f" success={'true' if ok else 'false'}"
    frames = FRAMES[where]
    if not (where == "fault" and name != "mmap_lock_released"):  # trylocks have no wrapper
        frames = [_WRAP[name], *frames]
    return (t, thread, name, payload, frames)


def records(r: Any, w: Any, mm_ptr: int) -> list[Record]:
    """Every per-VMA-lock event of a simulated run (unsorted)."""
    out: list[Record] = []
    ip = 0x55D0C0DE1234
    mm_of = [f"0x{mm_ptr + 0x1000 * m:x}" for m in range(max(r.mm_of_thread, default=0) + 1)]
    faults: list[tuple[float, int, int, int]] = []  # (time, thread, address, first of chunk)
    for n, (thread, t0, period, k, group, chunk) in enumerate(r.runs):
        mm = r.mm_of_thread[thread]
        base = 0x7F0000000000 - mm * 0x1000000000 - group * 0x40000000
        span = 0x40000000 // (w.chunk_pages * 4096)
        start = base + (chunk % max(1, span)) * w.chunk_pages * 4096
        for i, t in enumerate((t0 + np.arange(k) * period).tolist()):
            first = 2 if (i == 0 and n % KERNEL_EVERY == 0) else int(i == 0)
            faults.append((t, thread, start + i * 4096, first))
    faults.sort()
    kind = _kinds(r, faults)
    gap = _gaps(faults, r.write_log)
    held = _write_held(r)
    for j, (t, thread, addr, first) in enumerate(faults):
        mm = mm_of[r.mm_of_thread[thread]]
        step = min(gap[j], 1.0) / 8  # every lock event before the thread's next fault
        payload = f"address=0x{addr:x} ip=0x{ip + (j % 7) * 16:x} error_code=0x6"
        k = kind[j]
        if k == "kernel":
            kp = f"address=0x{addr:x} ip=_copy_to_user error_code=0x2"
            out.append((t, thread, "page_fault_kernel", kp, None))
            out += _fallback(t, thread, mm, step, contended=held(t), where="kernel")
            continue
        out.append((t, thread, "page_fault_user", payload, None))
        if k == "abort":
            out += _fallback(t, thread, mm, step, contended=held(t), where="fault")
        elif k == "retry":
            out.append(_lock(t + step, thread, mm, "mmap_lock_start_locking", False, "anon"))
            out.append(_lock(t + 2 * step, thread, mm, "mmap_lock_acquire_returned", False, "anon",
                             False))  # fmt: skip
            out += _fallback(t + 2 * step, thread, mm, step, contended=False, where="fault")
        elif first:  # a chunk's first touch: the anon_vma trylock, under the VMA lock
            out.append(_lock(t + step, thread, mm, "mmap_lock_start_locking", False, "anon"))
            out.append(_lock(t + 2 * step, thread, mm, "mmap_lock_acquire_returned", False, "anon",
                             True))  # fmt: skip
            out.append(_lock(t + 3 * step, thread, mm, "mmap_lock_released", False, "anon"))
    own: dict[int, list[float]] = {}
    for f in faults:
        own.setdefault(f[1], []).append(f[0])
    for wr in r.write_log:
        mm = mm_of[r.mm_of_thread[wr.thread]]
        where = "munmap" if wr.op == "munmap" else "mmap"
        # a thread in a system call takes no user fault: a hold the model lets overlap
        # its own thread's next fault ends just before it
        times = own.get(wr.thread, [])
        i = int(np.searchsorted(times, wr.t_acquire, "right"))
        end = wr.t_release
        if i < len(times) and times[i] <= end:
            end = times[i] - min(1e-3, (times[i] - wr.t_acquire) / 2)
        out.append(_lock(wr.t_request, wr.thread, mm, "mmap_lock_start_locking", True, where))
        out.append(_lock(wr.t_acquire, wr.thread, mm, "mmap_lock_acquire_returned", True, where,
                         True))  # fmt: skip
        if wr.op == "munmap":  # mm/vma.c: page tables are freed under the read lock
            mid = wr.t_acquire + (end - wr.t_acquire) / 2
            out.append(_lock(mid, wr.thread, mm, "mmap_lock_acquire_returned", False,
                             "downgrade", True))  # fmt: skip
            out.append(_lock(end, wr.thread, mm, "mmap_lock_released", False, "downgrade"))
        else:
            out.append(_lock(end, wr.thread, mm, "mmap_lock_released", True, where))
    return out


def _fallback(
    t: float, thread: int, mm: str, step: float, contended: bool, where: str
) -> list[Record]:
    """lock_mm_and_find_vma: the read trylock (and, when it fails, the blocking read
    lock), then the fault handled under the read lock and released by the handler."""
    rel = "kernel_release" if where == "kernel" else "release"
    out = [_lock(t + step, thread, mm, "mmap_lock_start_locking", False, "fault")]
    if contended:
        out.append(_lock(t + 1.5 * step, thread, mm, "mmap_lock_acquire_returned", False, "fault",
                         False))  # fmt: skip
        out.append(_lock(t + 2 * step, thread, mm, "mmap_lock_start_locking", False, "fault"))
    out.append(_lock(t + 3 * step, thread, mm, "mmap_lock_acquire_returned", False, "fault", True))
    out.append(_lock(t + 5 * step, thread, mm, "mmap_lock_released", False, rel))
    return out


def _kinds(r: Any, faults: list[tuple[float, int, int, int]]) -> list[str]:
    """Each fault's class: the model's aborts at their sampled times (the next fault of
    that thread not taken yet), its retries among the rest (seeded), kernel-mode faults
    where the layout put them, successes otherwise."""
    kind = ["success"] * len(faults)
    by_thread: dict[int, list[int]] = {}
    for j, f in enumerate(faults):
        by_thread.setdefault(f[1], []).append(j)
    for s in sorted(r.samples, key=lambda s: (s.t_us, s.thread)):
        js = by_thread.get(s.thread, [])
        times = [faults[j][0] for j in js]
        at = int(np.searchsorted(times, s.t_us - 1e-9))
        for j in js[at:] + js[:at][::-1]:
            if kind[j] == "success" and faults[j][3] != 2:
                kind[j] = "abort"
                break
    free = [j for j, k in enumerate(kind) if k == "success" and faults[j][3] != 2]
    retries = min(r.vma_lock.get("retry", 0), len(free))
    if retries:
        rng = np.random.default_rng(r.seed + 7)
        for j in rng.choice(free, size=retries, replace=False).tolist():
            kind[j] = "retry"
    for j, f in enumerate(faults):
        if f[3] == 2 and kind[j] == "success":
            kind[j] = "kernel"
    return kind


def _gaps(faults: list[tuple[float, int, int, int]], writes: Any) -> list[float]:
    """Time to the same thread's next fault or write request (1 us after its last):
    a fault's lock events come before whatever its thread does next."""
    gap = [1.0] * len(faults)
    last: dict[int, int] = {}
    for j, f in enumerate(faults):
        if f[1] in last:
            gap[last[f[1]]] = f[0] - faults[last[f[1]]][0]
        last[f[1]] = j
    by_thread: dict[int, list[float]] = {}
    for wr in writes:
        by_thread.setdefault(wr.thread, []).append(wr.t_request)
    for th, ts in by_thread.items():
        ts.sort()
        for j, f in enumerate(faults):
            if f[1] == th:
                i = int(np.searchsorted(ts, f[0], "right"))
                if i < len(ts):
                    gap[j] = min(gap[j], ts[i] - f[0])
    return gap


def _write_held(r: Any) -> Any:
    """t -> whether some thread held mmap_lock for write at t."""
    spans = sorted((wr.t_acquire, wr.t_release) for wr in r.write_log)
    starts = np.array([a for a, _ in spans])
    ends = np.maximum.accumulate(np.array([b for _, b in spans])) if spans else np.zeros(0)

    def held(t: float) -> bool:
        i = int(np.searchsorted(starts, t, "right")) - 1
        return bool(i >= 0 and ends[i] > t)

    return held
