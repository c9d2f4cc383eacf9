"""The per-VMA-lock pass's running figures, held to the same figures computed from
every hold at once by the definitions (count, sum, maximum, operations in the order
first seen), whatever the batches."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from spftrace.analysis.vmalock_stats import Holders, Spans

OPS = {0: "mmap", 1: "munmap", 2: "munmap", 3: "mprotect", -1: "mmap_lock write"}


def _by_definition(holds: list[tuple[int, int, int]], top: int) -> list[dict[str, object]]:
    """The holder rows from the list of every (tid, held ns, site): the definition."""
    per: dict[int, list[tuple[int, int]]] = {}
    for tid, held, site in holds:
        per.setdefault(tid, []).append((held, site))
    order = sorted(per, key=lambda t: (-sum(h for h, _ in per[t]), t))[:top]
    rows = []
    for t in order:
        ops = Counter(OPS[s] for _, s in per[t])  # insertion order: first hold of each op
        rows.append({
            "comm": f"c{t}", "tid": t, "holds": len(per[t]),
            "held_us": round(sum(h for h, _ in per[t]) / 1e3, 3),
            "longest_us": round(max(h for h, _ in per[t]) / 1e3, 3),
            "ops": dict(ops.most_common()),
        })  # fmt: skip
    return rows


@pytest.mark.parametrize("cut", [1, 7, 1000])
def test_holders_are_the_figures_of_every_hold(cut: int) -> None:
    rng = np.random.default_rng(3)
    n = 500
    tid = rng.integers(1, 9, n).astype(np.int32)
    site = rng.integers(-1, 4, n).astype(np.int32)
    held = rng.integers(0, 50_000, n).astype(np.int64)
    h = Holders()
    for a in range(0, n, cut):
        h.add(tid[a : a + cut], held[a : a + cut], site[a : a + cut])
    comms = {t: f"c{t}" for t in range(1, 9)}
    want = _by_definition(list(zip(tid.tolist(), held.tolist(), site.tolist(), strict=True)), 5)
    assert h.rows(comms, OPS.__getitem__, 5) == want
    assert sum(r["holds"] for r in h.rows(comms, OPS.__getitem__, 10)) == n  # type: ignore[misc]


def test_operations_tied_in_count_keep_the_order_first_held() -> None:
    """Two holds each of munmap and mmap: munmap was first (through site 2, whose
    first hold comes before mmap's), so it comes first however the batches fall."""
    h = Holders()
    h.add(np.array([4, 4], np.int32), np.array([10, 10]), np.array([2, 0], np.int32))
    h.add(np.array([4, 4], np.int32), np.array([10, 10]), np.array([0, 1], np.int32))
    (row,) = h.rows({}, OPS.__getitem__, 10)
    assert list(row["ops"]) == ["munmap", "mmap"] and row["ops"] == {"munmap": 2, "mmap": 2}
    assert (row["holds"], row["held_us"], row["longest_us"]) == (4, 0.04, 0.01)


def test_holders_of_negative_tids_and_sites_survive_the_packing() -> None:
    h = Holders()
    h.add(np.array([-1, 2**31 - 1], np.int32), np.array([5, 7]), np.array([-1, 3], np.int32))
    got = {r["tid"]: r["ops"] for r in h.rows({}, OPS.__getitem__, 10)}
    assert got == {-1: {"mmap_lock write": 1}, 2**31 - 1: {"mprotect": 1}}


def test_spans_join_their_columns_in_order() -> None:
    s = Spans()
    assert not s
    s.append(np.array([1, 2]), np.array([10, 20]))
    s.append(np.array([3]), np.array([30]))
    assert s
    a, b = s.columns()
    assert a.tolist() == [1, 2, 3] and b.tolist() == [10, 20, 30]
    assert not s
