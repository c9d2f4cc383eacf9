"""Every dataset table and column, declared once.

Parquet files, DuckDB views, empty tables and the ``spftrace schema`` listing
are all derived from ``TABLES``.  Types are spelled as short strings so that
importing this module does not import pyarrow (``spftrace --help`` stays fast);
``arrow_schema()`` turns them into pyarrow types on demand.

Schema history (bump SCHEMA_VERSION on any incompatible change):
  1  2026-11  first release: runs, counters, events, rejects, stats.
  2  2026-12  events gain period, sym, dso and callchain (samples that are not
              tracepoints, and kernel/user stacks); text from traces is stored
              backslash-escaped (see spftrace/text.py), so any byte survives.
              Version 1 datasets are read unchanged (the new columns are null).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

SCHEMA_VERSION = 2

#: The partition column.  It lives in the directory name (``run=NAME``), not
#: inside the Parquet files, so every hive-aware reader derives it the same way.
PARTITION = "run"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # one of _ARROW_TYPES
    doc: str
    unit: str | None = None
    nullable: bool = True
    #: untrusted text from an input, stored backslash-escaped (spftrace/text.py)
    escaped: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


_C = Column

RUNS = Table(
    "runs",
    "One row per ingested input; a run is one or more inputs ingested together.",
    (
        _C("run", "string", "run name (also the partition directory)", nullable=False),
        _C("input", "int32", "0-based position of this input within the run", nullable=False),
        _C("label", "string", "user label, e.g. base or head, for comparisons"),
        _C("source_format", "string", "detected or forced format name", nullable=False),
        _C("source", "string", "path as given, or <stdin>", nullable=False),
        _C("sha256", "string", "SHA-256 of the bytes read (before decompression)", nullable=False),
        _C("bytes", "int64", "size of the input as read", "bytes", nullable=False),
        _C("compression", "string", "gzip, xz or zstd when the input was compressed"),
        _C("ingested_at", "timestamp", "when the ingest finished (UTC)", nullable=False),
        _C("host", "string", "host that ran the ingest"),
        _C("kernel", "string", "kernel release named by the input, if any"),
        _C("command", "string", "workload command line named by the input, if any"),
        _C("spftrace_version", "string", "spftrace version that wrote the run", nullable=False),
        _C("schema_version", "int32", "dataset schema version", nullable=False),
    ),
)

COUNTERS = Table(
    "counters",
    "One counter value: a perf stat line (per interval/cpu/thread when present) "
    "or a /proc/vmstat key in one snapshot.",
    (
        _C("input", "int32", "which input of the run the value came from", nullable=False),
        _C("line_no", "int64", "1-based line number in that input", nullable=False),
        _C(
            "block",
            "int32",
            "perf stat block (repeated runs of perf) or vmstat snapshot, 0-based",
            nullable=False,
        ),
        _C("origin", "string", "perf-stat or vmstat", nullable=False),
        _C(
            "ts", "int64", "interval end (perf stat -I, since start) or snapshot time (epoch)", "ns"
        ),
        _C("cpu", "int32", "CPU number with perf stat -A"),
        _C("aggr", "string", "aggregation id: S0, S0-D0, S0-D0-C0, N0, CPU3 ..."),
        _C("aggr_cpus", "int32", "number of CPUs aggregated into aggr"),
        _C("thread", "string", "comm-pid with perf stat --per-thread"),
        _C("cgroup", "string", "cgroup with perf stat -G"),
        _C("event", "string", "event or vmstat key, as printed", nullable=False),
        _C("value", "float64", "counter value; null unless status is counted"),
        _C("unit", "string", "unit printed with the value (msec, ns, Joules, seconds)"),
        _C("variance_pct", "float64", "perf stat -r relative stddev", "%"),
        _C("enabled_pct", "float64", "share of time the counter was running (multiplexing)", "%"),
        _C("run_ns", "int64", "time the counter ran (CSV/JSON only)", "ns"),
        _C("status", "string", "counted, not-counted or not-supported", nullable=False),
        _C("metric_value", "float64", "perf's derived metric (the '#' column)"),
        _C("metric_unit", "string", "unit/name of the derived metric"),
    ),
)

EVENTS = Table(
    "events",
    "One tracepoint record from perf script, ftrace or trace-cmd text.",
    (
        _C("input", "int32", "which input of the run the record came from", nullable=False),
        _C("line_no", "int64", "1-based line number of the record", nullable=False),
        _C("ts", "int64", "timestamp as printed, parsed from the digits", "ns"),
        _C("cpu", "int32", "CPU the record was taken on"),
        _C("pid", "int32", "process (thread group) id when printed"),
        _C("tid", "int32", "thread id"),
        _C("comm", "string", "task name (untrusted bytes, backslash-escaped)", escaped=True),
        _C(
            "event",
            "string",
            "system:name; unknown bare ftrace names kept as written",
            nullable=False,
        ),
        _C("ip", "uint64", "kernel call site (spf_*) or user instruction pointer"),
        _C("vm_start", "uint64", "VMA start (spf_*)"),
        _C("vm_end", "uint64", "VMA end (spf_*)"),
        _C("address", "uint64", "faulting address"),
        _C("error_code", "uint64", "x86 page-fault error code"),
        _C("mm", "uint64", "mm_struct pointer (hashed in ftrace text)"),
        _C("write", "bool", "mmap_lock: write lock"),
        _C("success", "bool", "mmap_lock_acquire_returned: success"),
        _C("fields", "map", "other key=value fields of the payload", escaped=True),
        _C(
            "payload",
            "string",
            "raw payload text, always kept (backslash-escaped)",
            nullable=False,
            escaped=True,
        ),
        _C("period", "uint64", "sample period (perf script period column, PERF_SAMPLE_PERIOD)"),
        _C("sym", "string", "symbol of the sample's ip, as the input names it", escaped=True),
        _C("dso", "string", "object file of the sample's ip ([kernel.kallsyms], libc.so.6 ...)"),
        _C(
            "callchain",
            "frames",
            "stack of the sample, innermost frame first: list of {ip, sym, off, dso}; "
            "sym/dso null where the input has only addresses; null without a callchain",
            escaped=True,
        ),
    ),
)

REJECTS = Table(
    "rejects",
    "An input line that could not be parsed (ingested with --errors skip).",
    (
        _C("input", "int32", "which input of the run", nullable=False),
        _C("line_no", "int64", "1-based line number", nullable=False),
        _C("line", "binary", "the line's bytes, exactly as read", nullable=False),
        _C("reason", "string", "why it was rejected", nullable=False),
    ),
)

STATS = Table(
    "stats",
    "Ingest statistics, as Perfetto's stats table: lines_read, records, ignored, "
    "rejected, events_dropped ...",
    (
        _C("input", "int32", "which input of the run", nullable=False),
        _C("name", "string", "statistic name", nullable=False),
        _C("cpu", "int32", "CPU the statistic is about, when per CPU"),
        _C("value", "int64", "the count", nullable=False),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (RUNS, COUNTERS, EVENTS, REJECTS, STATS)}

_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "uint64": "UBIGINT",
    "float64": "DOUBLE",
    "bool": "BOOLEAN",
    "binary": "BLOB",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "map": "MAP(VARCHAR, VARCHAR)",
    "frames": "STRUCT(ip UBIGINT, sym VARCHAR, off UBIGINT, dso VARCHAR)[]",
}


def _arrow_type(name: str) -> Any:
    import pyarrow as pa

    return {
        "string": pa.string(),
        "int32": pa.int32(),
        "int64": pa.int64(),
        "uint64": pa.uint64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "binary": pa.binary(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "map": pa.map_(pa.string(), pa.string()),
        "frames": frames_type(),
    }[name]


def frames_type() -> Any:
    """The Arrow type of a callchain: list<struct<ip, sym, off, dso>>."""
    import pyarrow as pa

    return pa.list_(
        pa.struct(
            [
                pa.field("ip", pa.uint64()),
                pa.field("sym", pa.string()),
                pa.field("off", pa.uint64()),
                pa.field("dso", pa.string()),
            ]
        )
    )


def arrow_schema(table: str, *, with_partition: bool = False) -> pa.Schema:
    """The pyarrow schema of a table as stored (without the partition column)."""
    import pyarrow as pa

    t = TABLES[table]
    fields = [
        pa.field(c.name, _arrow_type(c.type), nullable=c.nullable)
        for c in t.columns
        if with_partition or c.name != PARTITION
    ]
    if with_partition and PARTITION not in t.names:
        fields.insert(0, pa.field(PARTITION, pa.string(), nullable=False))
    meta = {
        b"spftrace.schema_version": str(SCHEMA_VERSION).encode(),
        b"spftrace.table": table.encode(),
    }
    return pa.schema(fields, metadata=meta)


@functools.cache
def parser_schema(table: str) -> pa.Schema:
    """A table's schema as parsers produce it: without ``input``, which the writer adds."""
    full = arrow_schema(table)
    return full.remove(full.get_field_index("input"))


