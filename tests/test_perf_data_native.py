"""The compiled walks (spftrace/_native/src/perf_walk.c) equal their pure-Python twins.

The extension is the one pip built into the package (setup.py).  Inputs: every
committed fixture, and the same bytes damaged at random.
"""

from __future__ import annotations

import lzma
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spftrace.formats.perf_data import walk as W
from spftrace.formats.perf_data.header import parse_attrs, parse_file_header
from spftrace.formats.trace_dat import ring

ROOT = Path(__file__).resolve().parent.parent
PERF = ROOT / "tests" / "data" / "perf_data"
DAT = ROOT / "tests" / "data" / "trace_dat"


@pytest.fixture(scope="module")
def native() -> ModuleType:
    """The walks pip built into the package (setup.py); a build that lost them fails here
    rather than passing every test below through the twins alone."""
    from spftrace import _native
    from spftrace.formats.native import perf_walk

    if _native.disabled():  # (make test-pure: the core is off on purpose, as in test_native)
        pytest.skip("SPFTRACE_NO_NATIVE: the core is off")
    mod = perf_walk()
    assert mod is not None, "spftrace._native._perf_walk was not built (see setup.py)"
    return cast(ModuleType, mod)


def _config(data: bytes) -> tuple[W.WalkConfig, int, int]:
    hdr = parse_file_header(data[:104])
    attrs = parse_attrs(data[hdr.attrs[0] : hdr.attrs[0] + hdr.attrs[1]], hdr)
    e = ">" if hdr.big_endian else "<"
    ids = []
    for k, (_a, (io, isz)) in enumerate(attrs):
        ids += [(int(v), k) for v in np.frombuffer(data[io : io + isz], e + "u8")]
    cfg = W.make_config(hdr.big_endian, [a for a, _ in attrs], ids)
    start = hdr.data[0]
    end = start + hdr.data[1] if hdr.data[1] else len(data)
    return cfg, start, min(end, len(data))


def _both(native: ModuleType, buf: bytes, start: int, end: int, cfg: W.WalkConfig) -> None:
    pos_py = pos_c = start
    while True:
        a = W.new_table(512)
        b = W.new_table(512)
        r_py = W.walk_py(buf, pos_py, end, cfg, a)
        r_c = native.walk(
            buf,
            pos_c,
            end,
            cfg.big_endian,
            cfg.attrs,
            cfg.ids,
            cfg.id_attr,
            cfg.id_pos,
            cfg.is_pos,
            b,
        )
        assert tuple(r_py) == tuple(r_c)
        n = r_py[0]
        assert np.array_equal(a[:n], b[:n])
        if r_py[2] != W.STOP_FULL:
            return
        pos_py = pos_c = r_py[1]


FILE_FIXTURES = sorted(
    p for p in PERF.glob("*.data") if p.read_bytes()[8:16] != (16).to_bytes(8, "little")
)


@pytest.mark.parametrize("path", FILE_FIXTURES, ids=lambda p: p.stem)
def test_record_walk_twins_agree_on_fixtures(native: ModuleType, path: Path) -> None:
    data = path.read_bytes()
    cfg, start, end = _config(data)
    _both(native, data, start, end, cfg)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_record_walk_twins_agree_on_damaged_bytes(native: ModuleType, data: Any) -> None:
    path = data.draw(st.sampled_from(FILE_FIXTURES[:4]))
    raw = bytearray(path.read_bytes())
    cfg, start, end = _config(bytes(raw))
    for _ in range(data.draw(st.integers(1, 20))):
        at = data.draw(st.integers(start, end - 1))
        raw[at] ^= 1 << data.draw(st.integers(0, 7))
    cut = data.draw(st.integers(start, end))
    _both(native, bytes(raw[:cut]), start, cut, cfg)


def _pages(name: str) -> tuple[bytes, int, bool]:
    raw = lzma.decompress((DAT / f"{name}.xz").read_bytes())
    import io

    from spftrace.formats.trace_dat.header import read_dat_header

    hdr = read_dat_header(io.BytesIO(raw))
    cpu = next(c for b in hdr.buffers for c in b.cpus if c.size)
    return raw[cpu.offset : cpu.offset + cpu.size], hdr.td.page_size, hdr.td.big_endian


