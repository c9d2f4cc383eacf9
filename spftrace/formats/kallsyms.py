"""Kernel symbols from a kallsyms text, looked up the way perf or trace-cmd does.

perf (tools/perf/util/symbol.c, 6.1): keeps types T/W/D/B, drops '$' names, keeps
``\\t[module]`` symbols apart from the kernel's, removes symbols sharing a start
(choose_best_symbol: non-weak, global, fewer leading '_', longer name, else the
first seen), ends each symbol at the next one's start (symbols__fixup_end; the
last kernel symbol at the next page boundary after it) and finds the symbol with
start <= ip < end.
trace-cmd / libtraceevent (trace-util.c tracecmd_parse_proc_kallsyms, event-parse.c
func_map_init/__find_func): keeps every symbol but types A/a and '$' names, sorts
by address (glibc's qsort is a stable merge sort and the list was built by
prepending, so of equal addresses the later line sorts first) and runs glibc's
bsearch with func_bcmp, which matches ``addr == start`` or ``start < addr < next``.
The text (120k lines for a distribution kernel) is parsed with numpy; names stay
in the text until a lookup needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

U64 = np.uint64
_HEXVAL = np.full(256, 255, np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEXVAL[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEXVAL[_c] = 10 + _i


@dataclass
class Symbols:
    starts: np.ndarray[Any, np.dtype[np.uint64]]
    ends: np.ndarray[Any, np.dtype[np.uint64]]
    text: bytes
    name_at: np.ndarray[Any, np.dtype[np.int64]]  # (n, 2) name start/end in text
    module: np.ndarray[Any, np.dtype[np.bool_]]
    flavor: str  # "perf" or "trace-cmd"

    def __len__(self) -> int:
        return len(self.starts)

    def name(self, i: int) -> bytes:
        a, b = self.name_at[i]
        return self.text[int(a) : int(b)]

    def lookup(self, addrs: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Index of the symbol holding each address, -1 for none."""
        a = np.asarray(addrs, U64)
        if not len(self.starts):
            return np.full(len(a), -1, np.int64)
        if self.flavor == "trace-cmd":
            return _bsearch_funcs(self.starts, a)
        i = np.searchsorted(self.starts, a, side="right").astype(np.int64) - 1
        j = np.maximum(i, 0)
        ok = (i >= 0) & (
            (a < self.ends[j]) | ((a == self.starts[j]) & (self.ends[j] == self.starts[j]))
        )
        return np.where(ok, i, -1)

    def resolve(
        self, addrs: np.ndarray[Any, Any]
    ) -> tuple[list[bytes | None], np.ndarray[Any, Any]]:
        """(name or None, start) per address: the tracefs_eval Resolver shape."""
        idx = self.lookup(addrs)
        names = [self.name(i) if i >= 0 else None for i in idx.tolist()]
        starts = np.where(idx >= 0, self.starts[np.maximum(idx, 0)], U64(0))
        return names, starts


@dataclass
class _Parsed:
    addr: np.ndarray[Any, Any]
    typ: np.ndarray[Any, Any]
    name_at: np.ndarray[Any, Any]
    module: np.ndarray[Any, Any]


#: text parsed per block of about this many bytes (cut after a newline): the arrays of
#: a block are a few times its line count, so a kallsyms section of millions of short
#: or empty lines (a reduced fixture, a damaged file) cannot take more than that
_BLOCK = 1 << 18


def _parse(text: bytes) -> _Parsed:
    w = text.find(b" ")
    if w <= 0 or w > 16:
        return _Parsed(
            np.zeros(0, U64), np.zeros(0, np.uint8), np.zeros((0, 2), np.int64), np.zeros(0, bool)
        )
    parts: list[_Parsed] = []
    at = 0
    while at < len(text):
        cut = text.find(b"\n", at + _BLOCK) if len(text) - at > _BLOCK else -1
        end = len(text) if cut < 0 else cut + 1
        parts.append(_parse_block(text, at, end, w))
        at = end
    if not parts:
        parts.append(_parse_block(text, 0, 0, w))
    return _Parsed(
        np.concatenate([q.addr for q in parts]),
        np.concatenate([q.typ for q in parts]),
        np.concatenate([q.name_at for q in parts]),
        np.concatenate([q.module for q in parts]),
    )


def _parse_block(text: bytes, base: int, stop: int, w: int) -> _Parsed:
    """The lines of ``text[base:stop]`` (whole lines), offsets into ``text``."""
    buf = np.frombuffer(text, np.uint8, count=stop - base, offset=base)
    nl = np.flatnonzero(buf == 10)
    starts = np.concatenate([[0], nl + 1]).astype(np.int64)
    ends = np.concatenate([nl, [len(buf)]]).astype(np.int64)
    ok = ends - starts > w + 2
    starts, ends = starts[ok], ends[ok]
    ok = (buf[starts + w] == 32) & (buf[np.minimum(starts + w + 2, len(buf) - 1)] == 32)
    starts, ends = starts[ok], ends[ok]
    digits = _HEXVAL[buf[starts[:, None] + np.arange(w)]]
    ok = (digits != 255).all(axis=1)
    starts, ends, digits = starts[ok], ends[ok], digits[ok]
    addr = np.zeros(len(starts), U64)
    for k in range(w):
        addr = (addr << U64(4)) | digits[:, k].astype(U64)
    typ = buf[starts + w + 1]
    name_start = starts + w + 3
    tabs = np.flatnonzero(buf == 9)
    t = np.searchsorted(tabs, name_start)
    tab = np.where(
        t < len(tabs), tabs[np.minimum(t, max(len(tabs) - 1, 0))] if len(tabs) else 0, -1
    )
    has_tab = (tab >= name_start) & (tab < ends) if len(tabs) else np.zeros(len(starts), bool)
    name_end = np.where(has_tab, tab, ends)
    # names end at the first blank too (sscanf %s)
    module = has_tab & (buf[np.minimum(name_end + 1, len(buf) - 1)] == ord("["))
    at = np.stack([name_start, name_end], axis=1) + base
    return _Parsed(addr, typ, at, module)


