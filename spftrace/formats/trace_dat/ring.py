"""Ring-buffer pages (flyrecord data) -> records: the pure-Python reference walk.

Reference: libtraceevent src/kbuffer-parse.c (kbuffer_load_subbuffer: a page is
timestamp u64, commit long, data; commit's low 27 bits are the data size, bit 31
says events were lost before the page and bit 30 that their count is stored after
the data; translate_data/update_pointers: an event header is a u32 of type_len:5
and time_delta:27 (the other way round in big-endian files); type_len 29 is
padding, 30 a time extend (delta += array[0] << 27), 31 an absolute time stamp
(keeping the top 5 bits of the page's time), 0 a record whose length is in
array[0], 1..28 a record of type_len * 4 bytes.
The compiled twin (spftrace/_native/src/perf_walk.c, ring_walk) returns the same arrays.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..native import perf_walk

PADDING, TIME_EXTEND, TIME_STAMP = 29, 30, 31
COMMIT_MASK = (1 << 27) - 1
MISSING_EVENTS = 1 << 31
MISSING_STORED = 1 << 30
TS_MSB = 0xF8 << 56


@dataclass
class PageWalk:
    ts: np.ndarray[Any, np.dtype[np.uint64]]  # raw ring-buffer time of each record
    off: np.ndarray[Any, np.dtype[np.int64]]  # data offset in the buffer
    length: np.ndarray[Any, np.dtype[np.int64]]
    page: np.ndarray[Any, np.dtype[np.int64]]  # page index of each record
    lost: np.ndarray[Any, np.dtype[np.int64]]  # per page: 0, events lost, or -1 (unknown count)
    bad_pages: int


def walk_pages_py(buf: bytes | memoryview, page_size: int, long_size: int, big: bool) -> PageWalk:
    e = ">" if big else "<"
    u32 = struct.Struct(e + "I")
    u64 = struct.Struct(e + "Q")
    start = 16 if long_size == 8 else 12
    npages = len(buf) // page_size
    ts_l: list[int] = []
    off_l: list[int] = []
    len_l: list[int] = []
    page_l: list[int] = []
    lost = [0] * npages
    bad = 0
    for pg in range(npages):
        base = pg * page_size
        ts = u64.unpack_from(buf, base)[0]
        commit = (u64 if long_size == 8 else u32).unpack_from(buf, base + 8)[0]
        size = commit & COMMIT_MASK
        data = base + start
        if size > page_size - start:
            bad += 1
            continue
        if commit & MISSING_EVENTS:
            if commit & MISSING_STORED and start + size + long_size <= page_size:
                lost[pg] = (u64 if long_size == 8 else u32).unpack_from(buf, data + size)[0]
            else:
                lost[pg] = -1
        pos = 0
        while pos + 4 <= size:
            word = u32.unpack_from(buf, data + pos)[0]
            if big:
                type_len, delta = word >> 27, word & ((1 << 27) - 1)
            else:
                type_len, delta = word & 31, word >> 5
            p = pos + 4
            if type_len == PADDING:
                if p + 4 > size:
                    break
                length = u32.unpack_from(buf, data + p)[0]
                ts = (ts + delta) & 0xFFFFFFFFFFFFFFFF
            elif type_len in (TIME_EXTEND, TIME_STAMP):
                if p + 4 > size:
                    break
                ext = (u32.unpack_from(buf, data + p)[0] << 27) + delta
                p += 4
                length = 0
                if type_len == TIME_STAMP:
                    ts = (ext | (ts & TS_MSB)) & 0xFFFFFFFFFFFFFFFF
                else:
                    ts = (ts + ext) & 0xFFFFFFFFFFFFFFFF
            else:
                if type_len == 0:
                    if p + 4 > size:
                        break
                    length = u32.unpack_from(buf, data + p)[0] - 4
                    length = (length + 3) & ~3
                    p += 4
                else:
                    length = type_len * 4
                ts = (ts + delta) & 0xFFFFFFFFFFFFFFFF
                if length < 0 or p + length > size:
                    break
                ts_l.append(ts)
                off_l.append(data + p)
                len_l.append(length)
                page_l.append(pg)
            if length < 0:
                break
            pos = p + length
    return PageWalk(
        np.array(ts_l, np.uint64),
        np.array(off_l, np.int64),
        np.array(len_l, np.int64),
        np.array(page_l, np.int64),
        np.array(lost, np.int64),
        bad,
    )


def walk_pages(
    buf: bytes, page_size: int, long_size: int, big: bool, *, use_native: bool = True
) -> PageWalk:
    mod = perf_walk() if use_native else None
    if mod is None:
        return walk_pages_py(buf, page_size, long_size, big)
    npages = len(buf) // page_size
    cap = max(1, len(buf) // 8)
    ts = np.empty(cap, np.uint64)
    off = np.empty(cap, np.int64)
    ln = np.empty(cap, np.int64)
    pg = np.empty(cap, np.int64)
    lost = np.zeros(max(npages, 1), np.int64)
    n, bad = mod.ring_walk(buf, page_size, long_size, big, ts, off, ln, pg, lost)
    return PageWalk(
        ts[:n].copy(), off[:n].copy(), ln[:n].copy(), pg[:n].copy(), lost[:npages].copy(), int(bad)
    )
