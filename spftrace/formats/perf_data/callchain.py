"""PERF_SAMPLE_CALLCHAIN to frames, and addresses to symbols and objects.

Reference: tools/perf/util/machine.c (perf 6.1 thread__resolve_callchain_sample and
add_callchain_ip: PERF_CONTEXT_* markers switch the address space and are not
frames, an unknown marker empties the chain, at most 127 frames are kept for perf
script (PERF_MAX_STACK_DEPTH); thread__find_cpumode_addr_location tries the user
maps first, then the kernel's).  Kernel frames get a symbol from kallsyms when one
is available; user frames get the object of their mapping (symbols of user
binaries are not read).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..kallsyms import Symbols
from ..numbers import unique_inverse
from .state import Threads

U64 = np.uint64
MARKER_MIN = (1 << 64) - 4095
CTX = {
    (1 << 64) - 32: 3,  # PERF_CONTEXT_HV -> PERF_RECORD_MISC_HYPERVISOR
    (1 << 64) - 128: 1,  # KERNEL
    (1 << 64) - 512: 2,  # USER
    (1 << 64) - 2048: 6,  # GUEST (perf: cpumode becomes "guest", no maps here)
    (1 << 64) - 2176: 4,  # GUEST_KERNEL
    (1 << 64) - 2560: 5,  # GUEST_USER
}
MAX_STACK = 127
KERNEL_DSO = "[kernel.kallsyms]"


@dataclass
class Frames:
    """Flattened frames: ``owner[k]`` is the row of frame k (rows in order)."""

    owner: np.ndarray[Any, np.dtype[np.int64]]
    ip: np.ndarray[Any, np.dtype[np.uint64]]
    mode: np.ndarray[Any, np.dtype[np.int64]]  # perf cpumode, 0 = unknown
    counts: np.ndarray[Any, np.dtype[np.int64]]  # frames per row


def read_u64s(
    buf: np.ndarray[Any, Any], at: np.ndarray[Any, Any], big: bool
) -> np.ndarray[Any, Any]:
    """The u64 at each offset: the compiled u64s when built, else read_u64s_py."""
    from ..native import perf_walk

    mod = perf_walk()
    if mod is None or not hasattr(mod, "u64s") or not len(at):
        return read_u64s_py(buf, at, big)
    out = np.empty(len(at), U64)
    mod.u64s(np.ascontiguousarray(buf, np.uint8), np.ascontiguousarray(at, np.int64), big, out)
    return out


def read_u64s_py(
    buf: np.ndarray[Any, Any], at: np.ndarray[Any, Any], big: bool
) -> np.ndarray[Any, Any]:
    if not len(at):
        return np.zeros(0, U64)
    mat = buf[np.asarray(at, np.int64)[:, None] + np.arange(8)]
    return np.ascontiguousarray(mat).view(">u8" if big else "<u8").reshape(-1).astype(U64)


def frames(
    buf: np.ndarray[Any, Any], cc_off: np.ndarray[Any, Any], cc_nr: np.ndarray[Any, Any], big: bool
) -> Frames:
    """The frames of each row's callchain (rows without one have none)."""
    nr = np.asarray(cc_nr, np.int64)
    n = len(nr)
    if not nr.any():  # no callchains (the usual tracepoint capture): no frames
        none = np.zeros(0, np.int64)
        return Frames(none, np.zeros(0, U64), none, np.zeros(n, np.int64))
    owner = np.repeat(np.arange(n, dtype=np.int64), nr)
    start = np.zeros(n + 1, np.int64)
    np.cumsum(nr, out=start[1:])
    k = np.arange(len(owner), dtype=np.int64) - start[:-1][owner]
    ips = read_u64s(buf, np.asarray(cc_off, np.int64)[owner] + 8 * k, big)
    marker = ips >= U64(MARKER_MIN)
    code = np.zeros(len(ips), np.int64)
    for value, cpumode in CTX.items():
        code[ips == U64(value)] = cpumode
    bad = marker & (code == 0)
    # the cpumode in force at each entry: the last marker before it in its chain
    chain_start = np.zeros(len(ips), bool)
    chain_start[start[:-1][nr > 0]] = True
    anchors = np.where(marker | chain_start, np.arange(len(ips)), -1)
    last: np.ndarray[Any, Any] = np.maximum.accumulate(anchors) if len(ips) else anchors
    mode: np.ndarray[Any, Any] = np.where(marker[last], code[last], 0) if len(ips) else code
    # an unknown marker empties its whole chain
    if bad.any():
        dead = np.zeros(n, bool)
        dead[owner[bad]] = True
        keep_chain = ~dead[owner]
    else:
        keep_chain = np.ones(len(ips), bool)
    real = ~marker & keep_chain
    rank = np.cumsum(real) - 1
    base = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(owner[real], minlength=n), out=base[1:])
    within = rank - base[owner] if len(owner) else rank
    keep = real & (within < MAX_STACK)
    counts = np.bincount(owner[keep], minlength=n).astype(np.int64) if n else np.zeros(0, np.int64)
    return Frames(owner[keep], ips[keep], mode[keep].astype(np.int64), counts)


