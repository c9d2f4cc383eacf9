"""What the compiled perf stat scanner works out per chunk besides the columns.

``scan`` hands back ``ev_first`` (each event's first row, in row order: the
parser notes a one-block chunk's events from it instead of encoding its event
column) and ``pairs_distinct`` (no row repeats the key of another row at its
time: blocks.py then skips its own check).  The expected values here are derived
by hand from the lines, or with ``json.loads`` from the bench capture; the
parser's notes are held equal to the per-line path's on every golden input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spftrace.formats.lines import Chunk
from spftrace.formats.perf_stat import PerfStatParser, compiled, fast

from .test_perf_stat_paths import GOLDEN, OFF, parse

needs_core = pytest.mark.skipif(
    compiled.scanner() is None, reason="the compiled core is not built (SPFTRACE_NO_NATIVE)"
)


def _human(t: str, cpu: int, event: str, value: str = "1") -> str:
    """A perf stat -a -A -I line in perf's human layout."""
    return f"{t:>16} CPU{cpu:<4}{value:>24}      {event}"


def _scan(lines: list[str]) -> dict[str, Any]:
    d: dict[str, Any] = compiled.scanner().scan(("\n".join(lines) + "\n").encode(), b"")
    return d


def _firsts(d: dict[str, Any]) -> list[int] | None:
    return None if d["ev_first"] is None else np.frombuffer(d["ev_first"], np.int32).tolist()


@needs_core
def test_each_events_first_row_in_row_order() -> None:
    # two intervals of three events on two CPUs: rows 0-5, then 6-11 again
    lines = [
        _human(t, cpu, ev)
        for t in ("1.001", "2.002")
        for ev in ("cpu-clock", "page-faults", "sched:sched_switch")
        for cpu in (0, 1)
    ]
    lines = [ln.replace("1.001", "1.001000000").replace("2.002", "2.002000000") for ln in lines]
    d = _scan(lines)
    assert np.frombuffer(d["kind"], np.uint8).tolist() == [1] * 12
    assert _firsts(d) == [0, 2, 4]
    assert d["pairs_distinct"] is True


def _scan_second_dropped(first: str, second: str, third: str) -> dict[str, Any]:
    """Scan three counter lines with a wrapped "( +- x% )" line after the second:
    that line amends the second row, so the scanner leaves both to the per-line
    path (kinds 1, 0, 0, 1)."""
    d = _scan(
        [first, second, "                                                  ( +-  1.23% )", third]
    )
    assert np.frombuffer(d["kind"], np.uint8).tolist() == [1, 0, 0, 1]
    return d


@needs_core
def test_a_row_dropped_again_is_no_events_first_row() -> None:
    # a row followed by a wrapped "( +- x% )" line is left to the per-line path
    # (that line amends it): the scanner drops it, and page-faults' first row is
    # then the one on the last line (row 1)
    d = _scan_second_dropped(
        _human("1.001000000", 0, "cpu-clock"),
        _human("1.001000000", 0, "page-faults"),
        _human("1.001000000", 1, "page-faults"),
    )
    assert _firsts(d) == [0, 1]


@needs_core
def test_a_key_twice_at_one_time_is_not_distinct() -> None:
    same = [_human("1.001000000", 0, "cpu-clock"), _human("1.001000000", 0, "cpu-clock")]
    assert _scan(same)["pairs_distinct"] is False
    # the same key at another time, or on another CPU, is another pair
    other = [_human("1.001000000", 0, "cpu-clock"), _human("2.002000000", 0, "cpu-clock")]
    assert _scan(other)["pairs_distinct"] is True
    cpus = [_human("1.001000000", 0, "cpu-clock"), _human("1.001000000", 1, "cpu-clock")]
    assert _scan(cpus)["pairs_distinct"] is True


@needs_core
def test_a_dropped_row_at_a_new_time_leaves_the_old_times_keys() -> None:
    # rows: cpu-clock CPU0 at 1.001, then (its row dropped) the same at 2.002, then
    # cpu-clock CPU0 at 1.001 again: the kept rows repeat a key at one time
    d = _scan_second_dropped(
        _human("1.001000000", 0, "cpu-clock"),
        _human("2.002000000", 0, "cpu-clock"),
        _human("1.001000000", 0, "cpu-clock"),
    )
    assert d["pairs_distinct"] is False


@needs_core
def test_too_many_events_for_the_table_give_none() -> None:
    lines = [_human("1.001000000", 0, f"ev{k}") for k in range(600)]
    d = _scan(lines)
    assert np.frombuffer(d["kind"], np.uint8).tolist() == [1] * 600
    assert d["ev_first"] is None
    d = _scan(lines[:500])
    assert _firsts(d) == list(range(500))


@needs_core
def test_json_capture_firsts_are_json_loads_firsts() -> None:
    # a real `perf stat -a -A -I 100 -j` capture (tests/data/perf_stat/PROVENANCE.tsv)
    cap = Path(__file__).resolve().parent / "data" / "perf_stat" / "per-cpu-interval-json.txt"
    lines = cap.read_text().splitlines()
    d = _scan(lines)
    rows = [k for k, ln in enumerate(lines) if ln.startswith("{")]
    assert np.frombuffer(d["kind"], np.uint8).sum() == len(rows)  # every one a row
    seen: dict[str, int] = {}
    for row, ln in enumerate(ln for ln in lines if ln.startswith("{")):
        seen.setdefault(json.loads(ln)["event"], row)
    assert _firsts(d) == sorted(seen.values())
    assert d["pairs_distinct"] is True


@pytest.mark.parametrize("chunk_lines", [None, 5])
@pytest.mark.parametrize("path", GOLDEN, ids=[f"{p.parent.name}/{p.name}" for p in GOLDEN])
def test_blocks_events_and_first_lines_equal_the_per_line_paths(
    path: Path, chunk_lines: int | None
) -> None:
    """The notes taken from the scanner's firsts (one-block chunks) and the ones the
    parser works out itself (every other table) equal the per-line path's."""
    _, slow = parse(path, OFF, chunk_lines)
    _, quick = parse(path, 1, chunk_lines)
    assert quick.block_events == slow.block_events
    assert quick.block_line == slow.block_line
    assert quick.block_command == slow.block_command


@needs_core
def test_more_rows_at_one_time_than_the_table_holds_are_not_claimed_distinct() -> None:
    # 2100 distinct keys at one time (a 70-CPU -A run of 30 events): over the 2048
    # the scanner keeps per time, so it does not know, and says False; the parser
    # then checks the pairs itself and still finds one block
    lines = [_human("1.001000000", cpu, f"ev{k}") for k in range(30) for cpu in range(70)]
    d = _scan(lines)
    assert np.frombuffer(d["kind"], np.uint8).sum() == 2100
    assert d["pairs_distinct"] is False
    old = dict(fast.THRESHOLDS)
    fast.THRESHOLDS["compiled"] = 1
    try:
        p = PerfStatParser()
        rows = p.feed(Chunk.of_text("\n".join(lines) + "\n")).rows
    finally:
        fast.THRESHOLDS.update(old)
    assert p.fast_lines == {"compiled": 2100}
    assert set(rows["block"].to_pylist()) == {0}
    assert p.block_events == {0: {f"ev{k}" for k in range(30)}}
