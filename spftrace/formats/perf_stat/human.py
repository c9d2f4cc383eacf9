"""perf stat's human layout: a line -> ``Fields`` (or None), footers included.

Layout (reference/perf-stat-formats.md §2): ``[TIME] [CPUn | Sn.. NR | comm-pid]
VALUE [UNIT] EVENT [CGROUP] [# METRIC UNIT] [( +- N% )] [(N%)]``.  Values are
printed with the locale's digit grouping (``%'.0f``), so they are read by
``parse_locale_number``.  Every pattern here is matched from a fixed position
or with a bounded lookahead, so a line costs time linear in its length (a
hostile head must not stall sniffing).
"""

from __future__ import annotations

import re

from ..numbers import parse_plain_number, seconds_to_ns
from .tokens import Fields, fields, status_value

_NUM = r"[0-9][0-9,.'\u2019\u202f\u00a0]*(?: [0-9]{3})*(?:[,.][0-9]+)?"
_VALUE = rf"(?P<value><not counted>|<not supported>|{_NUM})"
#: The shapes that make up nearly every line of a large capture, tried first:
#: [time] [CPUn | Sn.. NR] VALUE [msec|ns] EVENT [# METRIC UNIT] [(NN.NN%)].
#: Values with exactly three decimals are left to the slow path: "15.836" is a
#: grouped 15836 in de_DE, never a perf decimal (those have 2 or 6+ digits).  The
#: metric unit ends in a non-space (greedy): a lazy one tried every end in a run of
#: spaces, quadratic in its length.
FAST_RE = re.compile(
    r"^\s*(?:(\d+\.\d{9})\s+)?"
    r"(?:CPU(\d+)\s+|(S\d+(?:-D\d+)?(?:-C\d+)?|N\d+)\s+(\d+)\s+)?"
    r"(\d+(?:\.\d\d|\.\d{4,})?|<not counted>|<not supported>)\s+"
    r"(?:(msec|ns)\s+)?"
    r"([A-Za-z][\w:./@=,-]*)"
    r"(?:\s+#\s+(\d+\.\d+)\s+([^\s(#\[](?:[^(#\[]*[^\s(#\[])?))?"
    r"(?:\s+\((\d+\.\d\d)%\))?"
    r"\s*$"
)
#: Interval counter lines that the vectorised path takes (Arrow's RE2, match only:
#: RE2 with capture groups runs at a fifth of the speed, so fields are then cut
#: out by splitting on '#' and whitespace; see fast.human_interval).
FAST_INTERVAL_RE2 = (
    r"^\s*\d+\.\d{9}\s+(?:CPU\d+\s+|(?:S\d+(?:-D\d+)?(?:-C\d+)?|N\d+)\s+\d+\s+)?"
    r"(?:\d+(?:\.\d\d|\.\d{4,})?|<not counted>|<not supported>)\s+(?:(?:msec|ns)\s+)?"
    r"[A-Za-z][\w:./@=,-]*(?:\s+#\s+\d+\.\d+\s+[^\s(#\[][^(#\[]*?)?"
    r"(?:\s+\(\d+\.\d\d%\))?\s*$"
)
#: perf's header above interval columns, repeated every 25 intervals
INTERVAL_HEADER_RE2 = r"^#\s+time\s"

