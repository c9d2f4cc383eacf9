"""Opening inputs: files or stdin, compressed or not, as chunks of lines.

Bytes are decoded as UTF-8 with ``surrogateescape`` so that a non-UTF-8 line
survives to the ``rejects`` table byte for byte (``encode_line``).  The SHA-256
is taken over the bytes as read (before decompression) while streaming, so
stdin needs no second pass.  Lines longer than ``MAX_LINE`` are cut there (the
rest up to the newline is skipped and counted) so that a single enormous line
cannot exhaust memory.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .errors import SpftraceError

CHUNK_BYTES = 1 << 20
HEAD_BYTES = 64 * 1024
MAX_LINE = 1 << 20

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
)


class _HashingReader(io.RawIOBase):
    """Counts and hashes every byte read from ``raw``."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.nbytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self.raw.readinto(b) or 0  # type: ignore[attr-defined]
        self.sha.update(memoryview(b)[:n])
        self.nbytes += n
        return n


@dataclass
class Input:
    name: str  # path as given, or <stdin>
    stream: IO[bytes]  # decompressed bytes
    hasher: _HashingReader
    compression: str | None
    head: bytes  # the first HEAD_BYTES of the decompressed stream (already consumed)
    closers: list[IO[Any]] = field(default_factory=list)
    overlong_lines: int = 0
    final_newline: bool = True
    #: set when a read-ahead thread was left blocked in a read (a silent pipe)
    reader_stuck: bool = False
    #: ways to unblock such a read (stop the process that writes the stream)
    interrupters: list[Callable[[], Any]] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return self.hasher.sha.hexdigest()

    @property
    def nbytes(self) -> int:
        return self.hasher.nbytes

    def head_text(self) -> str:
        return self.head.decode("utf-8", "replace")

    def close(self) -> None:
        if self.reader_stuck:
            return  # a thread still blocks in a read of it; closing would wait for it
        for c in reversed(self.closers):
            c.close()

    def _read(self, carry: bytes, chunk_bytes: int) -> bytearray:
        """``carry`` followed by up to ``chunk_bytes`` new bytes, read in place
        (no concatenation copy); only ``carry`` when the stream is at its end."""
        buf = bytearray(len(carry) + chunk_bytes)
        buf[: len(carry)] = carry
        got = self.stream.readinto(memoryview(buf)[len(carry) :])  # type: ignore[attr-defined]
        del buf[len(carry) + (got or 0) :]
        return buf

    def chunks(self, chunk_bytes: int = CHUNK_BYTES) -> Iterator[Chunk]:
        """Yield chunks of whole lines, in order, with their first line number."""
        line_no = 1
        carry = b""
        skipping = False  # inside an over-long line, dropping bytes up to its newline
        pending = self.head
        while True:
            if pending:
                buf = bytearray(carry + pending)
                pending = b""
            else:
                buf = self._read(carry, chunk_bytes)
                if len(buf) == len(carry):
                    break
            if skipping:
                nl = buf.find(b"\n")
                if nl < 0:
                    carry = b""
                    continue
                del buf[: nl + 1]
                skipping = False
            cut = buf.rfind(b"\n")
            if cut < 0:
                carry = bytes(buf)
                if len(carry) > MAX_LINE:
                    self.overlong_lines += 1
                    yield Chunk(line_no, carry[:MAX_LINE], 1, terminated=False)
                    line_no += 1
                    carry = b""
                    skipping = True
                continue
            carry = bytes(buf[cut + 1 :])
            del buf[cut + 1 :]
            block = buf
            n = block.count(b"\n")
            if n and len(block) > MAX_LINE and _longest_line(block) > MAX_LINE:
                for piece in bytes(block[:-1]).split(b"\n"):
                    if len(piece) > MAX_LINE:
                        self.overlong_lines += 1
                        piece = piece[:MAX_LINE]
                    yield Chunk(line_no, piece + b"\n", 1)
                    line_no += 1
                continue
            yield Chunk(line_no, block, n)
            line_no += n
        if carry:
            self.final_newline = False
            yield Chunk(line_no, carry, 1, terminated=False)


