"""Every perf stat golden input through the vectorised paths and the per-line path.

With the thresholds forced to 1 the vectorised paths (human interval, CSV, JSON)
take every line they can prove; with them out of reach nothing is vectorised.
The compiled human scanner (perf_stat/compiled.py) runs first where it is built,
so each input goes through three configurations: everything at 1, everything
at 1 but the compiled scanner (the Arrow paths alone), nothing.
Both must give the golden table (reviewed against the inputs, tests/data/*/
*.expected), and each path must have been used by the inputs of its mode, or the
equality would prove nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spftrace.formats.lines import Chunk
from spftrace.formats.perf_stat import PerfStatParser, compiled, fast

from .helpers import DATA, Parsed, expected_table
from .test_roundtrip_perf_stat import counters, render_csv, render_human, render_json

GOLDEN = sorted(
    p for d in ("perf_stat", "perf_stat_public", "seed") for p in (DATA / d).glob("*.txt")
)


OFF = 10**12
#: threshold overrides: every path at 1; the Arrow paths alone; compiled only
CONFIGS = {"all": {}, "arrow": {"compiled": OFF}}


def _set(threshold: int, config: str) -> dict[str, int]:
    old = dict(fast.THRESHOLDS)
    fast.THRESHOLDS.update(dict.fromkeys(fast.THRESHOLDS, threshold))
    fast.THRESHOLDS.update(CONFIGS[config])
    return old


def parse(
    path: Path, threshold: int, chunk_lines: int | None = None, config: str = "all"
) -> tuple[Parsed, Any]:
    old = _set(threshold, config)
    try:
        lines = path.read_bytes().decode("utf-8", "surrogateescape").split("\n")
        if lines[-1] == "":
            lines.pop()
        step = chunk_lines or len(lines) or 1
        p = PerfStatParser()
        outs = []
        for k in range(0, len(lines), step):
            outs.append(p.feed(Chunk.of_text("\n".join(lines[k : k + step]) + "\n", k + 1)))
        outs.append(p.close())
        return Parsed(outs, p), p
    finally:
        fast.THRESHOLDS.update(old)


def mode(path: Path) -> str | None:
    text = path.read_text(errors="replace")
    if '"counter-value"' in text:
        return "json"
    if "csv" in path.name:
        return "csv"
    if "interval" in path.name and "human" in path.name:
        return "human_interval"
    return None


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("path", GOLDEN, ids=[f"{p.parent.name}/{p.name}" for p in GOLDEN])
def test_vectorised_paths_equal_the_per_line_path(path: Path, config: str) -> None:
    slow, p_slow = parse(path, OFF)
    quick, p_fast = parse(path, 1, config=config)
    assert not p_slow.fast_lines
    assert expected_table(quick) == expected_table(slow)
    assert expected_table(quick) == path.with_suffix(".expected").read_text()
    want = mode(path)
    paths = {want}
    if config == "all" and compiled.scanner() is not None:
        paths = {want, "compiled"}  # the scanner runs first, where it is built
    if want is not None and path.name not in NOT_VECTORISED:
        assert sum(p_fast.fast_lines.get(k, 0) for k in paths) > 0, p_fast.fast_lines
    if config == "arrow":
        assert "compiled" not in p_fast.fast_lines


def test_the_compiled_scanner_takes_human_lines_of_every_shape() -> None:
    """Every human golden input whose counter lines FAST_RE reads goes through the
    scanner (not only the interval ones), so the equality above covers it."""
    if compiled.scanner() is None:
        pytest.skip("the compiled core is not built (SPFTRACE_NO_NATIVE or no compiler)")
    used = [p.name for p in GOLDEN if parse(p, 1)[1].fast_lines.get("compiled")]
    for name in ("human.txt", "interval-human-long.txt", "human-not-counted.txt"):
        assert name in used
    # CSV rows once the layout is known (a chunk after the first row's)
    used = [p.name for p in GOLDEN if parse(p, 1, chunk_lines=5)[1].fast_lines.get("compiled")]
    for name in ("csv-comma.txt", "csv-semicolon.txt", "per-cpu-interval-csv.txt"):
        assert name in used
    for name in ("json.txt", "per-cpu-interval-json.txt", "interval-json-summary.txt"):
        assert name in used


#: inputs of a vectorised mode that no vectorised path may take, and why
NOT_VECTORISED = {
    # de_DE decimal commas: the JSON is invalid until mended, the CSV ambiguous
    "json-locale-de_DE.txt",
    "csv-locale-de_DE.txt",
    "csv-semicolon-locale-de_DE.txt",
    # one line, from which the per-line path learns the CSV layout
    "csv-quote-separator-autoperf.txt",
    # comm-pid columns: the human interval path takes CPU and aggregation columns only
    "per-thread-pid-interval-human.txt",
}


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("path", GOLDEN, ids=[f"{p.parent.name}/{p.name}" for p in GOLDEN])
def test_vectorised_paths_across_chunk_boundaries(path: Path, config: str) -> None:
    """State (blocks, separator, layout) carries across chunks the same on both paths."""
    slow, _ = parse(path, OFF, chunk_lines=5)
    quick, _ = parse(path, 1, chunk_lines=5, config=config)
    assert expected_table(quick) == expected_table(slow)


# --- generated and damaged lines ------------------------------------------------------

#: the characters the grammars care about, plus a tab, a CR, a backslash and non-ASCII
EDIT_CHARS = " ,;:'.%/<>{}\"#-_0123456789eE+\t\r\\é\u202f"


def _parse_text(text: str, threshold: int, config: str = "all") -> tuple[Parsed, Any]:
    old = _set(threshold, config)
    try:
        p = PerfStatParser()
        # two chunks: a CSV layout learnt in the first is used by the scanner in the second
        head, _, tail = text.partition("\n")
        outs = [p.feed(Chunk.of_text(head + "\n")), p.feed(Chunk.of_text(tail, 2)), p.close()]
        return Parsed(outs, p), p
    finally:
        fast.THRESHOLDS.update(old)


@st.composite
def damaged(draw: st.DrawFn) -> str:
    cs = draw(counters())
    kind = draw(st.sampled_from(["csv", "json", "human"]))
    if kind == "csv":
        text = render_csv(cs, draw(st.sampled_from([",", ";", "\t", "'", "::", "|"])))
    elif kind == "json":
        text = render_json(cs)
    else:
        text = render_human(cs, ",")
    lines = text.split("\n")
    for _ in range(draw(st.integers(0, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        at = draw(st.integers(0, len(line)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        ch = draw(st.sampled_from(EDIT_CHARS))
        if op == "insert":
            line = line[:at] + ch + line[at:]
        elif op == "delete":
            line = line[:at] + line[at + 1 :]
        else:
            line = line[:at] + ch + line[at + 1 :]
        lines[i] = line
    return "\n".join(lines)


@pytest.mark.parametrize("config", CONFIGS)
@given(text=damaged())
def test_vectorised_paths_equal_the_per_line_path_on_damaged_lines(text: str, config: str) -> None:
    """A vectorised path may leave any line to the per-line path, but a line it takes
    must come out exactly as the per-line path makes it."""
    quick, _ = _parse_text(text, 1, config)
    slow, _ = _parse_text(text, OFF)
    assert expected_table(quick) == expected_table(slow)
    assert [(r.line_no, r.reason) for r in quick.rejects] == [
        (r.line_no, r.reason) for r in slow.rejects
    ]


@pytest.mark.parametrize(
    "line",
    [
        "99999999999999999999,,faults,123,100.00,,",  # a count: a float, fine
        "8255,,faults,99999999999999999999,100.00,,",  # run time: not an int64
        "     99999999999.100160151,8255,,faults,123,100.00,,",  # ns: not an int64
        "CPU99999999999,8255,,faults,123,100.00,,",  # not an int32
        '{"counter-value" : "1.0", "event" : "faults", "event-runtime" : 1e999}',
        '{"counter-value" : "1.0", "event" : "faults", "event-runtime" : 1234e56}',
        '{"counter-value" : "1.0", "event" : "faults", "cpu" : "99999999999"}',
        "     99999999999.100160151 CPU0 8255 faults",
        "     0.100160151 CPU99999999999 8255 faults",
    ],
)
def test_numbers_too_large_for_their_columns_are_rejects(line: str) -> None:
    """Found by the damaged-lines test: they raised instead (OverflowError)."""
    text = "\n".join([line] * 3) + "\n"
    for threshold in (1, 10**12):
        p, _ = _parse_text(text, threshold)
        assert p.lines == 3
        if line.startswith("9999"):
            assert len(p.rows) == 3 and not p.rejects
        else:
            assert not p.rows and [r.line_no for r in p.rejects] == [1, 2, 3]
