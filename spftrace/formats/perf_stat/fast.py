"""Vectorised paths for the lines that make up nearly all of a large perf stat input.

Three shapes are read column-wise with Arrow (RE2 matching, splitting, casts),
each only on lines it can prove the per-line path would read the same way:

* human interval lines (``perf stat -I``, any aggregation): ``human_interval``;
* CSV lines of the input's own layout (``csv_lines.CsvShape``, learnt from its
  first CSV row), any separator: ``csv_rows``, which checks every field with the
  rules of ``csv_lines.csv_fields``;
* JSON lines, through Arrow's JSON reader (strict: a type or a key that does
  not fit fails the run of lines, which then takes the per-line path):
  ``json_rows``.

Every other line - and a line followed by a wrapped ``( +- x% )`` - takes the
per-line path, in order.  Blocks are assigned by ``blocks.Blocks`` for both.
``THRESHOLDS`` (lines per chunk below which a path is not worth its set-up) are
module data so that tests can force them to 1 and run every golden input
through both paths (tests/test_perf_stat_paths.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..numbers import seconds_to_ns
from .csv_lines import AGGR_ID, CsvShape
from .human import FAST_INTERVAL_RE2, FAST_RE, INTERVAL_HEADER_RE2
from .json_lines import AGGR_KEYS
from .tokens import NOT_COUNTED, NOT_SUPPORTED

if TYPE_CHECKING:
    from .parser import PerfStatParser

#: lines a chunk needs before each path is tried (tests set them to 1)
THRESHOLDS = {"human_interval": 256, "csv": 256, "json": 256, "compiled": 256}
#: lines of a chunk the per-line path reads first while the CSV layout is unknown
LEARN_LINES = 16

_HUMAN, _CSV, _JSON = 1, 2, 3
_PRINTABLE = r"^[\t -~]*$"  # ASCII: Python's and Arrow's whitespace agree on it
_VALUE = r"^(?:\d+|\d+[.,]\d+|<not counted>|<not supported>)$"
_TIME = r"^\s*\d+\.\d{9}$"
_PLAIN = r"^\s*[+-]?\d+(?:[.,]\d+)?\s*$"


def feed_vectorised(p: PerfStatParser, lines: list[str], first_line_no: int) -> bool:
    """Parse ``lines`` into ``p`` with the vectorised paths where they apply; False
    (nothing done) when the chunk is too small for any of them."""
    if len(lines) < min(THRESHOLDS.values()):
        return False
    k = 0
    # a CSV input shows its layout on its first row: read lines one by one until then
    while p.csv_shape is None and k < min(LEARN_LINES, len(lines)):
        if lines[k].lstrip().startswith("{") or FAST_RE.match(lines[k]):
            break  # JSON or human lines: nothing to learn
        p.line_path(lines[k : k + 1], first_line_no + k)
        k += 1
    rest = lines[k:]
    if not rest:
        return True
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(rest)
    try:
        arr = pa.array(rest, pa.string())
    except UnicodeEncodeError:  # bytes that are not UTF-8 (surrogateescape): per line
        p.line_path(rest, first_line_no + k)
        return True
    code = np.zeros(n, np.int8)
    human = header = None
    lead = pc.utf8_slice_codeunits(pc.ascii_ltrim_whitespace(arr), 0, 1)
    if n >= THRESHOLDS["json"] and pc.any(pc.equal(lead, "{")).as_py():
        code[_json_mask(arr)] = _JSON
    shape = p.csv_shape
    if shape is not None and n >= THRESHOLDS["csv"]:
        code[_csv_mask(arr, shape)] = _CSV
        # a line that starts with "{" is JSON to the per-line path, even when its
        # commas make it look like CSV (found by the damaged-lines property test)
        brace = pc.fill_null(pc.equal(lead, "{"), False).to_numpy(zero_copy_only=False)
        code[brace & (code == _CSV)] = 0
    if (
        n >= THRESHOLDS["human_interval"]
        and pc.any(pc.match_substring_regex(arr, r"^\s*\d+\.\d{9}\s")).as_py()
    ):
        human = pc.match_substring_regex(arr, FAST_INTERVAL_RE2)
        header = pc.match_substring_regex(arr, INTERVAL_HEADER_RE2)
        code[pc.or_(human, header).to_numpy(zero_copy_only=False)] = _HUMAN
    # a wrapped "( +- x% )" line amends the row before it: both take the per-line path
    # (any line starting with "(", or with a non-ASCII space before it, may be one)
    noise = pc.or_(pc.equal(lead, "("), pc.invert(pc.string_is_ascii(arr)))
    noise = pc.fill_null(noise, False).to_numpy(zero_copy_only=False)
    code[:-1][noise[1:]] = 0
    edges = (np.flatnonzero(np.diff(code)) + 1).tolist()
    for a, b in zip([0, *edges], [*edges, n], strict=True):
        first = first_line_no + k + a
        kind = int(code[a])
        done = False
        if kind == _HUMAN:
            assert human is not None
            done = _try(p, human_interval, arr.slice(a, b - a), human.slice(a, b - a), first)
        elif kind == _CSV and shape is not None:
            done = _try(p, csv_rows, arr.slice(a, b - a), first, shape)
        elif kind == _JSON:
            done = _try(p, json_rows, rest[a:b], first)
        if not done:
            p.line_path(rest[a:b], first)
    return True


def _try(p: PerfStatParser, path: Any, *args: Any) -> bool:
    """Run a vectorised path; False when its proofs fail (or Arrow refuses a value)
    and the lines must take the per-line path."""
    import pyarrow as pa

    try:
        table = path(p, *args)
    except (pa.ArrowException, OverflowError, ValueError):
        return False
    return table is not False


def _nulls_where(mask: Any, values: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.if_else(mask, pa.scalar(None, values.type), values)


def _empty_null(values: Any) -> Any:
    import pyarrow.compute as pc

    return _nulls_where(pc.equal(values, ""), values)


def _status_value(v: Any, decimal_comma: bool) -> tuple[Any, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    counted = pc.invert(pc.starts_with(v, "<"))
    status = pc.if_else(
        counted,
        "counted",
        pc.if_else(pc.equal(v, NOT_COUNTED), "not-counted", "not-supported"),
    )
    text = pc.replace_substring(v, ",", ".") if decimal_comma else v
    value = pc.cast(pc.if_else(counted, text, pa.scalar(None, pa.string())), pa.float64())
    return status, value


# --- human interval lines ----------------------------------------------------------


def human_interval(p: PerfStatParser, arr: Any, rec: Any, first_line_no: int) -> None:
    """Interval counter lines (and the repeated column header) through Arrow."""
    import numpy as np
    import pyarrow.compute as pc

    n_lines = len(arr)
    n_rec = pc.sum(rec).as_py() or 0
    if n_rec:
        mask = rec.to_numpy(zero_copy_only=False)
        line_no = np.arange(first_line_no, first_line_no + n_lines, dtype=np.int64)[mask]
        p.add_segment("human_interval", _human_rows(p, arr.filter(rec), line_no), n_lines, n_rec)
    else:
        p.add_segment("human_interval", None, n_lines, 0)


def _human_rows(p: PerfStatParser, sel: Any, line_no: Any) -> Any:
    """Rows for lines that matched FAST_INTERVAL_RE2, computed column-wise."""
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
    v = pc.replace_substring(tok(vi), "<not_", "<not ")
    status, value = _status_value(v, decimal_comma=False)
    # "12.345678901" -> 12345678901 ns: exactly nine fraction digits, no float
    ts = pc.cast(pc.replace_substring(tok(off), ".", ""), pa.int64())
    metric = pc.ascii_trim(pc.list_element(parts, 1), " #")
    mparts = pc.split_pattern(pc.binary_join_element_wise(metric, " ", ""), " ", max_splits=1)
    mv = pc.list_element(mparts, 0)
    mu = pc.ascii_trim_whitespace(pc.list_element(mparts, 1))
    cols = {
        "ts": ts,
        "cpu": pc.cast(pc.if_else(has_cpu, pc.utf8_slice_codeunits(t1, 3), null_s), pa.int32()),
        "aggr": pc.if_else(has_aggr, t1, null_s),
        "aggr_cpus": pc.cast(pc.if_else(has_aggr, tok(off + 2), null_s), pa.int32()),
        "thread": pa.nulls(n, pa.string()),
        "cgroup": pa.nulls(n, pa.string()),
        "event": tok(vi + 1 + has_unit),
        "value": value,
        "unit": pc.if_else(has_unit, unit, null_s),
        "variance_pct": pa.nulls(n, pa.float64()),
        "enabled_pct": enabled,
        "run_ns": pa.nulls(n, pa.int64()),
        "status": status,
        "metric_value": pc.cast(_empty_null(mv), pa.float64()),
        "metric_unit": _empty_null(mu),
    }
    return p.segment_table(line_no, cols)


# --- CSV ---------------------------------------------------------------------------

_EVENT = r"^(?:[!-~](?:[ -~]*[!-~])?)$"  # nothing to strip (the line is ASCII)
_NOT_THREAD = (
    rf"^(?:CPU\d+|{AGGR_ID}|<not counted>|<not supported>|\s*summary\s*"
    r"|\s*[+-]?\d+(?:[.,]\d+)?\s*)$"
)
#: fields are checked in the line with the separator replaced by this character,
#: which a line the CSV path takes cannot hold (it is printable ASCII)
_US = "\x1f"
_ANY = "[^\x1f]*"


def _csv_checks(shape: CsvShape) -> list[tuple[int, str, bool]]:
    """(field, ``^(?:pattern)$``, must match) for a row of ``shape``: the rules
    ``csv_fields`` applies, written out for one layout (see csv_lines.py)."""
    c: list[tuple[int, str, bool]] = [(0, _TIME, shape.ts)]
    k = int(shape.ts)
    if shape.ident == "cpu":
        c.append((k, r"^(?:CPU\d+)$", True))
    elif shape.ident == "aggr":
        c += [(k, rf"^(?:{AGGR_ID})$", True), (k + 1, r"^(?:\d+)$", True)]
    elif shape.ident == "thread":
        c += [(k, rf"^(?:{_ANY}-\d+)$", True), (k, _NOT_THREAD, False)]
    k += {"": 0, "cpu": 1, "aggr": 2, "thread": 1}[shape.ident]
    c += [(k, _VALUE, True), (k + 1, r"^(?:\d+)$", False), (k + 2, _EVENT, True)]
    k += 2
    if not shape.cgroup and not shape.variance:
        c.append((k, rf"^(?:{_ANY}%)$", False))  # it would be read as a variance
    if shape.cgroup:
        k += 1
        c.append((k, rf"^(?:/{_ANY})$", True))
        if not shape.variance:
            c.append((k, rf"^(?:{_ANY}%)$", False))
    if shape.variance:
        k += 1
        c.append((k, r"^(?:\d+(?:[.,]\d+)?%)$", True))
    c += [(k + 1, r"^(?:\d+)$", True), (k + 2, r"^(?:\d+[.,]\d+)$", True)]
    if shape.tail:
        c.append((k + 3, r"^(?:(?:-?\d+(?:[.,]\d+)?)?)$", True))
    return c


def _csv_regexes(shape: CsvShape) -> tuple[str, str]:
    """The checks as two RE2 patterns over the line with ``_US`` for the separator:
    every positive check, field by field (exactly n_fields of them), and any
    negative one."""
    fields = [_ANY] * shape.n_fields
    negative = []
    for field, pattern, want in _csv_checks(shape):
        inner = pattern[1:-1]  # "(?:...)" without its anchors
        if want:
            assert fields[field] == _ANY, "one positive check per field"
            fields[field] = inner
        else:
            negative.append(f"^(?:{_ANY}{_US}){{{field}}}{inner}(?:{_US}|$)")
    return "^" + _US.join(fields) + "$", "|".join(negative)


def _csv_mask(arr: Any, shape: CsvShape) -> Any:
    """Lines that ``csv_fields`` would read as a row of ``shape``, field by field."""
    import pyarrow.compute as pc

    positive, negative = _csv_regexes(shape)
    fields = pc.replace_substring(pc.ascii_rtrim_whitespace(arr), shape.sep, _US)  # as split
    ok = pc.and_(
        pc.match_substring_regex(arr, _PRINTABLE), pc.match_substring_regex(fields, positive)
    )
    ok = pc.and_not(ok, pc.match_substring_regex(fields, negative))
    # the per-line path would read these as human or footer lines first (FAST_RE
    # needs whitespace after the value: most CSV lines have none to look at)
    spaced = pc.match_substring_regex(arr, r"^\s*\S+\s")
    if pc.any(spaced).as_py():
        ok = pc.and_not(ok, pc.and_(spaced, pc.match_substring_regex(arr, FAST_RE.pattern)))
    ok = pc.and_not(ok, pc.match_substring_regex(arr, "seconds |Wall-clock"))
    return pc.fill_null(ok, False).to_numpy(zero_copy_only=False)


def csv_rows(p: PerfStatParser, arr: Any, first_line_no: int, shape: CsvShape) -> Any:
    """Rows for CSV lines ``_csv_mask`` accepted, computed column-wise."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(arr)
    parts = pc.split_pattern(pc.ascii_rtrim_whitespace(arr), shape.sep)

    def col(k: int) -> Any:
        return pc.list_element(parts, k)

    cols: dict[str, Any] = {
        "ts": pa.nulls(n, pa.int64()),
        "cpu": pa.nulls(n, pa.int32()),
        "aggr": pa.nulls(n, pa.string()),
        "aggr_cpus": pa.nulls(n, pa.int32()),
        "thread": pa.nulls(n, pa.string()),
        "cgroup": pa.nulls(n, pa.string()),
    }
    k = 0
    if shape.ts:  # "   12.345678901": exactly nine fraction digits, so no float
        digits = pc.replace_substring(pc.ascii_trim_whitespace(col(0)), ".", "")
        cols["ts"] = pc.cast(digits, pa.int64())
        k = 1
    if shape.ident == "cpu":
        cols["cpu"] = pc.cast(pc.utf8_slice_codeunits(col(k), 3), pa.int32())
    elif shape.ident == "aggr":
        cols["aggr"] = col(k)
        cols["aggr_cpus"] = pc.cast(col(k + 1), pa.int32())
    elif shape.ident == "thread":
        cols["thread"] = pc.ascii_trim_whitespace(col(k))
    k += {"": 0, "cpu": 1, "aggr": 2, "thread": 1}[shape.ident]
    status, value = _status_value(col(k), decimal_comma=True)
    cols.update(status=status, value=value, unit=_empty_null(col(k + 1)), event=col(k + 2))
    k += 2
    if shape.cgroup:
        k += 1
        cols["cgroup"] = col(k)
    variance = pa.nulls(n, pa.float64())
    if shape.variance:
        k += 1
        pct = pc.utf8_slice_codeunits(col(k), 0, -1)
        variance = pc.cast(pc.replace_substring(pct, ",", "."), pa.float64())
    enabled = pc.cast(pc.replace_substring(col(k + 2), ",", "."), pa.float64())
    mv = pa.nulls(n, pa.float64())
    mu = pa.nulls(n, pa.string())
    if shape.tail:
        mv = pc.cast(pc.replace_substring(_empty_null(col(k + 3)), ",", "."), pa.float64())
    if shape.tail == 2:
        mu = _empty_null(pc.ascii_trim_whitespace(col(k + 4)))
    cols.update(
        variance_pct=variance,
        enabled_pct=enabled,
        run_ns=pc.cast(col(k + 1), pa.int64()),
        metric_value=mv,
        metric_unit=mu,
    )
    line_no = np.arange(first_line_no, first_line_no + n, dtype=np.int64)
    p.add_segment("csv", p.segment_table(line_no, cols), n, n)
    return True


