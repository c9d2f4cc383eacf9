"""spftrace's compiled core: byte scanners in plain C, built by ``pip install``.

Why plain C with the CPython API (not Cython, not a JIT): the core is two byte
loops and an argument parser, a few hundred lines that read like the regexes
they mirror; plain C needs nothing but the compiler at build time (Cython would
add a build dependency and thousands of generated lines to review), starts in
microseconds (numba took 0.4 s and 140 MB before the first line, and compiled
for seconds on first use) and never writes a cache.

The package works without it: where no compiler was found at install, or with
``SPFTRACE_NO_NATIVE=1`` (at build time: skip the extension; at run time: ignore
it), ``AVAILABLE`` is False and the parsers take the exact per-line Python path,
which is also the reference the tests hold this core equal to (STYLE.md 14).

Layout: ``src/module.c`` (arguments, results as memoryviews), ``src/out.h``
(growable buffers), ``src/tracetext.c`` (perf script, ftrace, trace-cmd lines);
``src/perf_walk.c`` (perf.data records, extension ``_perf_walk``) and
``src/perf_stat.c`` (perf stat counter lines, extension ``_perf_stat``) are
extensions of their own in setup.py.  A change of module.c's interface bumps VERSION.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

#: the C core's interface version this loader expects (CORE_VERSION in module.c)
VERSION = 4

#: typed payload columns the scanners decode (``tracetext.decode_payload``'s keys;
#: vm_start is also read as decimal, which v4 kernels print)
TYPED = (
    "ip", "vm_start", "vm_start_decimal", "vm_end", "address", "error_code", "mm",
    "write", "success",
)  # fmt: skip


def disabled() -> bool:
    """Whether ``SPFTRACE_NO_NATIVE`` asks for the pure-Python path."""
    return os.environ.get("SPFTRACE_NO_NATIVE", "") not in ("", "0")


def _load() -> tuple[ModuleType | None, str]:
    if disabled():
        return None, "SPFTRACE_NO_NATIVE is set"
    if importlib.util.find_spec(f"{__name__}._core") is None:
        return None, "not built (was there a C compiler at install?): pip install -e ."
    try:
        from . import _core
    except ImportError as e:
        return None, f"does not load ({e}): pip install -e ."
    if getattr(_core, "VERSION", None) != VERSION:
        return None, f"stale build (VERSION {_core.VERSION}, want {VERSION}): pip install -e ."
    return _core, ""


_CORE, REASON = _load()
#: whether the compiled core is loaded (REASON says why not)
AVAILABLE = _CORE is not None


@dataclass(frozen=True, slots=True)
class Column:
    """One value per record, little-endian (int32/int64/uint64), or a bitmap for
    booleans; ``valid`` is an Arrow validity bitmap, None when all are valid.
    Buffers are read-only memoryviews of the scanner's memory (no copy)."""

    values: memoryview
    valid: memoryview | None = None


@dataclass(frozen=True, slots=True)
class Strings:
    """Arrow strings: int32 offsets (count + 1) into ``data``."""

    offsets: memoryview
    data: memoryview


@dataclass(frozen=True, slots=True)
class Scan:
    """A scanner's cut of one chunk.  Per accepted record, in line order: its line
    number and prefix columns (None where the grammar or layout has none: all
    null), its payload decoded (``typed``: TYPED -> Column; ``fields``: per record
    an int32 offset into ``keys``/``values``) and its raw payload text.  ``other``
    are the lines left to the per-line path: their numbers and byte ranges in
    the chunk (int64 each).  ``v4``: a record shows a v4 kernel.  ``samples``:
    perf script lines of a sample event (``page-faults:u``: its fields are perf's
    own), ``tails``: perf script lines ending in ``)`` (a sample's ``ip sym
    (dso)``?), all left over."""

    records: int
    v4: bool
    samples: int
    tails: int
    line_no: memoryview
    ts: Column
    cpu: Column | None
    pid: Column | None
    tid: Column | None
    comm: Strings | None
    event: Strings
    payload: Strings
    typed: dict[str, Column | None]
    field_offsets: memoryview
    keys: Strings
    values: Strings
    other_line_no: memoryview
    other_start: memoryview
    other_end: memoryview


def _strings(d: dict[str, Any], name: str) -> Strings | None:
    off = d[f"{name}_offsets"]
    return None if off is None else Strings(off, d[f"{name}_data"])


def _scan(d: dict[str, Any]) -> Scan:
    def col(name: str, valid: str | None = None) -> Column | None:
        return None if d[name] is None else Column(d[name], d[valid] if valid else None)

    comm, event, payload = (_strings(d, k) for k in ("comm", "event", "payload"))
    keys, values = _strings(d, "key"), _strings(d, "value")
    assert event is not None and payload is not None and keys is not None and values is not None
    return Scan(
        records=d["records"], v4=d["v4"], samples=d["samples"], tails=d["tails"],
        line_no=d["line_no"],
        ts=Column(d["ts"]),
        cpu=col("cpu"), pid=col("pid", "pid_valid"), tid=col("tid"), comm=comm,
        event=event, payload=payload,
        typed={k: col(k, f"{k}_valid") for k in TYPED},
        field_offsets=d["field_offsets"], keys=keys, values=values,
        other_line_no=d["other_line_no"], other_start=d["other_start"],
        other_end=d["other_end"],
    )  # fmt: skip


def _lib() -> Any:
    if _CORE is None:
        raise RuntimeError(f"spftrace's compiled core is not available: {REASON}")
    return _CORE


@dataclass(frozen=True, slots=True)
class V4Rule:
    """How a record shows a v4 kernel (TraceTextParser._note_v4): an event whose
    full name starts with ``prefix`` and is ``dead``, or whose payload's first
    ``vma:DIGITS-`` has 13+ digits."""

    prefix: bytes
    dead: bytes


def count_lines(data: bytes | bytearray) -> int:
    """``data.count(b"\\n")``: compiled (a third of the time, and the GIL released
    for the parse threads) when the core is built."""
    return int(_CORE.count_lines(data)) if _CORE is not None else data.count(b"\n")


def scan_perf_script(
    data: bytes | bytearray, n_lines: int, origin: int, *, comm: bool, ids: int, cpu: bool,
    v4: V4Rule,
) -> Scan:  # fmt: skip
    """``n_lines`` perf script lines of one layout (ids: 0 none, 1 one id stored
    as tid, 2 pid/tid), numbered from ``origin``; the last may lack its newline."""
    d = _lib().scan_perf_script(
        data, n_lines, origin, comm=comm, ids=ids, cpu=cpu, v4_prefix=v4.prefix, v4_dead=v4.dead
    )
    return _scan(d)


def scan_ftrace(
    data: bytes | bytearray, n_lines: int, origin: int, *, tracecmd: bool,
    systems: dict[bytes, bytes], v4: V4Rule,
) -> Scan:  # fmt: skip
    """``n_lines`` ftrace (or, with ``tracecmd``, trace-cmd report) lines; bare
    event names found in ``systems`` are qualified as ``system:name``."""
    d = _lib().scan_ftrace(
        data, n_lines, origin, tracecmd=tracecmd, systems=systems, v4_prefix=v4.prefix,
        v4_dead=v4.dead,
    )  # fmt: skip
    return _scan(d)