def _names(text: bytes, at: np.ndarray[Any, Any]) -> list[bytes]:
    return [text[int(a) : int(b)] for a, b in at.tolist()]


def _binding(t: int) -> int:
    return 2 if t in b"wW" else (1 if chr(t).isupper() else 0)  # weak, global, local


def _better(a: tuple[int, bytes], b: tuple[int, bytes]) -> bool:
    """choose_best_symbol(a, b) == SYMBOL_A for two kallsyms symbols (type, name)."""
    wa, wb = _binding(a[0]) == 2, _binding(b[0]) == 2
    if wa != wb:
        return wb
    ga, gb = _binding(a[0]) == 1, _binding(b[0]) == 1
    if ga != gb:
        return ga
    ua, ub = len(a[1]) - len(a[1].lstrip(b"_")), len(b[1]) - len(b[1].lstrip(b"_"))
    if ua != ub:
        return ub > ua
    if len(a[1]) != len(b[1]):
        return len(a[1]) > len(b[1])
    return True


def perf_symbols(text: bytes) -> Symbols:
    p = _parse(text)
    upper = p.typ & 0xDF
    keep = np.isin(upper, np.frombuffer(b"TWDB", np.uint8))
    keep &= np.frombuffer(text, np.uint8)[
        np.minimum(p.name_at[:, 0], max(len(text) - 1, 0))
    ] != ord("$")
    idx = np.flatnonzero(keep)
    order = idx[np.argsort(p.addr[idx], kind="stable")]
    # duplicates (same start, same kernel/module side): keep the best one
    a, m = p.addr[order], p.module[order]
    same = np.zeros(len(order), bool)
    if len(order) > 1:
        same[1:] = (a[1:] == a[:-1]) & (m[1:] == m[:-1])
    drop = np.zeros(len(order), bool)
    # of a run of equal starts one is kept so far (``prev``): walking back over the
    # dropped ones instead made a run of n duplicates cost n^2 / 2 steps (a hang on a
    # perf.data whose tracing data holds a hostile kallsyms)
    prev = 0
    for k in np.flatnonzero(same).tolist():
        if not same[k - 1]:
            prev = k - 1  # k - 1 starts the run
        ta = (int(p.typ[order[prev]]), text[slice(*p.name_at[order[prev]].tolist())])
        tb = (int(p.typ[order[k]]), text[slice(*p.name_at[order[k]].tolist())])
        if _better(ta, tb):
            drop[k] = True
        else:
            drop[prev] = True
            prev = k
    order = order[~drop]
    starts = p.addr[order]
    mods = p.module[order]
    ends = np.empty(len(order), U64)
    if len(order):
        ends[:-1] = starts[1:]
        gap = mods[:-1] != mods[1:]
        page = ((starts[:-1] + U64(4096 + 4095)) // U64(4096)) * U64(4096)
        ends[:-1] = np.where(gap, page, ends[:-1])
        ends[-1] = ((int(starts[-1]) + 4095) // 4096) * 4096 + 4096
    return Symbols(starts, ends, text, p.name_at[order], mods, "perf")


def tep_symbols(text: bytes) -> Symbols:
    p = _parse(text)
    buf = np.frombuffer(text, np.uint8)
    keep = ~np.isin(p.typ, np.frombuffer(b"Aa", np.uint8))
    keep &= buf[np.minimum(p.name_at[:, 0], max(len(text) - 1, 0))] != ord("$")
    # tep_register_function stops a name at the first blank (sscanf %s)
    idx = np.flatnonzero(keep)
    rev = idx[::-1]  # the list was built by prepending
    order = rev[np.argsort(p.addr[rev], kind="stable")]
    starts = p.addr[order]
    ends = np.append(starts[1:], U64(0)) if len(starts) else starts.copy()
    return Symbols(starts, ends, text, p.name_at[order], p.module[order], "trace-cmd")


def _bsearch_funcs(
    starts: np.ndarray[Any, Any], keys: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """glibc bsearch(key, func_map, n, func_bcmp) for each key, probing as it does."""
    n = len(starts)
    nxt = np.append(starts[1:], U64(0))  # the sentinel after the last entry has addr 0
    lo = np.zeros(len(keys), np.int64)
    hi = np.full(len(keys), n, np.int64)
    found = np.full(len(keys), -1, np.int64)
    active = lo < hi
    while active.any():
        idx = (lo + hi) // 2
        j = np.where(active, idx, 0)
        s, t = starts[j], nxt[j]
        hit = active & ((keys == s) | ((keys > s) & (keys < t)))
        found[hit] = idx[hit]
        less = active & ~hit & (keys < s)
        more = active & ~hit & (keys >= s)
        hi = np.where(less, idx, hi)
        lo = np.where(more, idx + 1, lo)
        active = active & ~hit & (lo < hi)
    return found
