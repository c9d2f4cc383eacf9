"""perf stat ``-j`` lines -> ``Fields``: one JSON object per counter line.

perf 5.x-6.x print ``counter-value`` as a string (``"8251.000000"`` or a status),
``interval``, ``event-runtime``, ``pcnt-running`` and ``metric-value`` as numbers,
aggregation ids as strings under ``core``/``die``/``socket``/``node``.  A
``de_DE`` locale makes perf print decimal commas, which is not JSON: such lines
are read after turning ``: 100,00`` into ``: 100.00``.  ``fast.json_rows`` reads
runs of these lines with Arrow's JSON reader and the same rules.
"""

from __future__ import annotations

import json
import re

from ..numbers import parse_plain_number, seconds_to_ns
from .tokens import STATUS, Fields, fields

_DECIMAL_COMMA_RE = re.compile(r"(:\s*-?\d+),(\d+)(?=\s*[,}])")
#: aggregation ids, in the order perf prints them: the last one present wins
AGGR_KEYS = ("core", "die", "socket", "node", "cluster", "cache")


def load_json(text: str) -> dict[str, object] | None:
    """The object on a line (decimal commas mended), or None if it is not one."""
    for candidate in (text, _DECIMAL_COMMA_RE.sub(r"\1.\2", text)):
        try:
            obj = json.loads(candidate)
        except ValueError:
            continue
        return obj if isinstance(obj, dict) else None
    return None


def json_number(v: object) -> float | None:
    if v is None or v == "" or v == "none":
        return None
    if isinstance(v, bool):
        raise TypeError("boolean where a number was expected")
    if isinstance(v, (int, float)):
        return float(v)
    return parse_plain_number(str(v))


def json_fields(o: dict[str, object]) -> Fields:
    """The fields of a counter object; ValueError/TypeError when it is not perf's."""
    raw_value = o["counter-value"]
    if isinstance(raw_value, str) and raw_value in STATUS:
        status, value = STATUS[raw_value], None
    else:
        value = json_number(raw_value)
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
    for key in AGGR_KEYS:
        if key in o:
            aggr = str(o[key])
    nr = o.get("aggregate-number", o.get("counters"))
    run = o.get("event-runtime", o.get("runtime"))
    mu = _text(o, "metric-unit")
    if mu in ("(null)", ""):
        mu = None
    unit = _text(o, "unit") or None
    event = o.get("event")
    if not isinstance(event, str) or not event:
        raise ValueError("missing event name")
    return fields(
        event,
        status,
        value,
        ts=_fits(ts, 63, "interval"),
        cpu=_fits(int(cpu), 31, "cpu") if cpu is not None else None,  # type: ignore[call-overload]
        aggr=aggr,
        aggr_cpus=_fits(int(nr), 31, "aggregate-number") if nr is not None else None,  # type: ignore[call-overload]
        thread=_text(o, "thread"),
        cgroup=_text(o, "cgroup"),
        unit=unit,
        variance=json_number(o.get("variance")),
        enabled=json_number(o.get("pcnt-running")),
        run_ns=_fits(_int(run), 63, "event-runtime") if run is not None else None,
        mv=json_number(o.get("metric-value")) if mu is not None else None,
        mu=mu,
    )


def _text(o: dict[str, object], key: str) -> str | None:
    """A string field (absent: None); TypeError for another JSON type, which perf
    never prints there (found by tests/test_perf_stat_scanner.py: a number there
    was taken into a string column and failed the table)."""
    v = o.get(key)
    if v is None or isinstance(v, str):
        return v
    raise TypeError(f"{key} {v!r} is not a string")


def _int(v: object) -> int:
    """``int(float(v))``, as perf's own numbers are read; ValueError when infinite."""
    f = float(v)  # type: ignore[arg-type]
    if f != f or f in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite number: {v!r}")
    return int(f)


def _fits(v: int | None, bits: int, key: str) -> int | None:
    """``v`` if it fits a signed column of ``bits`` + 1 bits, else ValueError."""
    if v is not None and not -(2**bits) <= v < 2**bits:
        raise ValueError(f"{key} {v} is out of range")
    return v
