"""/proc/vmstat snapshots -> counter rows (one per key per snapshot).

Produced by: cat /proc/vmstat                      (one snapshot)
             while :; do echo time: $(date +%s); cat /proc/vmstat; sleep 1; done
                                                    (LKP's proc-vmstat monitor)
Sample:      pgfault 5521127
Variants:    tests/data/vmstat/*.txt

A snapshot starts at a time line (``time: <epoch>``, a bare epoch, an ISO-8601
stamp or ``date`` output) or, with no time lines, when a key repeats.  Several
files given together are one series (``SPEC.series``): ordered by the time of
their first snapshot when every file has time lines, else in the order given
(never by name), each continuing the snapshot numbering of the one before.
Values are stored as printed; deciding which keys are cumulative (delta) and
which are gauges (level) is the analysis' job, not the parser's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from .lines import Chunk
from .numbers import seconds_to_ns
from .spec import Batch, FormatSpec, Head, Parser, Reject, Series, rows_table

FORMAT = "vmstat"
TABLE = "counters"
ORIGIN = "vmstat"

# a value of at most 20 digits (u64 is 20): a longer one went to float() as inf
_KV_RE = re.compile(r"^([a-zA-Z_][a-zA-Z0-9_]*) (-?\d{1,20})$")
# seconds of at most 11 digits: int() refuses over 4300, and ts is int64 nanoseconds
_TIME_COLON_RE = re.compile(r"^time:\s*(\d{1,11}(?:\.\d+)?)\s*$")
TS_MIN, TS_MAX = -(1 << 63), (1 << 63) - 1
_EPOCH_RE = re.compile(r"^(\d{9,11}(?:\.\d+)?)$")
_ISO_RE = re.compile(
    r"^(?:[#=-]+\s*)?"
    r"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)"
    r"\s*(?:[#=-]+)?$"
)
_DATE_RE = re.compile(
    r"^(?:[A-Z][a-z]{2} ){1,2}\s*\d{1,2} \d{2}:\d{2}:\d{2} (?:[A-Z]{2,5} )?\d{4}$"
)
#: keys every kernel's /proc/vmstat has; used to sniff
_MARKERS = ("nr_free_pages", "pgfault", "pgpgin", "nr_dirty", "pgmajfault", "nr_inactive_anon")


def sniff(head: Head) -> bool:
    lines = [ln.strip() for ln in head.lines if ln.strip()]
    if not lines:
        return False
    kv = sum(1 for ln in lines if _KV_RE.match(ln))
    keys = {ln.split(" ", 1)[0] for ln in lines}
    return kv >= 3 and kv >= 0.8 * len(lines) and any(k in keys for k in _MARKERS)


def parse_time_line(line: str) -> int | None:
    """Epoch nanoseconds from a snapshot separator line, or None."""
    ns = _time_line_ns(line.strip())
    # before 1677 or past 2262 (year 1 or 9999 stamps too): not a time ts (int64) can hold
    return ns if ns is not None and TS_MIN <= ns <= TS_MAX else None


def _time_line_ns(s: str) -> int | None:
    m = _TIME_COLON_RE.match(s) or _EPOCH_RE.match(s)
    if m is not None:
        return seconds_to_ns(m.group(1))
    m = _ISO_RE.match(s)
    if m is not None:
        text = m.group(1).replace(" ", "T").replace("Z", "+00:00")
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
        return _dt_ns(dt)
    if _DATE_RE.match(s):
        parts = s.split()
        # drop the time-zone word; `date` prints local time, recorded as UTC
        if len(parts) == 6:
            parts = parts[:4] + parts[5:]
        try:
            dt = datetime.strptime(" ".join(parts), "%a %b %d %H:%M:%S %Y")
        except ValueError:
            return None
        return _dt_ns(dt)
    return None


def _dt_ns(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    whole = int(dt.replace(microsecond=0).timestamp())
    return whole * 1_000_000_000 + dt.microsecond * 1000


class VmstatParser:
    def __init__(self, first_block: int = 0) -> None:
        self.block = first_block
        self.first_block = first_block
        self.ts: int | None = None
        self.keys: set[str] = set()
        self.started = False  # any key seen in the current snapshot

    @property
    def next_block(self) -> int:
        """The block a following file's first snapshot should take."""
        return self.block + 1 if self.started else self.block

    def feed(self, chunk: Chunk) -> Batch:
        return self.feed_lines(chunk.lines(), chunk.first_line_no)

    def feed_lines(self, lines: Sequence[str], first_line_no: int) -> Batch:
        out = Batch.empty(TABLE)
        l_line: list[int] = []
        l_block: list[int] = []
        l_ts: list[int | None] = []
        l_event: list[str] = []
        l_value: list[float] = []
        kv = _KV_RE.match
        for i, raw in enumerate(lines):
            line_no = first_line_no + i
            out.lines += 1
            line = raw.strip()
            m = kv(line)
            if m is not None:
                key = m.group(1)
                if key in self.keys:  # a repeated key without a time line
                    self._next(None)
                self.keys.add(key)
                self.started = True
                l_line.append(line_no)
                l_block.append(self.block)
                l_ts.append(self.ts)
                l_event.append(key)
                l_value.append(float(m.group(2)))
                out.record_lines += 1
                continue
            if not line or line.startswith("#"):
                ts = parse_time_line(line) if line.startswith("#") else None
                if ts is not None:
                    self._next(ts)
                out.ignored += 1
                continue
            ts = parse_time_line(line)
            if ts is not None:
                self._next(ts)
                out.ignored += 1
                continue
            out.rejects.append(
                Reject(line_no, raw.rstrip("\r\n"), "not a 'name value' vmstat line")
            )
        n = len(l_line)
        out.rows = rows_table(
            TABLE,
            {
                "line_no": l_line,
                "block": l_block,
                "origin": [ORIGIN] * n,
                "ts": l_ts,
                "event": l_event,
                "value": l_value,
                "status": ["counted"] * n,
            },
        )
        return out

    def _next(self, ts: int | None) -> None:
        if self.started:
            self.block += 1
        self.keys = set()
        self.started = False
        self.ts = ts

    def close(self) -> Batch:
        return Batch.empty(TABLE)


def stamp(head: Head) -> int | None:
    """The time of the input's first snapshot: its first time line, if the head has one."""
    for line in head.lines:
        s = line.strip()
        if s and not _KV_RE.match(s):
            ts = parse_time_line(s)
            if ts is not None:
                return ts
    return None


def follow(previous: Parser) -> Parser:
    """A parser for the next file of a series: its snapshots number on."""
    return VmstatParser(previous.next_block if isinstance(previous, VmstatParser) else 0)


SPEC = FormatSpec(
    FORMAT,
    TABLE,
    "/proc/vmstat snapshots (cat /proc/vmstat, or LKP's time:-stamped monitor)",
    sniff,
    parser=VmstatParser,
    series=Series(
        "vmstat files given together are one series of snapshots, in their own time order",
        stamp,
        follow,
    ),
)
