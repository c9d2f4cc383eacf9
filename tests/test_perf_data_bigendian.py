"""A big-endian perf.data reads to the same rows as the little-endian capture it came from.

``to_big_endian`` (the documented test helper) rewrites a real little-endian capture as
a big-endian host (the seed's Power8 runs) would have written it: the file header
(magic "2ELIFREP", sections, feature bitmap as u64 words), every perf_event_attr
(fields swapped; the flag bitfield keeps its bytes but reverses the bits of each, as
perf_event__attr_swap undoes), the ids, the features spftrace reads (strings, nrcpus,
cmdline, event_desc, build ids, tracing data with its endian byte set), pipe-mode
header records, and every record of the data section: the header, each sample field
of the attr's sample_type, callchains, the raw tracepoint payload field by field as
the format files lay it out, the sample_id trailer, and COMM/FORK/EXIT/MMAP/MMAP2/LOST.
Features spftrace does not read (topology, caches ...) are left as they were.
tests/data/perf_data/be-tracepoints.data was made by it from tracepoints.data.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from spftrace.formats.perf_data import attr as A
from spftrace.formats.perf_data.attr import parse_attr
from spftrace.formats.tracefs_format import Field, parse_format
from spftrace.formats.tracing_data import Cursor, read_head

from .test_perf_data import DATA, KALLSYMS, binary_rows

_REV = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))
# perf_event_attr: (offset, size) of every numeric field after the first 40 bytes
_ATTR_TAIL = [(48, 4), (52, 4), (56, 8), (64, 8), (72, 8), (80, 8), (88, 4), (92, 4), (96, 8),
              (104, 4), (108, 2), (110, 2), (112, 4), (116, 4), (120, 8), (128, 8)]  # fmt: skip


class Swapper:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.out = bytearray(raw)
        self.attrs: list[A.Attr] = []
        self.ids: dict[int, int] = {}
        self.formats: dict[int, list[Field]] = {}

    def sw(self, at: int, size: int) -> int:
        """Swap one integer in place; returns its (little-endian) value."""
        v = int.from_bytes(self.raw[at : at + size], "little")
        self.out[at : at + size] = v.to_bytes(size, "big")
        return v

    def attr(self, at: int, size: int) -> A.Attr:
        a = parse_attr(self.raw[at : at + size], False)
        for off, n in ((0, 4), (4, 4), (8, 8), (16, 8), (24, 8), (32, 8)):
            self.sw(at + off, n)
        self.out[at + 40 : at + 48] = self.raw[at + 40 : at + 48].translate(_REV)
        for off, n in _ATTR_TAIL:
            if off + n <= size:
                self.sw(at + off, n)
        return a

    def string(self, at: int) -> int:
        n = self.sw(at, 4)
        return at + 4 + n

    # -- tracing data ------------------------------------------------------------------
    def tracing(self, at: int) -> None:
        c = Cursor(self.raw, at)
        version, _big, _long, _page = read_head(c)
        self.out[c.pos - 6] = 1  # the endian byte
        self.sw(c.pos - 4, 4)  # the page size
        p = c.pos + 12  # "header_page\0"
        p += 8 + self.sw(p, 8)
        p += 13  # "header_event\0"
        p += 8 + self.sw(p, 8)
        texts: list[tuple[str, bytes]] = []
        p += 4
        for _ in range(self.sw(p - 4, 4)):
            n = self.sw(p, 8)
            texts.append(("ftrace", self.raw[p + 8 : p + 8 + n]))
            p += 8 + n
        p += 4
        for _ in range(self.sw(p - 4, 4)):
            end = self.raw.index(b"\0", p)
            system = self.raw[p:end].decode()
            p = end + 5
            for _ in range(self.sw(end + 1, 4)):
                n = self.sw(p, 8)
                texts.append((system, self.raw[p + 8 : p + 8 + n]))
                p += 8 + n
        p += 4 + self.sw(p, 4)  # kallsyms
        p += 4 + self.sw(p, 4)  # printk
        if float(version) >= 0.6:
            self.sw(p, 8)  # saved cmdlines
        for system, text in texts:
            fmt = parse_format(text, system)
            self.formats[fmt.id] = list(fmt.fields)

    # -- features ----------------------------------------------------------------------
    def feature(self, feat: int, at: int, size: int) -> None:
        end = at + size
        if feat in (3, 4, 5, 6, 8, 9):
            self.string(at)
        elif feat == 7:
            self.sw(at, 4)
            self.sw(at + 4, 4)
        elif feat == 10:
            self.sw(at, 8)
        elif feat == 11:
            p = at + 4
            for _ in range(self.sw(at, 4)):
                p = self.string(p)
        elif feat == 12:
            nre, sz = self.sw(at, 4), self.sw(at + 4, 4)
            p = at + 8
            for _ in range(nre):
                self.attr(p, sz)
                nr = self.sw(p + sz, 4)
                p = self.string(p + sz + 4)
                for _ in range(nr):
                    self.sw(p, 8)
                    p += 8
        elif feat == 2:
            p = at
            while p + 36 <= end:
                self.sw(p, 4)
                self.sw(p + 4, 2)
                n = self.sw(p + 6, 2)
                self.sw(p + 8, 4)
                p += n
        elif feat == 1:
            self.tracing(at)

    # -- records -----------------------------------------------------------------------
    def record(self, at: int) -> int:
        typ, size = self.sw(at, 4), self.sw(at + 6, 2)
        self.sw(at + 4, 2)
        body = at + 8
        if typ == 9:
            self.sample(at, size)
        elif typ < 64:
            self.kernel_record(typ, body, at + size)
        elif typ == 64:  # HEADER_ATTR
            a = self.attr(body, parse_attr(self.raw[body : body + 136], False).size)
            for p in range(body + a.size, at + size, 8):
                self.ids[self.sw(p, 8)] = len(self.attrs)
            self.attrs.append(a)
        elif typ == 66:  # HEADER_TRACING_DATA: the data follows the record
            n = self.sw(body, 4)
            self.tracing(at + 16)
            return at + 16 + n
        elif typ == 80:  # HEADER_FEATURE
            feat = self.sw(body, 8)
            self.feature(feat, body + 8, size - 16)
        elif typ == 78:
            self.sw(body, 8)
            self.sw(body + 8, 8)
        return at + size

    def _attr_of(self, ident: int | None) -> A.Attr:
        return (
            self.attrs[self.ids.get(ident, 0)]
            if ident is not None and len(self.attrs) > 1
            else self.attrs[0]
        )

    def kernel_record(self, typ: int, body: int, end: int) -> None:
        a0 = self.attrs[0]
        trailer = end
        if a0.sample_id_all:
            st = a0.sample_type
            if len(self.attrs) > 1 and st & A.IDENTIFIER:
                st = self._attr_of(int.from_bytes(self.raw[end - 8 : end], "little")).sample_type
            p = end
            for bit, parts in ((A.IDENTIFIER, (8,)), (A.CPU, (4, 4)), (A.STREAM_ID, (8,)),
                               (A.ID, (8,)), (A.TIME, (8,)), (A.TID, (4, 4))):  # fmt: skip
                if st & bit:
                    p -= 8
                    q = p
                    for n in parts:
                        self.sw(q, n)
                        q += n
            trailer = p
        layout = {
            3: [4, 4], 7: [4, 4, 4, 4, 8], 4: [4, 4, 4, 4, 8], 1: [4, 4, 8, 8, 8],
            10: [4, 4, 8, 8, 8, 4, 4, 8, 8, 4, 4], 2: [8, 8], 13: [8], 5: [8, 8, 8], 6: [8, 8, 8],
        }.get(typ, [])  # fmt: skip
        if typ == 10 and int.from_bytes(self.raw[body - 4 : body - 2], "little") & (1 << 14):
            layout = [4, 4, 8, 8, 8, -24, 4, 4]  # build-id bytes stay
        p = body
        for n in layout:
            if n < 0:
                p -= n
                continue
            if p + n <= trailer:
                self.sw(p, n)
            p += n

    def sample(self, at: int, size: int) -> None:
        end = at + size
        p = at + 8
        a = self.attrs[0]
        if len(self.attrs) > 1:
            st0 = self.attrs[0].sample_type
            pos = (
                0
                if st0 & A.IDENTIFIER
                else sum(1 for b in (A.IP, A.TID, A.TIME, A.ADDR) if st0 & b)
            )
            a = self._attr_of(int.from_bytes(self.raw[p + 8 * pos : p + 8 * pos + 8], "little"))
        st, rf = a.sample_type, a.read_format
        for bit, parts in ((A.IDENTIFIER, (8,)), (A.IP, (8,)), (A.TID, (4, 4)), (A.TIME, (8,)),
                           (A.ADDR, (8,)), (A.ID, (8,)), (A.STREAM_ID, (8,)), (A.CPU, (4, 4)),
                           (A.PERIOD, (8,))):  # fmt: skip
            if st & bit:
                for n in parts:
                    self.sw(p, n)
                    p += n
        if st & A.READ:
            assert not rf & A.FMT_GROUP
            for _ in range(a.read_size() // 8):  # type: ignore[operator]
                self.sw(p, 8)
                p += 8
        if st & A.CALLCHAIN:
            nr = self.sw(p, 8)
            for k in range(nr):
                self.sw(p + 8 + 8 * k, 8)
            p += 8 + 8 * nr
        if st & A.RAW:
            n = self.sw(p, 4)
            self.payload(p + 4, n, a)
            p += 4 + n
        assert p <= end and not st & ~(
            A.IDENTIFIER | A.IP | A.TID | A.TIME | A.ADDR | A.ID | A.STREAM_ID | A.CPU
            | A.PERIOD | A.READ | A.CALLCHAIN | A.RAW
        )  # fmt: skip

    def payload(self, at: int, n: int, a: A.Attr) -> None:
        for f in self.formats[a.config]:
            if f.offset + f.size > n:
                continue
            if f.dynamic is not None:
                self.sw(at + f.offset, 4)
            elif f.is_string:
                continue
            elif f.array_len:
                elem = f.size // f.array_len
                for k in range(f.array_len):
                    self.sw(at + f.offset + k * elem, elem)
            elif f.size in (2, 4, 8):
                self.sw(at + f.offset, f.size)


def to_big_endian(raw: bytes) -> bytes:
    """The big-endian twin of a little-endian perf.data (file or pipe mode)."""
    s = Swapper(raw)
    assert raw[:8] == b"PERFILE2"
    s.out[:8] = b"2ELIFREP"
    hdr_size = s.sw(8, 8)
    if hdr_size == 16:  # pipe mode: everything is a record
        p = 16
        while p + 8 <= len(raw):
            p = s.record(p)
        return bytes(s.out)
    attr_size, ao, asz, do, dsz = (s.sw(16 + 8 * k, 8) for k in range(5))
    s.sw(56, 8)
    s.sw(64, 8)
    feats = []
    for w in range(4):
        v = s.sw(72 + 8 * w, 8)
        feats += [64 * w + b for b in range(64) if v >> b & 1]
    for at in range(ao, ao + asz, attr_size):
        s.attrs.append(s.attr(at, attr_size - 16))
        io, isz = s.sw(at + attr_size - 16, 8), s.sw(at + attr_size - 8, 8)
        for p in range(io, io + isz, 8):
            s.ids[s.sw(p, 8)] = len(s.attrs) - 1
    fa = do + dsz
    for k, feat in enumerate(feats):
        off, size = s.sw(fa + 16 * k, 8), s.sw(fa + 16 * k + 8, 8)
        if feat == 1:  # the formats are needed for the payloads: read them first
            s.feature(feat, off, size)
    for k, feat in enumerate(feats):
        off = int.from_bytes(raw[fa + 16 * k : fa + 16 * k + 8], "little")
        size = int.from_bytes(raw[fa + 16 * k + 8 : fa + 16 * k + 16], "little")
        if feat != 1:
            s.feature(feat, off, size)
    p = do
    while p < do + dsz:
        p = s.record(p)
    return bytes(s.out)


CASES = ["tracepoints", "callchain", "page-faults-fp", "all-cpus", "pipe", "exceptions"]


@pytest.mark.parametrize("name", CASES)
def test_big_endian_twin_reads_to_the_same_rows(name: str, tmp_path: Path) -> None:
    le = (DATA / f"{name}.data").read_bytes()
    be = to_big_endian(le)
    assert be[:8] == b"2ELIFREP" and be != le
    (tmp_path / "be.data").write_bytes(be)
    want, wb = binary_rows(DATA / f"{name}.data", kallsyms=KALLSYMS)
    got, gb = binary_rows(tmp_path / "be.data", kallsyms=KALLSYMS)
    assert got == want and len(got) > 50
    assert gb[-1].meta == wb[-1].meta


def test_the_committed_big_endian_fixture_is_the_helpers_output() -> None:
    le = (DATA / "tracepoints.data").read_bytes()
    committed = (DATA / "be-tracepoints.data").read_bytes()
    assert to_big_endian(le) == committed
    got, _ = binary_rows(DATA / "be-tracepoints.data", kallsyms=KALLSYMS)
    want, _ = binary_rows(DATA / "tracepoints.data", kallsyms=KALLSYMS)
    assert got == want


def test_the_flag_bits_are_read_in_big_endian_order() -> None:
    le = (DATA / "tracepoints.data").read_bytes()
    be = to_big_endian(le)
    ao = struct.unpack_from(">Q", be, 24)[0]
    a = parse_attr(be[ao : ao + 128], True)
    assert a.sample_id_all and a.flag("disabled") and a.flag("inherit")
    assert a.sample_type == parse_attr(le[ao : ao + 128], False).sample_type
