"""Reading a perf.data stream in bounded memory: windows -> walk -> perf's order -> rows.

The data section is read in windows of ``WINDOW`` bytes; each is walked (walk.py)
into a table of records, the records are queued or delivered as perf script
would (order.py), and delivered samples become batches of at most
``batch_rows`` rows (rows.py).  A window of the file whose records wait in the
queue drops its bytes and record table and is read and walked again when they
are delivered (perf's rounds can queue 100s of MB); only a pipe's windows stay.
Pipe-mode files carry their header as records
(HEADER_ATTR, HEADER_TRACING_DATA, HEADER_FEATURE, EVENT_UPDATE); a new attr
changes how samples are read, so the window is walked again after one.
A non-seekable stream of a file-mode perf.data is spooled to a temporary file:
its features (event names, tracepoint formats) are written after the data.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from ..inflate import InflateError, inflate
from . import walk as W
from .attr import parse_attr
from .header import FEATURE_MAX, Features, FileHeader, parse_feature
from .order import Queue
from .rows import RowBuilder
from .session import MAX_ATTRS, MAX_IDS, RECORD_NAMES, Session

WINDOW = 2 << 20
#: rows per batch; about four batches are in flight in an ingest (queued, prepared, being
#: encoded): 32768 peaked at 248-267 MB on a 10.5M-sample ingest, 16384 at 224-233 MB
BATCH_ROWS = 16384
HUGE_RECORD = 64 << 20  # larger (AUX data) is skipped without being held in memory
#: a HEADER_TRACING_DATA record's data are at most what a tracing_data feature may be
TRACING_MAX = FEATURE_MAX["tracing_data"]
#: records walked right after a new attr (the rest of the table is walked again with
#: it): doubled on each walk up to TABLE_ROWS.  Walking a whole table again after each
#: of 4,000 HEADER_ATTR records kept 4,000 tables (1.1 GB).
REWALK_ROWS = 64
TABLE_ROWS = 32768  # records per walk call
#: queued windows are kept in memory up to this many bytes (with their record
#: tables); past it they are dropped and read and walked again when delivered
SPILL_BYTES = 32 << 20
#: the most one COMPRESSED record may inflate to when the header names no mmap_len
#: (perf writes one record per mmap read: mmap_len bytes at most)
COMPRESSED_MAX = 32 << 20


class _Blob:
    """One walk call's records; ``src`` (file offset and length of the window, walk
    start and end, layout) lets a file-backed blob drop its bytes and table while
    its records wait in the queue, and read and walk them again when delivered."""

    __slots__ = ("data", "rows", "src")

    def __init__(
        self, data: np.ndarray[Any, Any] | None, rows: np.ndarray[Any, Any] | None, src: Any
    ) -> None:
        self.data = data
        self.rows = rows
        self.src = src


class Reader:
    def __init__(self, session: Session, batch_rows: int, use_native: bool) -> None:
        self.s = session
        self.batch_rows = batch_rows
        self.use_native = use_native
        self.queue = Queue()
        self.blobs: dict[int, _Blob] = {}
        self.next_blob = 0
        self.delivered: list[np.ndarray[Any, Any]] = []
        self.n_delivered = 0
        self.builder = RowBuilder(session)
        self.records = 0
        self.skipped = 0
        self._zcarry = b""
        self.table = W.new_table(TABLE_ROWS)
        self.cap = TABLE_ROWS  # rows of the table the next walk may fill
        #: the seekable file the data section is read from (None: a pipe), and the
        #: file offset of the window being fed (None: not a piece of the file)
        self.backing: IO[bytes] | None = None
        self.window_at: int | None = None

    # -- one window of records -------------------------------------------------------
    def feed(self, window: bytes, start: int, end: int) -> tuple[int, int]:
        """Walk and process ``window[start:end]``: (next position, stop reason)."""
        table = self.table
        pos = start
        cap = self.cap
        while True:
            n, nxt, why = W.walk(
                window, pos, end, self.s.config(), table[:cap], use_native=self.use_native
            )
            # the table's rows are kept (every walk fills whole rows), a new table
            # walked into next: no copy, unless most of it would be kept unused
            if 2 * n >= len(table):
                rows = table[:n]
                table = self.table = W.new_table(TABLE_ROWS, empty=True)
            else:
                rows = table[:n].copy()
            data = np.frombuffer(window, np.uint8)
            src = None
            if self.window_at is not None:
                src = (self.window_at, len(window), pos, end, self.s.config(), n)
            bid = self._add_blob(data, rows, src)
            stop = self._process(bid, rows)
            if stop is not None:  # a new attr: walk the rest with the new layout
                pos = stop
                cap = self.cap = REWALK_ROWS
                continue
            cap = self.cap = min(2 * cap, TABLE_ROWS)
            if why == W.STOP_FULL:
                pos = nxt
                continue
            return nxt, why

    def _add_blob(self, data: np.ndarray[Any, Any], rows: np.ndarray[Any, Any], src: Any) -> int:
        bid = self.next_blob
        self.next_blob += 1
        self.blobs[bid] = _Blob(data, rows, src)
        return bid

    def _load(self, blob: _Blob, cache: dict[int, tuple[bytes, np.ndarray[Any, Any]]]) -> _Blob:
        """The blob with its bytes and table, read and walked again if dropped."""
        if blob.data is not None:
            return blob
        assert self.backing is not None
        at, length, pos, end, cfg, n = blob.src
        if at not in cache:
            here = self.backing.tell()
            self.backing.seek(at)
            raw = read_exactly(self.backing, length)
            self.backing.seek(here)
            cache[at] = (raw, np.frombuffer(raw, np.uint8))
        raw, data = cache[at]
        table = W.new_table(n)
        got, _nxt, _why = W.walk(raw, pos, end, cfg, table, use_native=self.use_native)
        if got != n:
            raise OSError(f"the file changed while it was read (offset {at})")
        return _Blob(data, table, blob.src)

    def _spill(self) -> None:
        """Drop the bytes and table of file-backed blobs (read again when delivered)
        once they hold more than SPILL_BYTES: a window is then read and walked once
        in the usual case of perf's rounds of a few MB."""
        held: dict[int, int] = {}
        for blob in self.blobs.values():
            if blob.src is not None and blob.data is not None and blob.rows is not None:
                held[id(blob.data)] = blob.data.nbytes
                held[id(blob.rows)] = blob.rows.nbytes
        if sum(held.values()) <= SPILL_BYTES:
            return
        for blob in self.blobs.values():
            if blob.src is not None:
                blob.data = blob.rows = None

    def _process(self, bid: int, rows: np.ndarray[Any, Any]) -> int | None:
        """Queue/deliver the records; returns where to walk again after a new attr."""
        n = len(rows)
        self.records += n
        typ = rows[:, W.C["type"]].astype(np.int64)
        bad = (typ == W.SAMPLE) & (rows[:, W.C["status"]] != W.OK)
        special = np.flatnonzero((typ >= W.USER_START) | bad).tolist()
        # worked out once for the table, sliced per run of ordinary records
        t = np.ascontiguousarray(rows[:, W.C["time"]])
        queued = (t != 0) & (t != np.uint64(W.NO_TIME))
        n_now = np.concatenate([[0], np.cumsum(~queued)])  # records delivered at once
        refs = (np.int64(bid) << 32) + np.arange(n, dtype=np.int64)
        a = 0
        for k in [*special, n]:
            if k > a:
                if n_now[k] == n_now[a]:  # every record queued: no selection
                    self._push(t[a:k], refs[a:k])
                else:
                    self._ordinary(t[a:k], queued[a:k], refs[a:k])
            if k == n:
                break
            if self._special(bid, rows, k):
                self.records -= n - k - 1  # walked again
                return int(rows[k, W.C["off"]] + rows[k, W.C["size"]])
            a = k + 1
        return None

    def _ordinary(
        self, t: np.ndarray[Any, Any], queued: np.ndarray[Any, Any], refs: np.ndarray[Any, Any]
    ) -> None:
        """A run of ordinary records: those without a time delivered at once, then
        the others queued."""
        self._deliver(refs[~queued])
        if queued.any():
            self._push(t[queued], refs[queued])

    def _push(self, t: np.ndarray[Any, Any], refs: np.ndarray[Any, Any]) -> None:
        half = self.queue.push(t, refs)
        if len(half):
            self._deliver(half)

    def _special(self, bid: int, rows: np.ndarray[Any, Any], k: int) -> bool:
        s = self.s
        row = rows[k]
        typ, off, size = int(row[W.C["type"]]), int(row[W.C["off"]]), int(row[W.C["size"]])
        data = self.blobs[bid].data
        assert data is not None  # dropped only after the window is fed
        e = ">" if s.big else "<"
        if typ == W.SAMPLE:
            why = "samples_malformed" if row[W.C["status"]] == W.MALFORMED else "samples_unknown_id"
            s.counts[why] += 1
            self.skipped += 1
        elif typ == 68:  # FINISHED_ROUND
            self._deliver(self.queue.round())
        elif typ == 64:  # HEADER_ATTR: attr, then its ids
            # header.c perf_event__process_attr: the ids are what the record holds
            # after the attr's own size
            body = data[off + 8 : off + size].tobytes()
            try:
                at = parse_attr(body, s.big)
                if at.size > len(body) or at.size % 8:
                    raise ValueError("attr size")
                ids = list(struct.unpack_from(e + f"{(len(body) - at.size) // 8}Q", body, at.size))
            except (ValueError, struct.error):
                s.counts["records_malformed"] += 1
                return False
            if not s.add_attr(at, ids):
                if not s.counts["attrs_past_limit"]:
                    s.notes.append(
                        f"more than {MAX_ATTRS} attrs or {MAX_IDS} sample ids "
                        "(HEADER_ATTR records): the later ones are ignored"
                    )
                s.counts["attrs_past_limit"] += 1
                return False
            return True
        elif typ == 66:  # HEADER_TRACING_DATA: its data follow the record's header.size
            (hsize,) = struct.unpack_from(e + "H", data[off + 6 : off + 8].tobytes())
            s.set_tracing(data[off + hsize : off + size].tobytes())
        elif typ == 80 and size >= 16:  # HEADER_FEATURE
            (feat,) = struct.unpack_from(e + "Q", data[off + 8 : off + 16].tobytes())
            f = Features()
            parse_feature(int(feat), data[off + 16 : off + size].tobytes(), s.big, f)
            self._merge_features(f)
        elif typ == 78 and size >= 24:  # EVENT_UPDATE
            kind, ident = struct.unpack_from(e + "QQ", data[off + 8 : off + 24].tobytes())
            if kind == 2:  # PERF_EVENT_UPDATE__NAME
                raw = data[off + 24 : off + size].tobytes().split(b"\0", 1)[0]
                name = raw.decode("utf-8", "surrogateescape")
                for a in s.attrs_of(ident):
                    s.names[a] = name
        elif typ == 81:  # COMPRESSED: zstd frames of more records
            self._compressed(data[off + 8 : off + size].tobytes())
        else:
            s.counts["skipped_" + RECORD_NAMES.get(typ, f"type_{typ}")] += 1
            self.skipped += 1
        return False

    def _merge_features(self, f: Features) -> None:
        s = self.s
        s.features.meta.update(f.meta)
        for i, (_a, name, _ids) in enumerate(f.event_desc):
            s.names.setdefault(i, name)
        s.features.build_ids += f.build_ids
        s.features.unknown += f.unknown
        s.features.damaged += f.damaged
        if f.compressed is not None:
            s.features.compressed = f.compressed

    def _compressed(self, payload: bytes) -> None:
        # perf decompresses a record into its mmap_len buffer (session.c
        # perf_session__process_compressed_event): the output is bounded the same way
        # (unbounded, 64 kB of RLE blocks took 2 GB)
        feat = self.s.features.compressed
        limit = min(feat[1] if feat and feat[1] else COMPRESSED_MAX, COMPRESSED_MAX)
        try:
            out = inflate("zstd", payload, limit)
        except InflateError:
            self.s.counts["compressed_undecodable"] += 1
            return
        buf = self._zcarry + out
        at, self.window_at = self.window_at, None  # decompressed: not in the file
        try:
            nxt, _why = self.feed(buf, 0, len(buf))
        finally:
            self.window_at = at
        self._zcarry = buf[nxt:]

    # -- delivery and batches ----------------------------------------------------------
    def _deliver(self, refs: np.ndarray[Any, Any]) -> None:
        if len(refs):
            self.delivered.append(refs)
            self.n_delivered += len(refs)

    def batches(self, final: bool = False) -> Iterator[Any]:
        if final:
            self._deliver(self.queue.final())
        while self.n_delivered >= self.batch_rows or (final and self.n_delivered):
            refs = np.concatenate(self.delivered)
            take, rest = refs[: self.batch_rows], refs[self.batch_rows :]
            self.delivered = [rest] if len(rest) else []
            self.n_delivered = len(rest)
            yield self._build(take)
            self._spill()
        self._gc()
        self._spill()

    def _build(self, refs: np.ndarray[Any, Any]) -> Any:
        """Rows for delivered records: their walk columns and one buffer of their bytes."""
        blob_ids = refs >> 32
        rows_i = refs & 0xFFFFFFFF
        lo = int(blob_ids.min())
        used = (np.flatnonzero(np.bincount(blob_ids - lo)) + lo).tolist()  # sorted, distinct
        cache: dict[int, tuple[bytes, np.ndarray[Any, Any]]] = {}
        blobs = [self._load(self.blobs[b], cache) for b in used]
        which = np.searchsorted(np.array(used, np.int64), blob_ids)
        tables = [b.rows for b in blobs]
        datas = [b.data for b in blobs]
        data, cols = gather(tables, datas, which, rows_i, use_native=self.use_native)
        return self.builder.build(data, cols)

    def _gc(self) -> None:
        """Drop the blobs no queued or delivered record is in: a blob between the
        lowest and highest one of each group of refs is kept (ids grow with the
        file, so the queue's and each delivery's blobs are a run of ids)."""
        spans = [(int(r.min()) >> 32, int(r.max()) >> 32) for _, r in self.queue.chunks if len(r)]
        spans += [(int(r.min()) >> 32, int(r.max()) >> 32) for r in self.delivered if len(r)]
        for b in [b for b in self.blobs if not any(lo <= b <= hi for lo, hi in spans)]:
            del self.blobs[b]