@dataclass
class Chunk:
    """Whole lines of an input: ``data`` holds them with their newlines (the last
    line of an input may lack one).  Parsers take ``lines()`` (Python strings) or
    ``buffer()`` (the bytes as numpy, for the compiled scanners)."""

    first_line_no: int
    data: bytes | bytearray
    n_lines: int
    terminated: bool = True

    def lines(self) -> list[str]:
        text = _decode(self.data)
        if self.terminated:
            text = text[:-1]
        out = text.split("\n")
        if "\r" in text:
            out = [ln[:-1] if ln.endswith("\r") else ln for ln in out]
        return out

    def buffer(self) -> Any:
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


def _decode(b: bytes | bytearray) -> str:
    return b.decode("utf-8", "surrogateescape")


def encode_line(line: str) -> bytes:
    """The original bytes of a decoded line."""
    return line.encode("utf-8", "surrogateescape")


def open_input(spec: str | os.PathLike[str], *, stdin: IO[bytes] | None = None) -> Input:
    """Open a path, or ``-`` for stdin, detecting compression by magic bytes."""
    closers: list[IO[Any]] = []
    if str(spec) == "-":
        raw: IO[bytes] = stdin if stdin is not None else _stdin_raw()
        name = "<stdin>"
        _widen_pipe(raw)
    else:
        path = Path(spec)
        if path.is_dir():
            raise SpftraceError(f"{path}: is a directory; give the files inside it")
        try:
            raw = path.open("rb")
        except FileNotFoundError:
            raise SpftraceError(f"{path}: no such file") from None
        except PermissionError:
            raise SpftraceError(f"{path}: permission denied") from None
        except OSError as exc:
            raise SpftraceError(f"{path}: cannot open: {exc.strerror}") from None
        closers.append(raw)
        name = str(spec)
    hasher = _HashingReader(raw)
    buffered = io.BufferedReader(hasher, buffer_size=CHUNK_BYTES)
    magic = buffered.peek(8)[:8]
    compression = next((kind for m, kind in _MAGIC if magic.startswith(m)), None)
    stream: Any = buffered
    if compression == "gzip":
        stream = gzip.GzipFile(fileobj=buffered)
    elif compression == "xz":
        stream = lzma.LZMAFile(buffered)  # noqa: SIM115 - closed via closers
    elif compression == "bzip2":
        stream = bz2.BZ2File(buffered)
    elif compression == "zstd":
        import zstandard

        stream = zstandard.ZstdDecompressor().stream_reader(buffered, read_across_frames=True)
    closers.append(stream)
    inp = Input(name, stream, hasher, compression, b"", closers)
    try:
        inp.head = _read_exactly(stream, HEAD_BYTES)
    except read_errors(inp) as exc:
        inp.close()
        raise SpftraceError(f"{name}: corrupt {compression} data: {exc}") from None
    except BaseException:
        inp.close()
        raise
    return inp


PIPE_BYTES = 1 << 20


def _stdin_raw() -> IO[bytes]:
    """File descriptor 0 unbuffered, not ``sys.stdin.buffer``: a read-ahead thread
    left blocked on a silent pipe must not hold the interpreter's stdin lock, or
    Python aborts at exit instead of reporting the error that stopped the ingest."""
    try:
        return io.FileIO(sys.stdin.fileno(), "rb", closefd=False)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return sys.stdin.buffer


def _widen_pipe(stream: IO[bytes]) -> None:
    """Give a pipe on stdin 1 MiB (Linux's default ceiling) instead of 64 KiB, so the
    producer (``perf script``) can run ahead while we parse.  Best effort."""
    import fcntl
    import stat

    try:
        fd = stream.fileno()
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


def _read_exactly(stream: IO[bytes], n: int) -> bytes:
    parts = []
    got = 0
    while got < n:
        b = stream.read(n - got)
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


def read_errors(inp: Input) -> type[BaseException] | tuple[type[BaseException], ...]:
    """Exceptions that mean 'the compressed stream is corrupt' for this input."""
    if inp.compression == "zstd":
        import zstandard

        return (OSError, EOFError, zstandard.ZstdError)
    return (OSError, EOFError, lzma.LZMAError)