_TIME_RE = re.compile(r"^\s*(?P<time>\d+\.\d{9})\s+")
_AGGR_RE = re.compile(
    r"^(?:CPU(?P<cpu>\d+)"
    r"|(?P<aggr>S\d+(?:-D\d+)?(?:-C\d+|-L\d+-ID\d+|-CLS\d+)?|N\d+)\s+(?P<nr>\d+))\s+"
)
_VALUE_RE = re.compile(rf"\s*{_VALUE}\s+(?=\S)")  # used with .match(text, pos)
_THREAD_SPLIT_RE = re.compile(r"(?<=\S)-\d+(?=\s)")
UNITS = frozenset(
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
_METRIC_RE = re.compile(r"#\s+(?P<mv>-?[\d.,]+|nan|-?inf)\s*(?P<mu>.*)$")  # mu: rstrip it
_PAREN_UNIT_RE = re.compile(r"^\((?P<unit>msec|usec|ns|Joules|MiB)\)\s*")
_NAME_END_RE = re.compile(r"\s{2,}|\s(?=[(\[])")

_ELAPSED_RE = re.compile(
    r"^\s*(?P<v>\d+[.,]\d+)(?:\s+\+-\s+(?P<sd>\d+[.,]\d+))?\s+seconds time elapsed"
    r"(?:\s+\(\s*\+-\s*(?P<pct>[\d.,]+)%\s*\))?\s*$"
)
_USERSYS_RE = re.compile(r"^\s*(?P<v>\d+[.,]\d+)\s+seconds (?P<which>user|sys)\s*$")
_WALLCLOCK_RE = re.compile(r"^\s*Wall-clock time elapsed:\s+(?P<v>[\d.,]+)\s+msecs\s*$")
#: a human line has at most this many "comm-pid" split points worth trying: a comm is
#: at most 15 bytes, so a thread column starts within the first few tokens
_MAX_THREAD_SPLITS = 8


def human_fields(line: str) -> Fields | None:
    """A human counter line's fields, or None if it is not one."""
    if "\t" in line:  # perf's human layout pads with spaces only; tabs mean CSV
        return None
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
        f = _tail(rest[v.end() :], v.group("value").strip())
        if f is not None:
            f.update({"ts": ts, "cpu": cpu, "aggr": aggr, "aggr_cpus": nr})
            return f
    if a is not None:
        return None
    # per-thread "comm-pid": the comm may hold spaces, dashes and digits (even a
    # leading number), so try every "-PID<spaces>" split point, leftmost first
    for k, t in enumerate(_THREAD_SPLIT_RE.finditer(rest)):
        if k == _MAX_THREAD_SPLITS:
            break
        v = _VALUE_RE.match(rest, t.end())
        if v is None:
            continue
        f = _tail(rest[v.end() :], v.group("value").strip())
        if f is not None:
            f.update({"ts": ts, "thread": rest[: t.end()].strip()})
            return f
    return None


def _tail(rest: str, raw_value: str) -> Fields | None:
    try:
        status, value = status_value(raw_value, grouped=True)
    except ValueError:
        return None
    return split_name(rest, status, value)


def split_name(rest: str, status: str, value: float | None) -> Fields | None:
    """``[UNIT] NAME [CGROUP] [# METRIC] [( +- N% )] [(N%)]`` -> fields."""
    unit = None
    head, _, tail = rest.partition("#")
    if not head.strip():
        return None
    parts = head.split(None, 1)
    if parts[0] in UNITS and len(parts) == 2:
        unit = parts[0]
        head = parts[1]
    # the name ends at two spaces or at a parenthesised note
    head = head.strip()
    notes = ""
    m = _NAME_END_RE.search(head)
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
        mu = mm.group("mu").rstrip() or None
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
    return fields(
        event, status, value, unit=unit, cgroup=cgroup, variance=variance, enabled=enabled,
        mv=mv, mu=mu,
    )  # fmt: skip


def footer_fields(line: str) -> Fields | None:
    """``N seconds time elapsed`` / ``user`` / ``sys`` / ``Wall-clock`` as a total row."""
    m = _ELAPSED_RE.match(line)
    if m is not None:
        pct = m.group("pct")
        return _total(
            "elapsed", seconds_to_ns(m.group("v")), parse_plain_number(pct) if pct else None
        )
    m = _USERSYS_RE.match(line)
    if m is not None:
        return _total(m.group("which"), seconds_to_ns(m.group("v")), None)
    m = _WALLCLOCK_RE.match(line)
    if m is not None:
        v = parse_plain_number(m.group("v"))
        return _total("elapsed", round((v or 0.0) * 1e6), None)
    return None


def _total(which: str, ns: int, variance: float | None) -> Fields:
    event = f"seconds-{which}" if which != "elapsed" else "seconds-time-elapsed"
    return fields(event, "counted", ns / 1e9, unit="seconds", variance=variance)
