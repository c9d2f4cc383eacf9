"""trace.dat whose page size or CPU count ask for more memory than spftrace holds.

The page size was only checked to be a power of two (2^31 passed), and each of a
file's CPU streams held a piece of 256 pages while its records waited for the
merge: 512 CPUs held 512 MiB.  The bounds: a page is 4 KiB to 1 MiB (Linux's page
sizes, trace-cmd.dat.v6(5): "what the traced host machine page size was"), and the
streams' pieces together are at most budget.HOLD_MAX bytes.  Memory is the peak RSS
of a real ``spftrace ingest`` (os.wait4's rusage of that one child).
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard

import spftrace
from spftrace.errors import SpftraceError
from spftrace.formats.trace_dat import budget, merge, read_trace_dat

from .helpers import traced_peak

MAGIC = b"\x17\x08\x44tracing"
PAGE = 4096
RSS_LAUNCHER = """
import os, subprocess, sys
p = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL)
_pid, status, usage = os.wait4(p.pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""
RSS_BOUND_MB = 250


def head(version: bytes = b"6", page_size: int = PAGE) -> bytes:
    """The initial format and empty header pages, no formats, no kallsyms/printk/cmdlines."""
    raw = MAGIC + version + b"\0" + bytes([0, 8]) + struct.pack("<I", page_size)
    raw += b"header_page\0" + bytes(8) + b"header_event\0" + bytes(8)
    return raw + bytes(4 + 4 + 4 + 4 + 8)


def page(ts: int, pid: int) -> bytes:
    """One ring-buffer page (long size 8) of one 8-byte record (type_len 2, delta 0):
    event id 7, pid ``pid`` (kbuffer-parse.c: type_len in the low 5 bits)."""
    rec = struct.pack("<I", 2) + struct.pack("<HBBi", 7, 0, 0, pid)
    return struct.pack("<QQ", ts, len(rec)) + rec


def full(ts: int, pid: int = 1) -> bytes:
    """``page`` padded to a whole page."""
    return page(ts, pid).ljust(PAGE, b"\0")


def many_cpus(path: Path, cpus: int, pages: int) -> None:
    """A v6 file of ``cpus`` CPUs of ``pages`` pages each, sparse: a record in each
    CPU's first page (time 1000 + cpu) and last page (time 10^9 + cpu), zeros between."""
    table_at = len(head()) + 4 + 10
    data_at = -(-(table_at + 16 * cpus) // PAGE) * PAGE
    size = pages * PAGE
    table = b"".join(struct.pack("<QQ", data_at + c * size, size) for c in range(cpus))
    with path.open("wb") as f:
        f.write(head() + struct.pack("<I", cpus) + b"flyrecord\0" + table)
        for c in range(cpus):
            f.seek(data_at + c * size)
            f.write(page(1000 + c, 100 + c))
            f.seek(data_at + c * size + size - PAGE)
            f.write(page(10**9 + c, 100 + c))
        f.truncate(data_at + cpus * size)


def ingest_peak(tmp_path: Path, src: Path) -> tuple[int, str, float]:
    """(exit code, stderr, peak RSS in MB) of ``spftrace ingest SRC`` in a new dataset."""
    rss = tmp_path / "rss"
    cmd = [sys.executable, "-m", "spftrace", "ingest", str(src), "--data", str(tmp_path / "ds")]
    proc = subprocess.run(
        [sys.executable, "-c", RSS_LAUNCHER, str(rss), *cmd],
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return proc.returncode, proc.stderr.decode(), int(rss.read_text()) / 1024


def bounded_ingest(tmp_path: Path, src: Path, sql: str) -> object:
    """``spftrace ingest SRC`` into a new dataset, which must succeed under
    RSS_BOUND_MB; then SQL's one row over it, as JSON."""
    code, err, peak = ingest_peak(tmp_path, src)
    assert code == 0, err
    assert peak < RSS_BOUND_MB, f"peak RSS {peak:.0f} MB"
    return json.loads(spftrace.query(sql, data=tmp_path / "ds", fmt="json"))


def rows(raw: bytes) -> list[dict[str, object]]:
    return [
        r for b in read_trace_dat(io.BytesIO(raw), source="t.dat") for r in b.events.to_pylist()
    ]


@pytest.mark.parametrize("page_size", [1, 8, 2048, 2 << 20, 1 << 31])
def test_a_page_size_outside_linux_pages_is_refused(page_size: int) -> None:
    raw = head(page_size=page_size) + struct.pack("<I", 1) + b"flyrecord\0"
    raw += struct.pack("<QQ", 4096, 4096) + bytes(4096 - 256 + 4096)
    with pytest.raises(SpftraceError) as err:
        rows(raw)
    assert str(err.value) == (
        f"t.dat: bad page size {page_size} (a power of two from 4096 to 1048576)"
    )


def test_the_largest_page_size_reads(tmp_path: Path) -> None:
    """A 1 MiB page (the bound) is read: its one record, on one CPU."""
    big = 1 << 20
    raw = head(page_size=big) + struct.pack("<I", 1) + b"flyrecord\0"
    at = len(raw) + 16
    raw += struct.pack("<QQ", at, big)
    raw += (page(5000, 42) + bytes(big))[:big]
    got = rows(raw)
    assert [(r["ts"], r["tid"], r["cpu"]) for r in got] == [(5000, 42, 0)]


def test_a_cpu_of_less_than_one_page_is_named() -> None:
    raw = head() + struct.pack("<I", 1) + b"flyrecord\0"
    at = len(raw) + 16
    raw += struct.pack("<QQ", at, 100) + bytes(100)
    batches = list(read_trace_dat(io.BytesIO(raw), source="t.dat"))
    assert "CPU 0 has 100 bytes of data, less than one page (4096)" in batches[-1].notes
    assert ("records_damaged", None, 1) in batches[-1].stats


def test_512_cpus_of_1_mib_pages_in_bounded_memory(tmp_path: Path) -> None:
    """512 CPUs of one 1 MiB page (the largest page, or a sub-buffer of 256 pages of
    4 KiB) of one record each, a sparse 512 MiB file: a piece is at least a page, and
    each was held while its record waited (peak RSS 587 MB).  A piece whose records
    are under a quarter of it now keeps only their bytes."""
    big, cpus = 1 << 20, 512
    h = head(page_size=big)
    data_at = -(-(len(h) + 4 + 10 + 16 * cpus) // big) * big
    src = tmp_path / "big.dat"
    with src.open("wb") as f:
        f.write(h + struct.pack("<I", cpus) + b"flyrecord\0")
        f.write(b"".join(struct.pack("<QQ", data_at + c * big, big) for c in range(cpus)))
        for c in range(cpus):
            f.seek(data_at + c * big)
            f.write(page(1000 + c, 100 + c))
        f.truncate(data_at + cpus * big)
    got = bounded_ingest(
        tmp_path,
        src,
        "SELECT count(*) AS n, min(ts) AS lo, max(ts) AS hi, min(tid) AS t FROM events",
    )
    assert got == {"n": cpus, "lo": 1000, "hi": 1000 + cpus - 1, "t": 100}


def test_piece_sizes() -> None:
    """By hand: 1 MiB (256 pages of 4 KiB) up to 8 streams, then HOLD_MAX (48 MiB)
    over 6 bytes held a byte of piece, shared: whole pages, at least one; 64 KiB
    pages: 16 of them, not 256."""
    assert (budget.HOLD_MAX, budget.HOLD_FACTOR) == (48 << 20, 6)
    assert budget.piece_size(4096, 2) == budget.piece_size(4096, 8) == 1 << 20
    assert budget.piece_size(4096, 9) == 227 * 4096  # 50331648 // 54 = 932067
    assert budget.piece_size(4096, 11) == 186 * 4096  # 50331648 // 66 = 762600
    assert budget.piece_size(4096, 64) == 32 * 4096  # 50331648 // 384 = 131072
    assert budget.piece_size(4096, 256) == 8 * 4096  # 50331648 // 1536 = 32768
    assert budget.piece_size(4096, 100_000) == 4096
    assert budget.piece_size(65536, 8) == 1 << 20
    assert budget.piece_size(1 << 20, 4096) == 1 << 20
    assert budget.chunk_limit(4096, 8) == 1 << 20
    assert budget.chunk_limit(4096, 100_000) == 16 * 4096


def test_256_cpus_in_bounded_memory(tmp_path: Path) -> None:
    """256 CPUs of 1 MiB (a sparse 256 MiB file): every CPU's first piece held a
    record waiting for the merge, and with it the whole piece (256 MiB), copied
    again into the batch of those records: peak RSS 582 MB.  Now the pieces are
    64 KiB and a batch copies only the spans its records are in; all 512 records
    are stored."""
    src = tmp_path / "many.dat"
    cpus = 256
    many_cpus(src, cpus, 256)
    got = bounded_ingest(
        tmp_path, src, "SELECT count(*) AS n, count(DISTINCT cpu) AS c FROM events"
    )
    assert got == {"n": 2 * cpus, "c": cpus}


def test_one_record_a_page_in_bounded_memory(tmp_path: Path) -> None:
    """One CPU of 65,536 pages (a sparse 256 MiB file) of one record each: the
    rows waiting for a batch of 65,536 kept every page they were in (peak RSS
    613 MB).  Past half of HOLD_MAX the waiting rows are a batch of their own."""
    src = tmp_path / "sparse.dat"
    pages = 65536
    table_at = len(head()) + 4 + 10
    data_at = -(-(table_at + 16) // PAGE) * PAGE
    with src.open("wb") as f:
        f.write(head() + struct.pack("<I", 1) + b"flyrecord\0")
        f.write(struct.pack("<QQ", data_at, pages * PAGE))
        for p in range(pages):
            f.seek(data_at + p * PAGE)
            f.write(page(1000 + p, 9))
        f.truncate(data_at + pages * PAGE)
    got = bounded_ingest(
        tmp_path, src, "SELECT count(*) AS n, min(ts) AS lo, max(ts) AS hi FROM events"
    )
    assert got == {"n": pages, "lo": 1000, "hi": 1000 + pages - 1}


def zstd_v7(cpus: int, data: bytes, subbuf: int = PAGE) -> bytes:
    """A v7 file, zstd, one buffer of ``cpus`` CPUs each of one chunk of ``data``
    (trace-cmd.dat.v7(5); trace-input.c: the BUFFER option's offset, name, clock,
    page size, CPU count and (cpu, offset, size) list; a CPU's data are a u32 chunk
    count and (u32 compressed size, u32 size, data) per chunk, its size without the
    count); ``subbuf``: the buffer's page (sub-buffer) size."""
    z = zstandard.ZstdCompressor(level=3).compress(data)
    cpu_data = struct.pack("<III", 1, len(z), len(data)) + z
    raw = MAGIC + b"7\0" + bytes([0, 8]) + struct.pack("<I", PAGE) + b"zstd\0" + b"1.5\0"
    opts_at = len(raw) + 8
    opt_len = 6 + 8 + 1 + 2 + 8 + 20 * cpus + 14  # BUFFER (name "", clock "l"), DONE
    fly_at = opts_at + 16 + opt_len
    data_at = fly_at + 16
    buf = struct.pack("<Q", fly_at) + b"\0" + b"l\0" + struct.pack("<II", subbuf, cpus)
    buf += b"".join(
        struct.pack("<IQQ", c, data_at + c * len(cpu_data), len(cpu_data) - 4) for c in range(cpus)
    )
    options = struct.pack("<HI", 3, len(buf)) + buf + struct.pack("<HIQ", 0, 8, 0)
    assert len(options) == opt_len
    raw += struct.pack("<Q", opts_at) + struct.pack("<HHIQ", 0, 0, 0, len(options)) + options
    raw += struct.pack("<HHIQ", 3, 1, 0, cpus * len(cpu_data))  # the flyrecord section
    return raw + cpu_data * cpus


def test_compressed_cpus_of_a_few_pages_read() -> None:
    """The v7 builder against the reader: 8 CPUs of one 16-page chunk each."""
    data = full(1000) + bytes(14 * PAGE) + full(2000)
    got = rows(zstd_v7(8, data))
    assert sorted((r["ts"], r["cpu"]) for r in got) == sorted(
        (t, c) for t in (1000, 2000) for c in range(8)
    )


def test_compressed_sub_buffers_are_read_in_their_size() -> None:
    """2 zstd CPUs of 64 KiB sub-buffers (16 system pages, Linux's order 4): one of
    1,360 12-byte records at times 7000.. (delta 1 each), then one of 1 record; the
    records past the first 4 KiB are found only with the buffer's own page size."""
    sb = 16 * PAGE
    rec = [struct.pack("<I", (1 << 5) | 2) + struct.pack("<HBBi", 7, 0, 0, 1)] * 1360
    first = struct.pack("<QQ", 7000, 12 * 1360) + b"".join(rec)
    second = struct.pack("<QQ", 90000, 12) + rec[0]
    data = first.ljust(sb, b"\0") + second.ljust(sb, b"\0")
    got = rows(zstd_v7(2, data, subbuf=sb))
    assert sorted((r["ts"], r["cpu"]) for r in got) == sorted(
        [(7001 + k, c) for k in range(1360) for c in range(2)] + [(90001, 0), (90001, 1)]
    )


def test_compressed_chunks_claiming_more_than_their_share() -> None:
    """1,024 CPUs each of one zstd chunk of 1 MiB (a 140 kB file): each was inflated
    and held while its last record waited (1 GiB).  A chunk may now hold its
    stream's share (16 pages here): each CPU is named damaged, nothing inflated."""
    cpus = 1024
    raw = zstd_v7(cpus, full(1000) + bytes(254 * PAGE) + full(2000))
    assert len(raw) < 200_000
    out, top = traced_peak(lambda: list(read_trace_dat(io.BytesIO(raw), source="t.dat")))
    assert not isinstance(out, Exception), out
    last = out[-1]
    assert sum(b.records for b in out) == 0
    assert ("records_damaged", None, cpus) in last.stats
    want = "a compressed block claims 1048576 bytes, more than spftrace reads (65536)"
    assert f"CPU 5 of buffer '': {want}" in last.notes
    assert top < 32 << 20


def dense(ts: int) -> bytes:
    """A page full of 12-byte records (type_len 2: a 4-byte header, 8 bytes of data:
    event id 7, pid 1), all at time ``ts``: (4096 - 16) // 12 = 340 of them."""
    rec = struct.pack("<I", 2) + struct.pack("<HBBi", 7, 0, 0, 1)
    body = rec * ((PAGE - 16) // len(rec))
    return (struct.pack("<QQ", ts, len(body)) + body).ljust(PAGE, b"\0")


def test_3000_compressed_cpus_of_small_records_are_refused_in_one_line(tmp_path: Path) -> None:
    """3,000 zstd CPUs, each one chunk of 16 pages of 340 records (16,320,000 records
    in a 400 kB file): each CPU's chunk (64 KiB, its share) was inflated and held
    whole, and all its 5,440 records walked, while they waited for the merge:
    188 MiB of chunks and 653 MB of waiting records, peak RSS 1.9 GB.  Inflating the
    chunk again for each one-page piece of it took 207 MB but 16 times the inflating
    (a hostile file's time grew without bound); inflated once and held, the 188 MiB
    of chunks took 402 MB.  Past REST_MAX (64 MiB: 1,024 such CPUs) of chunks held
    at once the file is refused in one line, before anything is stored."""
    cpus, pages = 3000, 16
    src = tmp_path / "z.dat"
    src.write_bytes(zstd_v7(cpus, b"".join(dense(1000 + p) for p in range(pages))))
    assert src.stat().st_size < 500_000
    code, err, peak = ingest_peak(tmp_path, src)
    assert code == 1, err
    assert err.strip().splitlines() == [
        f"error: {src}: 3000 compressed CPU streams of chunks up to 65536 bytes, read "
        "4096 bytes at a time, would hold more inflated chunks at once than spftrace "
        "holds (67108864 bytes)"
    ]
    assert peak < RSS_BOUND_MB, f"peak RSS {peak:.0f} MB"
    assert not (tmp_path / "ds").exists()


def test_1024_compressed_cpus_of_small_records_read_once(tmp_path: Path) -> None:
    """1,024 such CPUs (pieces of 2 pages: 50331648 // 6144 = 8192) hold 64 MiB of
    chunks, REST_MAX: read, every record stored (a chunk inflated once:
    test_review_trace_dat.py counts it)."""
    cpus, pages = 1024, 16
    src = tmp_path / "z.dat"
    src.write_bytes(zstd_v7(cpus, b"".join(dense(1000 + p) for p in range(pages))))
    code, err, _peak = ingest_peak(tmp_path, src)
    assert code == 0, err
    got = json.loads(
        spftrace.query(
            "SELECT count(*) AS n, count(DISTINCT cpu) AS c, min(ts) AS lo, max(ts) AS hi "
            "FROM events",
            data=tmp_path / "ds",
            fmt="json",
        )
    )
    assert got == {"n": cpus * pages * 340, "c": cpus, "lo": 1000, "hi": 1000 + pages - 1}


def test_64_cpus_of_small_records_in_bounded_memory(tmp_path: Path) -> None:
    """64 CPUs of 128 pages full of 12-byte records (a 32 MiB v6 file, 2,785,280
    records): a round took every waiting record at or below its bound (all 64 CPUs'
    first pieces, 1.4M records) and merged them beside the pieces they came from,
    whose rest then kept the whole merge through the next loads: peak RSS 304 MB.
    Rounds now take at most about four batches (rounds.cap_cuts), the rest waiting
    in a round is copied off the merge, and HOLD_MAX is 48 MiB: 214 MB (234 at 64
    MiB in a fresh clone's venv; 250-259 there without the compiled core)."""
    cpus, pages = 64, 128
    table_at = len(head()) + 4 + 10
    data_at = -(-(table_at + 16 * cpus) // PAGE) * PAGE
    size = pages * PAGE
    src = tmp_path / "dense.dat"
    with src.open("wb") as f:
        f.write(head() + struct.pack("<I", cpus) + b"flyrecord\0")
        f.write(b"".join(struct.pack("<QQ", data_at + c * size, size) for c in range(cpus)))
        f.seek(data_at)
        one = b"".join(dense(1000 + p) for p in range(pages))
        for _c in range(cpus):
            f.write(one)
    got = bounded_ingest(
        tmp_path, src, "SELECT count(*) AS n, count(DISTINCT cpu) AS c FROM events"
    )
    assert got == {"n": cpus * pages * 340, "c": cpus}


def test_4096_compressed_cpus_read() -> None:
    """Refused while every CPU's chunk was counted as held at once (4,096 of 16
    pages: 256 MiB); only chunks longer than a piece are held, so Linux's 4,096
    compressed CPUs of one-page chunks read: one record each."""
    cpus = 4096
    got = rows(zstd_v7(cpus, full(1000)))
    assert sorted(r["cpu"] for r in got) == list(range(cpus))


def test_a_chunk_longer_than_a_piece_is_read_in_pieces() -> None:
    """300 zstd CPUs (pieces of 6 pages: 50331648 // 1800 = 27962) of one 16-page
    chunk each: a record in the 1st, 6th, 7th and last page of each (either side of
    the first piece's end), read in pieces of 6, 6 and 4 pages."""
    pages = (0, 5, 6, 15)
    data = b"".join(full(1000 + p) if p in pages else bytes(PAGE) for p in range(16))
    assert budget.piece_size(PAGE, 300) == 6 * PAGE
    got = rows(zstd_v7(300, data))
    assert sorted((r["ts"], r["cpu"]) for r in got) == sorted(
        (1000 + p, c) for p in pages for c in range(300)
    )


def test_rows_waiting_for_a_batch_are_kept_in_few_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2,000 CPUs of a record in each of their two pages (times 1000 + cpu, then
    10^9 + cpu): a round emits a record or two, and each round's rows were a part of
    their own, every part looked at again each round (1,024 zstd CPUs of five chunks
    of empty pages: 37 s for 10,240 rows).  Batches of 1,000 rows were taken from
    1,000 parts; the parts are joined past 64."""
    seen: list[int] = []
    real = merge.take_rows

    def probe(pend: list[tuple[object, ...]], k: int) -> object:
        seen.append(len(pend))
        return real(pend, k)  # type: ignore[arg-type]

    monkeypatch.setattr(merge, "take_rows", probe)
    src = tmp_path / "many.dat"
    many_cpus(src, 2000, 2)
    out = list(read_trace_dat(io.BytesIO(src.read_bytes()), source="t.dat", batch_rows=1000))
    assert sum(b.records for b in out) == 4000
    assert seen and max(seen) <= 65, seen


def random_cpus(seed: int, cpus: int, pages: int) -> tuple[bytes, list[tuple[int, int, int]]]:
    """A v6 file of ``cpus`` CPUs of ``pages`` pages of 12-byte records (event id: the
    record's number in its CPU, pid: the CPU), times rising by 0-3 so
    that CPUs tie often; some pages empty.  Also every record as (time, cpu, number)."""
    import random

    rng = random.Random(seed)
    table_at = len(head()) + 4 + 10
    data_at = -(-(table_at + 16 * cpus) // PAGE) * PAGE
    size = pages * PAGE
    out = bytearray(head() + struct.pack("<I", cpus) + b"flyrecord\0")
    out += b"".join(struct.pack("<QQ", data_at + c * size, size) for c in range(cpus))
    out += bytes(data_at - len(out))
    recs = []
    for c in range(cpus):
        t, k = rng.randint(0, 50), 0
        for _p in range(pages):
            base, body = t, b""
            for _ in range(
                rng.choice([0, 1, 5, 40, 300] if rng.random() < 0.02 else [0, 1, 5, 40])
            ):
                delta = rng.randint(0, 3)
                t += delta
                body += struct.pack("<I", (delta << 5) | 2) + struct.pack("<HBBi", k, 0, 0, c)
                recs.append((t, c, k))
                k += 1
            out += (struct.pack("<QQ", base, len(body)) + body).ljust(PAGE, b"\0")
    return bytes(out), recs


@pytest.mark.parametrize(("seed", "cpus"), [(1, 3), (2, 40), (3, 300)])
def test_the_merge_is_trace_cmds_order(seed: int, cpus: int) -> None:
    """The records by time, ties to the lower CPU, then in file order (trace-cmd
    report's order), whatever the piece size and batch size: a reference sort of
    all records against the streaming merge, with 3, 40 and 300 CPUs (of 300, 128
    and 16 pages, read in pieces of 256, 68 and 9 pages) and batches of 1,000 rows
    (rounds of at most about 4,000 records: rounds.cap_cuts)."""
    raw, recs = random_cpus(seed, cpus, {3: 300, 40: 128, 300: 16}[cpus])
    got: list[tuple[int, int, str]] = []
    for b in read_trace_dat(io.BytesIO(raw), source="t.dat", batch_rows=1000):
        cols = b.events.select(["ts", "cpu", "event"]).to_pydict()
        got += zip(cols["ts"], cols["cpu"], cols["event"], strict=True)
    want = sorted(recs)  # (time, cpu, number in the CPU): time, then CPU, then file order
    assert got == [(t, c, f"ftrace:unknown_{k}") for t, c, k in want]
    assert len(got) > 1000
