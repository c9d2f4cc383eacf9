"""The per-VMA-lock pass's rows in (tid, ts, seq) order when file order will not do.

Why a merge on disk: one ORDER BY over the whole run had DuckDB fill its memory limit
beside the pass's own batches (a 10M-line repeated trace peaked at 715 MB), and DuckDB
sorting ranges of that order read each row group once per thread.  So the rows are read
once, in the cheap file-order slices; each slice is sorted and written to a temporary
Arrow file (a sorted run), and the runs are merged a block of each at a time.
Why re-batched: the merged rows go to the pass in batches of exactly ``batch_rows``, as
the one sorted query handed them over, so the figures cannot depend on the slices.
"""

from __future__ import annotations

import tempfile
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

#: rows per sorted run (pyarrow sorts one at a time)
RUN_ROWS = 1 << 19
#: rows of all the runs' blocks in memory while merging, and of a run's record batches
MERGE_ROWS = 1 << 18
CHUNK_ROWS = 1 << 12
#: rows per batch handed to the pass (its numpy working set grows with it)
BATCH_ROWS = 1 << 17
_KEYS = [("tid", "ascending"), ("ts", "ascending"), ("seq", "ascending")]


def batches(slices: Iterable[Any], batch_rows: int) -> Generator[Any, None, None]:
    """The rows of ``slices`` (Arrow batches, with tid, ts and seq, no nulls there, seq
    distinct) in (tid, ts, seq) order, in batches of ``batch_rows`` rows."""
    with tempfile.TemporaryDirectory(prefix="spftrace-sort-") as tmp:
        runs = _write_runs(slices, Path(tmp))
        yield from _rebatch(_merge(runs), batch_rows)


def _write_runs(slices: Iterable[Any], tmp: Path) -> list[Path]:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    runs: list[Path] = []
    pending: list[Any] = []
    have = 0

    def flush() -> None:
        nonlocal pending, have
        table = pa.Table.from_batches(pending).sort_by(_KEYS)
        pending, have = [], 0
        path = tmp / f"run-{len(runs)}.arrow"
        with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as out:
            out.write_table(table, max_chunksize=CHUNK_ROWS)
        runs.append(path)

    for batch in slices:
        if batch.num_rows:
            pending.append(batch)
            have += batch.num_rows
            if have >= RUN_ROWS:
                flush()
    if have:
        flush()
    return runs


class _Run:
    """A sorted run's blocks, one in memory at a time, with its keys as numpy."""

    def __init__(self, path: Path, chunks: int) -> None:
        import pyarrow as pa
        import pyarrow.ipc as ipc

        self.file = pa.OSFile(str(path), "rb")
        self.reader = ipc.open_file(self.file)
        self.next = 0
        self.chunks = chunks  # record batches per block
        self.block: Any = None
        self.keys: tuple[Any, Any, Any] = (np.zeros(0),) * 3
        self.load()

    def load(self) -> None:
        """The next block, or ``block`` None when the run is done."""
        if self.next >= self.reader.num_record_batches:
            self.block = None
            self.file.close()
            return
        import pyarrow as pa

        end = min(self.next + self.chunks, self.reader.num_record_batches)
        self.block = pa.concat_batches([self.reader.get_batch(i) for i in range(self.next, end)])
        self.next = end
        self.keys = tuple(
            self.block.column(c).to_numpy(zero_copy_only=False) for c in ("tid", "ts", "seq")
        )

    def last(self) -> tuple[int, int, int]:
        return (int(self.keys[0][-1]), int(self.keys[1][-1]), int(self.keys[2][-1]))

    def upto(self, key: tuple[int, int, int]) -> int:
        """How many rows of the block are at most ``key`` (a prefix: the block is sorted)."""
        tid, ts, seq = self.keys
        le = (tid < key[0]) | (
            (tid == key[0]) & ((ts < key[1]) | ((ts == key[1]) & (seq <= key[2])))
        )
        return int(le.sum())


def _merge(paths: list[Path]) -> Iterator[Any]:
    """Sorted tables: everything up to the smallest last key of the runs' blocks."""
    import pyarrow as pa

    chunks = max(1, MERGE_ROWS // CHUNK_ROWS // max(1, len(paths)))
    runs = [_Run(p, chunks) for p in paths]
    live = [r for r in runs if r.block is not None]
    while live:
        bound = min(r.last() for r in live)
        parts = []
        for r in live:
            n = r.upto(bound)
            if n:
                parts.append(r.block.slice(0, n))
            if n == r.block.num_rows:
                r.load()
            else:
                r.block = r.block.slice(n)
                r.keys = tuple(k[n:] for k in r.keys)
        live = [r for r in live if r.block is not None]
        yield pa.Table.from_batches(parts).sort_by(_KEYS)


def _rebatch(source: Iterator[Any], rows: int) -> Generator[Any, None, None]:
    """``source``'s rows (tables) in batches of exactly ``rows`` (the last one fewer)."""
    import pyarrow as pa

    pending: list[Any] = []
    have = 0
    for table in source:
        pending.append(table)
        have += table.num_rows
        while have >= rows:
            whole = pa.concat_tables(pending)
            yield pa.concat_batches(whole.slice(0, rows).to_batches())
            rest = whole.slice(rows)
            pending, have = [rest], rest.num_rows
    if have:
        yield pa.concat_batches(pa.concat_tables(pending).to_batches())
