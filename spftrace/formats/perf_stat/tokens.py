"""What every perf stat line is cut into (``Fields``), and the line classes shared by
the human, CSV and JSON tokenisers and the parser.

Tokenising (a line -> ``Fields`` or None) is kept apart from building rows
(``parser.py``: blocks, accounting): each output mode has its own tokeniser
module, and the fast paths (``fast.py``) produce the same ``Fields`` columns.
"""

from __future__ import annotations

import re
from typing import TypedDict

from ..numbers import parse_locale_number, parse_plain_number

NOT_COUNTED = "<not counted>"
NOT_SUPPORTED = "<not supported>"
STATUS = {NOT_COUNTED: "not-counted", NOT_SUPPORTED: "not-supported"}


class Fields(TypedDict):
    """One counter line, tokenised: the columns of its row but the block."""

    ts: int | None
    cpu: int | None
    aggr: str | None
    aggr_cpus: int | None
    thread: str | None
    cgroup: str | None
    event: str
    status: str
    value: float | None
    unit: str | None
    variance: float | None
    enabled: float | None
    run_ns: int | None
    mv: float | None
    mu: str | None


def fields(event: str, status: str, value: float | None, **kw: object) -> Fields:
    """A ``Fields`` with everything not given None."""
    f: Fields = {
        "ts": None, "cpu": None, "aggr": None, "aggr_cpus": None, "thread": None,
        "cgroup": None, "event": event, "status": status, "value": value, "unit": None,
        "variance": None, "enabled": None, "run_ns": None, "mv": None, "mu": None,
    }  # fmt: skip
    f.update(kw)  # type: ignore[typeddict-item]
    return f


def status_value(raw: str, grouped: bool) -> tuple[str, float | None]:
    """``(status, value)`` of a printed counter value; ValueError if it is none."""
    status = STATUS.get(raw)
    if status is not None:
        return status, None
    value = parse_locale_number(raw) if grouped else parse_plain_number(raw)
    if value is None:
        raise ValueError(f"not a counter value: {raw!r}")
    return "counted", value


# --- line classes (what a line is when it is not a counter) ------------------------

HEADER_RE = re.compile(
    r"^\s*Performance counter stats for\s+(?:(?P<what>process id|thread id)\s+)?"
    r"'(?P<target>.*)'(?:\s+\((?P<runs>\d+)\s+runs\))?:\s*$"
)
NOISE_ONLY_RE = re.compile(r"^\s*\(\s*\+-\s*(?P<pct>[\d.,]+)\s*%\s*\)\s*$")
METRIC_ONLY_RE = re.compile(r"^\s+#\s")
TABLE_ROW_RE = re.compile(r"^\s*\d+[.,]\d+ \([+-]\d+[.,]\d+\) #*\s*$")
VERBOSE_RE = re.compile(r"^[\w:./@-]+: \d+ \d+ \d+$")
#: a line that starts like a counter: if it does not parse, it is a reject, not workload text
#: a line that is one number and nothing else: never a perf counter line (those name
#: their event); outside a counter block it is the workload's own output
BARE_NUMBER_RE = re.compile(r"^\s*\d[\d,.']*\s*$")
COUNTERISH_RE = re.compile(r"^\s*(?:<not (?:counted|supported)>|\d)")
IGNORABLE_PREFIXES = (
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
MANGLED_RE = re.compile(
    r"^\s*+(?:\d+\.\d{9},)?(?:\d+,\d{2},(?:msec|ns|Joules)?,|.*,\d+,100,00(?:,|$))"
)
ERROR_RE = re.compile(
    r"^(?:event syntax error:|Workload failed:|\s*Error:|invalid or unsupported event"
    r"|failed to |Cannot |The sys_perf_event_open\(\) syscall returned"
    r"|No permission to enable|Access to performance monitoring and observability operations"
    r"|\s*Usage: perf stat|unknown tracepoint|Bad event name|Invalid event)"
)
