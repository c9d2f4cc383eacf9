"""The compiled perf stat scanner's JSON fast path against its general object scanner.

``_perf_stat.scan`` reads a JSON line first in perf's own layout (stat-display.c's
key order and spacing, keys compared in place) and falls back to the general
object scanner on any other byte; ``scan(..., general=True)`` uses the general
one alone.  Both must hand back the same columns, byte for byte, on every golden
input and on perf-shaped lines bent at the places the fast path looks at (key
order, spacing, missing, repeated and unknown keys, value types).  That the
scanner as a whole reads lines as the per-line Python path does is held by
tests/test_perf_stat_paths.py (golden inputs, damaged lines).
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spftrace.formats.perf_stat import compiled

from .helpers import DATA, expected_table
from .test_perf_stat_paths import GOLDEN, OFF, _parse_text

#: the tests of the scanner itself (the last test runs on every build)
needs_core = pytest.mark.skipif(
    compiled.scanner() is None, reason="the compiled core is not built (SPFTRACE_NO_NATIVE)"
)

#: a perf 6.x -a -A -I line (bench/perf_stat_ingest.py's capture), in perf's layout
PERF_LINE = (
    '{"interval" : 0.010154086, "cpu" : "0", "counter-value" : "10.597076", "unit" : "msec", '
    '"event" : "cpu-clock", "event-runtime" : 10598609, "pcnt-running" : 100.00, '
    '"metric-value" : 1.059708, "metric-unit" : "CPUs utilized"}'
)
KEYS = [
    ("interval", "0.010154086"),
    ("cpu", '"0"'),
    ("counter-value", '"10.597076"'),
    ("unit", '"msec"'),
    ("event", '"cpu-clock"'),
    ("event-runtime", "10598609"),
    ("pcnt-running", "100.00"),
    ("metric-value", "1.059708"),
    ("metric-unit", '"CPUs utilized"'),
]
OTHER_VALUES = ['"1"', "1", "1.5", '"<not counted>"', '""', "null", "-3", '"(null)"', "0.000000"]
OTHER_KEYS = ["metric-threshold", "core", "thread", "variance", "timestamp", "runtime", "x"]


def _both(data: bytes) -> tuple[dict[str, bytes], dict[str, bytes]]:
    mod = compiled.scanner()
    return mod.scan(data, b"", False), mod.scan(data, b"", True)


@needs_core
def test_the_line_in_perfs_layout_is_a_row() -> None:
    fixed, general = _both(PERF_LINE.encode() + b"\n")
    assert fixed == general
    assert fixed["kind"] == b"\x01"  # a row, from either scanner
    assert fixed["event_data"] == b"cpu-clock" and fixed["mu_data"] == b"CPUs utilized"
    # the per-line path's own reading of the line (json.loads)
    obj = json.loads(PERF_LINE)
    assert struct.unpack("<d", fixed["value"])[0] == float(obj["counter-value"])
    assert struct.unpack("<q", fixed["run"])[0] == obj["event-runtime"]
    assert struct.unpack("<q", fixed["ts"])[0] == 10154086


@needs_core
@pytest.mark.parametrize("path", GOLDEN, ids=[f"{p.parent.name}/{p.name}" for p in GOLDEN])
def test_fixed_key_order_reads_what_the_general_scanner_reads(path: Path) -> None:
    fixed, general = _both(path.read_bytes())
    assert fixed == general


@needs_core
def test_the_json_golden_inputs_give_rows_through_the_scanner() -> None:
    """(else the equality above would hold on empty columns)"""
    for name in ("json.txt", "per-cpu-interval-json.txt", "interval-json.txt"):
        fixed, _ = _both((DATA / "perf_stat" / name).read_bytes())
        assert fixed["kind"].count(1) > 0, name


@st.composite
def bent_line(draw: st.DrawFn) -> str:
    """A perf-shaped JSON line changed where the fixed-order path decides."""
    pairs = [list(kv) for kv in KEYS]
    rnd = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["drop", "swap", "dup", "value", "key", "extra"]))
        if not pairs:
            break
        i = rnd.randrange(len(pairs))
        if op == "drop":
            pairs.pop(i)
        elif op == "swap":
            j = rnd.randrange(len(pairs))
            pairs[i], pairs[j] = pairs[j], pairs[i]
        elif op == "dup":
            pairs.insert(rnd.randrange(len(pairs) + 1), [pairs[i][0], rnd.choice(OTHER_VALUES)])
        elif op == "value":
            pairs[i][1] = draw(st.sampled_from(OTHER_VALUES))
        elif op == "key":
            pairs[i][0] = draw(st.sampled_from(OTHER_KEYS))
        else:
            pairs.insert(rnd.randrange(len(pairs) + 1), [rnd.choice(OTHER_KEYS), '"S0"'])
    colon = draw(st.sampled_from([" : ", " : ", ":", " :", ":  ", "\t:\t"]))
    comma = draw(st.sampled_from([", ", ", ", ",", " , ", ",  "]))
    body = comma.join(f'"{k}"{colon}{v}' for k, v in pairs)
    lead = draw(st.sampled_from(["{", "{", "{ ", " {"]))
    tail = draw(st.sampled_from(["}", "}", " }", "} "]))
    return lead + body + tail


@needs_core
@given(lines=st.lists(bent_line(), min_size=1, max_size=6))
def test_fixed_key_order_reads_bent_lines_as_the_general_scanner(lines: list[str]) -> None:
    fixed, general = _both(("\n".join(lines) + "\n").encode())
    assert fixed == general


def _assert_fast_path_reads_as_per_line(text: str) -> None:
    """Rows and rejects of the fast path (threshold 1) equal the per-line path's."""
    quick, _ = _parse_text(text, 1)
    slow, _ = _parse_text(text, OFF)
    assert expected_table(quick) == expected_table(slow)
    assert [(r.line_no, r.reason) for r in quick.rejects] == [
        (r.line_no, r.reason) for r in slow.rejects
    ]


