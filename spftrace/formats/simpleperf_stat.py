"""Android ``simpleperf stat`` output -> counter rows.

Produced by: simpleperf stat [--csv] [--interval MS [--interval-only-values]]
             [--per-thread] [--per-core] -e EVENTS (-p PID | -a | CMD)
Sample:      Performance counter statistics:
             #         count  event_name                # count / runtime
                       870  page-faults        # 86.793 /sec                      (100%)
               886.008130(ms)  task-clock      # 0.088390 cpus used
             Total test time: 10.023829 seconds.
Variants:    tests/data/realworld/simpleperf-stat-*.txt (PROVENANCE.tsv: their sources)

Layout (system/extras/simpleperf/cmd_stat.cpp, ``CounterSummaries::ShowText`` and
``ShowCSV``): ``[thread_name pid tid] [cpu] COUNT EVENT # COMMENT [(generated)]``,
older releases end the comment with the enabled share ``(NN%)``; ``--csv`` prints
the same fields comma-separated (the comment as ``VALUE,UNIT``); ``task-clock`` and
``cpu-clock`` counts are milliseconds (``886.008130(ms)``).  A ``# ... count
event_name ...`` column line names the leading columns.

The rows are stored with origin ``perf-stat`` (the fault model reads them as perf
stat counts: both tools read the same perf_event counters) and ``Total test
time`` as ``seconds-time-elapsed``.  Each ``Performance counter statistics``
header starts a block; when the blocks are ``--interval`` prints (test time
growing), they become one block of interval rows (``ts`` = test time): simpleperf
prints totals since the start unless ``--interval-only-values``, so when every
count only grows the last print is stored as the block's total (a note says so),
else (deltas) the intervals are summed as perf stat's are.  Rows are emitted at
``close()``: deciding that needs the whole input (these outputs are small).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .lines import Chunk
from .spec import Batch, FormatSpec, Head, Reject, Stat, rows_table

FORMAT = "simpleperf-stat"
TABLE = "counters"
ORIGIN = "perf-stat"

_HEADERS = ("Performance counter statistics:", "Performance counter statistics,")
_COUNT = r"(?P<count>\d{1,3}(?:,\d{3})+|\d+|\d+\.\d+\(ms\))"
_EVENT = r"(?P<event>[A-Za-z][\w:./@=-]*)"
_TEXT_TAIL = rf"{_COUNT}\s+{_EVENT}\s+#(?P<comment>.*)$"
_TEXT_RE = {
    "": re.compile(rf"^\s*{_TEXT_TAIL}"),
    "cpu": re.compile(rf"^\s*(?P<cpu>\d+)\s+{_TEXT_TAIL}"),
    "thread": re.compile(rf"^\s*(?P<name>\S.*?)\s+(?P<pid>\d+)\s+(?P<tid>\d+)\s+{_TEXT_TAIL}"),
    "thread,cpu": re.compile(
        rf"^\s*(?P<name>\S.*?)\s+(?P<pid>\d+)\s+(?P<tid>\d+)\s+(?P<cpu>\d+)\s+{_TEXT_TAIL}"
    ),
}
_CSV_RE = re.compile(
    r"^(?:(?P<name>[^,].*?),(?P<pid>\d+),(?P<tid>\d+),)?(?:(?P<cpu>\d+),)?"
    r"(?P<count>\d+|\d+\.\d+\(ms\)),(?P<event>[A-Za-z][\w:./@=-]*),"
    r"(?P<mv>[^,]*)(?:,(?P<mu>[^,(]*))?(?:,\((?P<pct>\d+(?:\.\d+)?)%\))?,(?:\(generated\),)?$"
)
_COLUMNS_RE = re.compile(r"^#\s+(?P<cols>.*\bcount\s+event_name)\s+#")
_TOTAL_RE = re.compile(
    r"^Total test time(?::\s+(?P<t>\d+\.\d+) seconds\.|,(?P<tc>\d+\.\d+),seconds,)\s*$"
)
#: no leading \s*: searched for, it made a comment with a long run of blanks inside cost
#: n^2 / 2 steps; the blanks before the share are stripped where it is cut off
_SHARE_RE = re.compile(r"\((?P<pct>\d+(?:\.\d+)?)%\)\s*$")
_GENERATED = "(generated)"
_METRIC_RE = re.compile(r"^(?P<mv>-?\d+(?:\.\d+)?)(?P<mu>%?\s*\S.*?)?\s*$")
_PROMPT_RE = re.compile(r"^\s*\S*\$\s+(?P<cmd>(?:su 0 )?simpleperf\s+stat\b.*?)\s*$")


def sniff(head: Head) -> bool:
    """simpleperf's own header, or its column line (a paste without the header)."""
    for ln in head.lines[:200]:
        s = ln.strip()
        if s in _HEADERS or _COLUMNS_RE.match(s):
            return True
    return False