# --- JSON --------------------------------------------------------------------------

#: keys the per-line path reads, and the JSON types it reads alike (Arrow infers the
#: types of a run of lines: another type sends the run to the per-line path)
_JSON_TYPES: dict[str, tuple[str, ...]] = {
    "counter-value": ("string",),
    "event": ("string",),
    "interval": ("double", "int64"),
    "timestamp": ("double", "int64"),
    "cpu": ("string", "int64"),
    **dict.fromkeys(AGGR_KEYS, ("string", "int64")),
    "aggregate-number": ("int64",),
    "counters": ("int64",),
    "event-runtime": ("int64", "double"),
    "runtime": ("int64", "double"),
    "metric-unit": ("string",),
    "unit": ("string",),
    "thread": ("string",),
    "cgroup": ("string",),
    "variance": ("double", "int64"),
    "pcnt-running": ("double", "int64"),
    "metric-value": ("double", "int64"),
}
#: an explicit null would be a value to the per-line path but a missing key to Arrow;
#: a backslash escape or a non-ASCII byte is left to Python's decoder
_JSON_NULL = r":\s*null\b"


def _json_mask(arr: Any) -> Any:
    """Lines ``{... "counter-value" ...}`` of printable ASCII without backslashes or
    explicit nulls (simple kernels: a regex over the whole line cost twice as much)."""
    import pyarrow.compute as pc

    ok = pc.and_(pc.ascii_is_printable(arr), pc.match_substring(arr, '"counter-value"'))
    ok = pc.and_(ok, pc.starts_with(pc.ascii_ltrim_whitespace(arr), "{"))
    ok = pc.and_(ok, pc.ends_with(arr, "}"))
    ok = pc.and_not(ok, pc.match_substring(arr, "\\"))
    ok = pc.and_not(ok, pc.match_substring_regex(arr, _JSON_NULL))
    return pc.fill_null(ok, False).to_numpy(zero_copy_only=False)


