"""Review of 404a08b and 4ff9c8e (sub-buffer sizes; a compressed CPU holds one piece
of its chunk at a time).  Both failed on 4ff9c8e; fixed by 763ccdd (a chunk inflated
once and held, within budget.REST_MAX; compressed CPUs x a sub-buffer each and its
records' index past budget.LEAST_MAX refused in one line).

A chunk longer than its CPU's piece is inflated again, whole, for each piece of it: up
to 16 times (a 16-page chunk, pieces of one page past ~2,700 CPUs).  Memory is bounded,
but the inflating is not: 4,096 zstd CPUs of five 16-page chunks of zero pages (a
670 kB file) took 21 s of CPU against 1.6 s for the same 1.3 GB inflated on 8 CPUs,
and the time grows with the file (~30 MB: a quarter of an hour) -- a hostile file
that looks like a hang.  Each chunk's bytes should be inflated about once.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from spftrace.formats.trace_dat import budget, header

from .test_hostile_trace_dat_bounds import (
    PAGE,
    RSS_BOUND_MB,
    full,
    ingest_peak,
    rows,
    zstd_v7,
)


def test_a_chunk_is_inflated_about_once(monkeypatch: pytest.MonkeyPatch) -> None:
    cpus, pages = 1024, 16
    # 48 MiB / (6 x 1,024) = 8,192 bytes a CPU: pieces of 2 pages, a chunk is 8 pieces
    assert budget.piece_size(PAGE, cpus) == 2 * PAGE
    inflated: list[int] = []
    real = header.inflate

    def counted(name: str, data: bytes, limit: int) -> bytes:
        out = real(name, data, limit)
        inflated.append(len(out))
        return out

    monkeypatch.setattr(header, "inflate", counted)
    data = full(1000) + bytes((pages - 2) * PAGE) + full(2000)
    got = rows(zstd_v7(cpus, data))
    assert len(got) == 2 * cpus  # every record read
    chunk_bytes = cpus * pages * PAGE  # each CPU's one chunk, inflated once
    assert sum(inflated) <= 2 * chunk_bytes, f"{sum(inflated) / chunk_bytes:.0f}x the chunks"


def test_compressed_dense_sub_buffers_in_bounded_memory(tmp_path: Path) -> None:
    """256 zstd CPUs of one 512 KiB sub-buffer (128 pages, the most Linux allows) full
    of 12-byte records: a 28 kB file.  Each CPU holds at least one sub-buffer and its
    43,689 records' index while they wait: peak RSS 682 MB (64 CPUs: 265 MB), ~2.6 MB
    a CPU whatever the file's size.  404a08b reads such sub-buffers (they were damaged
    4 KiB pages before) and 4ff9c8e dropped the refusal of compressed CPUs that would
    hold too much at once, so a small file claims memory without bound."""
    sb = 128 * PAGE
    rec = struct.pack("<I", 2) + struct.pack("<HBBi", 7, 0, 0, 1)  # type_len 2: 12 bytes
    body = rec * ((sb - 16) // len(rec))
    src = tmp_path / "dense.dat"
    src.write_bytes(zstd_v7(256, (struct.pack("<QQ", 1000, len(body)) + body).ljust(sb, b"\0"), sb))
    assert src.stat().st_size < 100_000
    code, err, peak = ingest_peak(tmp_path, src)
    # read in bounded memory, or refused in one line: not 682 MB
    assert code == 0 or (code == 1 and len(err.strip().splitlines()) == 1), err
    assert peak < RSS_BOUND_MB, f"peak RSS {peak:.0f} MB"
