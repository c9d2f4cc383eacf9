"""The compiled payload renderer (perf_walk.c format_rows via tracefs_flat.render_flat)
equals the column-at-a-time reference (tracefs_eval.render), and the rows built
from either (payload, typed columns, fields) are the same.

Expected texts in the hand-written cases are Python's printf (``%`` on bytes), which
follows C's for these conversions; the rest compares the two paths on the
formats of the committed perf.data fixtures and on random record bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spftrace.formats.native import perf_walk
from spftrace.formats.tracefs_eval import Evaluator, render
from spftrace.formats.tracefs_flat import flat_ok, render_flat
from spftrace.formats.tracefs_format import Records, parse_format
from spftrace.formats.tracefs_rows import EventDecoder, EventRows, decode

#: the C renderer against the reference; without the core (make test-pure) there is
#: nothing to compare, as in test_native
pytestmark = pytest.mark.skipif(perf_walk() is None, reason="the compiled core is off")

PERF = Path(__file__).resolve().parent / "data" / "perf_data"

COMMON = """\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;
"""
FORMAT = (
    "name: many\nID: 7\nformat:\n"
    + COMMON
    + """
\tfield:unsigned long addr;\toffset:8;\tsize:8;\tsigned:0;
\tfield:long delta;\toffset:16;\tsize:8;\tsigned:1;
\tfield:int small;\toffset:24;\tsize:4;\tsigned:1;
\tfield:unsigned char flag;\toffset:28;\tsize:1;\tsigned:0;
\tfield:short half;\toffset:30;\tsize:2;\tsigned:1;
\tfield:char comm[8];\toffset:32;\tsize:8;\tsigned:0;

