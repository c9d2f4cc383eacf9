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
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spftrace.errors import SpftraceError
from spftrace.formats.native import perf_walk
from spftrace.formats.perf_data import read_perf_data
from spftrace.formats.perf_data.header import FEATURE_MAX

from .helpers import traced_peak

MiB = 1 << 20
HOSTNAME, BUILD_ID, CMDLINE, CPU_TOPOLOGY, TRACING_DATA = 3, 2, 11, 13, 1


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
    out, top = traced_peak(lambda: read(src))
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


# --- pipe mode ------------------------------------------------------------------------

PIPE = (Path(__file__).with_name("data") / "perf_data" / "pipe.data").read_bytes()


def pipe_rows(raw: bytes, use_native: bool = True) -> list[Any]:
    return list(
        read_perf_data(io.BytesIO(raw), source="p.data", kallsyms=None, use_native=use_native)
    )


def stats(batches: list[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for b in batches:
        for name, _cpu, v in b.stats:
            out[name] = out.get(name, 0) + v
    return out


def header_attr(a: bytes, ids: tuple[int, ...] = ()) -> bytes:
    body = a + struct.pack(f"<{len(ids)}Q", *ids)
    return struct.pack("<IHH", 64, 0, 8 + len(body)) + body


def sample(ip: int) -> bytes:
    """PERF_RECORD_SAMPLE of sample_type IP|TID|TIME (0x7): ip, pid/tid, time."""
    body = struct.pack("<QiiQ", ip, 7, 7, 1000 + ip)
    return struct.pack("<IHH", 9, 2, 8 + len(body)) + body


@pytest.mark.timeout(120)
@pytest.mark.parametrize("use_native", [True, False])
def test_many_header_attrs(use_native: bool) -> None:
    """5,000 HEADER_ATTR records (a 360 kB stream) and a sample: each attr rebuilt
    the walk's view of every attr and walked the rest of the window again into a
    table kept until the next batch (4,000: 30 s, 1.1 GB).  Now past MAX_ATTRS
    (4,096) they are ignored, counted and named once; the sample is read."""
    n = 5000
    raw = b"PERFILE2" + struct.pack("<Q", 16)
    raw += header_attr(attr(0x7)) * n + sample(0x1234)
    if use_native and perf_walk() is not None:  # traced, the pure walk takes 30 s
        out, top = traced_peak(lambda: pipe_rows(raw, use_native))
        assert top < 64 * MiB
    else:
        out = pipe_rows(raw, use_native)
    assert stats(out).get("attrs_past_limit") == n - 4096
    assert [r["ip"] for b in out for r in b.events.to_pylist()] == [0x1234]
    notes = out[-1].notes
    assert (
        notes.count(
            "more than 4096 attrs or 1048576 sample ids (HEADER_ATTR records): "
            "the later ones are ignored"
        )
        == 1
    )


@pytest.mark.parametrize("size", [200, 68, 0xFFFFFFF0])
def test_header_attr_whose_attr_size_is_not_its_record(size: int) -> None:
    """perf_event__process_attr counts the ids after attr.size bytes of the record:
    an attr larger than its record (or not 8-byte aligned) is malformed, not read."""
    bad = bytearray(attr(0x7))
    bad[4:8] = struct.pack("<I", size)
    raw = b"PERFILE2" + struct.pack("<Q", 16) + header_attr(bytes(bad), (1, 2))
    out = pipe_rows(raw)
    assert stats(out).get("records_malformed") == 1


def tracing_record(raw: bytes) -> tuple[int, int]:
    """(offset, total size) of the stream's HEADER_TRACING_DATA record."""
    pos = 16
    while pos + 8 <= len(raw):
        typ, _misc, size = struct.unpack_from("<IHH", raw, pos)
        total = size + (struct.unpack_from("<I", raw, pos + 8)[0] if typ == 66 else 0)
        if typ == 66:
            return pos, total
        pos += total
    raise AssertionError("no tracing data")


def test_tracing_data_after_a_longer_record_header() -> None:
    """session.c reads the tracing data at the record's offset + header.size, not +16:
    the capture's record with 8 more header bytes gives the same rows."""
    at, total = tracing_record(PIPE)
    rec = PIPE[at : at + total]
    longer = struct.pack("<IHH", 66, 0, 24) + rec[8:16] + bytes(8) + rec[16:]
    raw = PIPE[:at] + longer + PIPE[at + total :]
    want = [r for b in pipe_rows(PIPE) for r in b.events.to_pylist()]
    got = [r for b in pipe_rows(raw) for r in b.events.to_pylist()]
    assert got == want
    assert any(r["payload"] for r in want)  # the formats were read: payloads rendered


def test_tracing_data_past_its_bound_is_skipped(tmp_path: Path) -> None:
    """A HEADER_TRACING_DATA record claiming 48 MiB (the most a tracing_data feature
    may be is 32 MiB): held and parsed whole, window by window (each copying all it
    had); now skipped unheld with a note, and the samples after it read."""
    at, total = tracing_record(PIPE)
    claim = 48 * MiB
    src = tmp_path / "pipe.data"
    with src.open("wb") as f:
        f.write(PIPE[:at] + struct.pack("<IHHII", 66, 0, 16, claim, 0))
        f.seek(at + 16 + claim)
        f.write(PIPE[at + total :])
    with src.open("rb") as f:
        out, top = traced_peak(lambda: list(read_perf_data(f, source="p.data", kallsyms=None)))
    assert not isinstance(out, Exception), out
    note = f"tracing data of {16 + claim} bytes at offset {at}, more than spftrace reads"
    assert any(n.startswith(note) for n in out[-1].notes), out[-1].notes
    assert stats(out).get("skipped_header_tracing_data") == 1
    want = sum(1 for b in pipe_rows(PIPE) for _ in b.events.to_pylist())
    assert sum(b.events.num_rows for b in out) == want
    assert top < 24 * MiB


@pytest.mark.parametrize("seed", range(5))
def test_session_config_equals_make_config(seed: int) -> None:
    """The session's config, kept as attrs come, against walk.make_config over the
    same attrs and (id, attr) pairs: ids repeated within and across attrs."""
    import random

    from spftrace.formats.perf_data.attr import parse_attr
    from spftrace.formats.perf_data.session import Session
    from spftrace.formats.perf_data.walk import make_config

    rng = random.Random(seed)
    s = Session(False, "x")
    attrs, pairs = [], []
    for k in range(rng.randint(1, 40)):
        a = parse_attr(attr(rng.choice([0x7, 0x47, 0x10007, 0x187])), False)
        ids = [rng.randint(0, 50) for _ in range(rng.randint(0, 6))]
        assert s.add_attr(a, ids)
        attrs.append(a)
        pairs += [(i, k) for i in ids]
    got, want = s.config(), make_config(False, attrs, pairs)
    for name in ("attrs", "ids", "id_attr"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
        assert getattr(got, name).dtype == getattr(want, name).dtype
    assert (got.id_pos, got.is_pos) == (want.id_pos, want.is_pos)
    for ident in range(52):
        assert s.attrs_of(ident) == [k for i, k in sorted(set(pairs)) if i == ident]


@pytest.mark.parametrize("n", [4097, 1 << 20])
def test_a_file_of_more_attrs_is_refused(tmp_path: Path, n: int) -> None:
    """Refused before the attrs section is read: 2^20 attrs (an 80 MiB section of a
    sparse file) were parsed first."""
    attrs_at, step = 104, 80
    data_at = attrs_at + step * n
    head = b"PERFILE2" + struct.pack("<6Q", 104, step, attrs_at, step * n, data_at, 8)
    src = tmp_path / "a.data"
    with src.open("wb") as f:
        f.write(head + bytes(48) + (attr() + bytes(16)) * 4097)
        f.seek(data_at)
        f.write(struct.pack("<IHH", 68, 0, 8))
    err, top = traced_peak(lambda: read(src))
    assert isinstance(err, SpftraceError)
    assert str(err) == (
        f"p.data: damaged perf.data attrs ({n} attrs, more than spftrace reads (4096))"
    )
    assert top < 8 * MiB
