"""trace.dat headers, versions 6 and 7: metadata, options, and where each CPU's data is.

Reference: trace-cmd Documentation/trace-cmd/trace-cmd.dat.v6.5.txt and .v7.5.txt;
lib/trace-cmd/trace-input.c (read_section_header: id u16, flags u16, description
u32, size u64; handle_options; handle_buffer_option; read_cpu_data; the compression
of v7 sections (u32 compressed size, u32 size, data) and of CPU data (u32 chunk
count, then u32 compressed size, u32 size, data per chunk); init_cpu_zpage).
Where the two disagree the code wins (the section size is 8 bytes).  The BUFFER
option carries its buffer's page (sub-buffer) size before the CPU count, as
trace-cmd.dat.v7(5) documents and trace-cmd 3.1.6 writes; tracecmd_buffer_instance_handle
reads the buffer's pages with it (Linux 6.8+ sub-buffers are 1 to 128 system pages,
``buffer_subbuf_size_kb``).  An early v7 layout without it is told apart by the
option's size.
"""

from __future__ import annotations

import contextlib
import itertools
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from ..inflate import InflateError, inflate
from ..tracing_data import (
    MAX_PAGE_SIZE,
    Cursor,
    TracingData,
    TracingDataError,
    read_event_formats,
    read_ftrace_formats,
    read_head,
    read_headers,
)

SEC_COMPRESSED = 1
OPT_DONE, OPT_DATE, OPT_CPUSTAT, OPT_BUFFER, OPT_TRACECLOCK, OPT_UNAME = 0, 1, 2, 3, 4, 5
OPT_OFFSET, OPT_CPUCOUNT, OPT_VERSION, OPT_TRACEID, OPT_TSC2NSEC = 7, 8, 9, 11, 14
OPT_HEADER_INFO, OPT_FTRACE_EVENTS, OPT_EVENT_FORMATS = 16, 17, 18
OPT_KALLSYMS, OPT_PRINTK, OPT_CMDLINES, OPT_BUFFER_TEXT = 19, 20, 21, 22
SECTION_OPTIONS = {
    OPT_HEADER_INFO,
    OPT_FTRACE_EVENTS,
    OPT_EVENT_FORMATS,
    OPT_KALLSYMS,
    OPT_PRINTK,
    OPT_CMDLINES,
}
#: the most a compressed section may hold (trace-cmd compresses a section whole: the
#: largest, kallsyms or the event formats, are a few MiB); a CPU chunk may hold at
#: most this or ``merge.chunk_limit`` (a stream's piece, at least 16 pages), whichever
#: is less (trace-cmd writes 10 pages)
BLOCK_MAX = 32 << 20
#: CPU entries of all buffers together: Linux's NR_CPUS is at most 8192, and a file
#: holds a few buffers (instances); past this a damaged count is refused
MAX_CPU_ENTRIES = 1 << 17
MAX_BUFFERS = 1 << 12


class DatError(ValueError):
    """The trace.dat header cannot be read."""


@dataclass
class CpuData:
    cpu: int
    offset: int
    size: int


@dataclass
class Buffer:
    name: str
    clock: str = ""
    offset: int = 0
    cpus: list[CpuData] = field(default_factory=list)
    latency: bool = False
    compressed: bool = False
    page_size: int = 0  # of its pages (sub-buffers); 0: the file's (v6)


@dataclass
class DatHeader:
    version: int
    td: TracingData
    compression: tuple[str, str] | None = None
    buffers: list[Buffer] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    cpustats: list[str] = field(default_factory=list)
    ts_offset: int = 0
    tsc2nsec: tuple[int, int, int] | None = None  # mult, shift, offset
    cpus: int = 0
    cpu_entries: int = 0  # of all buffers' CPU lists, while the options are read


