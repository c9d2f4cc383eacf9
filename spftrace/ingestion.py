"""Ingest: inputs -> sniff -> parse -> the dataset, one atomic commit per run.

Grouping: ``--run NAME`` puts every input into that run (a perf stat file, a
vmstat series and a trace of one experiment belong together).  Without it,
vmstat inputs given together form one snapshot series (ordered by name) and
every other input is a run of its own, named after its file.
"""

from __future__ import annotations

import os
import platform
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from ._version import __version__
from .errors import SpftraceError, quote_line
from .inputs import CHUNK_BYTES, Input, encode_line, open_input, read_errors
from .parsers import FORMATS, make_parser
from .parsers.base import Output
from .schema import SCHEMA_VERSION
from .sniff import detect
from .store import Dataset, RunWriter, data_dir, sanitize_run_name

ERROR_MODES = ("strict", "skip")


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
        return lines


_NOTEWORTHY = (
    "foreign_lines",
    "overlong_lines",
    "no_final_newline",
    "events_dropped",
    "samples_lost",
)

Progress = Callable[[str, int, int], None]  # (source, lines so far, bytes so far)


def ingest(
    inputs: Sequence[str | os.PathLike[str]],
    *,
    data: str | os.PathLike[str] | None = None,
    run: str | None = None,
    label: str | None = None,
    fmt: str | None = None,
    errors: str = "strict",
    force: bool = False,
    stdin: IO[bytes] | None = None,
    progress: Progress | None = None,
) -> list[IngestSummary]:
    """Ingest files (``-`` is stdin) into the dataset at ``data``."""
    if errors not in ERROR_MODES:
        raise SpftraceError(f"--errors must be one of {', '.join(ERROR_MODES)}, not {errors!r}")
    if fmt is not None and fmt not in FORMATS:
        raise SpftraceError(f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}")
    if not inputs:
        raise SpftraceError("no input given (pass FILE, or '-' for stdin)")
    if sum(1 for i in inputs if str(i) == "-") > 1:
        raise SpftraceError("stdin ('-') can be given only once")
    opened: list[tuple[Input, str]] = []
    pending: list[Input] = []
    try:
        for spec in inputs:
            inp = open_input(spec, stdin=stdin)
            pending.append(inp)
            kind = fmt or detect(inp.head, inp.name)
            if kind == "perf-data":
                inp = render_perf_data(inp)
                pending.append(inp)
            opened.append((inp, kind))
        groups = _group(opened, run)
        ds = Dataset(data_dir(data), create=True)
        summaries: list[IngestSummary] = []
        with ds.locked():
            existing = set(ds.run_names())
            for name, members in groups:
                summaries += _ingest_run(
                    ds,
                    name,
                    members,
                    existing,
                    label=label,
                    errors=errors,
                    force=force,
                    explicit=run is not None,
                    progress=progress,
                )
                existing.add(summaries[-1].run)
        return summaries
    finally:
        for inp in pending:
            inp.close()


def _group(
    opened: list[tuple[Input, str]], run: str | None
) -> list[tuple[str, list[tuple[Input, str]]]]:
    if run is not None:
        return [(run, _vmstat_sorted(opened))]
    groups: list[tuple[str, list[tuple[Input, str]]]] = []
    vm = [(i, f) for i, f in opened if f == "vmstat"]
    for inp, f in opened:
        if f == "vmstat":
            if vm and inp is vm[0][0]:
                ordered = _vmstat_sorted(vm)
                groups.append((_default_name(ordered[0][0].name), ordered))
        else:
            groups.append((_default_name(inp.name), [(inp, f)]))
    return groups


def _vmstat_sorted(members: list[tuple[Input, str]]) -> list[tuple[Input, str]]:
    other = [m for m in members if m[1] != "vmstat"]
    vm = sorted((m for m in members if m[1] == "vmstat"), key=lambda m: m[0].name)
    return other + vm


def _default_name(source: str) -> str:
    if source == "<stdin>":
        return "stdin"
    name = Path(source).name
    for suffix in (".gz", ".xz", ".zst", ".bz2", ".txt", ".csv", ".json", ".log", ".out"):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return sanitize_run_name(name)


