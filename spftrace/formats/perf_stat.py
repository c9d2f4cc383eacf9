"""perf stat output -> counter rows.

Produced by: perf stat [-x SEP | -j] [-I MS] [-r N] [-a -A | --per-core | --per-thread ...]
             -e EVENTS -- CMD        (perf writes the counts on stderr)
Sample:                1706379      faults
Variants:    tests/data/perf_stat/*.txt, one file per quirk (PROVENANCE.tsv has the commands)

Human, CSV (any separator, detected and cached per input) and JSON lines are
accepted in any mix, because ``--append`` files and shell loops mix them.  Lines
are classified by token shape, never by column position: the layout moved
between perf 3.x and 6.x.  A line that starts like a counter but does not parse
is a reject; a line that does not look like perf at all (workload output) is
ignored and counted as ``foreign_lines``.

Blocks: a new block starts at a ``Performance counter stats`` header or a
``# started on`` line that follows counted (non-interval) rows, or when the
same counter key repeats within a block (headerless CSV/JSON from shell loops).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from ..schema import parser_schema
from .lines import Chunk
from .numbers import parse_locale_number, parse_plain_number, seconds_to_ns
from .spec import Batch, FormatSpec, Head, Reject, Stat, rows_table

FORMAT = "perf-stat"
TABLE = "counters"
ORIGIN = "perf-stat"

NOT_COUNTED = "<not counted>"
NOT_SUPPORTED = "<not supported>"
_STATUS = {NOT_COUNTED: "not-counted", NOT_SUPPORTED: "not-supported"}

# --- sniffing ----------------------------------------------------------------


def sniff(head: Head) -> bool:
    """Parse the first lines with the real parser: perf stat if some are counters
    (or perf's own error output) and few are anything else.  Never raises."""
    lines = head.lines[:59]
    text = "\n".join(lines)
    if "Performance counter stats for" in text or "seconds time elapsed" in text:
        return True
    if any(_ERROR_RE.match(ln) for ln in lines[:5]):
        return True
    try:
        p = PerfStatParser()
        out = p.feed_lines(lines, 1)
    except Exception:
        return False
    if any(r.reason.startswith("decimal comma") for r in out.rejects):
        return True  # a locale-mangled CSV: perf stat, but it needs a clear error
    meaningful = out.lines - out.ignored + p.foreign
    return out.record_lines >= 1 and out.record_lines >= 0.5 * max(meaningful, 1)


# --- tokenising --------------------------------------------------------------

_NUM = r"[0-9][0-9,.'\u2019\u202f\u00a0]*(?: [0-9]{3})*(?:[,.][0-9]+)?"
_VALUE = rf"(?P<value><not counted>|<not supported>|{_NUM})"
#: The shapes that make up nearly every line of a large capture, tried first:
#: [time] [CPUn | Sn.. NR] VALUE [msec|ns] EVENT [# METRIC UNIT] [(NN.NN%)].
#: Values with exactly three decimals are left to the slow path: "15.836" is a
#: grouped 15836 in de_DE, never a perf decimal (those have 2 or 6+ digits).
_FAST_RE = re.compile(
    r"^\s*(?:(\d+\.\d{9})\s+)?"
    r"(?:CPU(\d+)\s+|(S\d+(?:-D\d+)?(?:-C\d+)?|N\d+)\s+(\d+)\s+)?"
    r"(\d+(?:\.\d\d|\.\d{4,})?|<not counted>|<not supported>)\s+"
    r"(?:(msec|ns)\s+)?"
    r"([A-Za-z][\w:./@=,-]*)"
    r"(?:\s+#\s+(\d+\.\d+)\s+([^\s(#\[][^(#\[]*?))?"
    r"(?:\s+\((\d+\.\d\d)%\))?"
    r"\s*$"
)
#: Interval counter lines that the vectorised path takes (Arrow's RE2, match only:
#: RE2 with capture groups runs at a fifth of the speed, so fields are then cut
#: out by splitting on '#' and whitespace; see _vector_rows).
_FAST_INTERVAL_RE2 = (
    r"^\s*\d+\.\d{9}\s+(?:CPU\d+\s+|(?:S\d+(?:-D\d+)?(?:-C\d+)?|N\d+)\s+\d+\s+)?"
    r"(?:\d+(?:\.\d\d|\.\d{4,})?|<not counted>|<not supported>)\s+(?:(?:msec|ns)\s+)?"
    r"[A-Za-z][\w:./@=,-]*(?:\s+#\s+\d+\.\d+\s+[^\s(#\[][^(#\[]*?)?"
    r"(?:\s+\(\d+\.\d\d%\))?\s*$"
)
#: chunks smaller than this are not worth converting to Arrow
_VECTOR_MIN_LINES = 256
_TIME_RE = re.compile(r"^\s*(?P<time>\d+\.\d{9})\s+")
_AGGR_RE = re.compile(
    r"^(?:CPU(?P<cpu>\d+)"
    r"|(?P<aggr>S\d+(?:-D\d+)?(?:-C\d+|-L\d+-ID\d+|-CLS\d+)?|N\d+)\s+(?P<nr>\d+))\s+"
)
_VALUE_RE = re.compile(rf"\s*{_VALUE}\s+(?=\S)")  # used with .match(text, pos)
_THREAD_SPLIT_RE = re.compile(r"(?<=\S)-\d+(?=\s)")
_UNITS = frozenset(
    [
        "msec",
        "usec",
        "us",
        "ns",
        "sec",
        "s",
        "seconds",
        "Joules",
        "J",
        "Watts",
        "W",
        "MiB",
        "MB",
        "GiB",
        "GB",
        "KiB",
        "kB",
        "B",
        "Bytes",
        "MiB/s",
        "GB/s",
        "Hz",
        "MHz",
        "GHz",
        "C",
    ]
)
_NOISE_RE = re.compile(r"\(\s*\+-\s*(?P<pct>[\d.,]+)\s*%\s*\)")
_MPX_RE = re.compile(r"[\[(]\s*(?P<pct>[\d.,]+)\s*%\s*[\])]")
_METRIC_RE = re.compile(r"#\s+(?P<mv>-?[\d.,]+|nan|-?inf)\s*(?P<mu>.*?)\s*$")
_PAREN_UNIT_RE = re.compile(r"^\((?P<unit>msec|usec|ns|Joules|MiB)\)\s*")

_HEADER_RE = re.compile(
    r"^\s*Performance counter stats for\s+(?:(?P<what>process id|thread id)\s+)?"
    r"'(?P<target>.*)'(?:\s+\((?P<runs>\d+)\s+runs\))?:\s*$"
)
_ELAPSED_RE = re.compile(
    r"^\s*(?P<v>\d+[.,]\d+)(?:\s+\+-\s+(?P<sd>\d+[.,]\d+))?\s+seconds time elapsed"
    r"(?:\s+\(\s*\+-\s*(?P<pct>[\d.,]+)%\s*\))?\s*$"
)
_USERSYS_RE = re.compile(r"^\s*(?P<v>\d+[.,]\d+)\s+seconds (?P<which>user|sys)\s*$")
_WALLCLOCK_RE = re.compile(r"^\s*Wall-clock time elapsed:\s+(?P<v>[\d.,]+)\s+msecs\s*$")
_NOISE_ONLY_RE = re.compile(r"^\s*\(\s*\+-\s*(?P<pct>[\d.,]+)\s*%\s*\)\s*$")
_METRIC_ONLY_RE = re.compile(r"^\s+#\s")
_TABLE_ROW_RE = re.compile(r"^\s*\d+[.,]\d+ \([+-]\d+[.,]\d+\) #*\s*$")
_VERBOSE_RE = re.compile(r"^[\w:./@-]+: \d+ \d+ \d+$")
#: a line that starts like a counter: if it does not parse, it is a reject, not workload text
_COUNTERISH_RE = re.compile(r"^\s*(?:<not (?:counted|supported)>|\d)")
_IGNORABLE_PREFIXES = (
    "Some events weren't counted",
    "The events in group usually have to be from the same PMU",
    "Events disabled",
    "Events enabled",
    "Using CPUID",
    "Control descriptor is not initialized",
    "[ perf record:",
    "perf stat: ",
)
#: de_DE CSV with -x, : "16,97,msec,..." or "...,15942337,100,00,517,K/sec"
_MANGLED_RE = re.compile(
    r"^\s*(?:\d+\.\d{9},)?(?:\d+,\d{2},(?:msec|ns|Joules)?,|.*,\d+,100,00(?:,|$))"
)
_ERROR_RE = re.compile(
    r"^(?:event syntax error:|Workload failed:|\s*Error:|invalid or unsupported event"
    r"|failed to |Cannot |The sys_perf_event_open\(\) syscall returned"
    r"|No permission to enable|Access to performance monitoring and observability operations"
    r"|\s*Usage: perf stat|unknown tracepoint|Bad event name|Invalid event)"
)


def _status_value(raw: str, grouped: bool) -> tuple[str, float | None]:
    status = _STATUS.get(raw)
    if status is not None:
        return status, None
    value = parse_locale_number(raw) if grouped else parse_plain_number(raw)
    if value is None:
        raise ValueError(f"not a counter value: {raw!r}")
    return "counted", value


#: column order of the row tuples the parser accumulates (transposed once per chunk)
COLUMNS = (
    "line_no", "block", "origin", "ts", "cpu", "aggr", "aggr_cpus", "thread", "cgroup",
    "event", "value", "unit", "variance_pct", "enabled_pct", "run_ns", "status",
    "metric_value", "metric_unit",
)  # fmt: skip
_VARIANCE = COLUMNS.index("variance_pct")


class PerfStatParser:
    """Stateful over one input: block number, CSV separator, pending error.

    Rows are kept as tuples (one allocation per line) and transposed into
    columns once per chunk: appending to 18 lists per line halved throughput.
    """

    def __init__(self) -> None:
        self.block = 0
        self.block_has_total = False  # rows without an interval timestamp
        # keys seen in the current block; for interval rows only the current
        # interval's keys are kept, so memory does not grow with the input
        self.block_keys: set[tuple[Any, ...]] = set()
        self.last_ts: int | None = None
        self._last_tstr = ""
        self._last_tns = 0
        self.sep: str | None = None
        self.command: str | None = None
        self.target: str | None = None
        self.perf_error: str | None = None
        self.foreign = 0
        self.last_has_row = False
        self._rows: list[tuple[Any, ...]] = []
        self._segments: list[Any] = []  # pyarrow Tables, in line order
        self.out = Batch.empty(TABLE)

    # -- output plumbing ------------------------------------------------------
    def _take(self) -> Batch:
        out = self.out
        if self._segments:
            import pyarrow as pa

            self._flush_rows()
            out.rows = pa.concat_tables(self._segments)
            self._segments = []
        elif self._rows:
            self._flush_rows()
            out.rows = self._segments.pop()
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

    def _ts_ns(self, text: str) -> int:
        if text != self._last_tstr:
            self._last_tstr = text
            self._last_tns = seconds_to_ns(text)
        return self._last_tns

    def _check_block(self, key: tuple[Any, ...], ts: int | None) -> None:
        if ts is not None and ts != self.last_ts:
            if self.last_ts is not None and ts < self.last_ts:
                self._next_block()  # time went backwards: a new perf run
            else:  # a new interval: forget the previous interval's keys
                self.block_keys = {k for k in self.block_keys if k[0] is None}
            self.last_ts = ts
        if key in self.block_keys:
            self._next_block()
            self.last_ts = ts
        self.block_keys.add(key)

    def _row(
        self,
        line_no: int,
        *,
        ts: int | None,
        cpu: int | None,
        aggr: str | None,
        aggr_cpus: int | None,
        thread: str | None,
        cgroup: str | None,
        event: str,
        status: str,
        value: float | None,
        unit: str | None,
        variance: float | None,
        enabled: float | None,
        run_ns: int | None,
        mv: float | None,
        mu: str | None,
    ) -> None:
        self._check_block((ts, cpu, aggr, thread, cgroup, event), ts)
        if ts is None:
            self.block_has_total = True
        self._rows.append(
            (line_no, self.block, ORIGIN, ts, cpu, aggr, aggr_cpus, thread, cgroup, event,
             value, unit, variance, enabled, run_ns, status, mv, mu)
        )  # fmt: skip
        self.out.record_lines += 1
        self.last_has_row = True
        self.perf_error = None

    def _next_block(self) -> None:
        if self.block_keys or self.block_has_total:
            self.block += 1
        self.block_keys = set()
        self.block_has_total = False
        self.last_ts = None

    # -- entry points ---------------------------------------------------------
    def feed(self, chunk: Chunk) -> Batch:
        return self.feed_lines(chunk.lines(), chunk.first_line_no)

    def feed_lines(self, lines: Sequence[str], first_line_no: int) -> Batch:
        if len(lines) >= _VECTOR_MIN_LINES:
            self._feed_vectorised(lines, first_line_no)
        else:
            self._line_path(lines, first_line_no)
        return self._take()

    def _feed_vectorised(self, lines: Sequence[str], first_line_no: int) -> None:
        """Interval counter lines through Arrow; every other line one by one, in order."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(lines, pa.string())
        rec = pc.match_substring_regex(arr, _FAST_INTERVAL_RE2)
        # the "#  time ..." header perf repeats every 25 intervals stays in the segment
        hdr = pc.match_substring_regex(arr, r"^#\s+time\s")
        ok = pc.or_(rec, hdr).to_numpy(zero_copy_only=False)
        edges = (np.flatnonzero(np.diff(ok.astype(np.int8))) + 1).tolist()
        for a, b in zip([0, *edges], [*edges, len(lines)], strict=True):
            if not ok[a]:
                self._line_path(lines[a:b], first_line_no + a)
                continue
            self._flush_rows()
            seg_rec = rec.slice(a, b - a)
            n_rec = pc.sum(seg_rec).as_py() or 0
            self.out.lines += b - a
            self.out.ignored += (b - a) - n_rec
            if n_rec:
                line_no = np.arange(first_line_no + a, first_line_no + b, dtype=np.int64)
                mask = seg_rec.to_numpy(zero_copy_only=False)
                sel = arr.slice(a, b - a).filter(seg_rec)
                self._segments.append(self._vector_rows(sel, line_no[mask]))
                self.out.record_lines += n_rec
                self.perf_error = None
            self.last_has_row = False

    def _vector_rows(self, sel: Any, line_no: Any) -> Any:
        """Rows for lines that matched _FAST_INTERVAL_RE2, computed column-wise."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(sel)
        null_s = pa.scalar(None, pa.string())
        enabled = pa.nulls(n, pa.float64())
        if pc.any(pc.ends_with(pc.ascii_rtrim_whitespace(sel), "%)")).as_py():
            pct = pc.extract_regex(sel, r"\((?P<p>\d+\.\d\d)%\)\s*$").field("p")
            enabled = pc.cast(pc.if_else(pc.equal(pct, ""), null_s, pct), pa.float64())
            sel = pc.replace_substring_regex(sel, r"\s*\(\d+\.\d\d%\)\s*$", "")
        sel = pc.replace_substring(sel, "<not ", "<not_")  # keep the status one token
        parts = pc.split_pattern(pc.binary_join_element_wise(sel, "#", ""), "#", max_splits=1)
        toks = pc.ascii_split_whitespace(pc.ascii_trim_whitespace(pc.list_element(parts, 0)))
        off = toks.offsets.to_numpy()[:-1]
        flat = toks.flatten()

        def tok(idx: Any) -> Any:
            return flat.take(pa.array(idx))

        t1 = tok(off + 1)
        has_cpu = pc.starts_with(t1, "CPU").to_numpy(zero_copy_only=False)
        has_aggr = pc.match_substring_regex(t1, r"^(?:S|N)\d").to_numpy(zero_copy_only=False)
        vi = off + 1 + has_cpu + 2 * has_aggr
        unit = tok(vi + 1)
        has_unit = pc.is_in(unit, pa.array(["msec", "ns"])).to_numpy(zero_copy_only=False)
        v = tok(vi)
        counted = pc.invert(pc.starts_with(v, "<"))
        status = pc.if_else(
            counted,
            "counted",
            pc.if_else(pc.equal(v, "<not_counted>"), "not-counted", "not-supported"),
        )
        # "12.345678901" -> 12345678901 ns: exactly nine fraction digits, no float
        ts = pc.cast(pc.replace_substring(tok(off), ".", ""), pa.int64()).to_numpy()
        prev = np.empty_like(ts)
        prev[0] = self.last_ts if self.last_ts is not None else ts[0]
        prev[1:] = ts[:-1]
        # a timestamp going backwards is a new perf run (shell loop, --append)
        block = self.block + np.cumsum(ts < prev, dtype=np.int64)
        self.block = int(block[-1])
        self.last_ts = int(ts[-1])
        self._last_tstr = ""
        self.block_keys = {k for k in self.block_keys if k[0] is None}
        metric = pc.ascii_trim(pc.list_element(parts, 1), " #")
        mparts = pc.split_pattern(pc.binary_join_element_wise(metric, " ", ""), " ", max_splits=1)
        mv = pc.list_element(mparts, 0)
        mu = pc.ascii_trim_whitespace(pc.list_element(mparts, 1))
        cols = {
            "line_no": pa.array(line_no),
            "block": pa.array(block.astype(np.int32)),
            "origin": pa.repeat(ORIGIN, n),
            "ts": pa.array(ts),
            "cpu": pc.cast(pc.if_else(has_cpu, pc.utf8_slice_codeunits(t1, 3), null_s), pa.int32()),
            "aggr": pc.if_else(has_aggr, t1, null_s),
            "aggr_cpus": pc.cast(pc.if_else(has_aggr, tok(off + 2), null_s), pa.int32()),
            "thread": pa.nulls(n, pa.string()),
            "cgroup": pa.nulls(n, pa.string()),
            "event": tok(vi + 1 + has_unit),
            "value": pc.cast(pc.if_else(counted, v, null_s), pa.float64()),
            "unit": pc.if_else(has_unit, unit, null_s),
            "variance_pct": pa.nulls(n, pa.float64()),
            "enabled_pct": enabled,
            "run_ns": pa.nulls(n, pa.int64()),
            "status": status,
            "metric_value": pc.cast(pc.if_else(pc.equal(mv, ""), null_s, mv), pa.float64()),
            "metric_unit": pc.if_else(pc.equal(mu, ""), null_s, mu),
        }
        return pa.table(cols, schema=parser_schema(TABLE))

    def _line_path(self, lines: Sequence[str], first_line_no: int) -> None:
        fast = _FAST_RE.match
        out = self.out
        append = self._rows.append
        status_of = _STATUS.get
        keys = self.block_keys
        line_no = first_line_no - 1
        for raw in lines:
            line_no += 1
            m = fast(raw)
            if m is None:
                out.lines += 1
                self._slow(line_no, raw.rstrip(), raw)
                keys = self.block_keys
                continue
            out.lines += 1
            t, c, aggr, nr, v, unit, event, mv, mu, mpx = m.groups()
            ts = self._ts_ns(t) if t is not None else None
            cpu = int(c) if c is not None else None
            key = (ts, cpu, aggr, None, None, event)
            if ts is not self.last_ts or key in keys:
                self._check_block(key, ts)
                keys = self.block_keys
            else:
                keys.add(key)
            if ts is None:
                self.block_has_total = True
            status = status_of(v, "counted")
            append(
                (line_no, self.block, ORIGIN, ts, cpu, aggr, int(nr) if nr else None, None,
                 None, event, float(v) if status == "counted" else None, unit, None,
                 float(mpx) if mpx else None, None, status, float(mv) if mv else None, mu)
            )  # fmt: skip
            out.record_lines += 1
            self.last_has_row = True
            self.perf_error = None

    def close(self) -> Batch:
        return self._take()

    # -- the general path -----------------------------------------------------
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
        if stripped.startswith("#") and self._comment_csv(line_no, line):
            return  # a per-thread CSV row whose comm starts with "# "
        if stripped == "#" or stripped.startswith(("# ", "#\t")):  # perf's comments
            if stripped.startswith("# started on") and self.block_has_total:
                self._next_block()
            self._ignore()
            return
        h = _HEADER_RE.match(line)
        if h is not None:
            if self.block_has_total:
                self._next_block()
            if h.group("what") is None and h.group("target") not in ("system wide", "pipe"):
                target = h.group("target")
                if not target.startswith("CPU(s) ") and not target.startswith("BPF program"):
                    self.command = self.command or target
            self.target = self.target or h.group("target")
            self.perf_error = None
            self._ignore()
            return
        if self._footer(line_no, line):
            return
        n = _NOISE_ONLY_RE.match(line)
        if n is not None and self.last_has_row:
            last = list(self._rows[-1])
            last[_VARIANCE] = parse_plain_number(n.group("pct"))
            self._rows[-1] = tuple(last)
            self._ignore()
            return
        if self.sep is not None and self._csv(line_no, line, self.sep):
            return
        # CSV first: its validation is strict (it needs the RUN,PCNT anchor), while
        # the human grammar would take "a,b,c" as an event name
        sep = self._detect_sep(line)
        if sep is not None and self._csv(line_no, line, sep):
            self.sep = sep
            return
        if self._human(line_no, line):
            return
        if _METRIC_ONLY_RE.match(line) or _TABLE_ROW_RE.match(line) or _VERBOSE_RE.match(line):
            self._ignore()
            return
        if stripped.startswith(_IGNORABLE_PREFIXES) or raw.startswith("\t"):
            self._ignore()
            return
        if _ERROR_RE.match(line) or self.perf_error is not None:
            if self.perf_error is None:
                self.perf_error = stripped
            self._reject(
                line_no, raw, f"perf reported an error instead of counts: {self.perf_error!r}"
            )
            return
        if _COUNTERISH_RE.match(line):
            reason = "unparseable perf stat counter line"
            if self._looks_locale_mangled(line):
                reason = (
                    "decimal comma collides with the CSV separator (perf ran under a "
                    "de_DE-style LC_NUMERIC); rerun perf with LC_ALL=C or -x';'"
                )
            self._reject(line_no, raw, reason)
            return
        self.foreign += 1
        self.out.stats.append(Stat("foreign_lines", None, 1))
        if self.out.first_foreign is None:
            self.out.first_foreign = line_no
        self._ignore()

    def _footer(self, line_no: int, line: str) -> bool:
        m = _ELAPSED_RE.match(line)
        if m is not None:
            pct = m.group("pct")
            self._total_row(
                line_no,
                "elapsed",
                seconds_to_ns(m.group("v")),
                parse_plain_number(pct) if pct else None,
            )
            return True
        m = _USERSYS_RE.match(line)
        if m is not None:
            self._total_row(line_no, m.group("which"), seconds_to_ns(m.group("v")), None)
            return True
        m = _WALLCLOCK_RE.match(line)
        if m is not None:
            v = parse_plain_number(m.group("v"))
            self._total_row(line_no, "elapsed", round((v or 0.0) * 1e6), None)
            return True
        return False

    def _total_row(self, line_no: int, which: str, ns: int, variance: float | None) -> None:
        self._row(
            line_no,
            ts=None,
            cpu=None,
            aggr=None,
            aggr_cpus=None,
            thread=None,
            cgroup=None,
            event=f"seconds-{which}" if which != "elapsed" else "seconds-time-elapsed",
            status="counted",
            value=ns / 1e9,
            unit="seconds",
            variance=variance,
            enabled=None,
            run_ns=None,
            mv=None,
            mu=None,
        )

    # human ---------------------------------------------------------------------
    def _human(self, line_no: int, line: str) -> bool:
        if "\t" in line:  # perf's human layout pads with spaces only; tabs mean CSV
            return False
        rest = line
        ts = None
        m = _TIME_RE.match(rest)
        if m is not None:
            ts = seconds_to_ns(m.group("time"))
            rest = rest[m.end() :]
        cpu = aggr = nr = None
        a = _AGGR_RE.match(rest.lstrip())
        if a is not None:
            rest = rest.lstrip()
            if a.group("cpu") is not None:
                cpu = int(a.group("cpu"))
            else:
                aggr = a.group("aggr")
                nr = int(a.group("nr"))
            rest = rest[a.end() :]
        v = _VALUE_RE.match(rest)
        if v is not None:
            parsed = _human_tail(rest[v.end() :], v.group("value").strip())
            if parsed is not None:
                status, value, fields = parsed
                self._human_row(line_no, ts, cpu, aggr, nr, None, status, value, fields)
                return True
        if a is not None:
            return False
        # per-thread "comm-pid": the comm may hold spaces, dashes and digits (even a
        # leading number), so try every "-PID<spaces>" split point, leftmost first
        for t in _THREAD_SPLIT_RE.finditer(rest):
            v = _VALUE_RE.match(rest, t.end())
            if v is None:
                continue
            parsed = _human_tail(rest[v.end() :], v.group("value").strip())
            if parsed is not None:
                status, value, fields = parsed
                thread = rest[: t.end()].strip()
                self._human_row(line_no, ts, None, None, None, thread, status, value, fields)
                return True
        return False

    def _human_row(
        self,
        line_no: int,
        ts: int | None,
        cpu: int | None,
        aggr: str | None,
        nr: int | None,
        thread: str | None,
        status: str,
        value: float | None,
        fields: tuple[Any, ...],
    ) -> None:
        unit, event, cgroup, variance, enabled, mv, mu = fields
        self._row(
            line_no,
            ts=ts,
            cpu=cpu,
            aggr=aggr,
            aggr_cpus=nr,
            thread=thread,
            cgroup=cgroup,
            event=event,
            status=status,
            value=value,
            unit=unit,
            variance=variance,
            enabled=enabled,
            run_ns=None,
            mv=mv,
            mu=mu,
        )

    # CSV -----------------------------------------------------------------------
    def _detect_sep(self, line: str) -> str | None:
        for sep in _candidate_seps(line):
            if _csv_fields(line, sep) is not None:
                return sep
        return None

    def _comment_csv(self, line_no: int, line: str) -> bool:
        sep = self.sep if self.sep is not None and self.sep in line else self._detect_sep(line)
        if sep is None or not self._csv(line_no, line, sep):
            return False
        self.sep = sep
        return True

    def _csv(self, line_no: int, line: str, sep: str) -> bool:
        f = _csv_fields(line, sep)
        if f is None:
            return False
        self._row(line_no, **f)
        return True

    @staticmethod
    def _looks_locale_mangled(line: str) -> bool:
        return _MANGLED_RE.match(line) is not None

    # JSON ----------------------------------------------------------------------
    def _json(self, line_no: int, text: str, raw: str) -> None:
        obj = _load_json(text)
        if obj is None:
            reason = "invalid JSON line (truncated, or not perf stat -j output)"
            self._reject(line_no, raw, reason)
            return
        if "counter-value" not in obj:
            self._ignore()  # {} / metric-only / metricgroup lines carry no counter
            return
        try:
            row = _json_row(obj)
        except (ValueError, TypeError) as exc:
            self._reject(line_no, raw, f"unexpected perf stat JSON: {exc}")
            return
        self._row(line_no, **row)


def _human_tail(rest: str, raw_value: str) -> tuple[str, float | None, tuple[Any, ...]] | None:
    try:
        status, value = _status_value(raw_value, grouped=True)
    except ValueError:
        return None
    fields = _split_name(rest)
    if fields is None:
        return None
    return status, value, fields


def _split_name(rest: str) -> tuple[Any, ...] | None:
    """``[UNIT] NAME [CGROUP] [# METRIC] [( +- N% )] [(N%)]`` -> fields."""
    unit = None
    head, _, tail = rest.partition("#")
    if not head.strip():
        return None
    parts = head.split(None, 1)
    if parts[0] in _UNITS and len(parts) == 2:
        unit = parts[0]
        head = parts[1]
    # the name ends at two spaces or at a parenthesised note
    head = head.strip()
    notes = ""
    m = re.search(r"\s{2,}|\s(?=[(\[])", head)
    if m is not None:
        notes = head[m.end() :]
        head = head[: m.start()]
    pu = _PAREN_UNIT_RE.match(notes)
    if pu is not None:
        unit = pu.group("unit")
        notes = notes[pu.end() :]
    event = head
    cgroup = None
    bits = notes.split()
    if bits and not bits[0].startswith(("(", "[")):
        cgroup = bits[0]
        notes = notes.split(None, 1)[1] if len(bits) > 1 else ""
    elif " /" in event:
        event, _, cg = event.rpartition(" ")
        cgroup = cg
    if not event or not event[0].isalpha():  # every perf event name starts with a letter
        return None
    variance = enabled = None
    mv = None
    mu = None
    if tail:
        tail = "#" + tail
        noise = _NOISE_RE.search(tail)
        if noise is not None:
            variance = parse_plain_number(noise.group("pct"))
            tail = tail[: noise.start()] + tail[noise.end() :]
        mpx = _MPX_RE.search(tail)
        if mpx is not None:
            enabled = parse_plain_number(mpx.group("pct"))
            tail = tail[: mpx.start()] + tail[mpx.end() :]
        mm = _METRIC_RE.match(tail.strip())
        if mm is None:
            return None  # a '#' that is not perf's metric column
        mvs = mm.group("mv")
        mv = float(mvs) if mvs in ("nan", "inf", "-inf") else parse_plain_number(mvs)
        mu = mm.group("mu") or None
    else:
        noise = _NOISE_RE.search(notes)
        if noise is not None:
            variance = parse_plain_number(noise.group("pct"))
            notes = notes[: noise.start()] + notes[noise.end() :]
        mpx = _MPX_RE.search(notes)
        if mpx is not None:
            enabled = parse_plain_number(mpx.group("pct"))
            notes = notes[: mpx.start()] + notes[mpx.end() :]
        if notes.strip():
            return None
    return unit, event, cgroup, variance, enabled, mv, mu


# --- CSV ------------------------------------------------------------------------

_AGGR_ID_RE = re.compile(r"^(?:S\d+(?:-D\d+)?(?:-C\d+|-L\d+-ID\d+|-CLS\d+)?|N\d+)$")
_CPU_ID_RE = re.compile(r"^CPU(\d+)$")
_INT_RE = re.compile(r"^\d+$")
_FLOAT_RE = re.compile(r"^\d+[.,]\d+$")  # "," only when the separator is not ","
_CSV_TIME_RE = re.compile(r"^\s*\d+\.\d{9}$")
_SEP_RUN_RE = re.compile(r"[^A-Za-z0-9.<> _/\-\u00a0\u202f\u2019]+")


def _candidate_seps(line: str) -> Iterator[str]:
    seen: set[str] = set()
    for run in _SEP_RUN_RE.findall(line):
        for size in range(1, len(run) + 1):
            unit = run[:size]
            if len(run) % size == 0 and unit * (len(run) // size) == run and unit not in seen:
                seen.add(unit)
                yield unit
    if "\t" in line and "\t" not in seen:
        yield "\t"


def _csv_fields(line: str, sep: str) -> dict[str, Any] | None:
    """Validate and map one CSV line; None when it is not perf stat CSV with ``sep``."""
    if sep not in line:
        return None
    f = line.split(sep)
    i = 0
    ts = None
    if _CSV_TIME_RE.match(f[0]):
        ts = seconds_to_ns(f[0])
        i = 1
    if i < len(f) and f[i].strip() == "summary":
        i += 1
    if i >= len(f):
        return None
    head = f[i]
    mc = _CPU_ID_RE.match(head)
    if mc is not None:
        return _csv_tail(f, i + 1, sep, ts=ts, cpu=int(mc.group(1)))
    if _AGGR_ID_RE.match(head):
        if i + 1 >= len(f) or not _INT_RE.match(f[i + 1]):
            return None
        return _csv_tail(f, i + 2, sep, ts=ts, aggr=head, aggr_cpus=int(f[i + 1]))
    if head in _STATUS or parse_plain_number(head) is not None:
        return _csv_tail(f, i, sep, ts=ts)
    # per-thread "comm-pid"; the comm itself may contain the separator
    for k in range(i + 1, len(f)):
        cand = sep.join(f[i:k])
        if "-" in cand and cand.rsplit("-", 1)[1].isdigit():
            row = _csv_tail(f, k, sep, ts=ts, thread=cand.strip())
            if row is not None:
                return row
    return None


def _csv_tail(f: list[str], i: int, sep: str, **prefix: Any) -> dict[str, Any] | None:
    """``VALUE SEP UNIT SEP EVENT [SEP CGROUP] [SEP VAR%] SEP RUN SEP PCNT [SEP MV SEP MU]``."""
    if i + 2 > len(f):
        return None
    raw_value = f[i]
    if raw_value in _STATUS:
        status, value = _STATUS[raw_value], None
    else:
        if not (_INT_RE.match(raw_value) or _FLOAT_RE.match(raw_value)):
            return None
        status, value = "counted", float(raw_value.replace(",", "."))
    rest = f[i + 1 :]
    if len(rest) >= 3 and rest[1] != "" and not _INT_RE.match(rest[0]):
        unit = rest[0] or None
        after = rest[1:]
    elif len(rest) >= 2 and rest[0] == "":
        unit = None
        after = rest[1:]
    else:
        return None
    # find the RUN_NS,PCNT anchor: an integer followed by a %.2f number
    anchor = None
    for k in range(1, len(after) - 1):
        if _INT_RE.match(after[k]) and _FLOAT_RE.match(after[k + 1]):
            anchor = k
            break
    if anchor is None:
        return None
    name_fields = after[:anchor]
    variance = None
    if name_fields and name_fields[-1].endswith("%"):
        variance = parse_plain_number(name_fields[-1][:-1])
        if variance is None:
            return None
        name_fields = name_fields[:-1]
    cgroup = None
    if len(name_fields) >= 2 and name_fields[-1].startswith("/"):
        cgroup = name_fields[-1]
        name_fields = name_fields[:-1]
    event = sep.join(name_fields)
    if not event or event.strip() != event:
        return None
    run_ns = int(after[anchor])
    enabled = float(after[anchor + 1].replace(",", "."))
    tail = after[anchor + 2 :]
    mv = mu = None
    if tail and any(tail):
        if len(tail) > 4:
            return None
        mv = parse_plain_number(tail[0]) if tail[0] else None
        if tail[0] and mv is None:
            return None
        mu = (tail[1].strip() or None) if len(tail) > 1 else None
    row: dict[str, Any] = {
        "ts": None,
        "cpu": None,
        "aggr": None,
        "aggr_cpus": None,
        "thread": None,
        "cgroup": cgroup,
        "event": event,
        "status": status,
        "value": value,
        "unit": unit,
        "variance": variance,
        "enabled": enabled,
        "run_ns": run_ns,
        "mv": mv,
        "mu": mu,
    }
    row.update(prefix)
    return row


# --- JSON -----------------------------------------------------------------------

_JSON_DECIMAL_COMMA_RE = re.compile(r"(:\s*-?\d+),(\d+)(?=\s*[,}])")


def _load_json(text: str) -> dict[str, Any] | None:
    for candidate in (text, _JSON_DECIMAL_COMMA_RE.sub(r"\1.\2", text)):
        try:
            obj = json.loads(candidate)
        except ValueError:
            continue
        return obj if isinstance(obj, dict) else None
    return None


def _json_number(v: Any) -> float | None:
    if v is None or v == "" or v == "none":
        return None
    if isinstance(v, bool):
        raise TypeError("boolean where a number was expected")
    if isinstance(v, (int, float)):
        return float(v)
    return parse_plain_number(str(v))


def _json_row(o: dict[str, Any]) -> dict[str, Any]:
    raw_value = o["counter-value"]
    if isinstance(raw_value, str) and raw_value in _STATUS:
        status, value = _STATUS[raw_value], None
    else:
        value = _json_number(raw_value)
        if value is None:
            raise ValueError(f"counter-value {raw_value!r}")
        status = "counted"
    interval = o.get("interval", o.get("timestamp"))
    ts = (
        seconds_to_ns(f"{interval:.9f}" if isinstance(interval, float) else str(interval))
        if interval is not None
        else None
    )
    cpu = o.get("cpu")
    aggr = None
    for key in ("core", "die", "socket", "node", "cluster", "cache"):
        if key in o:
            aggr = str(o[key])
    nr = o.get("aggregate-number", o.get("counters"))
    run = o.get("event-runtime", o.get("runtime"))
    mu = o.get("metric-unit")
    if mu in ("(null)", ""):
        mu = None
    unit = o.get("unit") or None
    event = o.get("event")
    if not isinstance(event, str) or not event:
        raise ValueError("missing event name")
    return {
        "ts": ts,
        "cpu": int(cpu) if cpu is not None else None,
        "aggr": aggr,
        "aggr_cpus": int(nr) if nr is not None else None,
        "thread": o.get("thread"),
        "cgroup": o.get("cgroup"),
        "event": event,
        "status": status,
        "value": value,
        "unit": unit,
        "variance": _json_number(o.get("variance")),
        "enabled": _json_number(o.get("pcnt-running")),
        "run_ns": int(float(run)) if run is not None else None,
        "mv": _json_number(o.get("metric-value")) if mu is not None else None,
        "mu": mu,
    }


SPEC = FormatSpec(
    FORMAT,
    TABLE,
    "perf stat output: human, CSV (-x SEP) or JSON (-j), with -I, -r, -A, --per-*",
    sniff,
    parser=PerfStatParser,
)
