"""The perf stat parser: lines in, counter rows out, in one pass over an input.

Each line is tokenised by the first grammar that takes it (``human``,
``csv_lines``, ``json_lines``: tokenising never looks at state), then turned
into a row here: its block (``blocks``), a wrapped noise line amending the row
before it, perf's error output, the header's command.  Rows are kept as tuples
(one allocation per line) and transposed into columns once per chunk: appending
to 18 lists per line halved throughput.  Large chunks go through the vectorised
paths first (``fast``), which hand back the lines they cannot prove.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any

from ..lines import Chunk
from ..numbers import parse_plain_number, seconds_to_ns
from ..spec import ArrowTable, Batch, Reject, Stat, rows_table
from . import compiled, fast
from .blocks import Blocks, Key
from .csv_lines import CsvShape, csv_fields, detect_sep, looks_locale_mangled, shape_of
from .human import FAST_RE, footer_fields, human_fields
from .json_lines import json_fields, load_json
from .keys import first_line_per_group
from .tokens import (
    BARE_NUMBER_RE,
    COUNTERISH_RE,
    ERROR_RE,
    HEADER_RE,
    IGNORABLE_PREFIXES,
    METRIC_ONLY_RE,
    NOISE_ONLY_RE,
    STATUS,
    TABLE_ROW_RE,
    VERBOSE_RE,
    Fields,
)

TABLE = "counters"
ORIGIN = "perf-stat"

#: column order of the row tuples the parser accumulates (transposed once per chunk)
COLUMNS = (
    "line_no", "block", "origin", "ts", "cpu", "aggr", "aggr_cpus", "thread", "cgroup",
    "event", "value", "unit", "variance_pct", "enabled_pct", "run_ns", "status",
    "metric_value", "metric_unit",
)  # fmt: skip
_VARIANCE = COLUMNS.index("variance_pct")


_I32 = 2**31
_I64 = 2**63


def _fits(f: Fields) -> bool:
    """Whether a row's integers fit their columns (int32 ids, int64 ns)."""
    return all(v is None or -_I32 <= v < _I32 for v in (f["cpu"], f["aggr_cpus"])) and all(
        v is None or -_I64 <= v < _I64 for v in (f["ts"], f["run_ns"])
    )


def _ints_array(values: Any, typ: Any) -> Any:
    """Integers (numpy, or a list) as an Arrow array from their buffer: ``pa.array``
    of either makes pyarrow import pandas (0.25 s of the first chunk; schema.to_arrow)."""
    import numpy as np
    import pyarrow as pa

    packed = np.ascontiguousarray(values, np.dtype(typ.to_pandas_dtype()))
    return pa.Array.from_buffers(typ, len(packed), [None, pa.py_buffer(packed)])


def _concat(tables: list[Any]) -> Any:
    import pyarrow as pa

    return pa.concat_tables(tables)


@functools.cache
def _origin() -> Any:
    """ORIGIN as an Arrow scalar (``pa.scalar`` would import pandas too)."""
    import pyarrow as pa

    from ...schema import to_arrow

    return to_arrow([ORIGIN], pa.string())[0]