print fmt: "address=%ps ip=%pS at=%p d=%ld s=%d h=%hd c=%hhu x=%lx X=%#X o=%#o u=%u \
write=%s comm=%s", (void *)REC->addr, (void *)REC->addr, REC->addr, REC->delta, REC->small, \
REC->half, REC->small, REC->addr, REC->small, REC->small, REC->small, \
REC->flag ? "true" : "false", REC->comm
"""
)


class Names:
    """A resolver naming addresses from 0xffff0000 to 2**32 (one name holds a blank)."""

    def __init__(self, scoped: bool) -> None:
        if scoped:
            self.scope = lambda a: (
                (np.asarray(a, np.uint64) >= np.uint64(0xFFFF0000))
                & (np.asarray(a, np.uint64) < np.uint64(1 << 32))
            )

    def __call__(self, addrs: np.ndarray[Any, Any]) -> tuple[list[bytes | None], Any]:
        names: list[bytes | None] = []
        for a in addrs.tolist():
            if not 0xFFFF0000 <= a < 1 << 32:
                names.append(None)
            else:
                names.append(b"two words" if a & 0x100 else b"sym_%x" % (a >> 12))
        starts = np.asarray(addrs, np.uint64) & ~np.uint64(0xFFF)
        return names, starts


def _records(raw: list[bytes], big: bool = False) -> Records:
    buf = np.frombuffer(b"".join(raw), np.uint8)
    lens = np.array([len(r) for r in raw], np.int64)
    starts = np.zeros(len(raw), np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    return Records(buf, starts, lens, big)


def _record(addr: int, delta: int, small: int, flag: int, half: int, comm: bytes) -> bytes:
    head = (7).to_bytes(2, "little") + b"\0\0" + (1).to_bytes(4, "little")
    body = addr.to_bytes(8, "little") + (delta % (1 << 64)).to_bytes(8, "little")
    body += (small % (1 << 32)).to_bytes(4, "little") + bytes([flag]) + b"\0"
    body += (half % (1 << 16)).to_bytes(2, "little") + comm.ljust(8, b"\0")[:8]
    return head + body


def _both(fmt: Any, recs: Records, resolve: Any) -> tuple[list[bytes], list[bytes]]:
    dec = decode(fmt, recs)
    dec_prog = EventDecoder({fmt.id: fmt}).program(fmt)
    assert dec_prog is not None
    ev = Evaluator(dec, 8, resolve)
    want = render(dec_prog, ev)[0].to_list()
    flat = render_flat(dec_prog, Evaluator(dec, 8, resolve))
    assert flat is not None
    return flat.payload.to_list(), want


def test_flat_text_is_printf() -> None:
    fmt = parse_format(FORMAT, "test")
    vals = [
        (0, 0, 0, 0, 0, b"a"),
        (0x7F00DEADBEEF, -5, -1, 1, -2, b"two w"),
        (0xFFFF1234, 1 << 62, 255, 0, 32767, b"12345678"),
        (0xFFFF1134, -(1 << 63), -(1 << 31), 2, -32768, b""),
    ]
    got, want = _both(fmt, _records([_record(*v) for v in vals]), Names(scoped=True))
    assert got == want
    v = vals[1]
    assert got[1] == (
        b"address=0x%x ip=0x%x at=0x%x d=%d s=%d h=%d c=%d x=%x X=0X%X o=0%o u=%d write=true "
        b"comm=two w" % (v[0], v[0], v[0], v[1], -1, -2, 255, v[0], 2**32 - 1, 2**32 - 1, 2**32 - 1)
    )
    assert got[0].startswith(b"address=0x0 ip=0x0 at=(nil) d=0 s=0 h=0 c=0 x=0 X=0 o=0 u=0 ")
    assert b"address=sym_ffff1 ip=sym_ffff1+0x234 " in got[2]
    assert got[3].startswith(b"address=two words ip=two words+0x134 ")


def test_rows_equal_with_and_without_flat() -> None:
    """Payload, typed columns, static fields and the per-row fields of rows whose
    rendered strings hold a blank (the symbol "two words", the comm "two w")."""
    fmt = parse_format(FORMAT, "test")
    rng = np.random.default_rng(5)
    vals = []
    for _ in range(300):
        addr = int(rng.choice([0, 0x7F0000001000, 0xFFFF1000, 0xFFFF1100])) + int(
            rng.integers(0, 64)
        )
        comm = [b"x", b"two w", b"longcomm"][int(rng.integers(0, 3))]
        flag = int(rng.integers(0, 3))
        vals.append((addr, int(rng.integers(-9, 9)), int(rng.integers(-3, 300)), flag, 3, comm))
    recs = _records([_record(*v) for v in vals])
    dec = EventDecoder({fmt.id: fmt}, resolve=Names(scoped=False))
    prog = dec.program(fmt)
    assert prog is not None and flat_ok(prog)
    flat = dec._rows(prog, Evaluator(decode(fmt, recs), 8, dec.resolve))
    ref = dec._rows(prog, Evaluator(decode(fmt, recs), 8, dec.resolve), use_flat=False)
    _same(flat, ref)
    assert flat.row_fields  # some rows were read from their text
    # write=%s of flag ? "true" : "false": true where the flag byte is not 0, always valid
    assert flat.typed["write"][0].tolist() == [v[3] != 0 for v in vals]
    assert flat.typed["write"][1].all()


def _same(a: EventRows, b: EventRows) -> None:
    assert a.payload.to_list() == b.payload.to_list()
    assert a.keys == b.keys
    assert [v.to_list() for v in a.values] == [v.to_list() for v in b.values]
    assert sorted(a.typed) == sorted(b.typed)
    for k in a.typed:
        assert a.typed[k][0].tolist() == b.typed[k][0].tolist(), k
        assert a.typed[k][1].tolist() == b.typed[k][1].tolist(), k
    assert a.row_fields == b.row_fields


@settings(max_examples=60, deadline=None)
@given(data=st.binary(min_size=0, max_size=600), big=st.booleans(), cut=st.integers(0, 40))
def test_flat_equals_render_on_random_records(data: bytes, big: bool, cut: int) -> None:
    """Random bytes as records (short ones too: fields past their end read as 0)."""
    fmt = parse_format(FORMAT, "test")
    raw = [data[i : i + 40] for i in range(0, len(data), 40)] or [b""]
    raw[-1] = raw[-1][: max(0, len(raw[-1]) - cut)]
    got, want = _both(fmt, _records(raw, big), Names(scoped=bool(cut & 1)))
    assert got == want


def _fixture_formats() -> list[Any]:
    from spftrace.formats.perf_data import read_perf_data
    from spftrace.formats.perf_data.session import Session

    sessions: list[Session] = []
    orig = Session.set_tracing

    def grab(self: Session, raw: Any) -> None:
        orig(self, raw)
        sessions.append(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Session, "set_tracing", grab)
        for path in sorted(PERF.glob("*.data")):
            with path.open("rb") as f:
                for _ in read_perf_data(f, source=str(path), kallsyms=None):
                    pass
    return [fmt for s in sessions for fmt in s.formats.values()]


def test_fixture_formats_render_the_same() -> None:
    """Every tracepoint format in the committed perf.data files that the flat path
    takes renders random records as ``render`` does."""
    fmts = [f for f in _fixture_formats() if f.print_fmt]
    rng = np.random.default_rng(11)
    taken = 0
    for fmt in fmts:
        prog = EventDecoder({fmt.id: fmt}).program(fmt)
        if prog is None or not flat_ok(prog):
            continue
        size = max(fmt.static_size, 8)
        raw = [rng.integers(0, 256, size, dtype=np.uint8).tobytes() for _ in range(40)]
        try:
            got, want = _both(fmt, _records(raw), Names(scoped=True))
        except (ValueError, KeyError, IndexError):
            continue  # the reference cannot render this event either (strings past data)
        assert got == want, fmt.full_name
        taken += 1
    assert taken >= 3  # exceptions:page_fault_user and the mmap_lock events at least
