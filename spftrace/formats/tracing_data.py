"""The tracing-data block shared by perf.data and trace.dat v6.

Layout (tools/perf/util/trace-event-read.c trace_report; trace-cmd.dat.v6(5)):
  "\\x17\\x08\\x44tracing" version\\0 big_endian:u8 long_size:u8 page_size:u32
  "header_page\\0" size:u64 text   "header_event\\0" size:u64 text
  ftrace formats: count:u32, (size:u64 text)*
  event formats:  systems:u32, (name\\0 count:u32 (size:u64 text)*)*
  kallsyms: size:u32 text    printk: size:u32 text    [version >= 0.6 / trace.dat]
  saved cmdlines: size:u64 text
All numbers after the endian byte are in the file's byte order.  perf.data files
from perf older than 4.x carry /proc/kallsyms here; newer ones store size 0.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

MAGIC = b"\x17\x08\x44tracing"
#: the page size is the recording host's getpagesize() (trace-cmd.dat.v6(5): "what
#: the traced host machine page size was"; perf's tracing data writes the same):
#: Linux pages are 4 KiB (x86, the least of every architecture) to 64 KiB (arm64,
#: ppc64) and 256 KiB (hexagon, ppc 44x); 1 MiB leaves room.  A page size of 2^31
#: (only a power of two was asked for) made each CPU's piece 512 GiB, read at once
#: up to the CPU's size, and 1-8 byte pages were a traceback from the page walk.
MIN_PAGE_SIZE = 4 << 10
MAX_PAGE_SIZE = 1 << 20


class TracingDataError(ValueError):
    """The block is cut short or not tracing data."""


@dataclass
class TracingData:
    version: str
    big_endian: bool
    long_size: int
    page_size: int
    header_page: bytes = b""
    header_event: bytes = b""
    formats: list[tuple[str, bytes]] = field(default_factory=list)  # (system, text)
    kallsyms: bytes = b""
    printk: bytes = b""
    cmdlines: bytes = b""
    size: int = 0  # bytes consumed


class Cursor:
    """Bounds-checked reads from a bytes-like object, in one byte order."""

    def __init__(self, buf: bytes | memoryview, pos: int = 0, big_endian: bool = False) -> None:
        self.buf = buf
        self.pos = pos
        self.e = ">" if big_endian else "<"

    def need(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.buf):
            raise TracingDataError(f"cut short at offset {self.pos} (needs {n} more bytes)")

    def take(self, n: int) -> bytes:
        self.need(n)
        out = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack(self.e + "H", self.take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack(self.e + "I", self.take(4))[0])

    def u64(self) -> int:
        return int(struct.unpack(self.e + "Q", self.take(8))[0])

    def window(self, n: int) -> bytes:
        """Up to ``n`` bytes from the position (fewer at the end), not consumed."""
        return bytes(self.buf[self.pos : self.pos + n])

    def cstr(self, limit: int = 1 << 16) -> bytes:
        """A NUL-terminated string of at most ``limit`` bytes.  The NUL is looked for
        in windows growing from 64 bytes, not in ``limit`` bytes at once: copying
        64 KiB for each short name made a 10 MB trace.dat of 2M empty system names
        take 14 s."""
        span = 64
        while True:
            chunk = self.window(min(span, limit))
            end = chunk.find(b"\0")
            if end >= 0:
                self.pos += end + 1
                return chunk[:end]
            if len(chunk) < min(span, limit) or span >= limit:
                raise TracingDataError(f"unterminated string at offset {self.pos}")
            span *= 4


def read_head(c: Cursor) -> tuple[str, bool, int, int]:
    """Magic, version, byte order, long size, page size; leaves ``c`` in file order."""
    if c.take(10) != MAGIC:
        raise TracingDataError("no tracing data magic")
    version = c.cstr(64).decode("ascii", "replace")
    big = c.u8() != 0
    c.e = ">" if big else "<"
    long_size = c.u8()
    page_size = c.u32()
    if long_size not in (4, 8):
        raise TracingDataError(f"bad long size {long_size} (4 or 8)")
    if page_size & (page_size - 1) or not MIN_PAGE_SIZE <= page_size <= MAX_PAGE_SIZE:
        raise TracingDataError(
            f"bad page size {page_size} (a power of two from {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE})"
        )
    return version, big, long_size, page_size


def read_headers(c: Cursor, td: TracingData) -> None:
    if c.take(12) != b"header_page\0":
        raise TracingDataError("no header_page")
    td.header_page = c.take(c.u64())
    if c.take(13) != b"header_event\0":
        raise TracingDataError("no header_event")
    td.header_event = c.take(c.u64())


def read_ftrace_formats(c: Cursor, td: TracingData) -> None:
    for _ in range(c.u32()):
        td.formats.append(("ftrace", c.take(c.u64())))


def read_event_formats(c: Cursor, td: TracingData) -> None:
    for _ in range(c.u32()):
        system = c.cstr().decode("utf-8", "replace")
        for _ in range(c.u32()):
            td.formats.append((system, c.take(c.u64())))


def parse_tracing_data(
    buf: bytes | memoryview, pos: int = 0, *, trace_dat: bool = False
) -> TracingData:
    """The whole block (perf's layout; trace.dat v6 has the same up to the cmdlines)."""
    c = Cursor(buf, pos)
    version, big, long_size, page_size = read_head(c)
    td = TracingData(version, big, long_size, page_size)
    read_headers(c, td)
    read_ftrace_formats(c, td)
    read_event_formats(c, td)
    td.kallsyms = c.take(c.u32())
    td.printk = c.take(c.u32())
    try:
        newer = trace_dat or float(version) >= 0.6
    except ValueError:
        newer = True
    if newer:
        td.cmdlines = c.take(c.u64())
    td.size = c.pos - pos
    return td
