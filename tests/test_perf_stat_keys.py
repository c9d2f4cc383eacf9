"""The numpy groupings of perf stat's block logic against plain Python sets and dicts."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from spftrace.formats.perf_stat.keys import distinct_rows, first_line_per_group

small_ints = st.one_of(st.none(), st.integers(-3, 3))
big_ints = st.one_of(st.none(), st.integers(-(2**62), 2**62))
names = st.one_of(st.none(), st.sampled_from(["faults", "cycles", "a:b", ""]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(big_ints, small_ints, names, names, small_ints, names), max_size=60))
def test_distinct_rows_counts_what_a_set_counts(rows: list[tuple[object, ...]]) -> None:
    types = [pa.int64(), pa.int64(), pa.string(), pa.string(), pa.int64(), pa.string()]
    cols = [pa.array([r[i] for r in rows], t) for i, t in enumerate(types)]
    assert distinct_rows(cols) == len(set(rows))


@given(st.integers(0, 40))
@settings(max_examples=20, deadline=None)
def test_distinct_rows_when_the_key_does_not_fit_in_one_integer(repeats: int) -> None:
    # 1,500 distinct values in each of six columns: 1500**6 > 2**62, the fallback path
    rows = [tuple(j * 7 + k for k in range(6)) for j in range(1500)]
    rows += [*rows[:repeats], (0, 1, 2, 3, 4, 6)]
    cols = [pa.array([r[k] for r in rows], pa.int64()) for k in range(6)]
    assert distinct_rows(cols) == len(set(rows)) == 1501


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 4), st.sampled_from(["faults", "cycles", "x"]), st.integers(1, 99)
        ),
        max_size=60,
    )
)
def test_first_line_per_group_is_the_smallest_line(rows: list[tuple[int, str, int]]) -> None:
    want: dict[tuple[int, str], int] = {}
    for block, event, line in rows:
        want[block, event] = min(line, want.get((block, event), line))
    chunked = pa.chunked_array(
        [
            pa.array([r[0] for r in rows[:5]], pa.int32()),
            pa.array([r[0] for r in rows[5:]], pa.int32()),
        ]
    )
    got = first_line_per_group(
        chunked, pa.array([r[1] for r in rows]), pa.array([r[2] for r in rows], pa.int64())
    )
    assert {(b, e): ln for b, e, ln in got} == want
    assert len(got) == len(want)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["faults", "cycles", "x", "a:b"]), min_size=1, max_size=60),
    st.integers(0, 4),
    st.lists(st.integers(0, 3), min_size=60, max_size=60),
)
def test_first_line_per_group_of_one_block_in_line_order(
    events: list[str], block: int, steps: list[int]
) -> None:
    """(a chunk's rows: the one-pass path, also where lines repeat)"""
    lines = [sum(steps[: i + 1]) for i in range(len(events))]
    want: dict[str, int] = {}
    for event, line in zip(events, lines, strict=True):
        want.setdefault(event, line)  # lines never go down: the first is the smallest
    got = first_line_per_group(
        pa.array([block] * len(events), pa.int32()), pa.array(events), pa.array(lines, pa.int64())
    )
    assert sorted(got) == sorted((block, e, ln) for e, ln in want.items())
