"""A v7 trace.dat whose buffer has 16 KiB sub-buffers, rewritten from a real 4 KiB capture.

usage:  python sample_traces/capture/subbuf_fixture.py IN.dat OUT.dat [SUBBUF_BYTES]

Why rewritten: Linux 6.8+ lets an instance's ring buffer use sub-buffers of 1 to 128
system pages (tracefs ``buffer_subbuf_size_kb``), and trace-cmd 3.2+ records them,
writing each buffer's sub-buffer size in its v7 BUFFER option.  Here the tracefs file
refuses writes (EPERM, kernel 6.18, as root) and trace-cmd is 3.1.6, so no such
recording can be made on this machine.

What is written follows the documented formats only:
- trace-cmd.dat.v7(5): a section is id u16, flags u16, description u32, size u64, then
  its data; the BUFFER option (id 3) is offset u64, name, clock, page size u32, CPU
  count u32, then per CPU id u32, offset u64, size u64; an options section ends with
  DONE (id 0) holding the next options section's offset.
- the ring buffer page (kernel/trace/ring_buffer.c, libtraceevent kbuffer-parse.c): a
  sub-buffer is time stamp u64, commit (a long: data size, flags in bits 30-31), data;
  an event header is a u32 of type_len:5, time_delta:27; type_len 30 (TIME_EXTEND)
  adds ``array[0] << 27 | time_delta`` to the time and takes 8 bytes.

Every group of SUBBUF/PAGE consecutive 4 KiB pages of a CPU becomes one sub-buffer:
the first page's time stamp, then each page's data in turn, each later page's preceded
by a TIME_EXTEND from the last time of the data before it to that page's time stamp.
The records, their times and their order are unchanged, so the file's expected report
is the original's (and trace-cmd 3.1.6, which reads an instance's pages with the
BUFFER option's page size, reports the rewritten file identically).
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

PADDING, TIME_EXTEND, TIME_STAMP = 29, 30, 31
COMMIT_MASK = (1 << 27) - 1
OPT_DONE, OPT_BUFFER = 0, 3


def page_end_time(page: bytes) -> tuple[int, int]:
    """(time after the page's last event, its data length), walking every event."""
    ts, commit = struct.unpack_from("<QQ", page, 0)
    assert commit & ~COMMIT_MASK == 0, "pages with lost-event flags are not merged"
    size = commit & COMMIT_MASK
    pos = 0
    while pos < size:
        (word,) = struct.unpack_from("<I", page, 16 + pos)
        type_len, delta = word & 31, word >> 5
        if type_len == PADDING:
            raise AssertionError("padding inside a page: not merged")
        if type_len in (TIME_EXTEND, TIME_STAMP):
            (ext,) = struct.unpack_from("<I", page, 16 + pos + 4)
            assert type_len == TIME_EXTEND
            ts += (ext << 27) + delta
            pos += 8
        elif type_len == 0:
            (length,) = struct.unpack_from("<I", page, 16 + pos + 4)
            ts += delta
            pos += 4 + ((length + 3) & ~3)  # array[0] counts itself
        else:
            ts += delta
            pos += 4 + 4 * type_len
    assert pos == size, (pos, size)
    return ts, size


def merge_pages(data: bytes, page: int, subbuf: int) -> bytes:
    pages = [data[i : i + page] for i in range(0, len(data), page)]
    out = bytearray()
    for g in range(0, len(pages), subbuf // page):
        group = pages[g : g + subbuf // page]
        body = bytearray()
        first_ts = struct.unpack_from("<Q", group[0], 0)[0]
        now = first_ts
        for pg in group:
            pts = struct.unpack_from("<Q", pg, 0)[0]
            end, size = page_end_time(pg)
            if body:
                gap = pts - now
                assert gap >= 0
                body += struct.pack("<II", TIME_EXTEND | ((gap & COMMIT_MASK) << 5), gap >> 27)
            body += pg[16 : 16 + size]
            now = end
        assert 16 + len(body) <= subbuf
        sb = struct.pack("<QQ", first_ts, len(body)) + body
        out += sb + bytes(subbuf - len(sb))
    return bytes(out)


def sections(raw: bytes, start: int) -> list[tuple[int, int, int]]:
    """(offset, id, size) of each section, in file order, from ``start``."""
    out = []
    at = start
    while at + 16 <= len(raw):
        sid, _flags, _desc, size = struct.unpack_from("<HHIQ", raw, at)
        out.append((at, sid, size))
        at += 16 + size
    assert at == len(raw), (at, len(raw))
    return out


def rewrite(raw: bytes, subbuf: int) -> bytes:
    assert raw[:10] == b"\x17\x08\x44tracing" and raw[10:12] == b"7\0" and raw[12] == 0
    page = struct.unpack_from("<I", raw, 14)[0]
    at = 18
    for _ in range(2):  # compression name and version
        at = raw.index(b"\0", at) + 1
    assert raw[18:at] == b"none\0\0", "only an uncompressed file is rewritten"
    secs = sections(raw, at + 8)
    (fly,) = [s for s in secs if s[1] == OPT_BUFFER]
    last = secs[-2] if secs[-1][1] == 15 else secs[-1]  # the options section after the data
    # the BUFFER option in the last options section
    o = last[0] + 16
    opt, osize = struct.unpack_from("<HI", raw, o)
    assert opt == OPT_BUFFER
    d = o + 6
    assert struct.unpack_from("<Q", raw, d)[0] == fly[0]
    p = raw.index(b"\0", d + 8) + 1
    p = raw.index(b"\0", p) + 1  # after name and clock
    assert struct.unpack_from("<I", raw, p)[0] == page
    ncpu = struct.unpack_from("<I", raw, p + 4)[0]
    cpus = [struct.unpack_from("<IQQ", raw, p + 8 + 20 * i) for i in range(ncpu)]
    assert p + 8 + 20 * ncpu == d + osize
    # new flyrecord data: each CPU's sub-buffers, aligned to the sub-buffer size
    head = bytearray(raw[: fly[0] + 16])
    new_cpus = []
    for cpu, off, size in cpus:
        head += bytes(-len(head) % subbuf)
        data = merge_pages(raw[off : off + size], page, subbuf)
        new_cpus.append((cpu, len(head), len(data)))
        head += data
    old_end = fly[0] + 16 + fly[2]
    assert old_end == last[0]
    shift = len(head) - old_end
    struct.pack_into("<Q", head, fly[0] + 8, len(head) - fly[0] - 16)
    tail = bytearray(raw[old_end:])
    t = p - old_end
    struct.pack_into("<I", tail, t, subbuf)
    for i, c in enumerate(new_cpus):
        struct.pack_into("<IQQ", tail, t + 8 + 20 * i, *c)
    out = head + tail
    # the options section before the data points at the last one
    for s_off, sid, s_size in secs:
        if sid == OPT_DONE and s_off < fly[0]:
            done = s_off + 16 + s_size - 8
            if struct.unpack_from("<Q", out, done)[0] == last[0]:
                struct.pack_into("<Q", out, done, last[0] + shift)
    return bytes(out)


def main() -> None:
    subbuf = int(sys.argv[3]) if len(sys.argv) > 3 else 16384
    Path(sys.argv[2]).write_bytes(rewrite(Path(sys.argv[1]).read_bytes(), subbuf))


if __name__ == "__main__":
    main()
