"""perf.data (binary) -> event rows, read by spftrace itself (no perf needed).

Produced by: perf record [-a] [-g] [-c N] -e EVENTS [-o FILE | -o -] -- CMD; simpleperf record
Sample:      a file starting with "PERFILE2" (little-endian), "2ELIFREP" (big-endian);
             pipe mode (perf record -o -) has a 16-byte header and its attrs as records.
Reference:   tools/perf/Documentation/perf.data-file-format.txt, tools/perf/util/header.c,
             session.c, evsel.c, ordered-events.c; include/uapi/linux/perf_event.h.

Rows are the samples perf script would print, in its order, with the columns the
text path fills from ``perf script`` output plus period, sym, dso and callchain.
Tracepoint payloads are rendered from the file's own format files; kernel symbols
come from kallsyms found by the file's kernel build-id (``find_kallsyms``).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from ...errors import SpftraceError
from ..binary_batch import BinaryBatch
from ..kallsyms import Symbols
from .buildid import find_kallsyms
from .header import (
    FEATURE_MAX,
    FEATURE_READ,
    FEATURES,
    FILE_HEADER,
    MAGIC,
    MAGIC_BE,
    MAGIC_V1,
    PIPE_HEADER,
    Features,
    HeaderError,
    parse_attrs,
    parse_feature,
    parse_file_header,
)
from .reader import BATCH_ROWS, Reader, read_exactly, walk_stream
from .session import MAX_ATTRS, MAX_IDS, Session

FORMAT = "perf-data"


def sniff(head: bytes) -> bool:
    """A perf.data file or pipe stream (either byte order)."""
    return head[:8] in (MAGIC, MAGIC_BE)


def sniff_pipe(head: bytes) -> bool:
    """Pipe mode (``perf record -o -``): the magic and a header size of 16."""
    if not sniff(head) or len(head) < 16:
        return False
    big = head[:8] == MAGIC_BE
    return int.from_bytes(head[8:16], "big" if big else "little") == PIPE_HEADER


def sniff_v1(head: bytes) -> bool:
    """perf.data version 1 (``PERFFILE``), which spftrace names and refuses."""
    return head[:8] == MAGIC_V1


def _spooled(stream: IO[bytes], head: bytes) -> IO[bytes]:
    spool = tempfile.TemporaryFile(prefix="spftrace-perf-")  # noqa: SIM115 (returned)
    spool.write(head)
    shutil.copyfileobj(stream, spool, 1 << 20)
    spool.seek(0)
    return spool


def read_perf_data(
    stream: IO[bytes],
    *,
    source: str = "<stdin>",
    kallsyms: bytes | Symbols | str | None = "auto",
    batch_rows: int = BATCH_ROWS,
    use_native: bool = True,
) -> Iterator[BinaryBatch]:
    """Batches of event rows from a perf.data stream positioned at its start.

    ``kallsyms``: kallsyms text or Symbols for kernel symbols, None for none, "auto"
    to look them up by the file's build-id (``find_kallsyms``).  Raises SpftraceError
    (one line) for what cannot be read at all; damage after the header ends the
    rows there and is named in a note and the ``records_damaged`` stat."""
    head = read_exactly(stream, PIPE_HEADER)
    if not head:
        raise SpftraceError(f"{source}: empty input (0 bytes), not a perf.data file")
    try:
        if sniff(head) and not sniff_pipe(head):
            head += read_exactly(stream, FILE_HEADER - PIPE_HEADER)
        hdr = parse_file_header(head)
    except HeaderError as err:
        raise SpftraceError(f"{source}: {err}") from None
    s = Session(hdr.big_endian, source, hdr.pipe)
    owned: IO[bytes] | None = None
    try:
        if hdr.pipe:
            remaining: int | None = None
            first = PIPE_HEADER
            data_stream = stream
        else:
            if not _seekable(stream):
                owned = stream = _spooled(stream, head)
            remaining, first = _file_header(stream, hdr, s, source)
            data_stream = stream
            stream.seek(first)
        s.symbol_source = kallsyms
        if s.decoder is None:
            s.make_decoder()
        reader = Reader(s, batch_rows, use_native)
        if not hdr.pipe:
            reader.backing = stream
        yield from _batches(reader, walk_stream(reader, data_stream, remaining, first), s)
    finally:
        if owned is not None:
            owned.close()


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable()) and stream.tell() == FILE_HEADER
    except (OSError, ValueError):
        return False


def _file_header(stream: IO[bytes], hdr: Any, s: Session, source: str) -> tuple[int | None, int]:
    size = stream.seek(0, os.SEEK_END)
    ao, asz = hdr.attrs
    do, dsz = hdr.data
    if do > size:  # a damaged header (a flipped bit): no records to keep
        raise SpftraceError(
            f"{source}: damaged perf.data header (the data section starts at {do}, "
            f"past the end of the file at {size})"
        )
    if ao + asz > size:
        raise SpftraceError(f"{source}: truncated perf.data header (the attrs end past the file)")
    if asz // hdr.attr_size > MAX_ATTRS:  # before the section is read and parsed
        raise SpftraceError(
            f"{source}: damaged perf.data attrs ({asz // hdr.attr_size} attrs, "
            f"more than spftrace reads ({MAX_ATTRS}))"
        )
    stream.seek(ao)
    try:
        attrs = parse_attrs(read_exactly(stream, asz), hdr)
    except (HeaderError, ValueError) as err:
        raise SpftraceError(f"{source}: unreadable perf.data attrs ({err})") from None
    _check_ids(attrs, source)
    for a, (io, isz) in attrs:
        ids: list[int] = []
        if 0 < isz <= 1 << 24 and io + isz <= size:
            stream.seek(io)
            raw = read_exactly(stream, isz)
            e = ">" if hdr.big_endian else "<"
            import struct

            ids = list(struct.unpack(e + f"{isz // 8}Q", raw[: isz // 8 * 8]))
        s.add_attr(a, ids)
    if not attrs:
        raise SpftraceError(f"{source}: perf.data without events (no attrs)")
    f = Features()
    end = do + dsz
    if dsz == 0:
        s.notes.append(
            "perf record did not finish this file (data size 0 in the header): "
            "reading its records to the end; event names and tracepoint formats are missing"
        )
        s.counts["data_size_zero"] += 1
        remaining = None
    elif end > size:
        s.notes.append(
            f"the file is cut short: the data section should end at {end}, the file at {size}"
        )
        s.counts["file_truncated"] += 1
        remaining = size - do
    else:
        remaining = dsz
        _features(stream, hdr, f, end, size)
    s.apply_features(f)
    if f.damaged:
        s.notes.append("unreadable header features: " + ", ".join(f.damaged))
    return remaining, do


def _check_ids(attrs: list[tuple[Any, tuple[int, int]]], source: str) -> None:
    """Each attr's ids are its own part of the file (perf_session__write_header writes
    them one attr after another): ids sections that overlap, or more than MAX_IDS ids,
    are refused.  200 attrs sharing one 1 MB ids section took 3.7 s and 1.85 GB."""
    spans = sorted((io, io + isz, n) for n, (_a, (io, isz)) in enumerate(attrs) if isz > 0)
    for (_o, end, n), (o2, _e, n2) in itertools.pairwise(spans):
        if o2 < end:
            raise SpftraceError(
                f"{source}: damaged perf.data attrs (the ids of attr {n2} start inside "
                f"those of attr {n}, at offset {o2})"
            )
    total = sum(isz // 8 for _o, (_io, isz) in attrs if 0 < isz <= 1 << 24)
    if total > MAX_IDS:
        raise SpftraceError(
            f"{source}: damaged perf.data attrs ({total} sample ids, "
            f"more than spftrace reads ({MAX_IDS}))"
        )


def _features(stream: IO[bytes], hdr: Any, f: Features, at: int, size: int) -> None:
    import struct

    n = len(hdr.features)
    stream.seek(at)
    raw = read_exactly(stream, 16 * n)
    e = ">" if hdr.big_endian else "<"
    for i, feat in enumerate(hdr.features):
        if 16 * i + 16 > len(raw):
            f.damaged.append(f"feature {feat} (section table cut short)")
            break
        off, sz = struct.unpack_from(e + "QQ", raw, 16 * i)
        name = FEATURES.get(feat)
        if name is None:
            f.unknown.append(feat)
            continue
        if off + sz > size:
            f.damaged.append(f"{name} (its {sz} bytes at {off} run past the end of the file)")
            continue
        if name in FEATURE_READ:
            sz = min(sz, FEATURE_READ[name])
        elif name not in FEATURE_MAX:
            continue  # not parsed: not read
        elif sz > FEATURE_MAX[name]:
            f.damaged.append(f"{name} ({sz} bytes, more than spftrace reads: {FEATURE_MAX[name]})")
            continue
        stream.seek(off)
        parse_feature(feat, read_exactly(stream, sz), hdr.big_endian, f)


def _batches(reader: Reader, items: Iterator[tuple[str, Any]], s: Session) -> Iterator[BinaryBatch]:
    sent = {"records": 0, "skipped": 0, "lost": 0}
    for kind, value in items:
        if kind == "batch":
            yield _batch(reader, s, value, sent)
            continue
        _offset, note = value
        if note is not None:
            s.notes.append(f"{note}: the {reader.records} records before it are kept")
            s.counts["records_damaged"] += 1
        for table in reader.batches(final=True):
            yield _batch(reader, s, table, sent)
        from ..events_table import empty_events_table

        last = _batch(reader, s, empty_events_table(), sent)
        last.stats += [(k, None, v) for k, v in sorted(s.counts.items())]
        last.stats += [
            ("ordered_events_half_flushes", None, reader.queue.half_flushes),
            ("records_out_of_order", None, reader.queue.out_of_order),
        ]
        if s.decoder is not None and s.decoder.unrendered:
            for name, count in sorted(s.decoder.unrendered.items()):
                last.stats.append(("payload_not_rendered", None, count))
                last.notes.append(f"{name}: print fmt not evaluated, payload lists the fields")
        last.notes += s.notes
        yield last
        return


def _batch(reader: Reader, s: Session, table: Any, sent: dict[str, int]) -> BinaryBatch:
    b = BinaryBatch(
        table,
        records=reader.records - sent["records"],
        skipped=reader.skipped - sent["skipped"],
        lost=s.lost - sent["lost"],
        stats=s.stats,
        meta=s.meta(),
    )
    s.stats = []
    sent.update(records=reader.records, skipped=reader.skipped, lost=s.lost)
    return b


__all__ = [
    "FORMAT",
    "BinaryBatch",
    "find_kallsyms",
    "read_perf_data",
    "sniff",
    "sniff_pipe",
    "sniff_v1",
]
