"""perf stat counter lines through the compiled scanner (``_native/src/perf_stat.c``).

Why C and not more Arrow: the Arrow paths (``fast``) cost ~40 compute calls and a
str -> Arrow round trip per chunk (250k human, 130k CSV, 70k JSON lines/s whole
process); the scanner reads the chunk's bytes once and hands back columns.

The scanner takes exactly the lines ``human.FAST_RE`` matches (and perf's
interval column header), perf's flat JSON counter objects, and CSV rows of the
input's separator once the layout is known (``_learn`` reads a first chunk's
lines one by one until then); every other run of lines is decoded and goes
through ``fast.feed_vectorised`` / the per-line path, in order, so blocks and
state advance as they would line by line.  Without the extension (not built,
or SPFTRACE_NO_NATIVE) nothing changes.  ``fast.THRESHOLDS["compiled"]`` is the
chunk size below which it is not tried (tests set it to 1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lines import Chunk
from . import fast
from .human import FAST_RE

if TYPE_CHECKING:
    from .parser import PerfStatParser

#: the scanner's status codes
_STATUS = ("counted", "not-counted", "not-supported")


def scanner() -> Any:
    """spftrace._native._perf_stat, or None (not built, or SPFTRACE_NO_NATIVE)."""
    from ..native import extension

    return extension("_perf_stat")


def feed_compiled(p: PerfStatParser, chunk: Chunk) -> bool:
    """Parse ``chunk`` into ``p`` with the scanner where it takes lines; False
    (nothing done) when it is not built, the chunk is small, or it took none."""
    mod = scanner()
    if mod is None or chunk.damage is not None or chunk.n_lines < fast.THRESHOLDS["compiled"]:
        return False
    import numpy as np

    learnt, pos = _learn(p, chunk)
    if learnt:  # the lines read to learn the CSV layout: the rest is this chunk now
        chunk = Chunk(
            chunk.first_line_no + learnt, chunk.data[pos:], chunk.n_lines - learnt,
            chunk.terminated,
        )  # fmt: skip
        if not chunk.n_lines:
            return True
    sep = _sep(p)
    d = mod.scan(chunk.data, sep.encode(), False, chunk.n_lines)  # (lines: counted once)
    kind = np.frombuffer(d["kind"], np.uint8)
    if len(kind) != chunk.n_lines or not kind.any():
        if not learnt:
            return False
        lines = chunk.lines()
        if not fast.feed_vectorised(p, lines, chunk.first_line_no):
            p.line_path(lines, chunk.first_line_no)
        return True
    starts = np.frombuffer(d["line_start"], np.int64)
    row_line = np.frombuffer(d["row_line"], np.int32)
    cols = _columns(d, len(row_line))
    key_hash = np.frombuffer(d["key_hash"], np.uint64)
    firsts = _firsts(d)
    taken = kind != 0
    edges = (np.flatnonzero(taken[1:] != taken[:-1]) + 1).tolist()
    for a, b in zip([0, *edges], [*edges, len(kind)], strict=True):
        if not taken[a]:
            _python(p, chunk, starts, a, b)
            if sep and _sep(p) != sep:  # the input changed separator: rows cut
                _python(p, chunk, starts, b, len(kind))  # with the old one are void
                break
            continue
        r0, r1 = np.searchsorted(row_line, [a, b]).tolist()
        table = None
        if r1 > r0:
            line_no = row_line[r0:r1].astype(np.int64) + chunk.first_line_no
            sliced = {k: v.slice(r0, r1 - r0) for k, v in cols.items()}
            table = p.segment_table(
                line_no, sliced, key_hash[r0:r1], distinct=d["pairs_distinct"],
                # (each event's first row in the chunk is its first in the segment
                # only when the segment starts the chunk's rows)
                firsts=[f for f in firsts if f[0] < r1] if firsts is not None and not r0 else None,
            )  # fmt: skip
        p.add_segment("compiled", table, b - a, r1 - r0)
    return True


def _learn(p: PerfStatParser, chunk: Chunk) -> tuple[int, int]:
    """While the CSV layout is unknown, the first lines one by one through the
    per-line path until it is (as ``fast.feed_vectorised`` does): how many, and
    where the next line starts."""
    k, pos, data = 0, 0, chunk.data
    while p.csv_shape is None and k < min(fast.LEARN_LINES, chunk.n_lines):
        nl = data.find(b"\n", pos)
        end = len(data) if nl < 0 else nl
        line = chunk.line(pos, end)
        if line.lstrip().startswith("{") or FAST_RE.match(line):
            break  # JSON or human lines: nothing to learn
        p.line_path([line], chunk.first_line_no + k)
        k, pos = k + 1, min(end + 1, len(data))
    return k, pos


def _sep(p: PerfStatParser) -> str:
    """The CSV separator the scanner may split on: the input's, once its layout is
    known (the per-line path then tries it first), printable ASCII, not a space."""
    sep = p.sep
    if p.csv_shape is None or not sep or sep == " " or len(sep) > 15:
        return ""
    return sep if all(" " < c <= "~" for c in sep) else ""


def _python(p: PerfStatParser, chunk: Chunk, starts: Any, a: int, b: int) -> None:
    """Lines ``a:b`` of the chunk through the Arrow and per-line paths."""
    if a >= b:
        return
    first = chunk.first_line_no + a
    data = chunk.data[int(starts[a]) : int(starts[b])]
    lines = Chunk(first, data, b - a, data.endswith(b"\n")).lines()
    if not fast.feed_vectorised(p, lines, first):
        p.line_path(lines, first)


def _firsts(d: dict[str, Any]) -> list[tuple[int, str]] | None:
    """Each event's first row in the chunk and its name (the scanner's ``ev_first``),
    or None when the scanner lost count (over 512 events)."""
    import numpy as np

    if d["ev_first"] is None:
        return None
    off = np.frombuffer(d["event_offsets"], np.int32)
    data = d["event_data"]
    # (the scanner takes printable ASCII lines only: its strings decode as Arrow's do)
    return [
        (row, data[off[row] : off[row + 1]].decode())
        for row in np.frombuffer(d["ev_first"], np.int32).tolist()
    ]


def _status_names() -> Any:
    """``_STATUS`` as an Arrow string array, built from buffers (see ``_columns``)."""
    from array import array
    from itertools import accumulate

    import pyarrow as pa

    offsets = pa.py_buffer(array("i", accumulate(map(len, _STATUS), initial=0)))
    data = pa.py_buffer("".join(_STATUS).encode())
    return pa.Array.from_buffers(pa.string(), len(_STATUS), [None, offsets, data])


def _columns(d: dict[str, bytes], n: int) -> dict[str, Any]:
    """The scanner's row columns as Arrow arrays (segment_table's ``cols``)."""
    import numpy as np
    import pyarrow as pa

    def valid(name: str) -> Any:
        v = np.frombuffer(d[name], np.bool_)
        return None if v.all() else pa.py_buffer(np.packbits(v, bitorder="little"))

    def fixed(name: str, typ: Any, validity: str | None = None) -> Any:
        bitmap = valid(validity) if validity is not None else None
        return pa.Array.from_buffers(typ, n, [bitmap, pa.py_buffer(d[name])])

    def strings(name: str, validity: str | None = None) -> Any:
        bitmap = valid(validity) if validity is not None else None
        bufs = [bitmap, pa.py_buffer(d[f"{name}_offsets"]), pa.py_buffer(d[f"{name}_data"])]
        return pa.Array.from_buffers(pa.string(), n, bufs)

    status = np.frombuffer(d["status"], np.uint8)
    counted = pa.py_buffer(np.packbits(status == 0, bitorder="little"))
    # from its buffer: pa.array of a numpy array imports pandas (0.25 s, once a process)
    codes = pa.Array.from_buffers(pa.int32(), n, [None, pa.py_buffer(status.astype(np.int32))])
    return {
        "ts": fixed("ts", pa.int64(), "ts_valid"),
        "cpu": fixed("cpu", pa.int32(), "cpu_valid"),
        "aggr": strings("aggr", "aggr_valid"),
        "aggr_cpus": fixed("aggr_cpus", pa.int32(), "aggr_valid"),
        "thread": pa.nulls(n, pa.string()),
        "cgroup": pa.nulls(n, pa.string()),
        "event": strings("event"),
        "value": pa.Array.from_buffers(pa.float64(), n, [counted, pa.py_buffer(d["value"])]),
        "unit": strings("unit", "unit_valid"),
        "variance_pct": pa.nulls(n, pa.float64()),
        "enabled_pct": fixed("enabled", pa.float64(), "enabled_valid"),
        "run_ns": fixed("run", pa.int64(), "run_valid"),
        "status": _status_names().take(codes),
        "metric_value": fixed("mv", pa.float64(), "mv_valid"),
        "metric_unit": strings("mu", "mv_valid"),
    }
