"""Lines of a byte stream, in chunks: what a text parser is fed.

Bytes are decoded as UTF-8 with ``surrogateescape`` so that a byte that is not
UTF-8 survives to the dataset (``spftrace.text.escape``) and to ``rejects``
byte for byte (``encode_line``).  A line longer than ``MAX_LINE`` is never cut
into a record: it comes out as a *damaged* one-line chunk (its first MAX_LINE
bytes and its length), which ingestion stores as a reject, and the rest of it
is skipped without being held in memory.  A stream that ends in an error (a
truncated or corrupt gzip/xz/bzip2/zstd stream, an I/O error) ends the chunks
there: the cut last line, if any, is a damaged chunk too, and ``cut`` says why.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

from .._native import count_lines

CHUNK_BYTES = 1 << 20
#: the most ``LineReader.chunks`` reads at a time for ``chunk_lines``, in chunk_bytes
LONG_LINES = 2
MAX_LINE = 1 << 20
#: bytes of the next line a chunk carries (``Chunk.after``)
AFTER = 64
#: lines a chunk may hold: the compiled scanners keep room per line, so a chunk of
#: 2 MiB of blank lines (2M lines) held ~240 MB; real captures are far below this
#: (perf script: ~15K lines in 2 MiB, vmstat ~50K in 1 MiB)
MAX_CHUNK_LINES = 1 << 16
#: chunk buffers kept for reuse (``LineReader._buffer``): about as many as are in flight
POOL = 8
#: reuse is decided by reference counts, exact only under the GIL
_RECYCLE = getattr(sys, "_is_gil_enabled", lambda: True)()


@dataclass
class Chunk:
    """Whole lines of an input: ``data`` holds them with their newlines (the last
    line of an input may lack one).  Parsers take ``lines()`` (Python strings) or
    ``buffer()`` (the bytes as numpy, for the compiled scanners).

    ``damage`` set: the chunk is one line that must not be parsed (over-long, or
    cut by the end of a damaged stream); ``damage`` is the reject reason.

    ``after``: the start of the line after the chunk (at most ``AFTER`` bytes), as much
    of it as the reader holds already: a read nearly always ends inside a line; ``b""``
    when it ended on a newline, and at the end.  perf script holds back a chunk's last
    sample, whose frames may follow, only when this cannot tell (``PerfScriptParser``)."""

    first_line_no: int
    data: bytes | bytearray
    n_lines: int
    terminated: bool = True
    damage: str | None = None
    after: bytes = b""

    @classmethod
    def of_text(cls, text: str, first_line_no: int = 1) -> Chunk:
        """The lines of ``text`` (a test input, a sniffer's head) as one chunk."""
        data = text.encode("utf-8", "surrogateescape")
        ends = data.endswith(b"\n")
        return cls(first_line_no, data, data.count(b"\n") + (0 if ends or not data else 1), ends)

    def lines(self) -> list[str]:
        if not self.n_lines:
            return []
        text = _decode(self.data)
        if self.terminated:
            text = text[:-1]
        out = text.split("\n")
        if "\r" in text:
            out = [ln[:-1] if ln.endswith("\r") else ln for ln in out]
        return out

    def buffer(self) -> npt.NDArray[np.uint8]:
        """The bytes as a numpy uint8 array that always ends in a newline."""
        import numpy as np

        return np.frombuffer(self.data if self.terminated else self.data + b"\n", np.uint8)

    def line(self, start: int, end: int) -> str:
        """The line at data[start:end] exactly as ``lines()`` gives it."""
        text = _decode(self.data[start:end])
        return text[:-1] if text.endswith("\r") else text

    def head_lines(self, n: int) -> list[str]:
        """The first ``n`` lines (decoded as in ``lines()``)."""
        out: list[str] = []
        pos, data = 0, self.data
        while len(out) < n and pos < len(data):
            nl = data.find(b"\n", pos)
            end = len(data) if nl < 0 else nl
            out.append(self.line(pos, end))
            pos = end + 1
        return out

    def lines_from(self, line_no: int, max_bytes: int) -> str:
        """The text from line ``line_no`` on, at most ``max_bytes`` of it (whole lines)."""
        pos, data = 0, self.data
        for _ in range(line_no - self.first_line_no):
            nl = data.find(b"\n", pos)
            if nl < 0:
                return ""
            pos = nl + 1
        end = min(len(data), pos + max_bytes)
        if end < len(data):
            cut = data.rfind(b"\n", pos, end)
            end = cut + 1 if cut >= 0 else end
        return _decode(data[pos:end])


def _decode(b: bytes | bytearray) -> str:
    return b.decode("utf-8", "surrogateescape")


def encode_line(line: str) -> bytes:
    """The original bytes of a decoded line."""
    return line.encode("utf-8", "surrogateescape")


class LineReader:
    """Chunks of whole lines from a binary stream (``head`` first: bytes already
    read from it).  ``read_errors`` are the exceptions that mean the stream itself
    is damaged (a decompressor's); after one, ``cut`` holds its text and
    ``lines_read`` how many lines were decoded before it."""

    def __init__(
        self,
        stream: IO[bytes],
        head: bytes = b"",
        *,
        read_errors: tuple[type[BaseException], ...] = (OSError, EOFError),
        failed: str | None = None,
    ) -> None:
        self.stream = stream
        self.head = head
        self.read_errors = read_errors
        #: the stream is known to have failed right after ``head`` (and why)
        self.failed = failed
        self.overlong_lines = 0
        self.final_newline = True
        self.cut: str | None = None
        self.lines_read = 0
        self._pool: list[bytearray] = []

    def _buffer(self, size: int) -> bytearray:
        """A bytearray of ``size`` bytes to read into: one handed out as a chunk's
        data before that nothing refers to any more (its parser, the pipeline and any
        array or view made of it are done with it), else a new one.  A new
        ``bytearray(n)`` is zero-filled and page-faulted in before the read writes
        over it, about a third of the read thread's CPU time on a 4 MiB chunk."""
        pool = self._pool
        if _RECYCLE:
            for i in range(len(pool)):
                if sys.getrefcount(pool[i]) == 2:  # the pool's and the argument's
                    buf = pool[i]
                    if len(buf) < size:
                        buf.extend(bytes(size - len(buf)))
                    else:
                        del buf[size:]
                    return buf
        buf = bytearray(size)
        if _RECYCLE and len(pool) < POOL:
            pool.append(buf)
        return buf

    def _read(self, carry: bytes, chunk_bytes: int) -> bytearray:
        """``carry`` followed by up to ``chunk_bytes`` new bytes, read in place
        (no concatenation copy); only ``carry`` when the stream is at its end.

        Read in steps of one underlying read each (``readinto1``): a buffered
        reader asked for 2 MiB at once loses everything it decoded in that call
        when the decompressor fails at the end.  Bytes read before a failure are
        returned, and the failure is raised by the next read."""
        buf = self._buffer(len(carry) + chunk_bytes)
        buf[: len(carry)] = carry
        pos = len(carry)
        read = getattr(self.stream, "readinto1", None) or self.stream.readinto  # type: ignore[attr-defined]
        view = memoryview(buf)
        try:
            while pos < len(buf):
                try:
                    got = read(view[pos:])
                except self.read_errors as exc:
                    if pos == len(carry):
                        raise
                    self.failed = error_text(exc)
                    break
                if not got:
                    break
                pos += got
        finally:
            view.release()
        del buf[pos:]
        return buf

    def chunks(self, chunk_bytes: int = CHUNK_BYTES, chunk_lines: int = 0) -> Iterator[Chunk]:
        """Yield chunks of whole lines, in order, with their first line number.

        ``chunk_lines``: where lines are long, read more than ``chunk_bytes`` at a
        time (up to ``LONG_LINES`` times as much), so that a chunk holds about this
        many lines: a parser's per-chunk work is per chunk, and the same lines in a
        wordier layout (perf stat -j takes 1.9x the bytes of its human layout) would
        otherwise come in twice as many chunks.  Sized from the lines per byte read
        so far; 0: ``chunk_bytes`` always."""
        try:
            for chunk in self._chunks(chunk_bytes, chunk_lines):
                self.lines_read = chunk.first_line_no + chunk.n_lines - 1
                yield chunk
        finally:
            self._pool.clear()

    def _chunks(self, chunk_bytes: int, chunk_lines: int = 0) -> Iterator[Chunk]:
        size = chunk_bytes  # the next read's
        seen_bytes = seen_lines = 0
        line_no = 1
        carry = b""
        skipped = -1  # >= 0: inside an over-long line, bytes of it seen so far
        kept = b""  # the first MAX_LINE bytes of that line
        head, hpos = self.head, 0  # the head is handed on in reads' sizes too: it
        while True:  # can hold 16 MiB of blank lines (ingest.inputs.BLANK_LIMIT)
            if hpos < len(head):
                buf = bytearray(carry)
                buf += head[hpos : hpos + size]
                hpos += size
            else:
                errors: tuple[type[BaseException], ...] = (_Failed, *self.read_errors)
                try:
                    if self.failed is not None:
                        raise _Failed(self.failed)
                    buf = self._read(carry, size)
                except errors as exc:
                    self.cut = exc.args[0] if isinstance(exc, _Failed) else error_text(exc)
                    buf = bytearray(carry)
                    carry = b""
                    if skipped >= 0:
                        yield _overlong(line_no, kept, skipped + len(buf), cut=True)
                        self.overlong_lines += 1
                    elif buf:
                        yield Chunk(line_no, bytes(buf), 1, False, _cut_reason(self.cut))
                    return
                if len(buf) == len(carry):
                    break
            if skipped >= 0:
                nl = buf.find(b"\n")
                if nl < 0:
                    skipped += len(buf)
                    carry = b""
                    continue
                yield _overlong(line_no, kept, skipped + nl)
                self.overlong_lines += 1
                line_no += 1
                del buf[: nl + 1]
                skipped, kept = -1, b""
            cut = buf.rfind(b"\n")
            if cut < 0:
                carry = bytes(buf)
                if len(carry) > MAX_LINE:
                    kept, skipped, carry = carry[:MAX_LINE], len(carry), b""
                continue
            carry = bytes(buf[cut + 1 :])
            del buf[cut + 1 :]
            block = buf
            n = count_lines(block)
            if n and len(block) > MAX_LINE and _longest_line(block) > MAX_LINE:
                yield from self._split_long(block, line_no)
                line_no += n
                continue
            if n > MAX_CHUNK_LINES:
                yield from _split_many(block, line_no, n, carry[:AFTER])
            else:
                yield Chunk(line_no, block, n, after=carry[:AFTER])
            line_no += n
            if chunk_lines:
                seen_bytes, seen_lines = seen_bytes + len(block), seen_lines + n
                want = chunk_lines * seen_bytes // seen_lines
                size = min(max(want, chunk_bytes), LONG_LINES * chunk_bytes)
        if skipped >= 0:
            yield _overlong(line_no, kept, skipped)
            self.overlong_lines += 1
            self.final_newline = False
        elif carry:
            self.final_newline = False
            if len(carry) > MAX_LINE:
                self.overlong_lines += 1
                yield _overlong(line_no, carry[:MAX_LINE], len(carry))
            else:
                yield Chunk(line_no, carry, 1, terminated=False)

    def _split_long(self, block: bytearray, line_no: int) -> Iterator[Chunk]:
        """A block with an over-long line in it: the runs of normal lines as chunks,
        each over-long line as a damaged chunk of its own."""
        pos = run_start = 0
        run_first = line_no
        while pos < len(block):
            nl = block.index(b"\n", pos)
            if nl - pos > MAX_LINE:
                if line_no > run_first:
                    yield Chunk(run_first, bytes(block[run_start:pos]), line_no - run_first)
                self.overlong_lines += 1
                yield _overlong(line_no, bytes(block[pos : pos + MAX_LINE]), nl - pos)
                run_start, run_first = nl + 1, line_no + 1
            pos = nl + 1
            line_no += 1
        if line_no > run_first:
            yield Chunk(run_first, bytes(block[run_start:]), line_no - run_first)


def _split_many(
    block: bytes | bytearray, line_no: int, n: int, after: bytes = b""
) -> Iterator[Chunk]:
    """A block of whole lines cut, at the newline nearest its middle, until each piece
    holds at most MAX_CHUNK_LINES lines (each cut counts its halves once: n log n/MAX);
    ``after``: the byte after the block, if known (``Chunk.after``)."""
    if n <= MAX_CHUNK_LINES:
        yield Chunk(line_no, bytes(block), n, after=after)
        return
    mid = len(block) // 2
    cut = block.find(b"\n", mid)
    if cut < 0 or cut == len(block) - 1:
        cut = block.rfind(b"\n", 0, mid)
    left, right = block[: cut + 1], block[cut + 1 :]
    k = count_lines(left)
    yield from _split_many(left, line_no, k, bytes(right[:AFTER]).partition(b"\n")[0])
    yield from _split_many(right, line_no + k, n - k, after)


def _overlong(line_no: int, kept: bytes, length: int, *, cut: bool = False) -> Chunk:
    why = f"line of {length:,} bytes is longer than the {MAX_LINE:,}-byte limit"
    if cut:
        why += " (and the input ends inside it)"
    return Chunk(line_no, kept, 1, False, why)


def _cut_reason(error: str) -> str:
    return f"the input ends inside this line: {error}"


class _Failed(Exception):
    """The stream failed before (while the head was read)."""


def error_text(exc: BaseException) -> str:
    """An exception as one line of a message: its type and its text."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _longest_line(block: bytes | bytearray) -> int:
    """Length of the longest line, or 0 when none exceeds MAX_LINE (cheap: it jumps
    from the last newline of one MAX_LINE window to the next)."""
    pos = 0
    end = len(block)
    while end - pos > MAX_LINE:
        nl = block.rfind(b"\n", pos, pos + MAX_LINE + 1)
        if nl < 0:
            nxt = block.find(b"\n", pos)
            return (nxt if nxt >= 0 else end) - pos
        pos = nl + 1
    return 0