class Names:
    """A growing table of strings (symbols, objects): rows hold indices into it."""

    def __init__(self) -> None:
        self.items: list[bytes] = []
        self.index: dict[bytes, int] = {}

    def add(self, name: bytes) -> int:
        i = self.index.get(name)
        if i is None:
            i = self.index[name] = len(self.items)
            self.items.append(name)
        return i


@dataclass
class Resolved:
    sym: np.ndarray[Any, np.dtype[np.int64]]  # index into the symbol Names, -1: none
    off: np.ndarray[Any, np.dtype[np.uint64]]
    dso: np.ndarray[Any, np.dtype[np.int64]]  # index into the object Names, -1: none


def _unique_rows(
    ips: np.ndarray[Any, Any], modes: np.ndarray[Any, Any], pids: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Distinct (ip, mode, pid) rows as an (k, 3) uint64 array, and each row's index."""
    if (modes == modes[0]).all() and (pids == pids[0]).all():
        u, inv = unique_inverse(ips)
        uniq = np.empty((len(u), 3), U64)
        uniq[:, 0] = u
        uniq[:, 1] = U64(int(modes[0]) & 0xFFFFFFFFFFFFFFFF)
        uniq[:, 2] = np.int64(pids[0]).astype(np.int64).view(U64) if len(u) else U64(0)
        return uniq, inv.reshape(-1)
    # one 1-D key per row (np.unique over rows, axis=0, sorts bytes and is far slower):
    # the address's rank among the distinct addresses, then pid and mode in 35 bits
    u_ip, ip_rank = unique_inverse(ips)
    pid_bits = pids.astype(np.int64).astype(U64) & U64(0xFFFFFFFF)
    key = (ip_rank.reshape(-1).astype(U64) << U64(35)) | (pid_bits << U64(3))
    key |= modes.astype(U64) & U64(7)
    u_key, inv = unique_inverse(key)
    uniq = np.empty((len(u_key), 3), U64)
    uniq[:, 0] = u_ip[(u_key >> U64(35)).astype(np.int64)]
    uniq[:, 1] = u_key & U64(7)
    pid32 = ((u_key >> U64(3)) & U64(0xFFFFFFFF)).astype(np.uint32).view(np.int32)
    uniq[:, 2] = pid32.astype(np.int64).view(U64)
    return uniq, inv.reshape(-1)


def in_kernel(threads: Threads, ip: int) -> bool:
    k = threads.kernel
    if k is not None:
        return k.start <= ip < k.end
    return ip >= 0xFFFF800000000000


def in_kernel_all(threads: Threads, ips: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``in_kernel`` of each address."""
    a = np.asarray(ips, U64)
    k = threads.kernel
    if k is not None:
        out: np.ndarray[Any, Any] = a >= U64(min(max(k.start, 0), (1 << 64) - 1))
        if k.start < 0:
            out[:] = True
        if k.end < 1 << 64:
            out &= a < U64(max(k.end, 0))
        return out
    return np.asarray(a >= U64(0xFFFF800000000000), bool)


def resolve(
    ips: np.ndarray[Any, Any],
    modes: np.ndarray[Any, Any],
    pids: np.ndarray[Any, Any],
    threads: Threads,
    ksyms: Symbols | None,
    syms: Names,
    dsos: Names,
) -> Resolved:
    """Symbol, offset in it, and object of each address (as perf script names them),
    worked out once per distinct (address, address space, process)."""
    n = len(ips)
    if not n:
        return Resolved(np.zeros(0, np.int64), np.zeros(0, U64), np.zeros(0, np.int64))
    # the kernel's addresses do not depend on the process: key them by address alone
    modes = np.asarray(modes, np.int64)
    pid_key = np.where(modes == 1, -1, np.asarray(pids, np.int64))
    uniq, inv = _unique_rows(ips.astype(U64), modes, pid_key)
    u_dso = np.full(len(uniq), -1, np.int64)
    u_kern = np.zeros(len(uniq), bool)
    kernel = dsos.add(KERNEL_DSO.encode())
    for j, (ip, mode, pid) in enumerate(uniq.tolist()):
        pid = int(np.uint64(pid).view(np.int64))
        if mode in (0, 2):
            m = threads.find_user(pid, ip)
            if m is not None:
                u_dso[j] = dsos.add(m.name.encode("utf-8", "surrogateescape"))
            elif mode == 0 and in_kernel(threads, ip):
                u_dso[j], u_kern[j] = kernel, True
        elif mode == 1 and in_kernel(threads, ip):
            u_dso[j], u_kern[j] = kernel, True
    u_sym = np.full(len(uniq), -1, np.int64)
    u_off = np.zeros(len(uniq), U64)
    if ksyms is not None and u_kern.any():
        rows = np.flatnonzero(u_kern)
        idx = ksyms.lookup(uniq[rows, 0])
        for r, i in zip(rows.tolist(), idx.tolist(), strict=True):
            if i >= 0:
                u_sym[r] = syms.add(ksyms.name(i))
                u_off[r] = uniq[r, 0] - ksyms.starts[i]
    return Resolved(u_sym[inv], u_off[inv], u_dso[inv])
