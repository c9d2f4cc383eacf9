"""/proc/vmstat snapshots -> counter rows (one per key per snapshot).

Produced by: cat /proc/vmstat                      (one snapshot)
             while :; do echo time: $(date +%s); cat /proc/vmstat; sleep 1; done
                                                    (LKP's proc-vmstat monitor)
Sample:      pgfault 5521127
Variants:    tests/data/vmstat/*.txt

A snapshot starts at a time line (``time: <epoch>``, a bare epoch, an ISO-8601
stamp or ``date`` output) or, with no time lines, when a key repeats.  Several
files given together continue the snapshot numbering (``first_block``), which
the ingest layer uses to make one series out of ``snap-0.txt snap-1.txt ...``.
Values are stored as printed; deciding which keys are cumulative (delta) and
which are gauges (level) is the analysis' job, not the parser's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from ..inputs import Chunk
from .base import Output, Reject, empty_columns, seconds_to_ns

FORMAT = "vmstat"
TABLE = "counters"
ORIGIN = "vmstat"

_KV_RE = re.compile(r"^([a-zA-Z_][a-zA-Z0-9_]*) (-?\d+)$")
_TIME_COLON_RE = re.compile(r"^time:\s*(\d+(?:\.\d+)?)\s*$")
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


def sniff(head: str) -> bool:
    lines = [ln.strip() for ln in head.splitlines()[:400] if ln.strip()]
    if not lines:
        return False
    kv = sum(1 for ln in lines if _KV_RE.match(ln))
    keys = {ln.split(" ", 1)[0] for ln in lines}
    return kv >= 3 and kv >= 0.8 * len(lines) and any(k in keys for k in _MARKERS)


def parse_time_line(line: str) -> int | None:
    """Epoch nanoseconds from a snapshot separator line, or None."""
    s = line.strip()
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
        self.out = Output(TABLE, empty_columns(TABLE))

    @property
    def next_block(self) -> int:
        """The block a following file's first snapshot should take."""
        return self.block + 1 if self.started else self.block

    def feed(self, lines: Sequence[str], first_line_no: int) -> Output:
        out = self.out
        rows = out.rows
        a_line, a_block, a_ts = rows["line_no"].append, rows["block"].append, rows["ts"].append
        a_event, a_value = rows["event"].append, rows["value"].append
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
                a_line(line_no)
                a_block(self.block)
                a_ts(self.ts)
                a_event(key)
                a_value(float(m.group(2)))
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
        return self._take()

    def _next(self, ts: int | None) -> None:
        if self.started:
            self.block += 1
        self.keys = set()
        self.started = False
        self.ts = ts

    def _take(self) -> Output:
        out = self.out
        n = out.n_rows
        for col in ("origin",):
            out.rows[col] = [ORIGIN] * n
        out.rows["status"] = ["counted"] * n
        for col in (
            "cpu",
            "aggr",
            "aggr_cpus",
            "thread",
            "cgroup",
            "unit",
            "variance_pct",
            "enabled_pct",
            "run_ns",
            "metric_value",
            "metric_unit",
        ):
            out.rows[col] = [None] * n
        self.out = Output(TABLE, empty_columns(TABLE))
        return out

    def feed_chunk(self, chunk: Chunk) -> Output:
        return self.feed(chunk.lines(), chunk.first_line_no)

    def close(self) -> Output:
        return self._take()
