"""Blocks: which perf invocation (or repetition) a counter row belongs to.

A new block starts at a ``Performance counter stats`` header or a ``# started
on`` line that follows counted (non-interval) rows (the parser calls
``next_block``), when interval time goes backwards (a new ``perf stat -I``), or
when the same counter key repeats within a block (headerless CSV/JSON from shell
loops).  For interval rows only the current interval's keys are remembered, so
memory does not grow with the input.  Every path (per line and vectorised)
assigns blocks through ``assign``, so they agree on every row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .keys import _ints, distinct_rows

#: (ts, cpu, aggr, thread, cgroup, event): what identifies a counter within a block
Key = tuple[int | None, int | None, str | None, str | None, str | None, str]


class Blocks:
    def __init__(self) -> None:
        self.block = 0
        self.has_total = False  # rows without an interval timestamp
        self.keys: set[Key] = set()
        self.last_ts: int | None = None

    def check(self, key: Key, ts: int | None) -> None:
        """Move to a new block if ``key`` (at time ``ts``) starts one; remember it."""
        if ts is not None and ts != self.last_ts:
            if self.last_ts is not None and ts < self.last_ts:
                self.next_block()  # time went backwards: a new perf run
            else:  # a new interval: forget the previous interval's keys
                self.keys = {k for k in self.keys if k[0] is None}
            self.last_ts = ts
        if key in self.keys:
            self.next_block()
            self.last_ts = ts
        self.keys.add(key)

    def assign(self, key: Key) -> int:
        """The block of a row with ``key`` (whose first item is its time)."""
        ts = key[0]
        if ts != self.last_ts or key in self.keys:
            self.check(key, ts)
        else:
            self.keys.add(key)
        if ts is None:
            self.has_total = True
        return self.block

    def assign_all(self, keys: Iterable[Key]) -> list[int]:
        return [self.assign(k) for k in keys]

    def assign_columns(
        self, cols: Sequence[Any], key_hash: Any = None, distinct: bool = False
    ) -> list[int] | Any:
        """Blocks of rows given as Arrow columns (ts, cpu, aggr, thread, cgroup, event).

        The common case - interval rows, time not going backwards, no key twice at
        one time - stays in one block and is decided column-wise; anything else goes
        row by row through ``assign``.  ``key_hash`` (numpy uint64, optional): per
        row a hash of its key but the time (the compiled scanner's), equal for equal
        keys, so distinct (time, hash) pairs prove distinct keys without encoding
        the string columns; ``distinct``: the caller knows these pairs distinct (the
        scanner checked them as it went), so they are not sorted again."""
        import numpy as np

        fast = self._one_block(cols, key_hash, distinct)
        if fast is not None:
            return np.full(len(cols[0]), fast, np.int32)
        return self.assign_all(keys_of([c.to_pylist() for c in cols]))

    def _one_block(self, cols: Sequence[Any], key_hash: Any, distinct: bool = False) -> int | None:
        import numpy as np

        ts = cols[0]
        n = len(ts)
        if not n or ts.null_count:
            return None
        t = _ints(ts)  # (ts.to_numpy() would import pandas)
        if (self.last_ts is not None and t[0] < self.last_ts) or (t[1:] < t[:-1]).any():
            return None
        hashed = key_hash is not None and (distinct or _pairs_distinct(t, key_hash))
        if not hashed and distinct_rows(cols) != n:
            return None  # a key twice at one time

        def keys_at(when: int) -> set[Key]:
            lo, hi = np.searchsorted(t, [when, when + 1]).tolist()  # t is sorted
            return set(keys_of([c.slice(lo, hi - lo).to_pylist() for c in cols]))

        if self.last_ts is not None and t[0] == self.last_ts and keys_at(int(t[0])) & self.keys:
            return None
        last = int(t[-1])
        if last != self.last_ts:
            self.keys = {k for k in self.keys if k[0] is None}
        self.keys |= keys_at(last)
        self.last_ts = last
        return self.block

    def next_block(self) -> None:
        if self.keys or self.has_total:
            self.block += 1
        self.keys = set()
        self.has_total = False
        self.last_ts = None


def _pairs_distinct(t: Any, key_hash: Any) -> bool:
    """Whether the (time, hash) pairs are all distinct (False may be a collision)."""
    import numpy as np

    mixed = key_hash + t.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    mixed.sort()
    return not bool((mixed[1:] == mixed[:-1]).any())


def keys_of(columns: Sequence[Sequence[object]]) -> Iterable[Key]:
    """Keys from the ts, cpu, aggr, thread, cgroup and event columns (as lists)."""
    return zip(*columns, strict=True)
