"""LineReader reuses the buffers of chunks nothing refers to any more
(``LineReader._buffer``): a chunk still held, or a view of its bytes, must never be
read over.  Expected bytes are the input itself, cut at its newlines."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest

from spftrace.formats.lines import LineReader


def _input(seed: int) -> bytes:
    rnd = random.Random(seed)
    lines = [
        bytes(rnd.randrange(32, 127) for _ in range(rnd.randrange(0, 300))) + b"\n"
        for _ in range(3000)
    ]
    return b"".join(lines) + b"no newline at the end"


def _reader(data: bytes, head: int = 0) -> LineReader:
    stream = io.BufferedReader(io.BytesIO(data[head:]), 4096)
    return LineReader(stream, data[:head])


@pytest.mark.parametrize("chunk_bytes", [256, 1000, 4096, 65536])
def test_held_chunks_keep_their_bytes(chunk_bytes: int) -> None:
    data = _input(chunk_bytes)
    held = list(_reader(data, head=777).chunks(chunk_bytes))
    assert b"".join(bytes(c.data) for c in held) == data
    line_no = 1
    for c in held:
        assert c.first_line_no == line_no
        assert c.n_lines == c.data.count(b"\n") + (0 if c.terminated else 1)
        line_no += c.n_lines
    assert line_no - 1 == data.count(b"\n") + 1


@pytest.mark.parametrize("chunk_bytes", [256, 4096])
def test_dropped_chunks_give_the_same_bytes_and_views_stay_intact(chunk_bytes: int) -> None:
    """Each chunk copied when it comes, then dropped (its buffer free for reuse);
    every third kept only as a numpy view of its bytes, as a parser's array is."""
    data = _input(chunk_bytes + 1)
    copies: list[bytes] = []
    views: list[tuple[np.ndarray, bytes]] = []
    for i, c in enumerate(_reader(data).chunks(chunk_bytes)):
        copies.append(bytes(c.data))
        if i % 3 == 0:
            views.append((np.frombuffer(c.data, np.uint8), copies[-1]))
    assert b"".join(copies) == data
    for view, copy in views:
        assert view.tobytes() == copy