@given(lines=st.lists(bent_line(), min_size=1, max_size=6))
def test_bent_lines_come_out_as_the_per_line_path_reads_them(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    _assert_fast_path_reads_as_per_line(text)


#: numbers at the edges of the scanner's one-pass reading (perf_stat.c dec_read /
#: dec_double): 15 and 16 significant digits, leading zeros past 19 digits, a sign,
#: an exponent, nine and ten decimals, 9 and 10 digit cpus, 15 and 16 digit runtimes
EDGE_NUMBERS = [
    "123456789012345", "1234567890123456", "0.000000000000000000001", "000000000000000000001.5",
    "999999.999999999", "1000000.5", "0.0101540861", "-1.5", "1e3", "0", "0.0", "00",
    "12345678901234567890123", "18446744073709551616", "123456789", "1234567890",
    "100.00", "0.5", "5.",
]  # fmt: skip
NUMERIC_KEYS = ["interval", "cpu", "counter-value", "event-runtime", "pcnt-running", "metric-value"]


@pytest.mark.parametrize("key", NUMERIC_KEYS)
@pytest.mark.parametrize("quoted", [False, True])
def test_edge_numbers_are_read_as_the_per_line_path_reads_them(key: str, quoted: bool) -> None:
    lines = []
    for num in EDGE_NUMBERS:
        value = f'"{num}"' if quoted else num
        lines.append("{" + ", ".join(f'"{k}" : {value if k == key else v}' for k, v in KEYS) + "}")
    text = "\n".join(lines) + "\n"
    _assert_fast_path_reads_as_per_line(text)
    if compiled.scanner() is not None:
        fixed, general = _both(text.encode())
        assert fixed == general


#: a perf 6.x -x, -a -A -I line (bench/perf_stat_ingest.py's capture), split on its commas
CSV_FIELDS = "     0.010174851,CPU0,10.54,msec,cpu-clock,10538114,100.00,1.054,CPUs utilized"
#: the numeric fields (perf_stat.c csv_number reads each once) and how each is written
CSV_NUMERIC = {0: "{}", 1: "CPU{}", 2: "{}", 5: "{}", 6: "{}", 7: "{}"}


@pytest.mark.parametrize("field", sorted(CSV_NUMERIC))
def test_edge_numbers_in_csv_fields_are_read_as_the_per_line_path_reads_them(field: int) -> None:
    """Each CSV number field with the edge numbers (and decimal commas, spaces), among
    rows whose time repeats or changes at its length (the scanner keeps the last time)."""
    base = CSV_FIELDS.split(",")
    lines = [CSV_FIELDS]
    for num in [*EDGE_NUMBERS, "0,5", "1,25", " 1.5", "1.5 ", "0.010174852", "0.010174851"]:
        fields = list(base)
        fields[field] = CSV_NUMERIC[field].format(num)
        lines += [",".join(fields), CSV_FIELDS, CSV_FIELDS.replace("0.010174851", "0.010174859")]
    text = "\n".join(lines) + "\n"
    _assert_fast_path_reads_as_per_line(text)
    if compiled.scanner() is not None:  # (else the equality holds without the scanner)
        _, parser = _parse_text(text, 1)
        assert parser.fast_lines.get("compiled", 0) > len(lines) // 2
