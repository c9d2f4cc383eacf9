"""Writing one run's files: staging, Parquet encoding, the commit (see store.py).

Why a module of its own: the commit protocol (journal, manifest, moves, the runs file
last, taking moves back on failure) is the part that must never change by accident;
the dataset's reading side changes more often.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import SpftraceError
from .integrity import MANIFESTS, Head, manifest_for, sha256_head, unpublish
from .outfile import atomic_write, dataset_write_error
from .schema import PARTITION, arrow_schema, to_arrow

if TYPE_CHECKING:
    from .store import Dataset

ROW_GROUP = 128 * 1024
#: rows gathered before a write (each write ends a row group): fewer, larger groups
#: for less writer time, and a bound on what waits in memory
WRITE_ROWS = 64 * 1024
#: rows a data page may hold: Arrow 26 cuts a page at 20,000 rows as well as at
#: data_page_size (1 MB), which made four pages of every column of a 64K-row group,
#: each with its own zstd context, header and level histograms.  Pages cut by size
#: alone (a row group at most) made the events of 1M perf script lines 2 % smaller
#: (4.82 MB, not 4.92; 1.2 % on a perf.data) and their encoding up to 13 % cheaper
#: (the integer columns: 116 ms, not 134; best of 7).  The 20,000 rows serve
#: page-index pruning, and these files write no page index.
PAGE_ROWS = ROW_GROUP
#: a staged file this large when the commit starts has its bytes so far hashed on a
#: thread while the last rows are encoded (``commit``)
HEAD_HASH = 1 << 20
#: values a column writer takes at a time (Arrow's default 1024; the page size is checked
#: between them): a parser's batch in one step.  CPU of the write, best of 21-31
#: alternating: events of ps-1M.txt 324 -> 306 ms, of trace-1M.data 334 -> 311, 1M perf
#: stat counters 93 -> 90; files 0.6 % smaller; a page may pass 1 MB by a batch's values.
WRITE_BATCH = 64 * 1024
DATA_TABLES = ("counters", "events", "rejects", "stats")
#: rising or constant integers: delta encoding is smaller than zstd on plain values and
#: cheaper to write.  period is constant in a tracepoint recording (1) and nearly so in a
#: sampled one; on the events of a 2.2M-sample perf.data it wrote in a quarter of the
#: time (0.03 s instead of 0.11 s) and 0.01 MB instead of 0.55 (bench/PARQUET.md, which
#: also has the encodings tried and left: BYTE_STREAM_SPLIT, which Spark 4's vectorised
#: reader cannot read, and delta on addresses, 4% larger on a real trace)
_ENCODING = {
    "line_no": "DELTA_BINARY_PACKED",
    "ts": "DELTA_BINARY_PACKED",
    "period": "DELTA_BINARY_PACKED",
}
_STATS = frozenset(["line_no", "ts", "block", "input"])
_DICT_COLUMNS = frozenset(
    [
        "origin",
        "event",
        "unit",
        "status",
        "comm",
        "aggr",
        "thread",
        "cgroup",
        "metric_unit",
        "label",
        "source_format",
        "source",
        "host",
        "kernel",
        "command",
        "name",
        "reason",
        # few distinct values (x86 error-code bit sets): as dictionary indices it
        # encodes in half the time of plain values (0.03 s instead of 0.06 s a 1M rows)
        "error_code",
    ]
)
#: zstd, not lz4: lz4 saved the writer 13% of its CPU on the events of 1M perf script
#: lines (0.48 s instead of 0.55 s, bench/text_stages.py) but made the files 1.8x as
#: large (3.5 MB instead of 1.9 MB), and 3x on a 10M-sample perf.data (113 MB instead
#: of 37 MB, bench/LOAD-perf-data.md); datasets are kept for years and copied across
#: fleets, so the 0.07 s per 1M rows is not worth it.  snappy: 7.6 MB for lz4's CPU.
COMPRESSION = "zstd"


_NAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")


def sanitize_run_name(name: str) -> str:
    """A run name that is safe as one directory level: ``[A-Za-z0-9._-]``, no
    leading dot or dash, at most 100 characters.  ``../x`` becomes ``x``."""
    cleaned = _NAME_BAD.sub("-", name).strip("-.")
    cleaned = re.sub(r"-{2,}", "-", cleaned)[:100].strip("-.")
    return cleaned or "run"


class ParquetFileWriter:
    """``pyarrow.parquet.ParquetWriter`` of a local path, without its import:
    ``pyarrow.parquet`` imports ``pyarrow.fs`` (and with it ssl and the cloud file
    systems: 14-19 ms of every ingest's start-up) to open a local file, which
    ``pyarrow._parquet.ParquetWriter`` opens itself.  The options are the wrapper's
    defaults (format version 2.6, writer engine V2, no int96 timestamps), so the
    file is the same byte for byte (tests/test_store.py compares them)."""

    def __init__(self, path: Path, schema: Any, **options: Any) -> None:
        from pyarrow._parquet import ParquetWriter

        self.schema = schema
        self._w = ParquetWriter(
            str(path), schema, version="2.6", writer_engine_version="V2",
            use_deprecated_int96_timestamps=False, **options,
        )  # fmt: skip
        self._open = True

    def write_table(self, table: Any, row_group_size: int) -> None:
        if not table.schema.equals(self.schema, check_metadata=False):
            raise ValueError(f"table schema does not match the file's:\n{table.schema}")
        self._w.write_table(table, row_group_size=row_group_size)

    def close(self) -> None:
        if self._open:
            self._open = False
            self._w.close()


@dataclass
class _Open:
    writer: ParquetFileWriter
    path: Path
    rows: int = 0
    #: tables not yet written, fewer than WRITE_ROWS rows together (``_flush``)
    pending: list[Any] = field(default_factory=list)
    pending_rows: int = 0


class RunWriter:
    """Writes one run's new files into staging; ``commit()`` publishes them."""

    def __init__(self, ds: Dataset, run: str, first_input: int) -> None:
        if run != sanitize_run_name(run):
            raise SpftraceError(f"invalid run name {run!r}")
        self.ds = ds
        self.run = run
        self.first_input = first_input
        self.id = uuid.uuid4().hex[:12]
        #: the staged files' names start with this (``.staging-ID.events.parquet``, in
        #: the dataset's directory: see commit); the first is made with the first write,
        #: under the lock
        self.staging = ds.path / f".staging-{self.id}"
        self._open: dict[str, _Open] = {}
        self._schemas: dict[str, Any] = {}
        #: writes come from the ingest's writer thread; an abort (Ctrl-C, SIGTERM in the
        #: main thread) waits for the write in progress and refuses later ones, so that
        #: no staged file is made after they were removed
        self._lock = threading.Lock()
        self._aborted = False

    @contextlib.contextmanager
    def _io(self) -> Iterator[None]:
        """An OSError (a full disk, a read-only file system) as one line naming the
        dataset; the caller aborts, so the dataset stays as it was."""
        try:
            yield
        except OSError as exc:
            raise SpftraceError(dataset_write_error(self.ds.path, exc)) from None

    def schema(self, table: str) -> Any:
        """The table's schema as written (with spftrace's version in its metadata)."""
        schema = self._schemas.get(table)
        if schema is None:
            schema = arrow_schema(table)
            schema = schema.with_metadata(
                {**(schema.metadata or {}), b"spftrace.version": __version__.encode()}
            )
            self._schemas[table] = schema
        return schema

    def _file(self, table: str) -> _Open:
        o = self._open.get(table)
        if o is None:
            schema = self.schema(table)
            path = self._staged(f"{table}.parquet")
            # dictionary pages only where values repeat (names, comms, statuses);
            # payloads and addresses are nearly unique and only slow the writer down.
            # Line numbers and timestamps rise: delta encoding halves them and is
            # cheaper than zstd on plain values.  Min/max statistics only where a
            # range query can use them (time, line); on payloads, addresses and ids
            # they cost writing time and prune nothing.  Measured together, once, on
            # the events of 1M perf script lines: written in 0.21 s instead of 0.27 s,
            # 4.3 MB instead of 6.5 MB.
            names = [f.name for f in schema]
            o = _Open(
                ParquetFileWriter(
                    path,
                    schema,
                    compression=COMPRESSION,
                    use_dictionary=[c for c in names if c in _DICT_COLUMNS],
                    column_encoding={c: _ENCODING[c] for c in names if c in _ENCODING},
                    write_statistics=[c for c in names if c in _STATS],
                    data_page_version="2.0",
                    max_rows_per_page=PAGE_ROWS,
                    write_batch_size=WRITE_BATCH,
                ),
                path,
            )
            self._open[table] = o
        return o

    def write(self, table: str, columns: Any, input_no: int) -> None:
        """Append rows: a dict of column lists, or a pyarrow Table without ``input``."""
        self.append(table, self.prepare(table, columns, input_no))

    def prepare(self, table: str, columns: Any, input_no: int) -> Any:
        """The rows as a Table of the written schema (``input`` and the columns the
        rows lack added), or None for no rows.  No I/O: the ingest calls it on its
        own thread, so that the writer thread (the busiest one of a large text
        ingest) only encodes (``append``)."""
        from array import array

        import pyarrow as pa

        schema = self.schema(table)
        if isinstance(columns, dict):
            n = len(next(iter(columns.values()))) if columns else 0
        else:
            n = columns.num_rows
        if n == 0:
            return None
        arrays = []
        for f in schema:
            if f.name == "input":
                # from buffers: pa.array(ndarray) would load Arrow's compute functions
                data = pa.py_buffer(array("i", [input_no]) * n)  # (no numpy: spftrace.cli)
                arrays.append(pa.Array.from_buffers(pa.int32(), n, [None, data]))
            elif isinstance(columns, dict):
                if f.name in columns:
                    arrays.append(to_arrow(columns[f.name], f.type))
                else:  # a column this format never fills (callchain of a vmstat row)
                    arrays.append(pa.nulls(n, f.type))
            elif f.name not in columns.schema.names:
                arrays.append(pa.nulls(n, f.type))
            else:
                col = columns.column(f.name)
                arrays.append(col if col.type == f.type else col.cast(f.type))
        return pa.Table.from_arrays(arrays, schema=schema)

    def append(self, table: str, rows: Any) -> None:
        """Append a Table from ``prepare`` (None: nothing) to the table's file."""
        with self._lock:
            if self._aborted:
                return
            with self._io():
                o = self._file(table)  # (made for no rows too, as it always was)
            if rows is None:
                return
            o.pending.append(rows)
            o.pending_rows += rows.num_rows
            o.rows += rows.num_rows
            if o.pending_rows >= WRITE_ROWS:
                self._flush(o)

    def _flush(self, o: _Open) -> None:
        """Write the pending tables as whole row groups.  A parser's batch is one
        chunk's rows (~7k perf script lines); written one by one they made 70 row
        groups of 15k rows for 1M lines, and the writer spent a third more time on
        them (0.35 s of CPU instead of 0.25 s, measured in bench/whole.py's input)."""
        import pyarrow as pa

        if not o.pending:
            return
        table = o.pending[0] if len(o.pending) == 1 else pa.concat_tables(o.pending)
        o.pending, o.pending_rows = [], 0
        with self._io():
            o.writer.write_table(table, row_group_size=ROW_GROUP)

    def _staged(self, name: str) -> Path:
        return self.staging.with_name(f"{self.staging.name}.{name}")

    def _target(self, table: str) -> Path:
        """Where a table's staged file is published, relative to the dataset."""
        return Path(table) / f"{PARTITION}={self.run}" / f"part-{self.first_input:05d}.parquet"

    def commit(self) -> None:
        """Publish: data files and the manifest first, the runs file last (the commit
        point).  Any failure before that point takes back what was moved.

        Files are staged in the dataset's directory (``.staging-ID.events.parquet``),
        not in a tree of the dataset's layout: on ext4 shared with other writers each
        directory made or removed cost 0.5-10 ms, and removing the ten staging
        directories after the moves took 20-36 ms of the 80-180 between perf script's
        exit and the ingest's (``perf script | spftrace ingest -``, timestamps on
        stderr).  The journal (durable) and the directories the moves need are made on a
        thread of their own (``_prepare``) while this one encodes the last rows,
        closes the files and hashes them for the manifest: the fsync and the
        directories waited on the disk, the encoding and hashing on the CPU.  A
        large file's bytes written so far (all of it but its last row group and its
        footer) are hashed on another thread meanwhile (SHA-256 of the events of 1M
        perf script lines, 4.7 MB: 4-5 ms)."""
        if "runs" not in self._open:
            raise AssertionError("a run without a runs row cannot be committed")
        order = [t for t in DATA_TABLES if t in self._open] + ["runs"]
        files = [(self._target(t), self._open[t].path) for t in order]
        manifest = self._staged("manifest.json")
        published = (
            Path(MANIFESTS) / f"{PARTITION}={self.run}" / f"part-{self.first_input:05d}.json"
        )
        staged = [*files[:-1], (published, manifest), files[-1]]
        moves = [(str(src), str(self.ds.path / rel)) for rel, src in staged]
        journal = self.ds.path / f".commit-{self.id}.json"
        made: list[Path] = []  # directories _prepare made, for a failure to take back
        failed: list[BaseException] = []
        prep = threading.Thread(
            target=self._prepare, args=(moves, journal, made, failed),
            name="spftrace-commit", daemon=True,
        )  # fmt: skip
        prep.start()
        heads: dict[Path, Head] = {}
        big = [(o.path, n) for o in self._open.values() if (n := _size(o.path)) >= HEAD_HASH]
        hashing = threading.Thread(
            target=_hash_heads, args=(big, heads), name="spftrace-hash", daemon=True
        )
        hashing.start()
        try:
            with self._io():
                for o in self._open.values():
                    self._flush(o)
                    o.writer.close()
                hashing.join()
                record = manifest_for(files, self.run, self.first_input, heads)
                manifest.write_text(json.dumps(record, indent=1) + "\n")
                prep.join()
                if failed:
                    raise failed[0]
        except BaseException:
            hashing.join()
            prep.join()
            self._unprepare(made, journal)
            raise
        with self._io():
            done: list[Path] = []
            try:
                for src_name, dst in moves:
                    d = Path(dst)
                    if d.exists():
                        raise SpftraceError(
                            f"{d} already exists; the dataset is being written twice"
                        )
                    os.replace(src_name, d)
                    done.append(d)
            except BaseException:
                if len(done) < len(moves):  # the runs file is not in: undo
                    self._rollback(done, [Path(d) for _s, d in moves], journal)
                raise
            journal.unlink()
        self.ds._commits = None

    def _prepare(
        self,
        moves: list[tuple[str, str]],
        journal: Path,
        made: list[Path],
        failed: list[BaseException],
    ) -> None:
        """The journal, durably, then the partition directories the moves need (after
        it: a crash in between leaves directories that recovery, reading the journal,
        removes).  Runs on its own thread (see commit); an error goes into ``failed``."""
        try:
            atomic_write(journal, json.dumps({"moves": moves}).encode(), durable=True)
            for _src, dst in moves:
                for d in (Path(dst).parent.parent, Path(dst).parent):
                    try:
                        d.mkdir()
                    except FileExistsError:
                        continue
                    made.append(d)
        except BaseException as exc:  # (re-raised by commit, on its own thread)
            failed.append(exc)

    def _unprepare(self, made: list[Path], journal: Path) -> None:
        """Take back what ``_prepare`` made: nothing was moved yet."""
        for d in reversed(made):
            with contextlib.suppress(OSError):
                d.rmdir()
        journal.unlink(missing_ok=True)

    def _rollback(self, done: list[Path], targets: list[Path], journal: Path) -> None:
        """Take back the files a failed commit moved in (as recovery would), and the
        partition directories it made for them."""
        unpublish(done, self.ds.path)
        for d in targets:
            for parent in (d.parent, d.parent.parent):
                if parent != self.ds.path:
                    with contextlib.suppress(OSError):
                        parent.rmdir()
        journal.unlink(missing_ok=True)

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
            for o in self._open.values():
                with contextlib.suppress(Exception):
                    o.writer.close()
            for f in self.ds.path.glob(f"{self.staging.name}.*"):
                with contextlib.suppress(OSError):
                    f.unlink()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _hash_heads(files: list[tuple[Path, int]], heads: dict[Path, Head]) -> None:
    """The first ``n`` bytes of each file hashed into ``heads`` (one that cannot be read
    is left out: the manifest then hashes all of it, and reports the error)."""
    for path, n in files:
        with contextlib.suppress(OSError):
            heads[path] = sha256_head(path, n)
