"""The trace.dat merge's fast steps equal their references (issue 12).

rounds.merge_parts (one stable argsort of the parts, in stream order) against
``np.lexsort((stream, time))``, the order trace-cmd report uses (earliest record,
ties to the earlier stream, then in file order); merge._split_by_id against
tracefs_format.split_by_id.  Inputs: hand-built ties and seeded random parts, and
the per-stream times of every trace.dat fixture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spftrace.formats.trace_dat import fields, merge, rounds
from spftrace.formats.tracefs_format import split_by_id

from .test_trace_dat import FIXTURES, fixture


def _reference(parts: list[tuple[Any, ...]]) -> tuple[np.ndarray[Any, Any], ...]:
    key = np.concatenate([p[0] for p in parts])
    sidx = np.concatenate([np.full(len(p[0]), p[1]) for p in parts])
    order = np.lexsort((sidx, key))
    return (
        np.concatenate([p[2] for p in parts])[order],
        np.concatenate([np.full(len(p[0]), p[6]) for p in parts])[order],
        np.concatenate([p[3] for p in parts])[order],
        np.concatenate([p[4] for p in parts])[order],
        np.concatenate([p[5] for p in parts])[order],
    )


def _part(ts: np.ndarray[Any, Any], index: int, cpu: int) -> tuple[Any, ...]:
    n = len(ts)
    ts = ts.astype(np.uint64)
    # off/ln/blob carry the stream and the position, so any reordering shows
    return (
        ts,
        index,
        ts + np.uint64(1),
        np.arange(n) + 1000 * index,
        np.full(n, index),
        np.arange(n),
        cpu,
    )


def _assert_same(parts: list[tuple[Any, ...]]) -> None:
    got = rounds.merge_parts(parts)
    want = _reference(parts)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
        assert g.dtype == w.dtype


def test_ties_go_to_the_earlier_stream_then_file_order() -> None:
    a = _part(np.array([1, 5, 5, 9]), 0, 3)
    b = _part(np.array([5, 5, 6]), 1, 0)
    c = _part(np.array([0, 5]), 2, 1)
    _assert_same([a, b, c])
    ts, cpu, off, _ln, _blob = rounds.merge_parts([a, b, c])
    assert ts.tolist() == [1, 2, 6, 6, 6, 6, 6, 7, 10]  # by hand: times + 1
    assert cpu.tolist() == [1, 3, 3, 3, 0, 0, 1, 0, 3]
    # the five records at time 5: stream 0's two, stream 1's two, stream 2's one
    at5 = off[ts == 6].tolist()
    assert at5 == [1, 2, 1000, 1001, 2001]


def test_one_part_is_kept_as_it_is() -> None:
    _assert_same([_part(np.array([3, 3, 7]), 4, 2)])


@pytest.mark.parametrize("seed", range(20))
def test_random_parts(seed: int) -> None:
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(int(rng.integers(1, 6))):
        n = int(rng.integers(0, 50))
        parts.append(_part(np.sort(rng.integers(0, 20, n)), i, int(rng.integers(0, 4))))
    parts = [p for p in parts if len(p[0])] or [_part(np.array([1]), 0, 0)]
    _assert_same(parts)


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_times(name: str, tmp_path: Path) -> None:
    """Every CPU stream of a fixture, its real times, merged in one go."""
    from spftrace.formats.trace_dat.header import read_dat_header

    path = fixture(name, tmp_path)
    with open(path, "rb") as f:
        hdr = read_dat_header(f)
        reader = merge.DatReader(f, hdr, batch_rows=1 << 30, use_native=False)
        parts = []
        for s in reader.streams:
            while not s.exhausted:
                reader._load(s)
            if len(s.ts):
                parts.append((s.ts, s.index, s.rts, s.off, s.ln, s.blob, s.cpu.cpu))
    assert len(parts) > 1
    _assert_same(parts)


@pytest.mark.parametrize("seed", range(10))
def test_split_by_id(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ids = rng.choice([-1, 3, 17, 300, 65535], size=int(rng.integers(1, 200)))
    got = [(e, r.tolist()) for e, r in merge._split_by_id(ids)]
    want = [(e, r.tolist()) for e, r in split_by_id(ids)]
    assert got == want


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("size", [2, 4])
def test_read_uint_equals_struct(size: int, big: bool) -> None:
    """Fields read by the per-byte gather equal struct.unpack of the same bytes; fields
    running past the end take the clipped reference."""
    import struct

    rng = np.random.default_rng(size + 10 * big)
    raw = rng.integers(0, 256, 4096, dtype=np.uint8)
    at = rng.integers(0, 4096 - size, 500)
    code = (">" if big else "<") + ("H" if size == 2 else "I")
    want = [struct.unpack_from(code, raw.tobytes(), int(a))[0] for a in at]
    assert fields._read_uint(raw, at, size, big).tolist() == want
    edge = np.array([0, 4096 - size, 4095])
    np.testing.assert_array_equal(
        fields._read_uint(raw, edge, size, big), fields._read_uint_clipped(raw, edge, size, big)
    )


def test_a_round_takes_the_least_records_up_to_its_cap() -> None:
    """By hand: of keys 1 2 9 | 3 4, two: 1 and 2 (the third least is 3)."""
    k = [np.array([1, 2, 9], np.uint64), np.array([3, 4], np.uint64)]
    assert rounds.cap_cuts(k, [3, 2], 2) == [2, 0]
    assert rounds.cap_cuts(k, [3, 2], 3) == [2, 1]
    assert rounds.cap_cuts(k, [3, 2], 5) == [3, 2]  # within the cap: as given
    # all at the least time: whole streams in stream order, at least one
    same = [
        np.array([5, 5, 5], np.uint64),
        np.array([5, 5], np.uint64),
        np.array([5, 7], np.uint64),
    ]
    assert rounds.cap_cuts(same, [3, 2, 1], 2) == [3, 0, 0]
    assert rounds.cap_cuts(same, [3, 2, 1], 4) == [3, 2, 0]


@pytest.mark.parametrize("seed", range(20))
def test_a_capped_round_is_a_prefix_of_the_merge_order(seed: int) -> None:
    """Against a reference: the records a capped round takes are the first ones of
    the order (time, stream, position) of all it could take; at most the cap unless
    the least time alone holds more (then whole streams at it); never none."""
    rng = np.random.default_rng(seed)
    keys, cuts = [], []
    for _ in range(int(rng.integers(1, 8))):
        n = int(rng.integers(1, 30))
        keys.append(np.sort(rng.integers(0, 12, n)).astype(np.uint64))
        cuts.append(int(rng.integers(1, n + 1)))
    cap = int(rng.integers(1, 40))
    got = rounds.cap_cuts(keys, cuts, cap)
    cand = sorted(
        (int(k[j]), s, j) for s, (k, c) in enumerate(zip(keys, cuts, strict=True)) for j in range(c)
    )
    took = sorted(
        (int(k[j]), s, j) for s, (k, c) in enumerate(zip(keys, got, strict=True)) for j in range(c)
    )
    assert all(0 <= g <= c for g, c in zip(got, cuts, strict=True)) and took
    assert took == cand[: len(took)]
    if len(took) > cap:
        assert {t for t, _s, _j in took} == {cand[0][0]}


def test_a_sparse_piece_keeps_only_its_records() -> None:
    """By hand: records of 3 bytes at 10 and 2 at 100 of a 200-byte piece become 5
    bytes, the first at 0, the second at 3; an empty one, none."""
    blob = np.arange(200, dtype=np.uint8)
    kept, off = rounds.compact(blob, np.array([10, 100]), np.array([3, 2]))
    assert kept.tolist() == [10, 11, 12, 100, 101] and off.tolist() == [0, 3]
    kept, off = rounds.compact(blob, np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert len(kept) == 0 and len(off) == 0
