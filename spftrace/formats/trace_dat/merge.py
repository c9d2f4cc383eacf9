"""trace.dat CPUs merged by time, in bounded memory, and turned into event rows.

Each CPU of each buffer is a stream of pages, read ``piece_size`` bytes at a time
(1 MiB; less when there are more than 10 streams; a compressed chunk a piece of it
at a time).  trace-cmd report takes the earliest record
of all streams, ties to the earlier buffer and lower CPU.  With each stream in
time order, the next records of that merge are exactly those below the smallest
"last time read" of the streams still reading, plus the ties at it of streams
ordered before the stream that holds it (a prefix of them, at most about four
batches, a round: rounds.cap_cuts); they are emitted by one stable sort,
and the stream that set the bound reads more.  (A CPU whose times go back
is merged by the largest time seen so far; ``cpu_time_went_back`` counts it.)
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from .. import strcol as sc
from ..binary_batch import BinaryBatch
from ..events_table import build_events_table
from ..kallsyms import tep_symbols
from ..tracefs_format import FormatError, Records, parse_formats, parse_header_page
from ..tracefs_rows import EventDecoder
from .budget import HOLD_FACTOR, HOLD_MAX, LEAST_MAX, REST_MAX, chunk_limit, piece_size
from .fields import _cmdlines, _lstrip, _read_uint
from .header import Buffer, CpuData, DatError, DatHeader, Source, chunks, decompress
from .ring import walk_pages
from .rounds import cap_cuts, compact, merge_parts, own, take_rows

U64 = np.uint64


class DatLimit(DatError):
    """The file would make the merge hold more than it may: it is refused whole, not
    a CPU named damaged (its records would be lost)."""


_EMPTY = (
    np.zeros(0, np.uint64),
    np.zeros(0, np.uint64),
    np.zeros(0, np.int64),
    np.zeros(0, np.int64),
    np.zeros(0, np.int64),
)


@dataclass
class _Stream:
    index: int
    buffer: Buffer
    cpu: CpuData
    pieces: Iterator[bytes]
    page_size: int  # the buffer's sub-buffer size (v7 BUFFER option), else the file's
    exhausted: bool = False
    # pending records: time, offset into blob, length, blob id
    ts: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0, U64))  # merge key
    rts: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0, U64))  # the time
    off: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0, np.int64))
    ln: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0, np.int64))
    blob: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0, np.int64))
    last: int = 0


class DatReader:
    def __init__(self, f: IO[bytes], hdr: DatHeader, *, batch_rows: int, use_native: bool) -> None:
        self.src = Source(f)
        self.hdr = hdr
        self.td = hdr.td
        self.batch_rows = batch_rows
        self.use_native = use_native
        self.stats: list[tuple[str, int | None, int]] = []
        self.counts: dict[str, int] = {}
        self.notes: list[str] = []
        self.records = 0
        self.lost = 0
        self.line_no = 0
        self.blobs: dict[int, np.ndarray[Any, Any]] = {}
        self.next_blob = 0
        self.kept = 0
        self.held = self.kept_bytes = 0  # bytes of the blobs; of those kept by the last _gc
        self.rest = 0  # bytes of the inflated chunks held while read a piece at a time
        try:
            ph = parse_header_page(self.td.header_page)
            self.long_size = ph.commit.size
        except FormatError:
            self.long_size = self.td.long_size
        self.formats, bad = parse_formats(self.td.formats)
        if bad:
            self.counts["formats_unreadable"] = bad
        ksyms = tep_symbols(self.td.kallsyms) if self.td.kallsyms.strip() else None
        if ksyms is None:
            self.notes.append("no kallsyms in this trace.dat: %ps addresses are printed as numbers")
        self.decoder = EventDecoder(
            self.formats, long_size=self.long_size, resolve=ksyms.resolve if ksyms else None
        )
        self.comms = _cmdlines(self.td.cmdlines)
        cpus = [(b, c) for b in hdr.buffers if not b.latency for c in b.cpus if c.size > 0]
        self.streams = [
            _Stream(i, b, c, self._pieces(b, c, len(cpus)), b.page_size or self.td.page_size)
            for i, (b, c) in enumerate(cpus)
        ]
        if any(b.latency for b in hdr.buffers):
            self.notes.append("latency (text) buffers are not read")
        zipped = [s for s in self.streams if s.buffer.compressed]
        least = sum(s.page_size * HOLD_FACTOR for s in zipped)
        if least > LEAST_MAX:
            raise DatLimit(
                f"{len(zipped)} compressed CPU streams of sub-buffers up to "
                f"{max(s.page_size for s in zipped)} bytes would hold at least {least} "
                f"bytes at once (a sub-buffer each and its records), more than spftrace "
                f"holds ({LEAST_MAX})"
            )

    # -- reading one CPU -----------------------------------------------------------------
    def _pieces(self, b: Buffer, c: CpuData, streams: int) -> Iterator[bytes]:
        """The CPU's data, ``piece_size`` bytes at a time, in its buffer's pages: a v7
        buffer's own sub-buffer size (16 KiB sub-buffers read as 4 KiB pages were all
        damaged pages).  A compressed chunk is inflated once; one longer than a piece
        is held while its pieces are read, but only that piece is walked (3,000 CPUs
        of 16-page chunks of 12-byte records walked all 16M records at once: 1.9 GB
        peak RSS), and the chunks held together stay within REST_MAX (inflating a
        chunk again for each piece made 4,096 CPUs of a 670 kB file take 21 s)."""
        ps = b.page_size or self.td.page_size
        piece = piece_size(ps, streams)
        if b.compressed:
            if self.hdr.compression is None:
                raise DatError(f"buffer {b.name!r} is compressed but no compression is named")
            name, limit = self.hdr.compression[0], chunk_limit(ps, streams)
            for at, zsize, size in chunks(self.src, self.hdr, c):
                if size <= piece:
                    yield decompress(name, self.src.read(at, zsize), size, limit)
                    continue
                if size <= limit and self.rest + size > REST_MAX:
                    raise DatLimit(
                        f"{len(self.streams)} compressed CPU streams of chunks up to "
                        f"{limit} bytes, read {piece} bytes at a time, would hold more "
                        f"inflated chunks at once than spftrace holds ({REST_MAX} bytes)"
                    )
                whole = decompress(name, self.src.read(at, zsize), size, limit)
                self.rest += size
                try:
                    for lo in range(0, size, piece):
                        yield whole[lo : lo + piece]  # a copy: the blob outlives the chunk
                finally:
                    self.rest -= size
                del whole
            return
        if c.size < ps:
            self.notes.append(f"CPU {c.cpu} has {c.size} bytes of data, less than one page ({ps})")
            self.counts["records_damaged"] = self.counts.get("records_damaged", 0) + 1
            return
        end = c.offset + c.size
        at = c.offset
        while at < end:
            n = min(piece, end - at)
            if at + n > self.src.size:
                self.notes.append(f"CPU {c.cpu} data cut short at offset {self.src.size}")
                self.counts["records_damaged"] = self.counts.get("records_damaged", 0) + 1
                n = (self.src.size - at) // ps * ps
                if n <= 0:
                    return
                yield self.src.read(at, n)
                return
            yield self.src.read(at, n)
            at += n

    def _load(self, s: _Stream) -> None:
        try:
            piece = next(s.pieces)
        except StopIteration:
            s.exhausted = True
            return
        except DatLimit:
            raise
        except DatError as err:
            self.notes.append(f"CPU {s.cpu.cpu} of buffer {s.buffer.name!r}: {err}")
            self.counts["records_damaged"] = self.counts.get("records_damaged", 0) + 1
            s.exhausted = True
            return
        pw = walk_pages(
            piece, s.page_size, self.long_size, self.td.big_endian, use_native=self.use_native
        )
        if pw.bad_pages:
            self.counts["pages_damaged"] = self.counts.get("pages_damaged", 0) + pw.bad_pages
        cpu = s.cpu.cpu
        for lost in pw.lost[pw.lost != 0].tolist():
            if lost > 0:
                self.stats.append(("events_dropped", cpu, int(lost)))
                self.lost += int(lost)
            else:
                self.stats.append(("events_dropped_unknown", cpu, 1))
        ts = self._time(pw.ts)
        if len(ts) > 1 and (np.diff(ts.astype(np.int64)) < 0).any():
            self.counts["cpu_time_went_back"] = self.counts.get("cpu_time_went_back", 0) + 1
            ts_key = np.maximum.accumulate(np.maximum(ts, U64(s.last)))
        else:
            ts_key = ts
        blob, off = np.frombuffer(piece, np.uint8), pw.off
        if int(pw.length.sum()) * 4 < len(piece):  # sparse: keep only the records' bytes
            blob, off = compact(blob, off, pw.length)
        bid = self.next_blob
        self.next_blob += 1
        self.blobs[bid] = blob
        self.held += len(blob)
        s.ts = np.concatenate([s.ts, ts_key])
        s.rts = np.concatenate([s.rts, ts])
        s.off = np.concatenate([s.off, off])
        s.ln = np.concatenate([s.ln, pw.length])
        s.blob = np.concatenate([s.blob, np.full(len(ts), bid, np.int64)])
        if len(s.ts):
            s.last = int(s.ts[-1])
        self.records += len(ts)

    def _load_heaped(
        self,
        s: _Stream,
        lasts: list[tuple[int, int]],
        firsts: list[tuple[int, int]],
    ) -> None:
        """_load, and the stream's new entries in the merge's heaps."""
        self._load(s)
        if not s.exhausted:
            heapq.heappush(lasts, (s.last, s.index))
        if len(s.ts):
            heapq.heappush(firsts, (int(s.ts[0]), s.index))

    def _time(self, ts: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """trace-input.c timestamp_calc: TSC to ns, then the file's offset."""
        out = ts.astype(U64)
        if self.hdr.tsc2nsec is not None and self.hdr.tsc2nsec[0]:
            mult, shift, _off = self.hdr.tsc2nsec
            lo = out & U64(0xFFFFFFFF)
            hi = out >> U64(32)
            r = (lo * U64(mult)) >> U64(shift)
            r = r + np.where(hi != 0, (hi * U64(mult)) << U64(32 - shift), U64(0))
            out = r
        if self.hdr.ts_offset:
            out = out + np.uint64(self.hdr.ts_offset & 0xFFFFFFFFFFFFFFFF)
        return out

    # -- the merge -------------------------------------------------------------------------
    def batches(self) -> Iterator[BinaryBatch]:
        """The merge.  A stream is loaded only when it has no records waiting, so
        its waiting keys are one piece's, sorted; the bound (the least ``last`` of
        the streams still reading) and the streams holding records at or below it
        come from two heaps of lazily dropped entries: looking at every stream
        each round made 1,024 CPUs of 16 records each take 38 s."""
        pend: list[tuple[np.ndarray[Any, Any], ...]] = []
        n_pend = 0
        streams = self.streams
        lasts = [(s.last, s.index) for s in streams]  # (last, index) of reading streams
        firsts: list[tuple[int, int]] = []  # (first waiting key, index)
        todo = list(range(len(streams)))  # streams to load: none waiting, still reading
        while True:
            for i in dict.fromkeys(todo):  # once each
                self._load_heaped(streams[i], lasts, firsts)
            todo = [
                i
                for i in dict.fromkeys(todo)
                if not len(streams[i].ts) and not streams[i].exhausted
            ]
            while lasts and (
                streams[lasts[0][1]].exhausted or streams[lasts[0][1]].last != lasts[0][0]
            ):
                heapq.heappop(lasts)
            bound = streams[lasts[0][1]] if lasts else None
            cut_at: set[int] = set()  # a stream's entry may be in twice (equal keys)
            while firsts:
                first, i = firsts[0]
                s = streams[i]
                if not len(s.ts) or int(s.ts[0]) != first:
                    heapq.heappop(firsts)  # stale
                elif (
                    bound is None
                    or first < bound.last
                    or (first == bound.last and i <= bound.index)
                ):
                    cut_at.add(heapq.heappop(firsts)[1])
                else:
                    break
            if bound is None and not cut_at:
                break
            parts = []
            order = sorted(cut_at)  # in stream order: merge_parts' stable sort needs it
            cuts = [
                len(streams[i].ts)
                if bound is None
                else int(
                    np.searchsorted(
                        streams[i].ts, U64(bound.last), "right" if i <= bound.index else "left"
                    )
                )
                for i in order
            ]
            cuts = cap_cuts([streams[i].ts for i in order], cuts, 4 * self.batch_rows)
            for i, cut in zip(order, cuts, strict=True):
                s = streams[i]
                if cut == 0:  # nothing of it in this round (cap_cuts)
                    heapq.heappush(firsts, (int(s.ts[0]), i))
                    continue
                parts.append(
                    (
                        s.ts[:cut],
                        s.index,
                        s.rts[:cut],
                        s.off[:cut],
                        s.ln[:cut],
                        s.blob[:cut],
                        s.cpu.cpu,
                    )
                )
                if cut == len(s.ts):  # not empty views that keep the arrays alive
                    s.ts, s.rts, s.off, s.ln, s.blob = _EMPTY
                    if not s.exhausted:
                        todo.append(i)
                else:
                    s.ts, s.rts, s.off = s.ts[cut:], s.rts[cut:], s.off[cut:]
                    s.ln, s.blob = s.ln[cut:], s.blob[cut:]
                    heapq.heappush(firsts, (int(s.ts[0]), i))
            if parts:
                pend.append(merge_parts(parts, drop=True))
                n_pend += len(pend[-1][0])
                if len(pend) > 64:
                    # a part a round: rounds of a record or two each (1,024 CPUs of
                    # empty pages) made the loops over pend quadratic (37 s for 10,240
                    # rows); a join copies the waiting rows, under a batch, once in 64
                    pend = [tuple(np.concatenate([p[k] for p in pend]) for k in range(5))]
            while n_pend >= self.batch_rows:
                take, pend, n_pend = take_rows(pend, self.batch_rows)
                yield self._batch(take)
                if pend:  # the rest of a part take_rows split, a view of it
                    pend[0] = own(pend[0])
            self._gc(pend)
            if n_pend and self.held > HOLD_MAX // 2 and self._gc(pend, force=True):
                # the rows waiting for a full batch keep whole pieces: one record a
                # page held 65,536 pages (256 MiB at 4 KiB); they are a batch now
                take, pend, n_pend = take_rows(pend, n_pend)
                yield self._batch(take)
                self._gc(pend, force=True)
        if n_pend:
            take, pend, n_pend = take_rows(pend, n_pend)
            yield self._batch(take)
        yield self._last()

    def _gc(self, pend: list[tuple[np.ndarray[Any, Any], ...]], force: bool = False) -> bool:
        """Drops the blobs no waiting record is in; True if more than HOLD_MAX / 2
        bytes of them are left."""
        # amortised: only once the blobs have doubled since the last collection, or
        # HOLD_MAX / 8 bytes of them were read since (by count alone, 512 streams left
        # 1,028 pieces before a collection)
        if (
            not force
            and len(self.blobs) <= max(2 * len(self.streams) + 4, 2 * self.kept)
            and self.held - self.kept_bytes <= HOLD_MAX // 8
        ):
            return False
        # a mask over the blob ids, not np.unique: this runs after every load, over
        # every pending record, and hashing them was a third of the reader's time
        live = np.zeros(self.next_blob, bool)
        for s in self.streams:
            live[s.blob] = True
        for p in pend:
            live[p[4]] = True
        for b in [b for b in self.blobs if not live[b]]:
            self.held -= len(self.blobs.pop(b))
        self.kept = len(self.blobs)
        self.kept_bytes = self.held
        return self.held > HOLD_MAX // 2

    def _batch(self, rec: tuple[np.ndarray[Any, Any], ...]) -> BinaryBatch:
        ts, cpu, off, ln, blob = rec
        used = np.unique(blob).tolist()
        if len(used) == 1:
            buf, starts = self.blobs[used[0]], off
        else:
            buf, starts = self._span(used, off, ln, blob)
        n = len(ts)
        recs_all = Records(buf, starts, ln, self.td.big_endian)
        ids = _read_uint(buf, starts, 2, self.td.big_endian)
        cols: dict[str, Any] = {
            "ts": (ts.view(np.int64), None),
            "cpu": (cpu.astype(np.int32), None),
        }
        pids = _read_uint(buf, starts + 4, 4, self.td.big_endian).astype(np.uint32).view(np.int32)
        short = ln < 8
        cols["tid"] = (pids, ~short)
        uniq = np.sort(np.unique(pids))  # no return_inverse: that sorts every record
        inv = np.searchsorted(uniq, pids)
        table = [self._comm(int(p)) for p in uniq.tolist()]
        cols["comm"] = sc.choose(table, inv.reshape(-1))
        names: list[bytes] = []
        name_idx = np.zeros(n, np.int64)
        payload_parts: list[tuple[np.ndarray[Any, Any], sc.StrCol]] = []
        typed: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}
        fields = []
        for eid, rows in _split_by_id(np.where(short, -1, ids)):
            fmt = self.formats.get(eid)
            name = fmt.full_name if fmt is not None else f"ftrace:unknown_{eid}"
            names.append(name.encode())
            name_idx[rows] = len(names) - 1
            if fmt is None:
                self.counts["records_unknown_event"] = self.counts.get(
                    "records_unknown_event", 0
                ) + len(rows)
                payload_parts.append((rows, sc.const(b"", len(rows))))
            else:
                recs = Records(
                    buf, recs_all.starts[rows], recs_all.lengths[rows], self.td.big_endian
                )
                er = self.decoder.decode(fmt, recs)
                payload_parts.append((rows, _lstrip(er.payload)))
                for key, (v, ok) in er.typed.items():
                    if key not in typed:
                        dtype = bool if key in ("write", "success") else U64
                        typed[key] = (np.zeros(n, dtype), np.zeros(n, bool))
                    typed[key][0][rows] = v
                    typed[key][1][rows] = ok
                fields.append((rows, er))
        cols["event"] = sc.choose(names or [b""], name_idx)
        cols["payload"] = sc.scatter(n, payload_parts)
        cols["typed"] = typed
        cols["fields"] = fields
        first = self.line_no + 1
        self.line_no += n
        table_ = build_events_table(cols, n, first)
        b = BinaryBatch(table_, records=n, stats=self.stats, meta=self._meta())
        self.stats = []
        return b

    def _span(
        self,
        used: list[int],
        off: np.ndarray[Any, Any],
        ln: np.ndarray[Any, Any],
        blob: np.ndarray[Any, Any],
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """The records' bytes from several blobs as one buffer, and their starts in it:
        of each blob only the span its records are in (whole blobs made a batch of
        512 CPUs' records a copy of 512 pieces)."""
        ukeys = np.array(used, np.int64)
        which = np.searchsorted(ukeys, blob)
        lo = np.full(len(used), np.iinfo(np.int64).max, np.int64)
        hi = np.zeros(len(used), np.int64)
        np.minimum.at(lo, which, off)
        np.maximum.at(hi, which, off + ln)
        lo = np.minimum(lo, hi)
        sizes = hi - lo
        bases = np.zeros(len(used), np.int64)
        np.cumsum(sizes[:-1], out=bases[1:])
        parts = [self.blobs[b][a:z] for b, a, z in zip(used, lo.tolist(), hi.tolist(), strict=True)]
        return np.concatenate(parts), off + (bases - lo)[which]

    def _comm(self, pid: int) -> bytes:
        if pid == 0:
            return b"<idle>"
        return self.comms.get(pid, b"<...>")

    def _meta(self) -> dict[str, str]:
        m = {k: v for k, v in self.hdr.meta.items() if not k.startswith("section.")}
        m["trace_dat_version"] = str(self.hdr.version)
        m["cpus"] = str(self.hdr.cpus)
        if self.hdr.compression:
            m["compression"] = "/".join(self.hdr.compression)
        return m

    def _last(self) -> BinaryBatch:
        from ..events_table import empty_events_table

        b = BinaryBatch(empty_events_table(), stats=self.stats, meta=self._meta())
        b.stats += [(k, None, v) for k, v in sorted(self.counts.items())]
        b.lost = self.lost
        for name, count in sorted(self.decoder.unrendered.items()):
            b.stats.append(("payload_not_rendered", None, count))
            b.notes.append(f"{name}: print fmt not evaluated, payload lists the fields")
        b.notes += self.notes
        return b


def _split_by_id(ids: np.ndarray[Any, Any]) -> Iterator[tuple[int, np.ndarray[Any, Any]]]:
    """tracefs_format.split_by_id (ids ascending, rows in input order) by one pass per
    distinct id rather than a sort of every record: a batch holds a handful of events."""
    for eid in np.unique(ids).tolist():
        yield int(eid), np.flatnonzero(ids == eid)