class Source:
    """Reads at absolute offsets of a seekable file, bounds-checked."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.size = f.seek(0, 2)

    def read(self, offset: int, n: int) -> bytes:
        if offset < 0 or n < 0 or offset + n > self.size:
            raise DatError(
                f"the file is cut short (needs bytes {offset}..{offset + n}, has {self.size})"
            )
        self.f.seek(offset)
        data = self.f.read(n)
        if len(data) != n:
            raise DatError(f"short read at offset {offset}")
        return data


def decompress(name: str, data: bytes, size: int, limit: int = BLOCK_MAX) -> bytes:
    """One compressed block or chunk; ``size`` is what the file says it holds.  A claim
    over ``limit`` is refused before decompressing, and the output stops just past
    the claim (inflate), so neither a damaged size nor a bomb can claim memory."""
    if size > limit:
        raise DatError(
            f"a compressed block claims {size} bytes, more than spftrace reads ({limit})"
        )
    try:
        out = inflate(name, data, size)
    except InflateError as err:
        raise DatError(str(err)) from None
    if len(out) != size:
        raise DatError(f"compressed data holds {len(out)} bytes, the file says {size}")
    return out


def read_dat_header(f: IO[bytes]) -> DatHeader:
    try:
        return _read_dat_header(f)
    except (TracingDataError, struct.error) as err:
        raise DatError(f"damaged trace.dat header ({err})") from None


def _read_dat_header(f: IO[bytes]) -> DatHeader:
    src = Source(f)
    head = src.read(0, min(src.size, 1 << 16))
    c = Cursor(head, 0)
    try:
        version_s, big, long_size, page_size = read_head(c)
    except TracingDataError as err:
        raise DatError(str(err)) from None
    try:
        version = int(version_s)
    except ValueError:
        raise DatError(f"unknown trace.dat version {version_s!r}") from None
    td = TracingData(version_s, big, long_size, page_size)
    if version < 7:
        return _v6(src, c.pos, td, version)
    if version > 7:
        raise DatError(f"trace.dat version {version} is newer than spftrace reads (6 and 7)")
    return _v7(src, c.pos, td)


class FileCursor(Cursor):
    """A Cursor reading a seekable file on demand (v6 metadata is one long run)."""

    def __init__(self, src: Source, pos: int, big: bool) -> None:
        super().__init__(b"", pos, big)
        self.src = src

    def need(self, n: int) -> None:
        if n < 0 or self.pos + n > self.src.size:
            raise TracingDataError(f"cut short at offset {self.pos} (needs {n} more bytes)")

    def take(self, n: int) -> bytes:
        self.need(n)
        out = self.src.read(self.pos, n)
        self.pos += n
        return out

    def window(self, n: int) -> bytes:
        return self.src.read(self.pos, max(0, min(n, self.src.size - self.pos)))


def _v6(src: Source, pos: int, td: TracingData, version: int) -> DatHeader:
    c = FileCursor(src, pos, td.big_endian)
    try:
        read_headers(c, td)
        read_ftrace_formats(c, td)
        read_event_formats(c, td)
        td.kallsyms = c.take(c.u32())
        td.printk = c.take(c.u32())
        td.cmdlines = c.take(c.u64())
        hdr = DatHeader(version, td)
        hdr.cpus = c.u32()
        kind = c.take(10)
        if kind.startswith(b"options"):
            _options(c, hdr, sections=False)
            kind = c.take(10)
        top = Buffer("", latency=kind.startswith(b"latency"))
        if kind.startswith(b"flyrecord"):
            # every buffer has a table of hdr.cpus (offset, size) pairs
            _count_cpus(hdr.cpus * (1 + len(hdr.buffers)), src.size // 16)
            top.cpus = [CpuData(i, c.u64(), c.u64()) for i in range(hdr.cpus)]
            if "trace_clock" in hdr.meta:
                text = c.take(c.u64()).decode("utf-8", "replace")
                hdr.meta["trace_clock"] = _clock(text)
        elif not top.latency:
            raise DatError(f"unknown data kind {kind!r}")
        hdr.buffers.insert(0, top)
        for b in hdr.buffers[1:]:  # instances: "flyrecord\0" and per-CPU sections
            bc = FileCursor(src, b.offset, td.big_endian)
            if not bc.take(10).startswith(b"flyrecord"):
                raise DatError(f"buffer {b.name!r} has no flyrecord data")
            b.cpus = [CpuData(i, bc.u64(), bc.u64()) for i in range(hdr.cpus)]
    except TracingDataError as err:
        raise DatError(f"truncated trace.dat header ({err})") from None
    _check_cpu_data(hdr, src.size)
    return hdr


def _count_cpus(n: int, room: int) -> None:
    """Refuses more CPU entries than the file has room for or than MAX_CPU_ENTRIES."""
    if n > room:
        raise DatError(f"the header lists {n} CPU entries, the file has room for {room}")
    if n > MAX_CPU_ENTRIES:
        raise DatError(
            f"the header lists {n} CPU entries, more than spftrace reads ({MAX_CPU_ENTRIES})"
        )


def _check_cpu_data(hdr: DatHeader, size: int) -> None:
    """Each CPU's data is its own part of the file (trace-cmd copies each CPU's ring
    buffer to its own place): data that overlap another CPU's are refused, so what
    is read is bounded by the file's size (data cut short by its end are read up to
    it, by the merge)."""
    spans = []
    for b in hdr.buffers:
        if b.latency:
            continue
        for c in b.cpus:
            if c.size > 0:
                end = c.offset + c.size + (4 if b.compressed else 0)
                spans.append((c.offset, end, b.name, c.cpu))
    spans.sort()
    for (_o, end, name, cpu), (o2, _e, name2, cpu2) in itertools.pairwise(spans):
        if o2 < end:
            raise DatError(
                f"the data of CPU {cpu2} (buffer {name2!r}) start inside those of CPU "
                f"{cpu} (buffer {name!r}), at offset {o2}"
            )


def _clock(text: str) -> str:
    for word in text.split():
        if word.startswith("["):
            return word.strip("[]")
    return text.strip()


def _options(c: Cursor, hdr: DatHeader, sections: bool) -> int:
    """Options until DONE; returns the next options section's offset (v7) or 0."""
    while True:
        opt = c.u16()
        if not sections and opt == OPT_DONE:
            return 0
        size = c.u32()
        data = c.take(size)
        d = Cursor(data, 0, c.e == ">")
        if opt == OPT_DONE:
            return d.u64() if size >= 8 else 0
        if opt in (OPT_BUFFER, OPT_BUFFER_TEXT):
            hdr.buffers.append(_buffer(d, size, opt, sections, hdr.td.page_size))
            hdr.cpu_entries += len(hdr.buffers[-1].cpus)
            if len(hdr.buffers) > MAX_BUFFERS:
                raise DatError(f"more than {MAX_BUFFERS} buffers (instances) in the options")
            _count_cpus(hdr.cpu_entries, hdr.cpu_entries)
        elif opt == OPT_TRACECLOCK:
            hdr.meta["trace_clock"] = _clock(data.split(b"\0", 1)[0].decode("utf-8", "replace"))
        elif opt == OPT_UNAME:
            uname = data.split(b"\0", 1)[0].decode("utf-8", "replace")
            hdr.meta["uname"] = uname
            parts = uname.split()
            if len(parts) >= 3:
                hdr.meta["kernel"] = parts[2]
                hdr.meta["host"] = parts[1]
        elif opt == OPT_VERSION:
            hdr.meta["trace_cmd_version"] = data.split(b"\0", 1)[0].decode("utf-8", "replace")
        elif opt == OPT_CPUSTAT:
            hdr.cpustats.append(data.split(b"\0", 1)[0].decode("utf-8", "replace"))
        elif opt == OPT_OFFSET:
            with contextlib.suppress(ValueError):
                hdr.ts_offset += int(data.split(b"\0", 1)[0], 0)
        elif opt == OPT_TSC2NSEC and size >= 16:
            hdr.tsc2nsec = (d.u32(), d.u32(), d.u64())
        elif opt == OPT_CPUCOUNT and size >= 4:
            hdr.cpus = d.u32()
        elif opt in SECTION_OPTIONS and size >= 8:
            hdr.meta[f"section.{opt}"] = str(d.u64())


