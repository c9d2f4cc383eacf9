"""One input into a run's writer: read ahead -> parse -> write, on three threads.

Reading (a read-ahead thread), parsing (the ingest thread, or the format's parse
threads after the first chunk) and Parquet encoding (a writer thread) overlap,
and at most a few chunks are in flight, so memory stays bounded whatever the
input's size.  A producer writing into our stdin (``perf script | spftrace
ingest -``) never waits on a full pipe while we parse or write.

Every line ends up counted: records, ignored lines, rejects (``--errors
skip``) or the error that stops the ingest (``strict``).  A damaged end of the
input (a truncated compressed stream) is an error in strict mode and a reject
of the cut line in skip mode.  A change of format mid-input (several files
concatenated into one) is an error naming the line where it happens: the input
is not split, because which lines belong to which part is a guess.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, cast

from ..errors import SpftraceError, quote_line
from ..formats.lines import Chunk, encode_line
from ..formats.spec import Batch, FormatSpec, Head, Parser
from ..outfile import dataset_write_error
from ..store import RunWriter
from .inputs import Input

ERROR_MODES = ("strict", "skip")
#: batches waiting for the writer thread: more than WRITE_QUEUE of them, holding more
#: than QUEUE_ROWS rows together, and the ingest waits.  Rows, not only batches: the
#: writer encodes WRITE_ROWS rows at a time (runwriter.py), so most of its jobs are
#: instant appends and one in several is a row group's encoding (~20 ms for 64K text
#: rows); bounded at two batches, the parser stopped for each such encoding, and slept
#: 0.17-0.44 s of a 1M-line ingest (/proc/.../schedstat: neither thread was busy all
#: the time).  Room for one row group's rows lets it go on parsing meanwhile: whole
#: 1M-line ingest 0.66-0.72 s instead of 0.72-0.81 (bench/whole.py --base, 2 of 3
#: pairs), at a peak RSS of 168 MB instead of 137 (32K rows: 150 MB, and no gain).
#: A perf.data ingest's peak (batches of 16K rows) measured the same (221 MB, 1M samples).
#: The rows counted are those behind the oldest job, which may be the row group being
#: encoded: counted with them, the queue held one batch short of a row group (4 of
#: 15K rows, where a group takes 5), and after each encoding the writer waited for the
#: next batch (1-6 ms, 30 ms of a 1M-line ingest whose critical path it is).
WRITE_QUEUE = 2
QUEUE_ROWS = 64 * 1024
READ_AHEAD = 2
#: the lines from a suspect line on that are sniffed for another format (few: the
#: part that follows in another format may be short)
FORMAT_WINDOW = 16 * 1024
FORMAT_LINES = 64

Progress = Callable[[str, int, int], None]  # (source, lines so far, bytes so far)


@dataclass
class IngestSummary:
    """What one input contributed; printed by the CLI, asserted by tests."""

    source: str
    format: str
    run: str
    input: int
    rows: dict[str, int] = field(default_factory=dict)
    lines: int = 0
    record_lines: int = 0
    ignored: int = 0
    rejected: int = 0
    bytes: int = 0
    seconds: float = 0.0
    compression: str | None = None
    command: str | None = None
    kernel: str | None = None
    stats: dict[str, int] = field(default_factory=dict)
    #: the readers' remarks (damage named, a file perf record never finished)
    notes: list[str] = field(default_factory=list)

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds > 0 else 0.0

    @property
    def mb_per_second(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0

    def lines_text(self) -> list[str]:
        rows = ", ".join(f"{n} {t}" for t, n in self.rows.items() if n)
        lines = [
            f"{self.source}: {self.format} -> run {self.run} (input {self.input})",
            f"  {self.lines} lines: {self.record_lines} records, {self.ignored} ignored, "
            f"{self.rejected} rejected",
            f"  rows: {rows or 'none'}",
            f"  {self.seconds:.2f} s, {self.lines_per_second:,.0f} lines/s, "
            f"{self.mb_per_second:.1f} MB/s",
        ]
        extra = {k: v for k, v in self.stats.items() if k in _NOTEWORTHY and v}
        if extra:
            lines.append("  " + ", ".join(f"{k}: {v}" for k, v in extra.items()))
        lines += [f"  note: {n}" for n in self.notes]
        return lines


_NOTEWORTHY = (
    "foreign_lines",
    "overlong_lines",
    "truncated_input",
    "no_final_newline",
    "events_dropped",
    "samples_lost",
)


def ingest_input(
    inp: Input,
    spec: FormatSpec,
    parser: Parser | None,
    writer: RunWriter,
    summary: IngestSummary,
    *,
    errors: str,
    progress: Progress | None = None,
) -> None:
    """Parse one input with ``parser`` (text formats) or its format's reader, and
    write its rows, rejects and statistics; fills ``summary``."""
    s = summary
    started = time.perf_counter()
    if inp.drain is not None:  # the start-up is over: the pipeline's read-ahead takes over
        inp.drain.steady()
    stats: dict[tuple[str, int | None], int] = {}
    wpool = ThreadPoolExecutor(1, thread_name_prefix="spftrace-write")
    writes: deque[tuple[Future[None], int]] = deque()  # (job, its rows)

    def write(table: str, rows: object) -> None:
        # the table is put together here: the writer thread (the busiest) only encodes
        prepared = writer.prepare(table, rows, s.input)
        n = 0 if prepared is None else int(prepared.num_rows)
        writes.append((wpool.submit(writer.append, table, prepared), n))
        while writes and writes[0][0].done():  # (its error, if any, raised here)
            writes.popleft()[0].result()
        while len(writes) > WRITE_QUEUE and sum(k for _f, k in writes) - writes[0][1] >= QUEUE_ROWS:
            writes.popleft()[0].result()  # (the oldest: not done, maybe being encoded)

    def absorb(chunk: Chunk | None, out: Batch) -> None:
        out.check()
        if chunk is not None and not chunk.damage:
            _check_format(inp, spec, chunk, out)
        cut = inp.reader.cut if inp.reader is not None else None
        if chunk is not None and chunk.damage and cut is not None and errors == "strict":
            raise _ended_early(inp, s.lines, cut)
        if out.rejects:
            if errors == "strict":
                r = out.rejects[0]
                if r.reason.startswith("perf reported an error"):
                    # the reason quotes perf's message; skipping it would ingest nothing
                    raise SpftraceError(
                        f"{inp.name}:{r.line_no}: {r.reason}: perf stat did not run, so there "
                        "are no counts to read; `perf list` shows the events this kernel "
                        "has (spf and pagefault:* exist only on SPF kernels)"
                    )
                raise SpftraceError(
                    f"{inp.name}:{r.line_no}: {r.reason}: {quote_line(r.line)} "
                    "(--errors skip stores such lines in the rejects table and goes on)"
                )
            write(
                "rejects",
                {
                    "line_no": [r.line_no for r in out.rejects],
                    "line": [encode_line(r.line) for r in out.rejects],
                    "reason": [r.reason for r in out.rejects],
                },
            )
        if out.n_rows:
            write(out.table, out.rows)
            s.rows[out.table] = s.rows.get(out.table, 0) + out.n_rows
        s.lines += out.lines
        s.record_lines += out.record_lines
        s.ignored += out.ignored
        s.rejected += len(out.rejects)
        s.command = out.meta.get("command", s.command)
        s.kernel = out.meta.get("kernel", s.kernel)
        s.notes += [n for n in out.notes if n not in s.notes]
        for st in out.stats:
            stats[(st.name, st.cpu)] = stats.get((st.name, st.cpu), 0) + st.value

    try:
        for chunk, out in _batches(inp, spec, parser):
            absorb(chunk, out)
            if progress is not None:
                progress(inp.name, s.lines, inp.nbytes)
        while writes:
            writes.popleft()[0].result()
    finally:
        for f, _n in writes:
            f.cancel()
        wpool.shutdown(wait=True)
    lines = inp.reader
    if lines is not None and lines.cut is not None:
        if errors == "strict":
            raise _ended_early(inp, s.lines, lines.cut)
        stats[("truncated_input", None)] = 1
    s.seconds = time.perf_counter() - started
    s.bytes = inp.nbytes
    if s.lines == 0:
        raise SpftraceError(f"{inp.name}: empty input; nothing to ingest")
    if not s.rows:
        raise SpftraceError(
            f"{inp.name}: no {spec.name} records in {s.lines} lines ({s.ignored} ignored, "
            f"{s.rejected} rejected); is this the right file, or does it need --format?"
        )
    if lines is not None:
        if lines.overlong_lines:
            stats[("overlong_lines", None)] = lines.overlong_lines
        if not lines.final_newline:
            stats[("no_final_newline", None)] = 1
    base: dict[tuple[str, int | None], int] = {
        ("lines_read", None): s.lines,
        ("records", None): sum(s.rows.values()),
        ("record_lines", None): s.record_lines,
        ("ignored", None): s.ignored,
        ("rejected", None): s.rejected,
    }
    stats = {**base, **stats}
    s.stats = {}
    for (sname, cpu), value in stats.items():
        if cpu is None:
            s.stats[sname] = s.stats.get(sname, 0) + value
    writer.write(
        "stats",
        {
            "name": [k[0] for k in stats],
            "cpu": [k[1] for k in stats],
            "value": list(stats.values()),
        },
        s.input,
    )


def _ended_early(inp: Input, decoded: int, cut: str) -> SpftraceError:
    what = f"{inp.compression} stream" if inp.compression else "input"
    return SpftraceError(
        f"{inp.name}: the {what} ends early, after {decoded:,} decoded lines ({cut}); "
        "truncated file? (--errors skip keeps those lines and rejects the cut last one)"
    )


def write_error(path: Path, exc: OSError) -> SpftraceError:
    """An OSError on the writing side as the user-facing error (outfile.py words it)."""
    return SpftraceError(dataset_write_error(path, exc))


def _check_format(inp: Input, spec: FormatSpec, chunk: Chunk, out: Batch) -> None:
    """A line this format could not use, where another format takes over: the input
    changed format (files concatenated).  Sniffed once per batch, from that line on."""
    suspect = out.first_foreign
    if out.rejects and (suspect is None or out.rejects[0].line_no < suspect):
        suspect = out.rejects[0].line_no
    if suspect is None:
        return
    from ..formats.detect import sniff

    window = chunk.lines_from(suspect, FORMAT_WINDOW).split("\n")[:FORMAT_LINES]
    head = Head("\n".join(window).encode("utf-8", "surrogateescape") + b"\n")
    if spec.sniff(head):
        return
    other = sniff(head, exclude=spec.name)
    if other is None:
        return
    line = head.lines[0] if head.lines else ""
    raise SpftraceError(
        f"{inp.name}:{suspect}: the input changes format here: the lines from this one "
        f"read as {other}, not {spec.name} ({quote_line(line, 60)}); several files "
        "concatenated? ingest each part on its own"
    )


def _batches(
    inp: Input, spec: FormatSpec, parser: Parser | None
) -> Iterator[tuple[Chunk | None, Batch]]:
    """Batches in input order, each with the chunk it was parsed from (None for a
    binary reader's batches).  A format with ``threads`` has its chunks parsed on
    that many threads after the first chunk, which fixes the layout (numba, Arrow
    and numpy release the GIL).  At most READ_AHEAD + threads + 1 chunks are in
    flight, so memory stays bounded."""
    if spec.reader is not None:
        try:
            for out in _read_ahead(spec.reader(inp), inp):
                yield None, out
        except OSError as exc:  # a reader's own files (a spool, a renderer): not the dataset
            raise SpftraceError(f"{inp.name}: {exc.strerror or exc}") from None
        return
    assert parser is not None

    def one(chunk: Chunk) -> Batch:
        return Batch.damaged(spec.table, chunk) if chunk.damage else parser.feed(chunk)

    chunks = _read_ahead(inp.lines().chunks(spec.chunk_bytes, spec.chunk_lines), inp)
    if not spec.threads:
        for chunk in chunks:
            yield chunk, one(chunk)
        yield None, parser.close()
        return
    first = next(chunks, None)
    if first is not None:
        yield first, one(first)
    with ThreadPoolExecutor(spec.threads, thread_name_prefix="spftrace-parse") as pool:
        pending: deque[tuple[Chunk, Future[Batch]]] = deque()
        try:
            for chunk in chunks:
                pending.append((chunk, pool.submit(one, chunk)))
                if len(pending) > spec.threads:
                    c, f = pending.popleft()
                    yield c, f.result()
            while pending:
                c, f = pending.popleft()
                yield c, f.result()
        finally:
            for _, f in pending:
                f.cancel()
    yield None, parser.close()


T = TypeVar("T")


def _read_ahead(items: Iterator[T], inp: Input) -> Iterator[T]:
    """The items, made on a thread of their own up to READ_AHEAD ahead: a producer
    writing into our stdin (``perf script | spftrace ingest -``) then never waits
    for a full pipe while this thread waits for a parser or the writer."""
    q: queue.Queue[tuple[str, object]] = queue.Queue(READ_AHEAD)
    stop = threading.Event()

    def put(item: tuple[str, object]) -> bool:
        """Queue an item unless the consumer has gone; False when it has."""
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def pump() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("done", None))
        except BaseException as exc:  # re-raised in the consumer
            put(("error", exc))

    t = threading.Thread(target=pump, name="spftrace-read", daemon=True)
    inp.reader_threads.append((t, stop))
    t.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "done":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            yield cast(T, value)
    finally:
        stop.set()
        inp.stop_reading()  # wakes the thread if it waits for the drain of a pipe
        # a reader blocked on a silent pipe cannot be woken: leave it (a daemon) behind,
        # and its input open (closing a stream waits for the read that holds it)
        t.join(timeout=1.0)
        if t.is_alive() and inp.interrupters:
            for interrupt in inp.interrupters:
                interrupt()
            t.join(timeout=1.0)
