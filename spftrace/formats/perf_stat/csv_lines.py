"""perf stat ``-x SEP`` lines -> ``Fields``, the separator found from the line itself.

Layout (reference/perf-stat-formats.md §3): ``[TIME SEP] [CPUn SEP | AGGR SEP NR SEP |
comm-pid SEP] VALUE SEP UNIT SEP EVENT [SEP CGROUP] [SEP VAR%] SEP RUN SEP PCNT [SEP MV
SEP MU]``.  Any separator perf accepts works, several characters long too; it is
inferred from the first line that parses (runs of punctuation, tried in order)
and cached per input.  The RUN,PCNT pair (an integer, then a %.2f number) anchors
the fields after the event, so an event name or a comm may hold the separator.

``CsvShape`` is the layout of the first row, which the vectorised path
(``fast.csv_rows``) checks every other line against, field by field, with the
same rules as ``csv_fields``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..numbers import parse_plain_number, seconds_to_ns
from .human import UNITS
from .tokens import STATUS, Fields, fields

AGGR_ID = r"(?:S\d+(?:-D\d+)?(?:-C\d+|-L\d+-ID\d+|-CLS\d+)?|N\d+)"
_AGGR_ID_RE = re.compile(rf"^{AGGR_ID}$")
_CPU_ID_RE = re.compile(r"^CPU(\d+)$")
_INT_RE = re.compile(r"^\d+$")
_FLOAT_RE = re.compile(r"^\d+[.,]\d+$")  # "," only when the separator is not ","
_CSV_TIME_RE = re.compile(r"^\s*\d+\.\d{9}$")
#: -x ' ': what an event name and perf's enabled share look like (prose must not pass)
_SPACE_EVENT_RE = re.compile(r"^[A-Za-z][\w:./@=,{}-]*$")
_SPACE_PCNT_RE = re.compile(r"^\d{1,3}\.\d\d$")
_SEP_RUN_RE = re.compile(r"[^A-Za-z0-9.<> _/\-\u00a0\u202f\u2019]+")
#: separators tried per line, and fields a "comm-pid" may span (a comm is at most
#: 15 bytes): bounds that keep a hostile line linear
_MAX_SEPS = 8
_MAX_COMM_FIELDS = 16


def candidate_seps(line: str) -> Iterator[str]:
    """Separators the line may use: each run of punctuation, and its repeating units."""
    seen: set[str] = set()
    for run in _SEP_RUN_RE.findall(line):
        if len(seen) >= _MAX_SEPS:
            return
        for size in range(1, min(len(run), 8) + 1):
            unit = run[:size]
            if len(run) % size == 0 and unit * (len(run) // size) == run and unit not in seen:
                seen.add(unit)
                yield unit
    if "\t" in line and "\t" not in seen:
        yield "\t"
    if " " in line.strip(" "):
        yield " "  # -x ' ' (LKP's perf-stat monitor): tried last, with stricter fields


def detect_sep(line: str) -> str | None:
    for sep in candidate_seps(line):
        if csv_fields(line, sep) is not None:
            return sep
    return None


def csv_fields(line: str, sep: str) -> Fields | None:
    """Validate and map one CSV line; None when it is not perf stat CSV with ``sep``."""
    if sep == " ":
        return _space_fields(line)
    if sep not in line:
        return None
    return _sep_fields(line.split(sep), sep)


def _space_fields(line: str) -> Fields | None:
    """``-x ' '``: perf pads the interval time with spaces, which then read as empty
    fields, and the metric unit holds spaces (``CPUs utilized``).  Lines of prose
    also split on spaces, so the event must look like a perf event name, the unit
    must be empty or a known one and the enabled share is perf's ``%.2f``."""
    for status in STATUS:  # "<not counted>" is one field
        line = line.replace(status, status.replace(" ", "\0"))
    f = [t.replace("\0", " ") for t in line.lstrip(" ").split(" ")]
    if len(f) < 5:
        return None
    row = _sep_fields(f, " ")
    if row is None or not _SPACE_EVENT_RE.match(row["event"]):
        return None
    if row["unit"] is not None and row["unit"] not in UNITS:
        return None
    return row