def duckdb_columns(table: str) -> str:
    """``name TYPE, ...`` for an empty DuckDB table with the run column first."""
    t = TABLES[table]
    cols = [f'"{PARTITION}" VARCHAR']
    cols += [f'"{c.name}" {_DUCKDB_TYPES[c.type]}' for c in t.columns if c.name != PARTITION]
    return ", ".join(cols)


def describe() -> list[str]:
    """Human listing of every table and column (``spftrace schema``)."""
    lines = [f"spftrace dataset schema, version {SCHEMA_VERSION}", ""]
    for t in TABLES.values():
        lines.append(f"{t.name}: {t.doc}")
        if PARTITION not in t.names:
            lines.append(f"  {PARTITION:<16} {'string':<9} partition: the run name")
        for c in t.columns:
            unit = f" [{c.unit}]" if c.unit else ""
            null = "" if c.nullable else " (not null)"
            lines.append(f"  {c.name:<16} {c.type:<9} {c.doc}{unit}{null}")
        lines.append("")
    return lines


def _utf8(v: Any) -> bytes:
    if not isinstance(v, str):
        return bytes(v)
    try:
        return v.encode()
    except UnicodeEncodeError:  # undecodable input bytes (surrogateescape): escape them
        from .text import escape

        return escape(v).encode()


