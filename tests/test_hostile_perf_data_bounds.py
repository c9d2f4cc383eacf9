"""perf.data whose header features or pipe-mode records claim more than they can be.

Feature sections (the header's feature bitmap, header.c's process_* functions) of
up to 1 GiB were read whole; now each is read only as far as its parser needs, the
variable ones (cmdline, event_desc, build_id, tracing_data) refused past what they
can be, and features spftrace does not parse are not read.  Pipe-mode records
(PERF_RECORD_HEADER_ATTR, HEADER_TRACING_DATA, HEADER_FEATURE) are checked against
their own sizes (session.c perf_session__process_user_event, header.c
perf_event__process_attr / perf_event__process_tracing_data).  Memory: the peak of
Python's allocations (tracemalloc), where read bytes and numpy arrays live.
"""

from __future__ import annotations

import io
import struct
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spftrace.errors import SpftraceError
from spftrace.formats.perf_data import read_perf_data
from spftrace.formats.perf_data.header import FEATURE_MAX

MiB = 1 << 20
HOSTNAME, BUILD_ID, CMDLINE, CPU_TOPOLOGY, TRACING_DATA = 3, 2, 11, 13, 1


def peak(fn: Callable[[], Any]) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        try:
            out: Any = fn()
        except SpftraceError as err:
            out = err
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def attr(sample_type: int = 0x107) -> bytes:
    """A software perf_event_attr, VER0 (64 bytes): type 1, config 0, period 1."""
    return struct.pack("<IIQQQQ", 1, 64, 0, 1, sample_type, 0) + bytes(24)


def with_features(path: Path, features: dict[int, tuple[bytes, int]]) -> None:
    """A file-mode perf.data (perf.data-file-format.txt): one attr (64 + 16 bytes, no
    ids), a data section of one FINISHED_ROUND record, and the feature table after
    it; ``features``: bit -> (the section's first bytes, its claimed size), each
    section sparse after those bytes."""
    attrs_at, data_at = 104, 104 + 80
    data = struct.pack("<IHH", 68, 0, 8)
    bits = 0
    for b in features:
        bits |= 1 << b
    table_at = data_at + len(data)
    at = table_at + 16 * len(features)
    table, sections = b"", []
    for b in sorted(features):
        first, size = features[b]
        table += struct.pack("<QQ", at, size)
        sections.append((at, first))
        at += size
    head = b"PERFILE2" + struct.pack("<6Q", 104, 80, attrs_at, 80, data_at, len(data))
    head += bytes(16) + struct.pack("<4Q", bits, 0, 0, 0)  # event_types, the bitmap
    with path.open("wb") as f:
        f.write(head + attr() + bytes(16) + data + table)
        for off, first in sections:
            f.seek(off)
            f.write(first)
        f.truncate(at)


def read(path: Path) -> list[Any]:
    with path.open("rb") as f:
        return list(read_perf_data(f, source="p.data", kallsyms=None))


def meta(batches: list[Any]) -> dict[str, str]:
    return dict(batches[-1].meta)


def test_features_claiming_a_gib_read_what_they_need(tmp_path: Path) -> None:
    """hostname, cmdline and cpu_topology sections of 300 MiB each (a sparse file):
    all three were read whole (900 MiB).  The hostname's string is read (its first
    64 KiB), the cmdline named unreadable (its argv can be 4 MiB at most), the
    topology (not parsed) not read at all."""
    big = 300 * MiB
    host = struct.pack("<I", 8) + b"box-one\0"
    cmd = struct.pack("<I", 1) + struct.pack("<I", 5) + b"perf\0"
    src = tmp_path / "f.data"
    with_features(src, {HOSTNAME: (host, big), CMDLINE: (cmd, big), CPU_TOPOLOGY: (b"", big)})
    out, top = peak(lambda: read(src))
    assert not isinstance(out, Exception), out
    m = meta(out)
    assert m.get("host") == "box-one"
    assert "command" not in m
    want = f"unreadable header features: cmdline ({big} bytes, more than spftrace reads: "
    assert f"{want}{FEATURE_MAX['cmdline']})" in out[-1].notes
    assert top < 8 * MiB


def test_small_features_still_read(tmp_path: Path) -> None:
    host = struct.pack("<I", 8) + b"box-two\0"
    cmd = struct.pack("<I", 2) + struct.pack("<I", 5) + b"perf\0" + struct.pack("<I", 7)
    cmd += b"record\0"
    src = tmp_path / "f.data"
    with_features(src, {HOSTNAME: (host, len(host)), CMDLINE: (cmd, len(cmd))})
    m = meta(read(src))
    assert (m.get("host"), m.get("command")) == ("box-two", "perf record")


def test_a_feature_past_the_end_of_the_file_is_named(tmp_path: Path) -> None:
    src = tmp_path / "f.data"
    with_features(src, {HOSTNAME: (struct.pack("<I", 2) + b"a\0", 6)})
    raw = bytearray(src.read_bytes())
    at = raw.index(struct.pack("<Q", 6), 104 + 80 + 8)  # the table's size field
    raw[at : at + 8] = struct.pack("<Q", 1 << 40)
    out = list(read_perf_data(io.BytesIO(bytes(raw)), source="p.data", kallsyms=None))
    note = [n for n in out[-1].notes if n.startswith("unreadable header features: hostname")]
    assert note and "1099511627776 bytes at" in note[0], out[-1].notes
