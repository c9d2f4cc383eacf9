"""Grouping of counter columns without pyarrow's Acero engine.

``Table.group_by`` loads ``pyarrow.acero``, which imports pandas: 0.48 s and
~60 MB on the first perf stat input of every process (the mainline example is a
10-line ``perf stat`` piped in).  The two groupings perf stat needs are small
sorts over dictionary codes, so numpy does them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def codes(column: Any) -> tuple[Any, int]:
    """Dense integer codes of ``column`` (Arrow array or chunked array), nulls a
    code of their own, and how many codes there are."""
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(_array(column), null_encoding="encode")
    return _ints(enc.indices), len(enc.dictionary)


def distinct_rows(columns: Sequence[Any]) -> int:
    """How many distinct rows the equal-length ``columns`` hold together."""
    import numpy as np

    if not columns or not len(columns[0]):
        return 0
    coded = [codes(c) for c in columns]
    key, span = np.zeros(len(columns[0]), np.int64), 1
    for c, n in coded:  # one mixed-radix key while it fits in 62 bits
        if span * n >= 1 << 62:
            rows = np.stack([c for c, _ in coded], axis=1)
            return len(np.unique(rows, axis=0))
        key = key * n + c
        span *= n
    return len(np.unique(key))


def first_line_per_group(block: Any, event: Any, line_no: Any) -> list[tuple[int, str, int]]:
    """``(block, event, smallest line_no)`` for every distinct (block, event)."""
    import numpy as np
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(_array(event), null_encoding="encode")
    names = enc.dictionary.to_pylist()
    ev, blk, lines = _ints(enc.indices), _ints(_array(block)), _ints(_array(line_no))
    if len(ev) and blk.min() == blk.max() and not (lines[1:] < lines[:-1]).any():
        # one block, in line order (a chunk's rows, mostly): each event's first row
        # is its smallest line, found in one pass instead of a sort of three keys
        # (14% of a 226K-line CSV parse's instructions)
        at = _first_rows(ev, len(names))
        if at is not None:
            b = int(blk[0])
            return [(b, names[int(ev[i])], int(lines[i])) for i in at.tolist()]
    order = np.lexsort((lines, ev, blk))
    b, e, ln = blk[order], ev[order], lines[order]
    first = np.ones(len(b), bool)
    first[1:] = (b[1:] != b[:-1]) | (e[1:] != e[:-1])
    return [
        (int(x), names[int(y)], int(z))
        for x, y, z in zip(b[first], e[first], ln[first], strict=True)
    ]


def _first_rows(codes: Any, n_codes: int) -> Any:
    """The row where each of the ``n_codes`` codes first occurs, when each first occurs
    above every code before it (dictionary_encode numbers values as they appear);
    else None.  A row whose code is above all before it is that code's first: when
    there are ``n_codes`` such rows, they are every code's first."""
    import numpy as np

    top = np.maximum.accumulate(codes)
    new = np.empty(len(codes), bool)
    new[0] = True
    new[1:] = top[1:] > top[:-1]
    at = np.flatnonzero(new)
    return at if len(at) == n_codes else None


def _array(column: Any) -> Any:
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks()
    return column


def _ints(array: Any) -> Any:
    """A null-free integer Arrow array as int64 numpy, read from its buffer
    (``Array.to_numpy`` imports pandas too)."""
    import numpy as np

    if array.null_count:
        raise ValueError("nulls in a key column that cannot have them")
    dtype = np.dtype(array.type.to_pandas_dtype())
    data = np.frombuffer(array.buffers()[1], dtype)[array.offset : array.offset + len(array)]
    return data.astype(np.int64)
