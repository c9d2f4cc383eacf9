"""Walking perf.data records: the pure-Python reference, and the compiled twin.

Reference: include/uapi/linux/perf_event.h (PERF_RECORD_SAMPLE field order, the
sample_id trailer of other records), tools/perf/util/evsel.c (evsel__parse_sample,
perf_evsel__parse_id_sample: the trailer is read from the end; evsel__calc_id_pos:
where the sample id sits when attrs differ).

One walk turns a window of the data section into a table with one row per record
(``COLUMNS``): where it is, its type and size, and every sample field spftrace
uses (or the trailer's pid/tid/time/cpu for other records).  The compiled twin
(spftrace/_native/src/perf_walk.c) fills the same table and tests hold them equal;
without it the walk runs here, slower.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..native import perf_walk
from . import attr as A
from .attr import Attr


def _words(text: str) -> list[str]:
    return text.split()


COLUMNS = _words(
    "off type misc size attr ip pid tid time addr id cpu period raw_off raw_len cc_off cc_nr status"
)
C = {name: i for i, name in enumerate(COLUMNS)}
NCOL = len(COLUMNS)
NO_TIME = (1 << 64) - 1

SAMPLE = 9
AUXTRACE = 71
TRACING_DATA = 66
USER_START = 64

# status column: why a record's fields could not all be read
OK, MALFORMED, UNKNOWN_ID = 0, 1, 2
# walk stop reasons
STOP_END, STOP_BAD_HEADER, STOP_FULL = 0, 1, 2


@dataclass(frozen=True)
class WalkConfig:
    """Everything the walk needs about the attrs, as arrays (the compiled twin's input)."""

    big_endian: bool
    attrs: np.ndarray[Any, np.dtype[np.uint64]]  # (n, 8): see attr_row
    ids: np.ndarray[Any, np.dtype[np.uint64]]  # sorted sample ids
    id_attr: np.ndarray[Any, np.dtype[np.int64]]  # attr index of each id
    id_pos: int  # u64 slot of the id in a sample (-1: none)
    is_pos: int  # u64 slot of the id counted from a trailer's end (-1: none)


def attr_row(a: Attr) -> list[int]:
    return [
        a.sample_type,
        a.read_format,
        bin(a.sample_regs_user).count("1"),
        bin(a.sample_regs_intr).count("1"),
        1 if a.branch_sample_type & A.BRANCH_HW_INDEX else 0,
        1 if a.branch_sample_type & A.BRANCH_COUNTERS else 0,
        1 if a.sample_id_all else 0,
        0,
    ]


def make_config(big_endian: bool, attrs: list[Attr], ids: list[tuple[int, int]]) -> WalkConfig:
    """``ids``: (sample id, attr index) pairs."""
    rows = np.array([attr_row(a) for a in attrs] or [[0] * 8], np.uint64)
    pairs = sorted(set(ids))
    return config_of(
        big_endian,
        attrs[0].sample_type if attrs else 0,
        rows,
        np.array([p[0] for p in pairs], np.uint64),
        np.array([p[1] for p in pairs], np.int64),
    )


def config_of(
    big_endian: bool,
    first: int,
    rows: np.ndarray[Any, Any],
    ids: np.ndarray[Any, Any],
    id_attr: np.ndarray[Any, Any],
) -> WalkConfig:
    """The config from the attrs' rows and the sorted (id, attr index) pairs as two
    arrays; ``first``: the first attr's sample_type (where samples keep their id)."""
    if first & A.IDENTIFIER:
        id_pos, is_pos = 0, 1
    elif first & A.ID:
        id_pos = sum(1 for b in (A.IP, A.TID, A.TIME, A.ADDR) if first & b)
        is_pos = sum(1 for b in (A.CPU, A.STREAM_ID) if first & b) + 1
    else:
        id_pos = is_pos = -1
    return WalkConfig(big_endian, rows, ids, id_attr, id_pos, is_pos)


def new_table(cap: int, empty: bool = False) -> np.ndarray[Any, np.dtype[np.uint64]]:
    """A walk's output table; ``empty``: not zeroed (a walk writes whole rows)."""
    return (np.empty if empty else np.zeros)((cap, NCOL), np.uint64)


class _Short(Exception):
    pass


def walk_py(
    buf: bytes | memoryview, pos: int, end: int, cfg: WalkConfig, out: np.ndarray[Any, Any]
) -> tuple[int, int, int]:
    """Walk records in ``buf[pos:end]`` into ``out``: (records, next pos, stop reason).
    A record that runs past ``end`` is left for the next window (reason STOP_END)."""
    e = ">" if cfg.big_endian else "<"
    hdr = struct.Struct(e + "IHH")
    q = struct.Struct(e + "Q")
    cap = len(out)
    n = 0
    multi = len(cfg.attrs) > 1
    # the arrays are looked up as records need them, not turned into lists: a pipe
    # stream walks again after each of up to MAX_ATTRS attrs (lists took 11 s of 5,000)
    ids = cfg.ids
    id_attr = cfg.id_attr
    attrs = _Rows(cfg.attrs)
    while pos + 8 <= end:
        if n == cap:
            return n, pos, STOP_FULL
        typ, misc, size = hdr.unpack_from(buf, pos)
        if size < 8:
            return n, pos, STOP_BAD_HEADER
        total = size
        if typ == AUXTRACE and size >= 16:
            total += q.unpack_from(buf, pos + 8)[0]
        elif typ == TRACING_DATA and size >= 12:
            total += struct.unpack_from(e + "I", buf, pos + 8)[0]
        if pos + total > end:
            break
        row = [pos, typ, misc, total, 0, 0, -1, -1, NO_TIME, 0, 0, -1, 0, 0, 0, 0, 0, OK]
        if typ == SAMPLE:
            _sample(buf, pos, size, e, q, cfg, multi, ids, id_attr, attrs, row)
        elif typ < USER_START and attrs[0][6]:
            _trailer(buf, pos, size, e, q, cfg, multi, ids, id_attr, attrs, row)
        out[n] = [v & 0xFFFFFFFFFFFFFFFF for v in row]
        n += 1
        pos += total
    return n, pos, STOP_END


class _Rows:
    """An attrs array's rows as lists, each made when first asked for."""

    def __init__(self, arr: np.ndarray[Any, Any]) -> None:
        self.arr = arr
        self.done: dict[int, list[int]] = {}

    def __getitem__(self, a: int) -> list[int]:
        row = self.done.get(a)
        if row is None:
            row = self.done[a] = [int(v) for v in self.arr[a].tolist()]
        return row


def _find_attr(
    key: int, multi: bool, ids: np.ndarray[Any, Any], id_attr: np.ndarray[Any, Any]
) -> int:
    if not multi:
        return 0
    i = int(np.searchsorted(ids, np.uint64(key & 0xFFFFFFFFFFFFFFFF)))
    if i < len(ids) and int(ids[i]) == key:
        return int(id_attr[i])
    return 0 if key == 0 else -1  # evlist__event2evsel: synthesized records have id 0


def _sample(buf, pos, size, e, q, cfg, multi, ids, id_attr, attrs, row) -> None:  # type: ignore[no-untyped-def]
    end = pos + size
    p = pos + 8

    def u64(at: int) -> int:
        if at + 8 > end:
            raise _Short
        return int(q.unpack_from(buf, at)[0])

    try:
        a = 0
        if multi and cfg.id_pos >= 0:
            a = _find_attr(u64(p + 8 * cfg.id_pos), multi, ids, id_attr)
            if a < 0:
                row[17] = UNKNOWN_ID
                return
        row[4] = a
        st, rf, nregs_u, nregs_i, hw_idx, counters = attrs[a][:6]
        if st & A.IDENTIFIER:
            row[10] = u64(p)
            p += 8
        if st & A.IP:
            row[5] = u64(p)
            p += 8
        if st & A.TID:
            if p + 8 > end:
                raise _Short
            row[6], row[7] = struct.unpack_from(e + "ii", buf, p)
            p += 8
        if st & A.TIME:
            row[8] = u64(p)
            p += 8
        if st & A.ADDR:
            row[9] = u64(p)
            p += 8
        if st & A.ID:
            row[10] = u64(p)
            p += 8
        if st & A.STREAM_ID:
            p += 8
        if st & A.CPU:
            if p + 8 > end:
                raise _Short
            row[11] = struct.unpack_from(e + "I", buf, p)[0]
            p += 8
        if st & A.PERIOD:
            row[12] = u64(p)
            p += 8
        if st & A.READ:
            if rf & A.FMT_GROUP:
                nr = u64(p)
                per = 8 * (1 + (1 if rf & A.FMT_ID else 0) + (1 if rf & A.FMT_LOST else 0))
                p += 8 + 8 * (bool(rf & A.FMT_ENABLED) + bool(rf & A.FMT_RUNNING)) + nr * per
            else:
                p += 8 * (1 + sum(1 for b in (1, 2, 4, 16) if rf & b))
        if st & A.CALLCHAIN:
            nr = u64(p)
            if nr > (end - p) // 8:
                raise _Short
            row[15], row[16] = p + 8, nr
            p += 8 + 8 * nr
        if st & A.RAW:
            if p + 4 > end:
                raise _Short
            rsize = struct.unpack_from(e + "I", buf, p)[0]
            row[13], row[14] = p + 4, rsize
            p += 4 + rsize
        if st & A.BRANCH_STACK:
            nr = u64(p)
            p += 8 + (8 if hw_idx else 0) + 24 * nr + (8 * nr if counters else 0)
        if st & A.REGS_USER:
            abi = u64(p)
            p += 8 + (8 * nregs_u if abi else 0)
        if st & A.STACK_USER:
            sz = u64(p)
            p += 8 + sz + (8 if sz else 0)
        for bit in (A.WEIGHT | A.WEIGHT_STRUCT, A.DATA_SRC, A.TRANSACTION):
            if st & bit:
                p += 8
        if st & A.REGS_INTR:
            abi = u64(p)
            p += 8 + (8 * nregs_i if abi else 0)
        for bit in (A.PHYS_ADDR, A.CGROUP, A.DATA_PAGE_SIZE, A.CODE_PAGE_SIZE):
            if st & bit:
                p += 8
        if st & A.AUX:
            sz = u64(p)
            p += 8 + sz
        if p > end:
            raise _Short
    except _Short:
        row[17] = MALFORMED


def _trailer(buf, pos, size, e, q, cfg, multi, ids, id_attr, attrs, row) -> None:  # type: ignore[no-untyped-def]
    start = pos + 8
    p = pos + size
    a = 0
    if multi and cfg.is_pos > 0:
        at = p - 8 * cfg.is_pos
        if at < start:
            row[17] = MALFORMED
            return
        a = _find_attr(int(q.unpack_from(buf, at)[0]), multi, ids, id_attr)
        if a < 0:
            row[17] = UNKNOWN_ID
            return
    row[4] = a
    st = attrs[a][0]
    need = 8 * sum(1 for b in (A.IDENTIFIER, A.CPU, A.STREAM_ID, A.ID, A.TIME, A.TID) if st & b)
    if p - need < start:
        row[17] = MALFORMED
        return
    if st & A.IDENTIFIER:
        p -= 8
        row[10] = q.unpack_from(buf, p)[0]
    if st & A.CPU:
        p -= 8
        row[11] = struct.unpack_from(e + "I", buf, p)[0]
    if st & A.STREAM_ID:
        p -= 8
    if st & A.ID:
        p -= 8
        row[10] = q.unpack_from(buf, p)[0]
    if st & A.TIME:
        p -= 8
        row[8] = q.unpack_from(buf, p)[0]
    if st & A.TID:
        p -= 8
        row[6], row[7] = struct.unpack_from(e + "ii", buf, p)


def walk(
    buf: bytes | memoryview,
    pos: int,
    end: int,
    cfg: WalkConfig,
    out: np.ndarray[Any, Any],
    *,
    use_native: bool = True,
) -> tuple[int, int, int]:
    mod = perf_walk() if use_native else None
    if mod is None:
        return walk_py(buf, pos, end, cfg, out)
    n, nxt, why = mod.walk(
        buf, pos, end, cfg.big_endian, cfg.attrs, cfg.ids, cfg.id_attr, cfg.id_pos, cfg.is_pos, out
    )
    return int(n), int(nxt), int(why)