@dataclass
class _Block:
    rows: list[tuple[object, ...]] = field(default_factory=list)
    total_s: float | None = None
    total_line: int | None = None


@dataclass
class _Row:
    line_no: int
    cpu: int | None
    thread: str | None
    event: str
    value: float
    unit: str | None
    enabled: float | None
    mv: float | None
    mu: str | None


class SimpleperfStatParser:
    """Stateful over one input: the column layout, the blocks seen so far."""

    def __init__(self) -> None:
        self.layout: str | None = None  # "", "cpu", "thread", "thread,cpu"
        self.blocks: list[list[_Row]] = []
        self.totals: list[tuple[float, int] | None] = []
        self.command: str | None = None
        self.seen_header = False

    def feed(self, chunk: Chunk) -> Batch:
        return self.feed_lines(chunk.lines(), chunk.first_line_no)

    def feed_lines(self, lines: Sequence[str], first_line_no: int) -> Batch:
        out = Batch.empty(TABLE)
        for i, raw in enumerate(lines):
            line_no = first_line_no + i
            out.lines += 1
            line = raw.rstrip("\r\n")
            kind = self._line(line_no, line)
            if kind == "record":
                out.record_lines += 1
            elif kind == "ignore":
                out.ignored += 1
            elif kind == "foreign":
                out.ignored += 1
                out.stats.append(Stat("foreign_lines", None, 1))
                if out.first_foreign is None:
                    out.first_foreign = line_no
            else:
                out.rejects.append(Reject(line_no, raw, kind))
        return out

    def _line(self, line_no: int, line: str) -> str:
        s = line.strip()
        if s in _HEADERS:
            self.seen_header = True
            self.blocks.append([])
            self.totals.append(None)
            return "ignore"
        if not s:
            return "ignore"
        m = _TOTAL_RE.match(s)
        if m is not None:
            if not self.blocks:
                self.blocks.append([])
                self.totals.append(None)
            self.totals[-1] = (float(m.group("t") or m.group("tc")), line_no)
            return "record"
        c = _COLUMNS_RE.match(s)
        if c is not None:
            cols = c.group("cols").split()
            thread = "thread_name" in cols
            cpu = "cpu" in cols
            self.layout = ("thread" if thread else "") + ("," if thread and cpu else "")
            self.layout += "cpu" if cpu else ""
            return "ignore"
        if s.startswith("#"):
            return "ignore"
        p = _PROMPT_RE.match(line)
        if p is not None:
            self.command = self.command or p.group("cmd").removesuffix("\\").rstrip()
            return "ignore"
        row = self._counter(line_no, line)
        if row is not None:
            if not self.blocks or self.totals[-1] is not None:  # a block without a header
                self.blocks.append([])
                self.totals.append(None)
            self.blocks[-1].append(row)
            return "record"
        if _TEXT_RE[""].match(line) or (s[0].isdigit() and "," in s and s.endswith(",")):
            return "unparseable simpleperf stat counter line"
        return "foreign"  # workload output, prose, "..."

    def _counter(self, line_no: int, line: str) -> _Row | None:
        m = _CSV_RE.match(line.strip()) if line.rstrip().endswith(",") else None
        if m is not None:
            mv = _number(m.group("mv"))
            if m.group("mv") and mv is None:
                return None
            pct = m.group("pct")
            return self._row(
                line_no, m, mv, (m.group("mu") or "").strip() or None,
                float(pct) if pct is not None else None,
            )  # fmt: skip
        layouts = [self.layout] if self.layout is not None else ["", "cpu"]
        for layout in layouts:
            t = _TEXT_RE[layout].match(line)
            if t is None:
                continue
            comment = t.group("comment").strip()
            if comment.endswith(_GENERATED):
                comment = comment[: -len(_GENERATED)].rstrip()
            enabled = None
            share = _SHARE_RE.search(comment)
            if share is not None:
                enabled = float(share.group("pct"))
                comment = comment[: share.start()].rstrip()
            mv = mu = None
            if comment:
                cm = _METRIC_RE.match(comment)
                if cm is None:
                    return None
                mv = float(cm.group("mv"))
                mu = (cm.group("mu") or "").strip() or None
            return self._row(line_no, t, mv, mu, enabled)
        return None

    @staticmethod
    def _row(
        line_no: int, m: re.Match[str], mv: float | None, mu: str | None, enabled: float | None
    ) -> _Row:
        count = m.group("count")
        unit = None
        if count.endswith("(ms)"):
            value, unit = float(count[:-4]), "msec"
        else:
            value = float(count.replace(",", ""))
        groups = m.groupdict()
        cpu = int(groups["cpu"]) if groups.get("cpu") else None
        thread = f"{groups['name'].strip()}-{groups['tid']}" if groups.get("name") else None
        return _Row(line_no, cpu, thread, m.group("event"), value, unit, enabled, mv, mu)

    def close(self) -> Batch:
        cols: dict[str, list[object]] = {
            c: []
            for c in (
                "line_no", "block", "origin", "ts", "cpu", "thread", "event", "value", "unit",
                "enabled_pct", "status", "metric_value", "metric_unit",
            )
        }  # fmt: skip
        notes: list[str] = []

        def add(r: _Row, block: int, ts: int | None) -> None:
            for k, v in (
                ("line_no", r.line_no), ("block", block), ("origin", ORIGIN), ("ts", ts),
                ("cpu", r.cpu), ("thread", r.thread), ("event", r.event), ("value", r.value),
                ("unit", r.unit), ("enabled_pct", r.enabled), ("status", "counted"),
                ("metric_value", r.mv), ("metric_unit", r.mu),
            ):  # fmt: skip
                cols[k].append(v)

        def elapsed(total: tuple[float, int], block: int) -> _Row:
            return _Row(total[1], None, None, "seconds-time-elapsed", total[0], "seconds",
                        None, None, None)  # fmt: skip

        blocks = [(b, t) for b, t in zip(self.blocks, self.totals, strict=True) if b or t]
        times = [t[0] for _, t in blocks if t is not None]
        interval = len(blocks) >= 2 and len(times) == len(blocks)
        interval = interval and all(a < b for a, b in itertools.pairwise(times))
        if interval:
            cumulative = _only_grows([b for b, _ in blocks])
            last = len(blocks) - 1
            for k, (rows, total) in enumerate(blocks):
                assert total is not None
                ts = round(total[0] * 1e9)
                for r in rows:
                    add(r, 0, None if cumulative and k == last else ts)
            final = blocks[-1][1]
            assert final is not None
            add(elapsed(final, 0), 0, None)
            if cumulative:
                notes.append(
                    f"simpleperf stat --interval: {len(blocks)} prints whose counts only grow "
                    "(totals since the start, simpleperf's default): the last one is the total"
                )
            else:
                notes.append(
                    f"simpleperf stat --interval-only-values: {len(blocks)} prints of "
                    "per-interval counts, summed"
                )
        else:
            for k, (rows, total) in enumerate(blocks):
                for r in rows:
                    add(r, k, None)
                if total is not None:
                    add(elapsed(total, k), k, None)
        out = Batch(TABLE, rows_table(TABLE, cols), notes=notes)
        if self.command is not None:
            out.meta["command"] = self.command
        return out


def _only_grows(blocks: list[list[_Row]]) -> bool:
    """Whether no count of a print is below the same counter's in the print before."""
    prev: dict[tuple[str, int | None, str | None], float] = {}
    for rows in blocks:
        cur = {(r.event, r.cpu, r.thread): r.value for r in rows}
        if any(k in prev and v < prev[k] for k, v in cur.items()):
            return False
        prev = cur
    return True


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


SPEC = FormatSpec(
    FORMAT,
    TABLE,
    "Android simpleperf stat output (text or --csv; --interval, --per-thread, --per-core)",
    sniff,
    parser=SimpleperfStatParser,
)
