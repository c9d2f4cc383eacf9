"""What a format is, what a parser returns: the one seam between formats and ingestion.

A format is a ``FormatSpec`` in ``formats.FORMATS``.  A text format names a
``parser`` factory: the ``Parser`` is fed ``Chunk``s of whole lines and returns
one ``Batch`` per chunk, and one more from ``close()``.  A binary format names a
``reader`` instead: it is handed the whole byte stream (a ``ByteSource``: a
regular file it may seek in, or a pipe) and yields ``Batch``es itself, so it can
seek, spool or run a renderer (``perf_data_render``).  Ingestion knows these
types and nothing else about a format.

The seam has no ``Any``: ``mypy --strict --disallow-any-unimported
--disallow-any-explicit --follow-imports=silent spftrace/formats/spec.py
spftrace/formats/lines.py spftrace/ingest`` passes (``make typecheck`` runs it).

Why a Batch holds an Arrow table and never lists: the writer, the tests and the
fast paths all meet one shape, and per-line parsers convert once per chunk
(``rows_table``), which costs less than the Parquet encoding of the same rows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NamedTuple, Protocol

from .lines import Chunk

#: sniffers see at most this many lines of the head, each cut to SNIFF_LINE characters
SNIFF_LINES = 400
SNIFF_LINE = 4096


class ArrowSchema(Protocol):
    @property
    def names(self) -> list[str]: ...


class ArrowTable(Protocol):
    """What the seam needs of a ``pyarrow.Table``.  pyarrow ships no type stubs, so
    without this protocol every ``Batch.rows`` would be ``Any`` to mypy."""

    @property
    def num_rows(self) -> int: ...

    @property
    def schema(self) -> ArrowSchema: ...

    def to_pydict(self) -> dict[str, list[object]]: ...


@dataclass
class Reject:
    """An input line no record could be made of: its number, text (decoded with
    surrogateescape, so its bytes survive) and why."""

    line_no: int
    line: str
    reason: str


class Stat(NamedTuple):
    """An ingest statistic (the ``stats`` table): name, CPU or None, value."""

    name: str
    cpu: int | None
    value: int


@dataclass
class Batch:
    """What a parser made of one chunk (or a reader of a stretch of its input).

    Line accounting: every line of the chunk is exactly one of a record line
    (``record_lines``; one line may make several rows, or a row may need several
    lines), an ignorable line (``ignored``: headers, blanks, workload output) or
    a reject.  ``check()`` enforces it."""

    table: str
    #: a pyarrow Table: rows of ``table`` without ``input`` (the writer adds it and the
    #: columns a format does not fill, as nulls)
    rows: ArrowTable
    lines: int = 0
    record_lines: int = 0
    ignored: int = 0
    rejects: list[Reject] = field(default_factory=list)
    stats: list[Stat] = field(default_factory=list)
    #: what the input says about itself: command, kernel, host, target ...
    meta: dict[str, str] = field(default_factory=dict)
    #: the first line the parser ignored as not being its format at all (workload
    #: output in perf stat), for ingestion's check that the format did not change
    first_foreign: int | None = None
    #: one-line remarks for the user (a binary reader's "the file is cut short ...")
    notes: list[str] = field(default_factory=list)

    @classmethod
    def empty(cls, table: str) -> Batch:
        return cls(table, _no_rows(table))

    @classmethod
    def damaged(cls, table: str, chunk: Chunk) -> Batch:
        """The reject a damaged chunk (an over-long or cut line) stands for."""
        line = chunk.data.decode("utf-8", "surrogateescape")
        reason = chunk.damage or "damaged line"
        return cls(
            table,
            _no_rows(table),
            lines=1,
            rejects=[Reject(chunk.first_line_no, line, reason)],
        )

    @property
    def n_rows(self) -> int:
        return int(self.rows.num_rows)

    def check(self) -> None:
        """The line accounting holds and the rows are columns of ``table``."""
        accounted = self.record_lines + self.ignored + len(self.rejects)
        if accounted != self.lines:
            raise AssertionError(
                f"line accounting broken: {self.record_lines} record + {self.ignored} "
                f"ignored + {len(self.rejects)} rejected != {self.lines} read"
            )
        known = set(_parser_names(self.table))
        extra = [n for n in self.rows.schema.names if n not in known]
        if extra:
            raise AssertionError(f"{self.table} has no column {extra[0]!r}")


@functools.cache
def _parser_names(table: str) -> tuple[str, ...]:
    from ..schema import TABLES

    return tuple(c.name for c in TABLES[table].columns if c.name != "input")


@functools.cache
def _no_rows(table: str) -> ArrowTable:
    """``table``'s empty rows (an Arrow table is immutable: one serves every batch;
    made anew it cost 0.5 ms a chunk)."""
    return rows_table(table, {})


def rows_table(table: str, columns: Mapping[str, Sequence[object]]) -> ArrowTable:
    """Column lists as an Arrow table typed by ``schema.py`` (in the schema's order)."""
    import pyarrow as pa

    from ..schema import parser_schema, to_arrow

    schema = parser_schema(table)
    if not columns:  # (Schema.empty_table would import pandas: 50 MB for nothing)
        columns = {f.name: [] for f in schema}
    unknown = set(columns) - set(schema.names)
    if unknown:
        raise KeyError(f"{table} has no column {sorted(unknown)[0]!r}")
    fields = [f for f in schema if f.name in columns]
    arrays = [to_arrow(list(columns[f.name]), f.type) for f in fields]
    table_: ArrowTable = pa.Table.from_arrays(
        arrays, schema=pa.schema(fields, metadata=schema.metadata)
    )
    return table_


class Parser(Protocol):
    """A text format's parser: stateful over one input, no I/O."""

    def feed(self, chunk: Chunk) -> Batch: ...

    def close(self) -> Batch: ...


def parse_chunks(parser: Parser, chunks: Iterable[Chunk], table: str) -> Iterator[Batch]:
    """A parser's batches for chunks, in order, then its last one; damaged chunks
    become rejects without reaching it."""
    for chunk in chunks:
        yield Batch.damaged(table, chunk) if chunk.damage else parser.feed(chunk)
    yield parser.close()


class ByteSource(Protocol):
    """A whole input as bytes, for a binary format's reader."""

    @property
    def name(self) -> str:
        """The path as given, or ``<stdin>`` (for messages)."""
        ...

    @property
    def path(self) -> Path | None:
        """A regular file holding exactly these bytes (uncompressed), which the reader
        may open, seek in or hand to a tool; None for pipes and compressed inputs."""
        ...

    def stream(self) -> IO[bytes]:
        """The bytes from the first one on (the sniffed head included), read once."""
        ...

    def interrupt_with(self, stop: Callable[[], object]) -> None:
        """Register a way to unblock a read that waits on a producer (kill a renderer)."""
        ...


Reader = Callable[[ByteSource], Iterator[Batch]]


@dataclass
class Head:
    """The first bytes of an input, as sniffers see them (decoded once, bounded)."""

    raw: bytes

    @functools.cached_property
    def text(self) -> str:
        return self.raw.decode("utf-8", "replace")

    @functools.cached_property
    def lines(self) -> list[str]:
        """At most SNIFF_LINES lines, each cut to SNIFF_LINE characters; a last line
        the head cuts short is left out when others precede it."""
        out = self.text.split("\n", SNIFF_LINES)[:SNIFF_LINES]
        if len(out) > 1 and not self.text.endswith("\n"):
            out.pop()
        return [ln[:SNIFF_LINE].rstrip("\r") for ln in out]


@dataclass(frozen=True)
class Series:
    """Inputs of one format given together form one series (vmstat snapshots):
    they go into one run, ordered by ``stamp`` when every input has one (else in
    the order given), each parsed by a parser that ``follow``s the previous one."""

    doc: str
    #: when the input's first snapshot was taken (ns since the epoch), from its head
    stamp: Callable[[Head], int | None]
    #: a parser for the next input of the series, continuing the previous parser's
    #: numbering (snapshot blocks)
    follow: Callable[[Parser], Parser]


@dataclass(frozen=True)
class FormatSpec:
    """One input format, all that ingestion needs to know about it."""

    name: str
    #: the dataset table its records go to
    table: str
    #: one line: what produces it
    doc: str
    #: cheap, bounded (linear in the head), never raises
    sniff: Callable[[Head], bool]
    #: text formats: a new parser for one input
    parser: Callable[[], Parser] | None = None
    #: binary formats: the whole stream in, batches out
    reader: Reader | None = None
    series: Series | None = None
    #: may hold NUL bytes (text formats never do, so a NUL in the head rules them out)
    binary: bool = False
    #: after the first chunk (which fixes the layout), parse chunks on this many
    #: threads while the next are read; 0 parses on the ingest thread
    threads: int = 0
    chunk_bytes: int = 1 << 20
    #: more bytes per chunk where lines are long, for about this many lines each
    #: (``LineReader.chunks``); 0: chunk_bytes always
    chunk_lines: int = 0

    def __post_init__(self) -> None:
        if (self.parser is None) == (self.reader is None):
            raise ValueError(f"format {self.name}: give exactly one of parser and reader")