def _ingest_run(
    ds: Dataset,
    name: str,
    members: list[tuple[Input, str]],
    existing: set[str],
    *,
    label: str | None,
    errors: str,
    force: bool,
    explicit: bool,
    progress: Progress | None,
) -> list[IngestSummary]:
    run = sanitize_run_name(name)
    if explicit and run != name:
        raise SpftraceError(
            f"run name {name!r} is not allowed; use letters, digits, '.', '_' and '-' "
            f"(for example {run!r})"
        )
    if not explicit:
        base, k = run, 2
        while run in existing:
            run = f"{base}-{k}"
            k += 1
    first_input = ds.next_input(run) if run in existing else 0
    writer = ds.writer(run, first_input)
    summaries: list[IngestSummary] = []
    next_block = 0
    try:
        for offset, (inp, fmt) in enumerate(members):
            input_no = first_input + offset
            kwargs: dict[str, Any] = {}
            if fmt == "vmstat":
                kwargs["first_block"] = next_block
            parser = make_parser(fmt, **kwargs)
            summary = _ingest_one(inp, fmt, parser, writer, run, input_no, errors, progress)
            if fmt == "vmstat":
                next_block = parser.next_block
            prior = ds.find_sha(inp.sha256) or next(
                (
                    s.run
                    for s, m in zip(summaries, members, strict=False)
                    if m[0].sha256 == inp.sha256
                ),
                None,
            )
            if prior is not None and not force:
                raise SpftraceError(
                    f"{inp.name}: these exact bytes were already ingested as run {prior!r} "
                    "(sha256 match); pass --force to ingest them again"
                )
            _write_runs_row(writer, inp, fmt, run, input_no, label, summary)
            summaries.append(summary)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return summaries


def _ingest_one(
    inp: Input,
    fmt: str,
    parser: Any,
    writer: RunWriter,
    run: str,
    input_no: int,
    errors: str,
    progress: Progress | None,
) -> IngestSummary:
    s = IngestSummary(inp.name, fmt, run, input_no, compression=inp.compression)
    started = time.perf_counter()
    stats: dict[tuple[str, int | None], int] = {}

    # Parquet encoding runs on its own thread, in order, so that reading (this
    # thread), parsing (the parse threads) and writing overlap; at most
    # WRITE_QUEUE tables wait for it, so memory stays bounded.
    wpool = ThreadPoolExecutor(1, thread_name_prefix="spftrace-write")
    writes: deque[Future[None]] = deque()

    def write(table: str, rows: Any) -> None:
        writes.append(wpool.submit(writer.write, table, rows, input_no))
        while len(writes) > WRITE_QUEUE:
            writes.popleft().result()

    def absorb(out: Output) -> None:
        out.check()
        if out.rejects:
            if errors == "strict":
                r = out.rejects[0]
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
        if "command" in out.meta:
            s.command = out.meta["command"]
        if "kernel" in out.meta:
            s.kernel = out.meta["kernel"]
        for sname, cpu, value in out.stats:
            stats[(sname, cpu)] = stats.get((sname, cpu), 0) + value

    try:
        for out in _parsed(parser, inp):
            absorb(out)
            if progress is not None:
                progress(inp.name, s.lines, inp.nbytes)
        while writes:
            writes.popleft().result()
    except read_errors(inp) as exc:
        raise SpftraceError(
            f"{inp.name}: input ends in corrupt {inp.compression or ''} data after line "
            f"{s.lines}: {exc}"
        ) from None
    finally:
        for f in writes:
            f.cancel()
        wpool.shutdown(wait=True)
    s.seconds = time.perf_counter() - started
    s.bytes = inp.nbytes
    if s.lines == 0:
        raise SpftraceError(f"{inp.name}: empty input; nothing to ingest")
    if not s.rows:
        raise SpftraceError(
            f"{inp.name}: no {fmt} records in {s.lines} lines ({s.ignored} ignored, "
            f"{s.rejected} rejected); is this the right file, or does it need --format?"
        )
    if inp.overlong_lines:
        stats[("overlong_lines", None)] = inp.overlong_lines
    if not inp.final_newline:
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
        input_no,
    )
    return s


