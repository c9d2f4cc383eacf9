"""The binary formats' registry entries: perf.data and trace.dat, read by spftrace.

The readers (perf_data/, trace_dat/) count *records*, not lines: here every record
becomes a "line" of the ingest's accounting (a record that made rows or state is a
record line, one skipped - a type spftrace does not use, AUX data, a damaged sample -
an ignored one), so the summary and the ``stats`` table read as for text.  Their
notes (damage, a file perf record never finished) become the batch's notes.

``perf-data-render`` is the old path, kept for users who want perf's own rendering
(``--format perf-data-render``; it needs the perf tool): it is never sniffed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING

from .spec import Batch, ByteSource, FormatSpec, Head, Stat

if TYPE_CHECKING:  # (a text ingest imports this module to sniff: not the readers' batch)
    from .binary_batch import BinaryBatch

TABLE = "events"


def batches(items: Iterator[BinaryBatch]) -> Iterator[Batch]:
    """A reader's batches as the ingest's."""
    for b in items:
        n = b.records + b.skipped
        yield Batch(
            TABLE,
            b.events,
            lines=n,
            record_lines=b.records,
            ignored=b.skipped,
            stats=[Stat(name, cpu, int(value)) for name, cpu, value in b.stats],
            meta={k: v for k, v in b.meta.items() if isinstance(v, str)},
            notes=list(b.notes),
        )


def _reader(read: Callable[..., Iterator[BinaryBatch]]) -> Callable[[ByteSource], Iterator[Batch]]:
    def run(source: ByteSource) -> Iterator[Batch]:
        with source.stream() as stream:
            yield from batches(read(stream, source=source.name))

    return run


def _perf_data(stream: IO[bytes], *, source: str) -> Iterator[BinaryBatch]:
    from .perf_data import read_perf_data

    return read_perf_data(stream, source=source)


def _trace_dat(stream: IO[bytes], *, source: str) -> Iterator[BinaryBatch]:
    from .trace_dat import read_trace_dat

    return read_trace_dat(stream, source=source)


#: the first bytes of every magic the readers' sniffers accept: a text input is told
#: apart without importing the readers (numpy, kallsyms, the record tables: 0.3 s)
_PERF_DATA_LEADS = (b"PERF", b"2ELI")  # PERFILE2, 2ELIFREP, PERFFILE (v1)
_TRACE_DAT_LEAD = b"\x17\x08D"  # "\x17\x08\x44tracing"


def _sniff_perf_data(head: Head) -> bool:
    if head.raw[:4] not in _PERF_DATA_LEADS:
        return False
    from .perf_data import sniff, sniff_v1

    # v1 is sniffed too, so that its reader names it ("perf.data version 1 ...")
    return sniff(head.raw) or sniff_v1(head.raw)


def _sniff_trace_dat(head: Head) -> bool:
    if head.raw[:3] != _TRACE_DAT_LEAD:
        return False
    from .trace_dat import sniff

    return sniff(head.raw)


def _never(head: Head) -> bool:
    return False


def _render(source: ByteSource) -> Iterator[Batch]:
    from . import perf_data_render

    return perf_data_render.read(source)


PERF_DATA = FormatSpec(
    "perf-data",
    TABLE,
    "perf.data of perf record (file or pipe mode, either byte order), read without perf",
    _sniff_perf_data,
    reader=_reader(_perf_data),
    binary=True,
)
TRACE_DAT = FormatSpec(
    "trace-dat",
    TABLE,
    "trace.dat of trace-cmd record/extract (versions 6 and 7, compressed or not)",
    _sniff_trace_dat,
    reader=_reader(_trace_dat),
    binary=True,
)
PERF_DATA_RENDER = FormatSpec(
    "perf-data-render",
    TABLE,
    "perf.data rendered by the installed perf script (--format perf-data-render only)",
    _never,
    reader=_render,
    binary=True,
)

__all__ = ["PERF_DATA", "PERF_DATA_RENDER", "TRACE_DAT", "batches"]
