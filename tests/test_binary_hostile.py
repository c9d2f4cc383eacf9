"""Tiny crafted perf.data and trace.dat files whose length fields lie.

Each claims far more than it holds (a decompressed size, a CPU count, a string's
length); the reader must give a one-line SpftraceError, or the records before the
damage, with memory bounded by the file, never a MemoryError or a hang.  Memory is
checked with tracemalloc (the peak of Python's allocations, where bytes objects and
numpy arrays live), not with a clock.
"""

from __future__ import annotations

import io
import struct
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
import zstandard

from spftrace.errors import SpftraceError
from spftrace.formats.inflate import InflateError, inflate
from spftrace.formats.perf_data import read_perf_data
from spftrace.formats.trace_dat import read_trace_dat

MAGIC = b"\x17\x08\x44tracing"
MiB = 1 << 20


def peak(fn: Callable[[], Any]) -> tuple[Any, int]:
    """fn's result (or the exception it raised) and its peak traced allocation."""
    tracemalloc.start()
    try:
        try:
            out: Any = fn()
        except (SpftraceError, InflateError, ValueError) as err:
            out = err
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def zeros_zstd(n: int) -> bytes:
    """One zstd frame of ``n`` zero bytes (a few hundred bytes per MiB)."""
    cobj = zstandard.ZstdCompressor(level=1).compressobj()
    return b"".join(cobj.compress(bytes(MiB)) for _ in range(n // MiB)) + cobj.flush()


def dat_rows(raw: bytes) -> list[dict[str, Any]]:
    return [
        r for b in read_trace_dat(io.BytesIO(raw), source="t.dat") for r in b.events.to_pylist()
    ]


def dat_v7_options(section: bytes) -> bytes:
    """A v7 trace.dat with zstd named and one options section (``section``: its
    header and data)."""
    head = MAGIC + b"7\0" + bytes([0, 8]) + struct.pack("<I", 4096) + b"zstd\0" + b"1.5\0"
    return head + struct.pack("<Q", len(head) + 8) + section


def compressed_section(sid: int, z: bytes, claimed: int) -> bytes:
    data = struct.pack("<II", len(z), claimed) + z
    return struct.pack("<HHIQ", sid, 1, 0, len(data)) + data


# --- decompression ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["zstd", "zlib"])
def test_inflate_stops_just_past_its_limit(name: str) -> None:
    import zlib

    data = zeros_zstd(64 * MiB) if name == "zstd" else zlib.compress(bytes(64 * MiB), 9)
    assert len(data) < 128 * 1024
    err, top = peak(lambda: inflate(name, data, 1000))
    assert isinstance(err, InflateError) and "more than the 1000 bytes claimed" in str(err)
    assert top < 8 * MiB  # 64 MiB of output were never held
    assert inflate(name, data[:], 64 * MiB) == bytes(64 * MiB)


def test_trace_dat_section_claiming_a_gib_is_refused_unread() -> None:
    raw = dat_v7_options(compressed_section(0, zeros_zstd(MiB), 1 << 30))
    err, top = peak(lambda: dat_rows(raw))
    assert isinstance(err, SpftraceError)
    assert str(err) == (
        "t.dat: a compressed block claims 1073741824 bytes, more than spftrace reads (33554432)"
    )
    assert top < 8 * MiB


def test_trace_dat_section_holding_more_than_it_claims() -> None:
    raw = dat_v7_options(compressed_section(0, zeros_zstd(64 * MiB), 4096))
    err, top = peak(lambda: dat_rows(raw))
    assert isinstance(err, SpftraceError)
    assert str(err) == "t.dat: zstd data holds more than the 4096 bytes claimed"
    assert top < 8 * MiB


def test_perf_data_compressed_record_is_bounded() -> None:
    """A pipe-mode file of one COMPRESSED record (type 81) inflating to 64 MiB: perf
    would stop at its mmap_len; spftrace counts the record undecodable and holds
    at most reader.COMPRESSED_MAX of it."""
    z = zeros_zstd(64 * MiB)
    raw = b"PERFILE2" + struct.pack("<Q", 16) + struct.pack("<IHH", 81, 0, 8 + len(z)) + z

    def run() -> list[Any]:
        return list(read_perf_data(io.BytesIO(raw), source="p.data", kallsyms=None))

    out, top = peak(run)
    assert not isinstance(out, Exception)
    stats = {name: v for b in out for name, _cpu, v in b.stats}
    assert stats.get("compressed_undecodable") == 1
    assert top < 48 * MiB


# --- trace.dat CPU tables -----------------------------------------------------------


def dat_v6(cpus: int, options: bytes = b"", fly: bytes = b"") -> bytes:
    """A v6 trace.dat with empty header pages, no formats, ``cpus`` CPUs, ``options``
    (each ``opt()``) and what follows "flyrecord" (the CPU table and data)."""
    raw = MAGIC + b"6\0" + bytes([0, 8]) + struct.pack("<I", 4096)
    raw += b"header_page\0" + bytes(8) + b"header_event\0" + bytes(8)
    raw += bytes(4 + 4 + 4 + 4 + 8)  # ftrace and event formats, kallsyms, printk, cmdlines
    raw += struct.pack("<I", cpus)
    if options:
        raw += b"options  \0" + options + bytes(2)
    return raw + b"flyrecord\0" + fly


def opt(kind: int, data: bytes) -> bytes:
    return struct.pack("<HI", kind, len(data)) + data


def test_trace_dat_buffers_sharing_one_cpu_table_are_refused() -> None:
    """3,000 BUFFER options all pointing at the top buffer's table of 3,000 CPUs (a
    93 kB file) asked for 9M CPU entries: 28.6 s and 1.4 GB before the count was
    checked against the room the file has for their tables."""
    cpus, buffers = 3000, 3000

    def build(at: int) -> bytes:
        options = opt(3, struct.pack("<Q", at) + b"\0") * buffers
        return dat_v6(cpus, options, bytes(16 * cpus))

    at = build(0).index(b"flyrecord\0")
    raw = build(at)
    assert raw.index(b"flyrecord\0") == at
    err, top = peak(lambda: dat_rows(raw))
    assert isinstance(err, SpftraceError)
    assert str(err) == (
        f"t.dat: the header lists {cpus * (buffers + 1)} CPU entries, "
        f"the file has room for {len(raw) // 16}"
    )
    assert top < 8 * MiB


def test_trace_dat_cpus_sharing_their_data_are_refused() -> None:
    """1,000 CPUs whose data are the same 1 MiB: each was read (1.1 GB) and its
    records would have been repeated 1,000 times."""
    cpus, size = 1000, MiB

    def build(at: int) -> bytes:
        return dat_v6(cpus, fly=struct.pack("<QQ", at, size) * cpus) + bytes(size)

    at = len(build(0)) - size
    raw = build(at)
    err, top = peak(lambda: dat_rows(raw))
    assert isinstance(err, SpftraceError)
    assert str(err) == (
        f"t.dat: the data of CPU 1 (buffer '') start inside those of CPU 0 (buffer ''), "
        f"at offset {at}"
    )
    assert top < 8 * MiB


def test_trace_dat_v7_buffer_count_beyond_its_option() -> None:
    """A BUFFER option claiming 2^32-1 CPUs in 40 bytes."""
    data = struct.pack("<Q", 0) + b"b\0" + b"local\0" + struct.pack("<I", 0xFFFFFFFF)
    data += bytes(40)
    options = opt(3, data) + opt(0, bytes(8))
    raw = dat_v7_options(struct.pack("<HHIQ", 0, 0, 0, len(options)) + options)
    err, _top = peak(lambda: dat_rows(raw))
    assert isinstance(err, SpftraceError)
    assert str(err) == "t.dat: the header lists 4294967295 CPU entries, the file has room for 2"


class CountingFile(io.BytesIO):
    """Counts the bytes its readers asked for."""

    def __init__(self, raw: bytes) -> None:
        super().__init__(raw)
        self.taken = 0

    def read(self, n: int | None = -1) -> bytes:
        out = super().read(n)
        self.taken += len(out)
        return out


def test_trace_dat_v6_short_names_read_about_once() -> None:
    """20,000 event systems with empty names: each name was looked for in the next
    64 KiB of the file (1.3 GB read for a 100 kB file; a 10 MB one took 14 s)."""
    systems = 20000
    raw = bytearray(dat_v6(0))
    at = raw.index(b"header_event\0") + 13 + 8 + 4  # the event systems' count
    raw[at : at + 4] = struct.pack("<I", systems)
    raw[at + 4 : at + 4] = (b"\0" + bytes(4)) * systems  # name "", no events
    f = CountingFile(bytes(raw))
    assert list(read_trace_dat(f, source="t.dat"))[-1].records == 0
    assert f.taken < 40 * len(raw)


# --- perf.data attrs ------------------------------------------------------------------


def perf_file(attrs: list[tuple[int, int]], tail: bytes) -> bytes:
    """A file-mode perf.data with software attrs (VER5, 120 bytes) whose ids sections
    are ``attrs`` (offset, size), no data, and ``tail`` after the attrs."""
    attr_size, at = 136, 104
    table = b"".join(
        struct.pack("<IIQ", 1, 120, 0) + bytes(104) + struct.pack("<QQ", io, isz)
        for io, isz in attrs
    )
    data_at = at + len(table) + len(tail)
    head = b"PERFILE2" + struct.pack("<6Q", 104, attr_size, at, len(table), data_at, 0)
    return head + bytes(48) + table + tail


def test_perf_data_attrs_sharing_one_ids_section_are_refused() -> None:
    n, size = 200, 8000
    ids_at = 104 + 136 * n
    raw = perf_file([(ids_at, size)] * n, bytes(size))
    err, top = peak(lambda: list(read_perf_data(io.BytesIO(raw), source="p.data", kallsyms=None)))
    assert isinstance(err, SpftraceError)
    assert str(err) == (
        "p.data: damaged perf.data attrs (the ids of attr 1 start inside those of attr 0, "
        f"at offset {ids_at})"
    )
    assert top < 8 * MiB


def test_perf_data_attrs_with_their_own_ids_are_read() -> None:
    """The same attrs with ids one after another: read (no data, so no rows)."""
    n, size = 3, 16
    ids_at = 104 + 136 * n
    raw = perf_file([(ids_at + size * i, size) for i in range(n)], bytes(size * n))
    batches = list(read_perf_data(io.BytesIO(raw), source="p.data", kallsyms=None))
    assert sum(b.records for b in batches) == 0


def pipe_file(*records: bytes) -> bytes:
    return b"PERFILE2" + struct.pack("<Q", 16) + b"".join(records)


@pytest.mark.parametrize("use_native", [True, False])
def test_perf_data_auxtrace_size_near_2_64(use_native: bool) -> None:
    """AUXTRACE records whose trailing size is 2^64 - 16: the compiled walk's sum
    wrapped to 0 and stood still (past 1.3 GB in 20 s), and the skip of a huge record
    raised OverflowError from read.  Now the data end inside the record, in a note."""
    rec = struct.pack("<IHHQ", 71, 0, 16, (1 << 64) - 16) + bytes(32)
    raw = pipe_file(rec * 4)
    batches = list(
        read_perf_data(io.BytesIO(raw), source="p.data", kallsyms=None, use_native=use_native)
    )
    notes = [n for b in batches for n in b.notes]
    assert f"the data ends inside a {(1 << 64) - 16 + 16}-byte record" in " ".join(notes)


def test_perf_data_huge_auxtrace_record_is_skipped_unheld() -> None:
    """A 72 MiB AUX record (over reader.HUGE_RECORD) was read whole to be dropped."""
    size = 72 * MiB
    f = io.BytesIO(pipe_file(struct.pack("<IHHQ", 71, 0, 48, size) + bytes(32 + size)))
    out, top = peak(lambda: list(read_perf_data(f, source="p.data", kallsyms=None)))
    assert not isinstance(out, Exception)
    stats = {name: v for b in out for name, _cpu, v in b.stats}
    assert stats.get("skipped_auxtrace") == 1
    assert top < 16 * MiB


def _format_text(n: int) -> str:
    fields = "".join(
        f"\tfield:int a{i};\toffset:{8 + 4 * i};\tsize:4;\tsigned:1;\n" for i in range(n)
    )
    return f'name: x\nID: 1\nformat:\n{fields}\nprint fmt: "%d", REC->a0\n'


def test_a_format_of_a_million_fields_is_refused_unparsed() -> None:
    from spftrace.formats.tracefs_format import MAX_FIELDS, FormatError, parse_format

    assert len(parse_format(_format_text(MAX_FIELDS)).fields) == MAX_FIELDS
    text = _format_text(10**6)
    err, top = peak(lambda: parse_format(text))
    assert isinstance(err, FormatError) and str(err) == f"more than {MAX_FIELDS} fields"
    assert top < MiB