def _ring_both(native: ModuleType, buf: bytes, page: int, big: bool) -> None:
    a = ring.walk_pages_py(buf, page, 8, big)
    cap = max(1, len(buf) // 8)
    outs = [np.empty(cap, np.uint64)] + [np.empty(cap, np.int64) for _ in range(3)]
    lost = np.zeros(max(len(buf) // page, 1), np.int64)
    n, bad = native.ring_walk(buf, page, 8, big, *outs, lost)
    assert bad == a.bad_pages and n == len(a.ts)
    for got, want in zip([o[:n] for o in outs], [a.ts, a.off, a.length, a.page], strict=True):
        assert np.array_equal(got, want)
    assert np.array_equal(lost[: len(buf) // page], a.lost)


def test_ring_walk_twins_agree_on_a_capture(native: ModuleType) -> None:
    buf, page, big = _pages("extract-v6.dat")
    _ring_both(native, buf, page, big)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_ring_walk_twins_agree_on_damaged_pages(native: ModuleType, data: Any) -> None:
    buf, page, _ = _pages("extract-v6.dat")
    raw = bytearray(buf[: page * 8])
    for _ in range(data.draw(st.integers(1, 40))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    _ring_both(native, bytes(raw), page, data.draw(st.booleans()))


@settings(max_examples=200, deadline=None)
@given(
    table=st.lists(st.binary(max_size=40), min_size=1, max_size=12),
    picks=st.lists(st.integers(0, 11), max_size=200),
)
def test_take_equals_its_twin(native: ModuleType, table: list[bytes], picks: list[int]) -> None:
    """Rows picked by index: the compiled take, numpy's twin and plain slicing agree."""
    from spftrace.formats import strcol as sc

    idx = np.array([p % len(table) for p in picks], np.int64)
    lens = np.array([len(t) for t in table], np.int64)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    data = np.frombuffer(b"".join(table) or b"\0", np.uint8)
    expected = [table[i] for i in idx.tolist()]
    off = np.empty(len(idx) + 1, np.int64)
    got = native.take(data, starts, lens, idx, off)
    assert [bytes(got[off[i] : off[i + 1]]) for i in range(len(idx))] == expected
    assert sc.take_py(data, starts, lens, idx).to_list() == expected
    assert sc.take_rows(data, starts, lens, idx).to_list() == expected
    assert sc.choose(table, idx).to_list() == expected


def test_take_refuses_bad_indices(native: ModuleType) -> None:
    data = np.frombuffer(b"abc", np.uint8)
    starts, lens = np.array([0], np.int64), np.array([3], np.int64)
    off = np.empty(2, np.int64)
    with pytest.raises(IndexError):
        native.take(data, starts, lens, np.array([1], np.int64), off)
    with pytest.raises(ValueError):
        native.take(data, starts, np.array([4], np.int64), np.array([0], np.int64), off)


# mmap_lock_acquire_returned as this machine's kernel writes it (6.x), and a made-up
# event with every integer size and a fixed char array
FORMATS = [
    """name: mmap_lock_acquire_returned
ID: 101
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:struct mm_struct * mm;\toffset:8;\tsize:8;\tsigned:0;
\tfield:__data_loc char[] memcg_path;\toffset:16;\tsize:4;\tsigned:0;
\tfield:bool write;\toffset:20;\tsize:1;\tsigned:0;
\tfield:bool success;\toffset:21;\tsize:1;\tsigned:0;

print fmt: "mm=%p memcg_path=%s write=%s success=%s", REC->mm, __get_str(memcg_path), \
REC->write ? "true" : "false", REC->success ? "true" : "false"
""",
    """name: sizes
ID: 102
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:short s;\toffset:2;\tsize:2;\tsigned:1;
\tfield:int i;\toffset:4;\tsize:4;\tsigned:1;
\tfield:u64 q;\toffset:8;\tsize:8;\tsigned:0;
\tfield:char comm[5];\toffset:16;\tsize:5;\tsigned:0;
\tfield:u8 b;\toffset:21;\tsize:1;\tsigned:0;

print fmt: "s=%d i=%d q=%llx comm=%s b=%u", REC->s, REC->i, REC->q, REC->comm, REC->b
""",
]


@settings(max_examples=150, deadline=None)
@given(
    which=st.integers(0, 1),
    data=st.binary(min_size=0, max_size=400),
    spans=st.lists(st.tuples(st.integers(-8, 420), st.integers(-4, 64)), max_size=60),
    big=st.booleans(),
)
def test_fields_equal_decode_fields(
    native: ModuleType, which: int, data: bytes, spans: list[tuple[int, int]], big: bool
) -> None:
    """Integer fields read by the compiled ``fields`` equal decode_fields' numpy reading,
    for short records, records past the buffer's end and either byte order."""
    from spftrace.formats.tracefs_format import Records, decode_fields, parse_format
    from spftrace.formats.tracefs_rows import decode

    fmt = parse_format(FORMATS[which], "test")
    buf = np.frombuffer(data, np.uint8)
    spans = (spans * 4)[: max(16, len(spans))] if spans else [(0, 24)] * 16
    starts = np.array([s for s, _ in spans], np.int64).clip(0, max(len(buf) - 1, 0))
    lengths = np.array([ln for _, ln in spans], np.int64).clip(0, None)
    lengths = np.minimum(lengths, len(buf) - starts).clip(0, None)
    recs = Records(buf, starts, lengths, big)
    want = decode_fields(fmt, recs)
    got = decode(fmt, recs)
    assert list(got.valid) == list(want.valid)
    assert set(got.numbers) == set(want.numbers)
    for k, v in want.numbers.items():
        assert got.numbers[k].tolist() == v.tolist(), k
    for k, v in want.valid.items():
        assert got.valid[k].tolist() == v.tolist(), k
    assert {k: s.to_list() for k, s in got.strings.items()} == {
        k: s.to_list() for k, s in want.strings.items()
    }


@settings(max_examples=100, deadline=None)
@given(
    data=st.binary(min_size=8, max_size=200), picks=st.lists(st.integers(0, 192)), big=st.booleans()
)
def test_u64s_equal_their_twin(
    native: ModuleType, data: bytes, picks: list[int], big: bool
) -> None:
    from spftrace.formats.perf_data.callchain import read_u64s, read_u64s_py

    buf = np.frombuffer(data, np.uint8)
    at = np.array([p % (len(data) - 7) for p in picks], np.int64)
    want = [int.from_bytes(data[a : a + 8], "big" if big else "little") for a in at.tolist()]
    assert read_u64s(buf, at, big).tolist() == want
    assert read_u64s_py(buf, at, big).tolist() == want
    with pytest.raises(IndexError):
        native.u64s(buf, np.array([len(data) - 7], np.int64), big, np.empty(1, np.uint64))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.binary(max_size=30)), max_size=80))
def test_scatter_puts_rows_back(native: ModuleType, rows: list[tuple[int, bytes]]) -> None:
    """Rows of several parts (one per event) are put back at their positions, the rest
    empty, by the compiled path (flat) as by plain list assignment."""
    from spftrace.formats import strcol as sc

    n = len(rows) + 3
    parts = []
    for part in range(3):
        at = [i for i, (p, _) in enumerate(rows) if p == part]
        parts.append((np.array(at, np.int64), sc.from_list([rows[i][1] for i in at])))
    want = [rows[i][1] if i < len(rows) else b"" for i in range(n)]
    assert sc.scatter(n, parts).to_list() == want


def test_format_rows_hex_at_every_digit_count(native: ModuleType) -> None:
    """Hex digits (written two at a time) against Python's own formatting, at every
    length from 1 to 16 digits, odd and even, lower and upper case, %p included."""
    vals = [0, 1, 0xF, 0x10, 0xAB, 0x100, 2**64 - 1]
    vals += [(1 << (4 * k)) - 1 for k in range(1, 17)] + [1 << (4 * k) for k in range(16)]
    vals += [0x0123456789ABCDEF >> (4 * k) for k in range(16)]
    v = np.array(vals, np.uint64)
    n = len(vals)
    for op, want in (
        ((1, v, 16, False, b"0x"), [(b"0x%x" % x) if x else b"0" for x in vals]),
        ((1, v, 16, True, b""), [b"%X" % x for x in vals]),
        ((3, v), [(b"0x%x" % x) if x else b"(nil)" for x in vals]),
    ):
        off = np.empty(n + 1, np.int64)
        data = bytes(native.format_rows([op, (0, b"|")], n, off))
        assert [data[off[i] : off[i + 1]] for i in range(n)] == [w + b"|" for w in want]


@pytest.mark.parametrize("extra", [(1 << 64) - 16, (1 << 64) - 8, (1 << 63) + 1])
def test_auxtrace_size_that_wraps_ends_the_walk_in_both(native: ModuleType, extra: int) -> None:
    """An AUXTRACE record (type 71) of 16 header bytes whose trailing size is near 2^64:
    the C sum wrapped (to 0 for 2^64 - 16) and the walk stood still on it, filling its
    table with the same record (an ingest grew past 1.3 GB in 20 s); the twin's exact
    sum runs past the window and ends the walk there."""
    cfg, _start, _end = _config(FILE_FIXTURES[0].read_bytes())
    rec = (71).to_bytes(4, "little") + bytes(2) + (16).to_bytes(2, "little")
    rec += extra.to_bytes(8, "little")
    buf = rec * 4 + bytes(64)
    _both(native, buf, 0, len(buf), cfg)
    assert W.walk_py(buf, 0, len(buf), cfg, W.new_table(8))[:2] == (0, 0)