def render_perf_data(inp: Input) -> Input:
    """A perf.data input, hashed whole, then rendered by ``perf script`` into text."""
    import shutil
    import subprocess
    import tempfile

    from .inputs import _read_exactly
    from .parsers.perf_data import SCRIPT_ARGS, perf_binary

    perf = perf_binary()
    if perf is None:
        raise SpftraceError(
            f"{inp.name}: perf.data needs the perf tool to be rendered (Debian: linux-perf); "
            "or ingest `perf script` output instead"
        )
    spool = tempfile.NamedTemporaryFile(prefix="spftrace-", suffix=".data", delete=False)  # noqa: SIM115
    with spool:
        spool.write(inp.head)
        shutil.copyfileobj(inp.stream, spool, 1 << 20)  # hashes the rest of the file too
    proc = subprocess.Popen(
        [perf, *SCRIPT_ARGS, spool.name], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    out = Input(inp.name, proc.stdout, inp.hasher, inp.compression, b"", [])
    out.interrupters.append(proc.kill)
    out.head = _read_exactly(proc.stdout, 64 * 1024)

    class _Closer:
        def close(self) -> None:
            proc.stdout.close()  # type: ignore[union-attr]
            proc.stderr.close()  # type: ignore[union-attr]
            proc.wait()
            Path(spool.name).unlink(missing_ok=True)

    out.closers.append(_Closer())  # type: ignore[arg-type]
    if not out.head:
        err = proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
        proc.stdout.close()
        proc.stderr.close()
        proc.wait()
        Path(spool.name).unlink(missing_ok=True)
        raise SpftraceError(
            f"{inp.name}: perf script could not read this perf.data"
            + (f": {err[-1]}" if err else "")
        )
    return out


PARSE_THREADS = 1  # parsers may ask for more (PARSE_THREADS on the class)
WRITE_QUEUE = 2


def _parsed(parser: Any, inp: Input) -> Iterator[Output]:
    """Parser outputs in input order.  Parsers that declare ``PARALLEL`` have their
    chunks parsed on their PARSE_THREADS threads (numba, Arrow and numpy release
    the GIL) after the first chunk, which fixes the layout, while the read-ahead
    thread reads and the writer thread writes.  At most READ_AHEAD + threads + 1
    chunks are in flight, so memory stays bounded."""
    threads = getattr(parser, "PARSE_THREADS", PARSE_THREADS)
    chunks = _read_ahead(inp.chunks(getattr(parser, "CHUNK_BYTES", CHUNK_BYTES)), inp)
    if not getattr(parser, "PARALLEL", False):
        for chunk in chunks:
            yield parser.feed_chunk(chunk)
        yield parser.close()
        return
    first = next(chunks, None)
    if first is not None:
        yield parser.feed_chunk(first)
    with ThreadPoolExecutor(threads, thread_name_prefix="spftrace-parse") as pool:
        pending: deque[Future[Output]] = deque()
        try:
            for chunk in chunks:
                pending.append(pool.submit(parser.feed_chunk, chunk))
                if len(pending) > threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()
    yield parser.close()


READ_AHEAD = 2


def _read_ahead(chunks: Iterator[Any], inp: Input) -> Iterator[Any]:
    """The chunks, read on a thread of their own up to READ_AHEAD ahead: a producer
    writing into our stdin (``perf script | spftrace ingest -``) then never waits
    for a full pipe while this thread waits for a parser or the writer."""
    import queue
    import threading

    q: queue.Queue[Any] = queue.Queue(READ_AHEAD)
    done = object()
    stop = threading.Event()

    def put(item: Any) -> bool:
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
            for chunk in chunks:
                if not put(chunk):
                    return
            put(done)
        except BaseException as exc:  # re-raised in the consumer
            put(exc)

    t = threading.Thread(target=pump, name="spftrace-read", daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        # a reader blocked on a silent pipe cannot be woken: leave it (a daemon) behind,
        # and its input open (closing a stream waits for the read that holds it)
        t.join(timeout=1.0)
        if t.is_alive() and inp.interrupters:
            for interrupt in inp.interrupters:
                interrupt()
            t.join(timeout=1.0)
        inp.reader_stuck = t.is_alive()


def _write_runs_row(
    writer: RunWriter,
    inp: Input,
    fmt: str,
    run: str,
    input_no: int,
    label: str | None,
    s: IngestSummary,
) -> None:
    writer.write(
        "runs",
        {
            "label": [label],
            "source_format": [fmt],
            "source": [inp.name],
            "sha256": [inp.sha256],
            "bytes": [inp.nbytes],
            "compression": [inp.compression],
            "ingested_at": [datetime.now(UTC)],
            "host": [platform.node() or None],
            "kernel": [s.kernel],
            "command": [s.command],
            "spftrace_version": [__version__],
            "schema_version": [SCHEMA_VERSION],
        },
        input_no,
    )