def json_rows(p: PerfStatParser, lines: list[str], first_line_no: int) -> Any:
    """Rows for a run of JSON counter lines, through Arrow's JSON reader; False when
    a value is not one the per-line path would read the same way."""
    import io

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    t = pj.read_json(io.BytesIO(("\n".join(lines) + "\n").encode()))
    n = len(lines)
    if t.num_rows != n:
        return False  # several objects on a line
    c: dict[str, Any] = {}
    for name in t.column_names:
        if name in _JSON_TYPES:
            col = t.column(name).combine_chunks()
            if str(col.type) not in _JSON_TYPES[name]:
                return False
            c[name] = col
    for name, types in _JSON_TYPES.items():
        if name not in c:
            c[name] = pa.nulls(n, pa.type_for_alias(types[0]))
    if any(
        pa.types.is_integer(c[k].type) and (pc.max(pc.abs(c[k])).as_py() or 0) >= 2**53
        for k in ("interval", "timestamp")
    ):
        return False  # the per-line path prints such an int exactly, not as a double
    raw, event = c["counter-value"], c["event"]
    statuses = pa.array([NOT_COUNTED, NOT_SUPPORTED])
    known = pc.or_(pc.is_in(raw, statuses), pc.match_substring_regex(raw, _PLAIN))
    if (
        not pc.all(pc.fill_null(known, False)).as_py()
        or not pc.all(pc.fill_null(pc.not_equal(event, ""), False)).as_py()
    ):
        return False
    status, _ = _status_value(raw, decimal_comma=False)
    counted = pc.equal(status, "counted")
    text = pc.replace_substring(pc.ascii_trim_whitespace(raw), ",", ".")
    value = pc.cast(pc.if_else(counted, text, pa.scalar(None, pa.string())), pa.float64())
    interval = pc.coalesce(*(pc.cast(c[k], pa.float64()) for k in ("interval", "timestamp")))
    # int(float(run)), as the per-line path computes it
    run = pc.coalesce(*(pc.cast(c[k], pa.float64()) for k in ("event-runtime", "runtime")))
    run = run.to_numpy(zero_copy_only=False)
    if np.nanmax(np.abs(run), initial=0.0) >= 2.0**63:
        return False
    missing = np.isnan(run)
    run_ns = pa.array(np.trunc(np.where(missing, 0.0, run)).astype(np.int64), mask=missing)
    mu = c["metric-unit"]
    mu = _nulls_where(pc.fill_null(pc.is_in(mu, pa.array(["(null)", ""])), False), mu)
    aggr = [pc.cast(c[k], pa.string()) for k in reversed(AGGR_KEYS)]
    cols = {
        "ts": _seconds_ns(interval),
        "cpu": pc.cast(c["cpu"], pa.int32()),
        "aggr": pc.coalesce(*aggr),
        "aggr_cpus": pc.cast(pc.coalesce(c["aggregate-number"], c["counters"]), pa.int32()),
        "thread": c["thread"],
        "cgroup": c["cgroup"],
        "event": event,
        "value": value,
        "unit": _empty_null(c["unit"]),
        "variance_pct": pc.cast(c["variance"], pa.float64()),
        "enabled_pct": pc.cast(c["pcnt-running"], pa.float64()),
        "run_ns": run_ns,
        "status": status,
        "metric_value": _nulls_where(pc.is_null(mu), pc.cast(c["metric-value"], pa.float64())),
        "metric_unit": mu,
    }
    line_no = np.arange(first_line_no, first_line_no + n, dtype=np.int64)
    p.add_segment("json", p.segment_table(line_no, cols), n, n)
    return True


def _seconds_ns(seconds: Any) -> Any:
    """JSON interval seconds -> ns as the per-line path does it: printed with nine
    decimals, then read as digits (per distinct value: intervals repeat)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(seconds)
    ns = [None if v is None else seconds_to_ns(f"{v:.9f}") for v in enc.dictionary.to_pylist()]
    return pa.array(ns, pa.int64()).take(enc.indices)
