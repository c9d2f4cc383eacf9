"""Real captures cut at every 512-byte boundary: one SpftraceError line, or rows (no
more than the whole file's), never another exception."""

from __future__ import annotations

import io
import lzma
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from spftrace.errors import SpftraceError
from spftrace.formats.perf_data import read_perf_data
from spftrace.formats.trace_dat import read_trace_dat
from spftrace.formats.trace_dat.header import read_dat_header

DATA = Path(__file__).with_name("data")
Reader = Callable[[IO[bytes]], Iterator[Any]]


def perf(f: IO[bytes]) -> Iterator[Any]:
    return read_perf_data(f, source="cut", kallsyms=None)


def dat(f: IO[bytes]) -> Iterator[Any]:
    return read_trace_dat(f, source="cut")


def rows(read: Reader, raw: bytes) -> int | str:
    try:
        return int(sum(b.events.num_rows for b in read(io.BytesIO(raw))))
    except SpftraceError as err:
        msg = str(err)
        assert msg.startswith("cut: ") and "\n" not in msg, msg
        return msg


def cuts(raw: bytes, dense_to: int, step: int = 512, sparse: int = 1 << 18) -> list[int]:
    """Every ``step`` bytes up to ``dense_to``, then every ``sparse`` bytes."""
    return sorted({*range(0, min(dense_to, len(raw)), step), *range(0, len(raw), sparse)})


def v6() -> bytes:
    return lzma.decompress((DATA / "trace_dat" / "extract-v6.dat.xz").read_bytes())


CASES = {
    "perf-file": lambda: (DATA / "perf_data" / "tracepoints.data").read_bytes(),
    "perf-pipe": lambda: (DATA / "perf_data" / "pipe.data").read_bytes(),
    "perf-callchain": lambda: (DATA / "perf_data" / "callchain.data").read_bytes(),
    "dat-v7-zstd": lambda: (DATA / "trace_dat" / "extract-v7-zstd.dat").read_bytes(),
    "dat-v6": v6,
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(CASES))
def test_cut_at_every_512_bytes(name: str) -> None:
    raw = CASES[name]()
    read: Reader = perf if name.startswith("perf") else dat
    whole = rows(read, raw)
    assert isinstance(whole, int) and whole > 0
    dense = len(raw)
    if name == "dat-v6":  # 7.4 MB: densely through the header and the first pages
        dense = min(c.offset for b in read_dat_header(io.BytesIO(raw)).buffers for c in b.cpus)
        dense += 16 << 10
    outcomes = {}
    for cut in cuts(raw, dense):
        got = rows(read, raw[:cut])
        outcomes[cut] = got
        if isinstance(got, int):
            assert got <= whole, (cut, got)
    assert len(outcomes) > 40