def _sep_fields(f: list[str], sep: str) -> Fields | None:
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
        return _tail(f, i + 1, sep, ts=ts, cpu=int(mc.group(1)))
    if _AGGR_ID_RE.match(head):
        if i + 1 >= len(f) or not _INT_RE.match(f[i + 1]):
            return None
        return _tail(f, i + 2, sep, ts=ts, aggr=head, aggr_cpus=int(f[i + 1]))
    if head in STATUS or parse_plain_number(head) is not None:
        return _tail(f, i, sep, ts=ts)
    # per-thread "comm-pid"; the comm itself may contain the separator
    for k in range(i + 1, min(len(f), i + 1 + _MAX_COMM_FIELDS)):
        cand = sep.join(f[i:k])
        if "-" in cand and cand.rsplit("-", 1)[1].isdigit():
            row = _tail(f, k, sep, ts=ts, thread=cand.strip())
            if row is not None:
                return row
    return None


def _tail(f: list[str], i: int, sep: str, **prefix: object) -> Fields | None:
    """``VALUE SEP UNIT SEP EVENT [SEP CGROUP] [SEP VAR%] SEP RUN SEP PCNT [SEP MV SEP MU]``."""
    if i + 2 > len(f):
        return None
    raw_value = f[i]
    if raw_value in STATUS:
        status, value = STATUS[raw_value], None
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
    if sep == " ":
        if not _SPACE_PCNT_RE.match(after[anchor + 1]):
            return None
        tail = [tail[0], " ".join(tail[1:])] if len(tail) > 2 else tail
    if tail and any(tail):
        if len(tail) > 4:
            return None
        mv = parse_plain_number(tail[0]) if tail[0] else None
        if tail[0] and mv is None:
            return None
        mu = (tail[1].strip() or None) if len(tail) > 1 else None
    return fields(
        event, status, value, unit=unit, cgroup=cgroup, variance=variance, enabled=enabled,
        run_ns=run_ns, mv=mv, mu=mu, **prefix,
    )  # fmt: skip


# --- the layout of a whole input, for the vectorised path ------------------------------


@dataclass(frozen=True)
class CsvShape:
    """Which fields a row has: what the first CSV row of an input showed."""

    sep: str
    ts: bool
    ident: str  # "", "cpu", "aggr" or "thread"
    cgroup: bool
    variance: bool
    tail: int  # fields after PCNT (perf prints MV and MU: 2)

    @property
    def n_fields(self) -> int:
        ident = {"": 0, "cpu": 1, "aggr": 2, "thread": 1}[self.ident]
        return self.ts + ident + 3 + self.cgroup + self.variance + 2 + self.tail


def shape_of(line: str, sep: str, f: Fields) -> CsvShape | None:
    """The shape of a line ``csv_fields`` took, if the vectorised path can check it."""
    if sep == " ":
        return None  # padding and spaced metric units: the per-line path reads them
    if f["ts"] is None and line.split(sep, 1)[0].strip() == "summary":
        return None  # --summary's last block: a few lines
    ident = "cpu" if f["cpu"] is not None else "aggr" if f["aggr"] is not None else ""
    ident = "thread" if f["thread"] is not None else ident
    base = CsvShape(
        sep, f["ts"] is not None, ident, f["cgroup"] is not None, f["variance"] is not None, 0
    )
    tail = line.count(sep) + 1 - base.n_fields
    if not 0 <= tail <= 2:
        return None
    return CsvShape(base.sep, base.ts, base.ident, base.cgroup, base.variance, tail)


def looks_locale_mangled(line: str) -> bool:
    from .tokens import MANGLED_RE

    return MANGLED_RE.match(line) is not None
