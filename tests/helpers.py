"""Shared test helpers: parse a file with a format's parser; golden tables."""

from __future__ import annotations

import csv
import io
import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spftrace.errors import SpftraceError
from spftrace.formats import FORMATS
from spftrace.formats.lines import Chunk
from spftrace.formats.spec import Batch, Parser, Reject, parse_chunks
from spftrace.ingest.inputs import open_input

DATA = Path(__file__).with_name("data")
UPDATE = os.environ.get("SPFTRACE_UPDATE_GOLDEN") == "1"


def make_parser(fmt: str) -> Parser:
    factory = FORMATS[fmt].parser
    assert factory is not None, f"{fmt} is read by a reader, not a parser"
    return factory()


class Parsed:
    def __init__(self, outputs: list[Batch], parser: Any) -> None:
        self.parser = parser
        self.table = outputs[0].table
        self.rows: list[dict[str, Any]] = []
        self.rejects: list[Reject] = []
        self.lines = self.record_lines = self.ignored = 0
        self.meta: dict[str, str] = {}
        self.stats: dict[str, int] = {}
        for out in outputs:
            out.check()
            cols = out.rows.to_pydict()
            keys = list(cols)
            self.rows += [dict(zip(keys, v, strict=True)) for v in zip(*cols.values(), strict=True)]
            self.rejects += out.rejects
            self.lines += out.lines
            self.record_lines += out.record_lines
            self.ignored += out.ignored
            self.meta.update(out.meta)
            for name, _cpu, value in out.stats:
                self.stats[name] = self.stats.get(name, 0) + value


def parse_path(fmt: str, path: Path) -> Parsed:
    inp = open_input(path)
    try:
        parser = make_parser(fmt)
        outs = list(parse_chunks(parser, inp.lines().chunks(), FORMATS[fmt].table))
    finally:
        inp.close()
    return Parsed(outs, parser)


def parse_text(fmt: str, text: str) -> Parsed:
    parser = make_parser(fmt)
    return Parsed([parser.feed(Chunk.of_text(text)), parser.close()], parser)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, dict):
        return ";".join(f"{k}={v[k]}" for k in sorted(v))
    if isinstance(v, list) and v and isinstance(v[0], dict):  # a callchain, innermost first
        return "<".join(f"{f['sym'] or hex(f['ip'])}+{f['off']}" for f in v)
    if isinstance(v, list):
        return ";".join(f"{k}={val}" for k, val in v)
    return str(v)


def expected_table(parsed: Parsed, skip: tuple[str, ...] = ("origin",)) -> str:
    """A readable table: a summary line, the rows (non-empty columns only), the rejects."""
    cols = [c for c in (parsed.rows[0] if parsed.rows else {}) if c not in skip]
    cols = [c for c in cols if any(r[c] not in (None, "") for r in parsed.rows)]
    buf = io.StringIO()
    buf.write(
        f"# lines={parsed.lines} record_lines={parsed.record_lines} ignored={parsed.ignored} "
        f"rejected={len(parsed.rejects)} rows={len(parsed.rows)}"
        + "".join(f" {k}={v!r}" for k, v in sorted(parsed.meta.items()))
        + "".join(f" {k}={v}" for k, v in sorted(parsed.stats.items()))
        + "\n"
    )
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in parsed.rows:
        w.writerow([_cell(r[c]) for c in cols])
    for rej in parsed.rejects:
        w.writerow(["#reject", rej.line_no, rej.reason])
    return buf.getvalue()


def check_golden(actual: str, expected_path: Path) -> None:
    if UPDATE or not expected_path.exists():
        if not UPDATE:
            raise AssertionError(
                f"{expected_path} is missing: run `make golden`, review the table, commit it"
            )
        expected_path.write_text(actual)
        return
    expected = expected_path.read_text()
    assert actual == expected, f"{expected_path} differs (review, then `make golden`)"


def traced_peak(fn: Callable[[], Any]) -> tuple[Any, int]:
    """``fn()`` (or the SpftraceError it raised) and the peak of Python's allocations
    meanwhile (tracemalloc: read bytes and numpy arrays live there)."""
    tracemalloc.start()
    try:
        try:
            out: Any = fn()
        except SpftraceError as err:
            out = err
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