def _check_subbuf(b: Buffer, page_size: int) -> None:
    """A sub-buffer is 2^0 to 2^7 system pages (kernel/trace/trace.c
    buffer_subbuf_size_write) and at most the ring buffer's write counter, 1 MiB
    (ring_buffer_subbuf_order_set); 0 (not written) reads as the file's page size."""
    if b.page_size == 0:
        b.page_size = page_size
        return
    top = min(128 * page_size, MAX_PAGE_SIZE)
    ps = b.page_size
    if ps & (ps - 1) or not page_size <= ps <= top:
        raise DatError(
            f"buffer {b.name!r}: bad sub-buffer size {ps} (a power of two from the "
            f"file's page size {page_size} to {top})"
        )


def _buffer(d: Cursor, size: int, opt: int, sections: bool, page_size: int) -> Buffer:
    offset = d.u64()
    b = Buffer(d.cstr().decode("utf-8", "replace"), offset=offset)
    if not sections:
        return b
    b.clock = d.cstr().decode("utf-8", "replace")
    if opt == OPT_BUFFER_TEXT:
        b.latency = True
        return b
    rest = size - d.pos
    # newer trace-cmd writes the sub-buffer size before the CPU count
    with_page = rest >= 8 and (rest - 8) % 20 == 0
    plain_n = struct.unpack_from(d.e + "I", d.buf, d.pos)[0] if rest >= 4 else 0
    if rest == 4 + 20 * plain_n:
        with_page = False
    if with_page:
        b.page_size = d.u32()
        _check_subbuf(b, page_size)
    n = d.u32()
    _count_cpus(n, (size - d.pos) // 20)
    b.cpus = [CpuData(d.u32(), d.u64(), d.u64()) for _ in range(n)]
    return b


def _v7(src: Source, pos: int, td: TracingData) -> DatHeader:
    head = src.read(0, min(src.size, pos + 512))
    c = Cursor(head, pos, td.big_endian)
    hdr = DatHeader(7, td)
    try:
        name = c.cstr(64).decode("ascii", "replace")
        ver = c.cstr(64).decode("ascii", "replace")
        if name != "none":
            hdr.compression = (name, ver)
        nxt = c.u64()
    except TracingDataError as err:
        raise DatError(f"truncated trace.dat header ({err})") from None
    seen = set()
    while nxt and nxt not in seen:
        seen.add(nxt)
        data, _flags = _section(src, hdr, nxt, expect=OPT_DONE)
        nxt = _options(Cursor(data, 0, td.big_endian), hdr, sections=True)
    for key, parser in (
        (OPT_HEADER_INFO, read_headers),
        (OPT_FTRACE_EVENTS, read_ftrace_formats),
        (OPT_EVENT_FORMATS, read_event_formats),
    ):
        off = hdr.meta.pop(f"section.{key}", None)
        if off is None:
            continue
        data, _ = _section(src, hdr, int(off), expect=key)
        try:
            parser(Cursor(data, 0, td.big_endian), td)
        except TracingDataError as err:
            raise DatError(f"section {key} unreadable ({err})") from None
    for key, width, attr in (
        (OPT_KALLSYMS, 4, "kallsyms"),
        (OPT_PRINTK, 4, "printk"),
        (OPT_CMDLINES, 8, "cmdlines"),
    ):
        off = hdr.meta.pop(f"section.{key}", None)
        if off is None:
            continue
        data, _ = _section(src, hdr, int(off), expect=key)
        sc = Cursor(data, 0, td.big_endian)
        try:
            setattr(td, attr, sc.take(sc.u32() if width == 4 else sc.u64()))
        except TracingDataError as err:
            raise DatError(f"section {key} unreadable ({err})") from None
    for b in hdr.buffers:
        if not b.latency and b.offset:
            h = Cursor(src.read(b.offset, 16), 0, td.big_endian)
            h.u16()
            b.compressed = bool(h.u16() & SEC_COMPRESSED)
    _check_cpu_data(hdr, src.size)
    return hdr


def _section(src: Source, hdr: DatHeader, offset: int, expect: int) -> tuple[bytes, int]:
    h = Cursor(src.read(offset, 16), 0, hdr.td.big_endian)
    sid, flags, _desc, size = h.u16(), h.u16(), h.u32(), h.u64()
    if sid != expect:
        raise DatError(f"section at {offset} is {sid}, expected {expect}")
    if size > src.size:
        raise DatError(f"section at {offset} claims {size} bytes")
    data = src.read(offset + 16, size)
    if flags & SEC_COMPRESSED:
        if hdr.compression is None:
            raise DatError(f"section {sid} is compressed but the file names no compression")
        z = Cursor(data, 0, hdr.td.big_endian)
        csize, rsize = z.u32(), z.u32()
        data = decompress(hdr.compression[0], z.take(csize), rsize)
    return data, flags


def chunks(src: Source, hdr: DatHeader, cpu: CpuData) -> Iterator[tuple[int, int, int]]:
    """(file offset of the data, compressed size, size) of each chunk of a compressed
    CPU, as they are read (a list of every CPU's chunks was held for the whole merge)."""
    c = Cursor(src.read(cpu.offset, 4), 0, hdr.td.big_endian)
    count = c.u32()
    at = cpu.offset + 4
    end = cpu.offset + 4 + cpu.size  # the size leaves out the count
    for _ in range(count):
        h = Cursor(src.read(at, 8), 0, hdr.td.big_endian)
        zsize, size = h.u32(), h.u32()
        if at + 8 + zsize > end:
            raise DatError(f"CPU {cpu.cpu}: compressed chunk runs past its data")
        yield at + 8, zsize, size
        at += 8 + zsize
