"""LineReader.chunks(chunk_bytes, chunk_lines): long lines get larger reads, so a
chunk holds about chunk_lines lines (up to LONG_LINES x chunk_bytes), and the lines
are the same ones, in order, whatever the sizes.  Expected values: the input cut
at its newlines, and the sizes derived by hand from the line lengths."""

from __future__ import annotations

import io
import itertools

import pytest

from spftrace.formats.lines import LONG_LINES, LineReader


def _reader(data: bytes) -> LineReader:
    return LineReader(io.BufferedReader(io.BytesIO(data), 4096))


def _lines(width: int, n: int) -> bytes:
    """n lines of exactly ``width`` bytes, newline included, numbered."""
    return b"".join(f"{k:0{width - 1}d}\n".encode() for k in range(n))


@pytest.mark.parametrize("width", [20, 60, 100, 400])
def test_same_lines_whatever_the_sizes(width: int) -> None:
    data = _lines(width, 5000) + b"last without newline"
    plain = [(c.first_line_no, c.lines()) for c in _reader(data).chunks(4096)]
    sized = [(c.first_line_no, c.lines()) for c in _reader(data).chunks(4096, 100)]
    want = data.decode().split("\n")
    assert [ln for _, lines in plain for ln in lines] == want
    assert [ln for _, lines in sized for ln in lines] == want
    # first line numbers follow the lines each chunk holds
    for chunks in (plain, sized):
        at = 1
        for first, lines in chunks:
            assert first == at
            at += len(lines)


def test_long_lines_come_in_fewer_chunks_of_about_chunk_lines() -> None:
    # 100 lines of 40 bytes fit 4000 bytes; lines of 80 bytes need 8000 a chunk:
    # within the 2 x 4096 cap, so after the first chunk each holds ~100 lines
    data = _lines(80, 3000)
    n_lines = [c.n_lines for c in _reader(data).chunks(4096, 100)]
    assert n_lines[0] == 4096 // 80  # the first read: chunk_bytes (51 whole lines)
    assert all(95 <= n <= 103 for n in n_lines[1:-1])
    assert sum(n_lines) == 3000
    # without chunk_lines: 4096 bytes a read, 51 or 52 lines a chunk
    assert max(c.n_lines for c in _reader(data).chunks(4096)) <= 52


def test_short_lines_keep_chunk_bytes_and_very_long_ones_the_cap() -> None:
    short = _lines(20, 5000)  # 100 lines are 2000 bytes: never more than chunk_bytes
    sizes = [len(c.data) for c in _reader(short).chunks(4096, 100)]
    assert sizes == [len(c.data) for c in _reader(short).chunks(4096)]
    assert max(sizes) <= 4096 + 20  # (a read adds to the cut line carried over)
    long = _lines(400, 3000)  # 100 lines would be 40000 bytes: capped
    sizes = [len(c.data) for c in _reader(long).chunks(4096, 100)]
    assert max(sizes) <= LONG_LINES * 4096 + 400
    assert max(sizes) > 4096 + 400


def test_a_chunk_holds_at_most_max_chunk_lines() -> None:
    """2 MiB of blank lines was one chunk of 2M lines (the compiled scanners keep room
    per line: ~240 MB).  Chunks now hold at most MAX_CHUNK_LINES lines, numbered on
    from each other, and together they are the input, byte for byte."""
    import io

    from spftrace.formats.lines import MAX_CHUNK_LINES, LineReader

    data = b"x" * 5000 + b"\n" + b"\n" * 300_000 + b"a b\n" * 70_000 + b"\n" * 3 + b"end\n"
    got = list(LineReader(io.BytesIO(data), b"").chunks(2 << 20))
    assert b"".join(bytes(c.data) for c in got) == data
    assert max(c.n_lines for c in got) <= MAX_CHUNK_LINES
    starts = [c.first_line_no for c in got]
    assert starts == [1] + [1 + sum(c.n_lines for c in got[:k]) for k in range(1, len(got))]
    assert sum(c.n_lines for c in got) == data.count(b"\n")


@pytest.mark.parametrize("read", [4096, 4000, 5 * 60])
def test_after_is_the_start_of_the_next_line_as_far_as_read(read: int) -> None:
    """``Chunk.after``: the bytes of the next chunk's first line that the read which
    ended this chunk took, at most AFTER of them: the input cut at the chunk's end, up
    to the next newline or the read's end (multiples of ``read``, from the start: a raw
    stream that returns whole requests).  A read ending on a newline knows nothing."""
    from spftrace.formats.lines import AFTER

    data = b"".join(f"{'x' * (k % 97)} line {k}\n".encode() for k in range(3000))
    chunks = list(LineReader(io.BytesIO(data), b"").chunks(read))
    assert b"".join(bytes(c.data) for c in chunks) == data
    pos = 0
    for c in chunks[:-1]:
        pos += len(c.data)
        read_end = -(-pos // read) * read  # the read that ended this chunk ended here
        nl = data.find(b"\n", pos)
        want = data[pos : min(nl, read_end, pos + AFTER)]
        assert c.after == want
    assert chunks[-1].after == b""
    assert sum(1 for c in chunks[:-1] if c.after) > len(chunks) // 2  # (the common case)


def test_after_across_a_block_split_into_chunks() -> None:
    """A block of more than MAX_CHUNK_LINES lines is cut into chunks: each knows the
    first bytes of the next one."""
    from spftrace.formats.lines import AFTER, MAX_CHUNK_LINES

    data = b"".join(b"%d\n" % k for k in range(3 * MAX_CHUNK_LINES))
    chunks = list(LineReader(io.BytesIO(data), b"").chunks(len(data)))
    assert len(chunks) > 2
    for c, nxt in itertools.pairwise(chunks):
        assert c.after == bytes(nxt.data[: min(AFTER, nxt.data.index(b"\n"))])