#: Arrow type id -> the ``array`` typecode of its values (all are native-endian, as Arrow)
_TYPECODES = {
    "int8": "b", "int16": "h", "int32": "i", "int64": "q",
    "uint8": "B", "uint16": "H", "uint32": "I", "uint64": "Q",
    "float": "f", "double": "d",
}  # fmt: skip


_DIGITS = bytes.maketrans(b"\x00\x01", b"01")


def _bits(flags: Iterable[bool], n: int) -> bytes:
    """Arrow's bitmap of n flags (bit i of byte i // 8 is flag i, least significant
    first: ``numpy.packbits(bitorder="little")``), without numpy."""
    digits = bytes(flags)[::-1].translate(_DIGITS)
    return int(digits or b"0", 2).to_bytes((n + 7) // 8, "little")


_ZEROS: list[Any] = []  # the one zero buffer all-null columns share (null_array)


def null_array(typ: Any, n: int) -> Any:
    """An all-null array of ``n`` fixed-width values (or bools), its values and
    validity bitmap one zero buffer kept for the process: ``bytes(k)`` is calloc's
    (pages the kernel maps to its zero page, never written), where ``pa.nulls``
    zeroes fresh memory for each chunk's column (a page fault every 4 KiB)."""
    import pyarrow as pa

    nbytes = (n * typ.bit_width + 7) // 8
    z = _ZEROS[0] if _ZEROS else None
    if z is None or z.size < nbytes:
        z = pa.py_buffer(bytes(max(nbytes, 1 << 20)))
        _ZEROS[:] = [z]
    return pa.Array.from_buffers(typ, n, [z, z], null_count=n)


def to_arrow(values: Sequence[Any], typ: pa.DataType) -> pa.Array:
    """Python values (None for null) as an Arrow array of one of the dataset's types.

    Built from buffers rather than ``pa.array``: the first ``pa.array`` call of a
    process makes pyarrow import pandas (to check for pandas objects), which costs
    an ingest 0.15 s and 50 MB of resident memory for a handful of stats rows.  And
    without numpy (the ``array`` module packs the values): a small ingest imports
    no numpy at all (``spftrace.cli``), which is 0.1 s of its start-up."""
    from array import array
    from itertools import accumulate

    import pyarrow as pa

    vals = values if isinstance(values, list) else list(values)
    n = len(vals)
    nulls = vals.count(None)
    if nulls == n:  # (an empty batch's list column would reach pa.array: pandas)
        return pa.nulls(n, typ)
    bitmap = None if not nulls else pa.py_buffer(_bits([v is not None for v in vals], n))
    if pa.types.is_string(typ) or pa.types.is_binary(typ):
        raw = [b"" if v is None else _utf8(v) for v in vals]
        offsets = array("i", accumulate(map(len, raw), initial=0))
        data = pa.py_buffer(b"".join(raw))
        return pa.Array.from_buffers(typ, n, [bitmap, pa.py_buffer(offsets), data])
    if pa.types.is_map(typ):
        pairs = [[] if v is None else list(v) for v in vals]
        offsets = array("i", accumulate(map(len, pairs), initial=0))
        keys = to_arrow([k for p in pairs for k, _ in p], typ.key_type)
        items = to_arrow([x for p in pairs for _, x in p], typ.item_type)
        if bitmap is not None:  # nulls in a map column: rare enough for the generic path
            return pa.array([None if v is None else list(v) for v in vals], typ)
        offs = pa.Array.from_buffers(pa.int32(), n + 1, [None, pa.py_buffer(offsets)])
        return pa.MapArray.from_arrays(offs, keys, items)
    if pa.types.is_timestamp(typ):
        from datetime import UTC, datetime, timedelta

        epoch, us = datetime(1970, 1, 1, tzinfo=UTC), timedelta(microseconds=1)
        data = pa.py_buffer(array("q", [0 if v is None else (v - epoch) // us for v in vals]))
    elif pa.types.is_boolean(typ):
        data = pa.py_buffer(_bits(map(bool, vals), n))
    elif str(typ) in _TYPECODES:
        filled = [0 if v is None else v for v in vals]
        try:
            packed: object = array(_TYPECODES[str(typ)], filled)
        except TypeError:  # numpy scalars of a float into an int column, say: as numpy does
            import numpy as np

            packed = np.array(filled, typ.to_pandas_dtype())
        data = pa.py_buffer(packed)
    else:
        return pa.array(vals, typ)
    return pa.Array.from_buffers(typ, n, [bitmap, data])