def gather(
    tables: list[Any], datas: list[Any], blob: Any, row: Any, *, use_native: bool = True
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Record ``i`` is ``tables[blob[i]][row[i]]``, its bytes in ``datas[blob[i]]``:
    (one buffer of the records' bytes one after the other, their walk columns as
    an (NCOL, n) array with off/raw_off/cc_off moved into that buffer)."""
    from ..native import perf_walk

    mod = perf_walk() if use_native else None
    blob = np.ascontiguousarray(blob, np.int64)
    row = np.ascontiguousarray(row, np.int64)
    if mod is None or not hasattr(mod, "gather"):
        return gather_py(tables, datas, blob, row)
    cols = np.empty((W.NCOL, len(blob)), np.uint64)
    tables = [np.ascontiguousarray(t, np.uint64) for t in tables]
    buf = mod.gather(tables, datas, blob, row, cols)
    return np.frombuffer(buf, np.uint8), cols


def gather_py(
    tables: list[Any], datas: list[Any], blob: np.ndarray[Any, Any], row: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The reference of ``gather`` (perf_walk.c gather): the same checks, the same result."""
    n = len(blob)
    if (
        (n and (blob.min() < 0 or blob.max() >= len(tables)))
        or any(len(t) <= int(row[blob == b].max(initial=-1)) for b, t in enumerate(tables))
        or (n and row.min() < 0)
    ):
        raise IndexError("gather: a row outside its table")
    out = np.empty((n, W.NCOL), np.uint64)
    base = np.zeros(len(datas) + 1, np.int64)
    for b, t in enumerate(tables):
        sel = blob == b
        out[sel] = np.asarray(t, np.uint64)[row[sel]]
        base[b + 1] = base[b] + len(datas[b])
    c = out.T
    off, size = c[W.C["off"]], c[W.C["size"]]
    end = off + size
    dlen = np.array([len(d) for d in datas] or [0], np.uint64)[blob]
    raw, rlen = c[W.C["raw_off"]], c[W.C["raw_len"]]
    cc, nr = c[W.C["cc_off"]], c[W.C["cc_nr"]]
    with np.errstate(over="ignore"):
        bad = (size < 8) | (off > dlen) | (size > dlen - off)
        bad |= (raw != 0) & ((raw < off + 8) | (raw > end) | (rlen > end - raw))
        bad |= (cc != 0) & ((cc < off + 8) | (cc > end) | (nr > (end - cc) // 8))
        bad |= ((cc == 0) & (nr != 0)) | ((raw == 0) & (rlen != 0))
    if bad.any():
        raise ValueError("gather: a record outside its window")
    at = np.zeros(n + 1, np.int64)
    np.cumsum(size.astype(np.int64), out=at[1:])
    whole = np.concatenate([np.frombuffer(d, np.uint8) for d in datas] or [np.zeros(0, np.uint8)])
    src = base[blob] + off.astype(np.int64) - at[:-1]
    data = whole[np.repeat(src, size.astype(np.int64)) + np.arange(int(at[-1]))]
    cols = np.ascontiguousarray(c)
    shift = at[:-1].astype(np.uint64) - off
    cols[W.C["off"]] = at[:-1].astype(np.uint64)
    for name in ("raw_off", "cc_off"):
        v = cols[W.C[name]]
        v[v != 0] += shift[v != 0]
    return data, cols


def read_exactly(stream: IO[bytes], n: int) -> bytes:
    parts = []
    got = 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def skip_exactly(stream: IO[bytes], n: int) -> int:
    """Reads and drops up to ``n`` bytes, 1 MiB at a time; returns how many there were.
    (read_exactly held a skipped AUX record whole, and a size near 2^64 raised
    OverflowError from read.)"""
    got = 0
    while got < n:
        chunk = stream.read(min(n - got, 1 << 20))
        if not chunk:
            break
        got += len(chunk)
    return got


def walk_stream(
    reader: Reader, stream: IO[bytes], remaining: int | None, first_offset: int
) -> Iterator[tuple[str, Any]]:
    """Feed the data section (``remaining`` bytes, None: to the end) and yield
    ("batch", table) items, then ("end", (offset, note or None))."""
    carry = b""
    offset = first_offset  # file offset of carry[0]
    rest = 0  # bytes of the record carry starts, past carry and WINDOW
    while True:
        want = WINDOW + rest if remaining is None else min(WINDOW + rest, remaining)
        chunk = read_exactly(stream, want) if want > 0 else b""
        if remaining is not None:
            remaining -= len(chunk)
        window = carry + chunk
        reader.window_at = offset if reader.backing is not None else None
        eof = not chunk
        if not window:
            yield "end", (offset, None)
            return
        nxt, why = reader.feed(window, 0, len(window))
        for table in reader.batches():
            yield "batch", table
        if why == W.STOP_BAD_HEADER:
            yield "end", (offset + nxt, f"a record header at offset {offset + nxt} is damaged")
            return
        carry = window[nxt:]
        offset += nxt
        if eof:
            note = None
            if carry:
                note = f"the data ends inside a record at offset {offset} ({len(carry)} bytes left)"
            yield "end", (offset, note)
            return
        rest = 0
        if len(carry) >= 8:
            e = ">" if reader.s.big else "<"
            typ, _misc, size = struct.unpack_from(e + "IHH", carry, 0)
            total, limit = size, HUGE_RECORD
            if typ == W.AUXTRACE and len(carry) >= 16:
                total += struct.unpack_from(e + "Q", carry, 8)[0]
            elif typ == W.TRACING_DATA and size >= 12 and len(carry) >= 12:
                total += struct.unpack_from(e + "I", carry, 8)[0]
                limit = TRACING_MAX
                if total > limit:
                    reader.s.notes.append(
                        f"tracing data of {total} bytes at offset {offset}, more than "
                        f"spftrace reads ({limit}): tracepoint payloads not decoded"
                    )
            if total <= limit:
                # the rest of a record longer than a window is read at once (window by
                # window, carry was copied again for each: quadratic in the record)
                rest = max(0, total - len(carry) - WINDOW)
            else:  # AUX area data, or tracing data: skipped without holding them
                skip = total - len(carry)
                if remaining is not None:
                    skip = min(skip, remaining + 1)  # past the section: cut short
                dropped = skip_exactly(stream, skip) if skip > 0 else 0
                reader.s.counts["skipped_" + RECORD_NAMES.get(typ, f"type_{typ}")] += 1
                if remaining is not None:
                    remaining -= dropped
                offset += total
                carry = b""
                if dropped < skip:
                    yield "end", (offset, f"the data ends inside a {total}-byte record")
                    return


def header_info(hdr: FileHeader) -> dict[str, str]:
    return {"byte_order": "big-endian" if hdr.big_endian else "little-endian"}