class PerfStatParser:
    """Stateful over one input: blocks, CSV separator and layout, pending error."""

    def __init__(self) -> None:
        self.blocks = Blocks()
        self._last_tstr = ""
        self._last_tns = 0
        self.sep: str | None = None
        self.csv_shape: CsvShape | None = None
        self.command: str | None = None
        self.target: str | None = None
        self.perf_error: str | None = None
        self.foreign = 0
        self.last_has_row = False
        #: between a "Performance counter stats" header and its footer: a bare
        #: number there is a damaged counter line, elsewhere the workload's output
        self.in_block = False
        self._rows: list[tuple[Any, ...]] = []
        self._segments: list[Any] = []  # pyarrow Tables, in line order
        #: the segments whose blocks' events are noted already (``segment_table``)
        self._noted: set[int] = set()
        self.noted_table: ArrowTable | None = None
        self.out = Batch.empty(TABLE)
        #: lines each vectorised path took (tests check that every path is used)
        self.fast_lines: dict[str, int] = {}
        #: per block: its events, first line and (from its header) command
        self.block_events: dict[int, set[str]] = {}
        self.block_line: dict[int, int] = {}
        self.block_command: dict[int, str] = {}

    # -- entry points ---------------------------------------------------------
    def feed(self, chunk: Chunk) -> Batch:
        if compiled.feed_compiled(self, chunk):
            return self._take()
        return self.feed_lines(chunk.lines(), chunk.first_line_no)

    def feed_lines(self, lines: Sequence[str], first_line_no: int) -> Batch:
        if not fast.feed_vectorised(self, list(lines), first_line_no):
            self.line_path(lines, first_line_no)
        return self._take()

    def close(self) -> Batch:
        out = self._take()
        self._workloads(out)
        return out

    def _workloads(self, out: Batch) -> None:
        """Blocks of different workloads (another event set, or another command in
        their headers; a block with a header is only compared with one that has one,
        and a headerless one with a headerless one): a note, and stats that tell the
        fault model to count the first workload only (analysis.model) instead of
        summing them as repetitions."""
        blocks = sorted(self.block_events)
        starts = []
        for prev, cur in itertools.pairwise(blocks):
            a, b = self.block_command.get(prev), self.block_command.get(cur)
            if (a is None) != (b is None):
                continue  # workload output counted as a row before a header: not a workload
            if self.block_events[prev] != self.block_events[cur] or a != b:
                starts.append(cur)
        if not starts:
            return
        out.stats += [
            Stat("perf_stat_workloads", None, len(starts) + 1),
            Stat("perf_stat_first_workload_blocks", None, blocks.index(starts[0])),
        ]
        first = starts[0]
        what = ", ".join(sorted(self.block_events[first]))
        cmd = self.block_command.get(first)
        out.notes.append(
            f"perf stat: {len(starts) + 1} different workloads in one input (from line "
            f"{self.block_line[first]}: {repr(cmd) if cmd else what}); they are not summed: "
            "the report counts the first one; ingest each part as its own run"
        )

    def _note_blocks(self, table: Any) -> None:
        """Remember which events each block of ``table`` counts, and where it starts."""
        if not table.num_rows:
            return
        # (a few groups per block, however many interval rows)
        self._note(first_line_per_group(table["block"], table["event"], table["line_no"]))

    def _note(self, groups: Sequence[tuple[int, str, int]]) -> None:
        """``(block, event, its first line)`` into the blocks' events and first lines."""
        for block, event, line_no in groups:
            if event.startswith("seconds-"):  # footers: printed or not, the same workload
                continue
            self.block_events.setdefault(block, set()).add(event)
            if line_no < self.block_line.get(block, line_no + 1):
                self.block_line[block] = line_no

    # -- output plumbing ------------------------------------------------------
    def _take(self) -> Batch:
        out = self.out
        self._flush_rows()
        segments, noted = self._segments, self._noted
        self._segments, self._noted = [], set()
        if len(segments) > 1:
            import pyarrow as pa

            out.rows = pa.concat_tables(segments)
        elif segments:
            out.rows = segments[0]
        if noted:
            rest = [t for k, t in enumerate(segments) if k not in noted]
            if rest:
                self._note_blocks(rest[0] if len(rest) == 1 else _concat(rest))
        else:
            self._note_blocks(out.rows)
        if self.command is not None:
            out.meta["command"] = self.command
        if self.target is not None:
            out.meta["target"] = self.target
        self._rows = []
        self.out = Batch.empty(TABLE)
        # a wrapped "( +- x% )" line may follow in the next chunk: it is then ignored
        self.last_has_row = False
        return out

    def _flush_rows(self) -> None:
        """Turn the tuple rows gathered so far into a table segment (keeps line order)."""
        if self._rows:
            cols = dict(zip(COLUMNS, map(list, zip(*self._rows, strict=True)), strict=True))
            self._segments.append(rows_table(TABLE, cols))
            self._rows = []

    def segment_table(
        self,
        line_no: Any,
        cols: dict[str, Any],
        key_hash: Any = None,
        *,
        distinct: bool = False,
        firsts: Sequence[tuple[int, str]] | None = None,
    ) -> ArrowTable:
        """A vectorised path's rows (numpy line numbers, Arrow columns but the block),
        their blocks assigned in order, as the per-line path assigns them
        (``key_hash``, ``distinct``: see ``Blocks.assign_columns``).  ``firsts``:
        each event's first row as (row, event), in row order, when the caller knows
        them (the compiled scanner): if every row falls in one block, the events are
        noted from these (``_note_blocks`` would find the same) and ``add_segment``
        is told so by ``self.noted_table``."""
        import pyarrow as pa

        from ...schema import parser_schema

        n = len(line_no)
        key_cols = [cols[c] for c in ("ts", "cpu", "aggr", "thread", "cgroup", "event")]
        block = self.blocks.assign_columns(key_cols, key_hash, distinct)
        self.noted_table = None
        noted = firsts is not None and n > 0 and block[0] == block[-1]
        arrays = {
            "line_no": _ints_array(line_no, pa.int64()),
            "block": _ints_array(block, pa.int32()),
            "origin": pa.repeat(_origin(), n),
            **cols,
        }
        schema = parser_schema(TABLE)
        cast = [a if (a := arrays[f.name]).type == f.type else a.cast(f.type) for f in schema]
        table: ArrowTable = pa.Table.from_arrays(cast, schema=schema)  # (a cast of each
        # column to the type it has cost 0.15 ms of a chunk's Python: pyarrow.compute)
        if noted and firsts is not None:  # (rows in line order: the first is the smallest)
            b = int(block[0])
            self._note([(b, event, int(line_no[row])) for row, event in firsts])
            self.noted_table = table
        return table

    def add_segment(
        self, path: str, table: ArrowTable | None, n_lines: int, n_records: int
    ) -> None:
        """Account for ``n_lines`` lines the vectorised ``path`` took (``n_records`` of
        them rows in ``table``, the others ignorable)."""
        self.fast_lines[path] = self.fast_lines.get(path, 0) + n_lines
        self._flush_rows()
        if table is not None and table.num_rows:
            if table is self.noted_table:
                self._noted.add(len(self._segments))
            self._segments.append(table)
        self.noted_table = None
        self.out.lines += n_lines
        self.out.record_lines += n_records
        self.out.ignored += n_lines - n_records
        if n_records:
            self.perf_error = None
        self.last_has_row = False

    def _ts_ns(self, text: str) -> int:
        if text != self._last_tstr:
            self._last_tstr = text
            self._last_tns = seconds_to_ns(text)
        return self._last_tns

    def _row(self, line_no: int, f: Fields, raw: str) -> None:
        if not _fits(f):
            self._reject(line_no, raw, "a number on this line is too large for its column")
            return
        key: Key = (f["ts"], f["cpu"], f["aggr"], f["thread"], f["cgroup"], f["event"])
        block = self.blocks.assign(key)
        self._rows.append(
            (line_no, block, ORIGIN, f["ts"], f["cpu"], f["aggr"], f["aggr_cpus"], f["thread"],
             f["cgroup"], f["event"], f["value"], f["unit"], f["variance"], f["enabled"],
             f["run_ns"], f["status"], f["mv"], f["mu"])
        )  # fmt: skip
        self.out.record_lines += 1
        self.last_has_row = True
        self.perf_error = None

    # -- the per-line path ------------------------------------------------------
    def line_path(self, lines: Sequence[str], first_line_no: int) -> None:
        """Every line in order: the common human shapes inline (FAST_RE), the rest
        through ``_slow``."""
        fast_match = FAST_RE.match
        out = self.out
        append = self._rows.append
        status_of = STATUS.get
        blocks = self.blocks
        line_no = first_line_no - 1
        for raw in lines:
            line_no += 1
            out.lines += 1
            m = fast_match(raw)
            if m is None or len(m.group(2) or m.group(4) or "") > 9 or len(m.group(1) or "") > 19:
                self._slow(line_no, raw.rstrip(), raw)  # (numbers that may not fit: checked)
                continue
            t, c, aggr, nr, v, unit, event, mv, mu, mpx = m.groups()
            ts = self._ts_ns(t) if t is not None else None
            cpu = int(c) if c is not None else None
            block = blocks.assign((ts, cpu, aggr, None, None, event))
            status = status_of(v, "counted")
            append(
                (line_no, block, ORIGIN, ts, cpu, aggr, int(nr) if nr else None, None,
                 None, event, float(v) if status == "counted" else None, unit, None,
                 float(mpx) if mpx else None, None, status, float(mv) if mv else None, mu)
            )  # fmt: skip
            out.record_lines += 1
            self.last_has_row = True
            self.perf_error = None

    def _ignore(self) -> None:
        self.out.ignored += 1
        self.last_has_row = False

    def _reject(self, line_no: int, raw: str, reason: str) -> None:
        self.out.rejects.append(Reject(line_no, raw.rstrip("\r\n"), reason))
        self.last_has_row = False

    def _slow(self, line_no: int, line: str, raw: str) -> None:
        stripped = line.strip()
        if not stripped:
            self._ignore()
            return
        if stripped.startswith("{"):
            self._json(line_no, stripped, raw)
            return
        if stripped.startswith("#") and self._csv(line_no, line, None):
            return  # a per-thread CSV row whose comm starts with "# "
        if stripped == "#" or stripped.startswith(("# ", "#\t")):  # perf's comments
            if stripped.startswith("# started on") and self.blocks.has_total:
                self.blocks.next_block()
            self._ignore()
            return
        h = HEADER_RE.match(line)
        if h is not None:
            if self.blocks.has_total:
                self.blocks.next_block()
            if h.group("what") is None and h.group("target") not in ("system wide", "pipe"):
                target = h.group("target")
                if not target.startswith("CPU(s) ") and not target.startswith("BPF program"):
                    self.command = self.command or target
                    self.block_command[self.blocks.block] = target
            self.target = self.target or h.group("target")
            self.perf_error = None
            self.in_block = True
            self._ignore()
            return
        f = footer_fields(line)
        if f is not None:
            self.in_block = False
            self._row(line_no, f, raw)
            return
        n = NOISE_ONLY_RE.match(line)
        if n is not None and self.last_has_row:
            last = list(self._rows[-1])
            last[_VARIANCE] = parse_plain_number(n.group("pct"))
            self._rows[-1] = tuple(last)
            self._ignore()
            return
        # CSV first: its validation is strict (it needs the RUN,PCNT anchor), while
        # the human grammar would take "a,b,c" as an event name
        if self._csv(line_no, line, self.sep):
            return
        f = human_fields(line)
        if f is not None:
            self._row(line_no, f, raw)
            return
        if METRIC_ONLY_RE.match(line) or TABLE_ROW_RE.match(line) or VERBOSE_RE.match(line):
            self._ignore()
            return
        if stripped.startswith(IGNORABLE_PREFIXES) or raw.startswith("\t"):
            self._ignore()
            return
        if ERROR_RE.match(line) or self.perf_error is not None:
            if self.perf_error is None:
                self.perf_error = stripped
            self._reject(
                line_no, raw, f"perf reported an error instead of counts: {self.perf_error!r}"
            )
            return
        if not self.in_block and BARE_NUMBER_RE.match(line):
            self._foreign(line_no)  # `perf stat -- CMD 2>&1`: CMD printed a count
            return
        if COUNTERISH_RE.match(line):
            reason = "unparseable perf stat counter line"
            if looks_locale_mangled(line):
                reason = (
                    "decimal comma collides with the CSV separator (perf ran under a "
                    "de_DE-style LC_NUMERIC); rerun perf with LC_ALL=C or -x';'"
                )
            self._reject(line_no, raw, reason)
            return
        self._foreign(line_no)

    def _foreign(self, line_no: int) -> None:
        """A line that is not perf's (the workload's output): ignored and counted."""
        self.foreign += 1
        self.out.stats.append(Stat("foreign_lines", None, 1))
        if self.out.first_foreign is None:
            self.out.first_foreign = line_no
        self._ignore()

    def _csv(self, line_no: int, line: str, sep: str | None) -> bool:
        """A CSV row with the input's separator, else with one found in the line."""
        f = csv_fields(line, sep) if sep is not None else None
        if f is None:
            sep = detect_sep(line)
            f = csv_fields(line, sep) if sep is not None else None
        if f is None or sep is None:
            return False
        if self.sep != sep or self.csv_shape is None:
            self.sep = sep
            self.csv_shape = shape_of(line, sep, f)
        self._row(line_no, f, line)
        return True

    def _json(self, line_no: int, text: str, raw: str) -> None:
        obj = load_json(text)
        if obj is None:
            reason = "invalid JSON line (truncated, or not perf stat -j output)"
            self._reject(line_no, raw, reason)
            return
        if "counter-value" not in obj:
            self._ignore()  # {} / metric-only / metricgroup lines carry no counter
            return
        try:
            f = json_fields(obj)
        except (ValueError, TypeError) as exc:
            self._reject(line_no, raw, f"unexpected perf stat JSON: {exc}")
            return
        self._row(line_no, f, raw)
