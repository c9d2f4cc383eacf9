"""Opening inputs: files or stdin, compressed or not.

The SHA-256 is taken over the bytes as read (before decompression) while
streaming, so stdin needs no second pass.  Compression is recognised by magic
bytes (gzip, xz, bzip2, zstd); a stream that ends early or holds damaged data
ends the input's lines there (``formats.lines.LineReader.cut``), so the ingest
can say how many lines were decoded and what the decompressor reported.  zstd
is read frame by frame through ``decompressobj`` because its stream reader
returns a truncated frame's bytes as if the input had ended normally.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import stat
import sys
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

from ..drain import Drain, stdin_drain
from ..errors import SpftraceError
from ..formats.lines import CHUNK_BYTES, LineReader, error_text
from ..formats.spec import Head
from ..prehash import Early, claim

HEAD_BYTES = 64 * 1024
#: a head of blank lines is read past, this far, for the first line to sniff (a file
#: that starts with 70,000 newlines is not empty); bounded, since the head is held
BLANK_LIMIT = 16 * 1024 * 1024
HASH_CHUNK = 1 << 20
#: the buffer of the reader over the raw input (and its hash): a read larger than this
#: goes straight into the caller's memory, one smaller through this buffer (a copy).
#: A line reader's chunk is filled by reads of what remains of it, and a pipe's reads
#: return less than asked: with a buffer of 1 MiB, 67 of the 144 MB of 1M perf script
#: lines on stdin were copied twice (drain -> buffer -> chunk); with 64 KiB, at most
#: one small read per chunk is.  The decompressors read 8-128 KiB at a time, from
#: this buffer or past it.
RAW_BUFFER = 64 * 1024

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
)


class _HashingReader(io.RawIOBase):
    """Counts and hashes every byte read from ``raw``."""

    def __init__(self, raw: IO[bytes] | Drain, early: Early | None = None) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.nbytes = 0
        #: the file's hash taken since start-up (spftrace.prehash): bytes only counted
        self.early = early

    def readable(self) -> bool:
        return True

    def readinto(self, b: WriteableBuffer) -> int:
        n = self.raw.readinto(b) or 0  # type: ignore[union-attr]
        if self.early is None:
            self.sha.update(memoryview(b)[:n])
        self.nbytes += n
        return n

    def hexdigest(self) -> str:
        """The SHA-256 of the bytes read: the early hash of as many bytes of the file,
        or (none, or it failed) the file's first ``nbytes`` hashed now."""
        e = self.early
        if e is not None:
            got = e.digest(self.nbytes)
            if got is None:
                raise SpftraceError(f"{e.path}: cannot read: {e.error or 'it changed'}")
            return got
        return self.sha.hexdigest()


class TruncatedStream(EOFError):
    """The compressed stream ended inside a frame."""


#: compressed bytes given to zstd's decompressor per call: its ``decompress`` has no
#: output limit, and a zstd block of 4 bytes (RLE) stands for 128 KiB, so a 230 kB
#: file of such blocks expanded to 4 GB in one call; 1 KiB yields at most ~32 MiB
_ZSTD_FEED = 1 << 10


class _ZstdReader(io.RawIOBase):
    """zstd frames one after another; a stream that ends inside a frame raises
    ``TruncatedStream`` instead of ending quietly."""

    def __init__(self, raw: IO[bytes]) -> None:
        import zstandard

        self.raw = raw
        self._zstd = zstandard.ZstdDecompressor()
        self._dobj = self._zstd.decompressobj()
        self._fed = False  # bytes given to the current frame's decompressor
        self._in = b""  # compressed bytes read but not yet given to the decompressor
        self._in_at = 0
        self._out = b""
        self._out_at = 0  # bytes of ``_out`` already returned

    def readable(self) -> bool:
        return True

    def readinto(self, b: WriteableBuffer) -> int:
        while self._out_at == len(self._out):
            if self._in_at == len(self._in):
                self._in, self._in_at = self.raw.read(CHUNK_BYTES), 0
                if not self._in:
                    if self._fed and not self._dobj.eof:
                        raise TruncatedStream("zstd stream ends inside a frame (truncated file?)")
                    return 0
            data = self._in[self._in_at : self._in_at + _ZSTD_FEED]
            self._in_at += len(data)
            self._fed = True
            self._out, self._out_at = self._dobj.decompress(data), 0
            if self._dobj.eof:  # the next frame starts in the unused bytes
                rest = self._dobj.unused_data + self._in[self._in_at :]
                self._in, self._in_at = rest, 0
                self._dobj = self._zstd.decompressobj()
                self._fed = False
        view = memoryview(b).cast("B")
        n = min(len(view), len(self._out) - self._out_at)
        view[:n] = self._out[self._out_at : self._out_at + n]
        self._out_at += n
        return n


class _HeadThenRest(io.RawIOBase):
    """The head already read, then the rest of the stream: the whole input."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, b: WriteableBuffer) -> int:
        if self._head:
            view = memoryview(b).cast("B")
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        return self._rest.readinto(b) or 0  # type: ignore[attr-defined]


class Input:
    """One opened input: its head for sniffing, then its lines or its bytes."""

    def __init__(
        self,
        name: str,
        stream: IO[bytes],
        hasher: _HashingReader,
        compression: str | None,
        closers: list[IO[bytes]],
        path: Path | None = None,
        drain: Drain | None = None,
    ) -> None:
        self.name = name  # path as given, or <stdin>
        self._stream = stream  # decompressed bytes
        self.hasher = hasher
        self.compression = compression
        self.closers = closers
        self._path = path
        #: the thread reading stdin ahead (spftrace.drain), if it is a pipe
        self.drain = drain
        self.head = b""  # the first HEAD_BYTES of the decompressed stream (already consumed)
        #: where the head's first non-blank line starts (0 unless the head began blank)
        self.sniff_from = 0
        self.head_error: str | None = None  # the stream failed within the head
        self.reader: LineReader | None = None
        #: the read-ahead threads reading this input, each with the event that tells it
        #: its consumer has gone (pipeline._read_ahead)
        self.reader_threads: list[tuple[threading.Thread, threading.Event]] = []
        #: ways to unblock such a read (stop the process that writes the stream)
        self.interrupters: list[Callable[[], object]] = []
        #: a regular file handed to a binary reader as itself (seekable) is hashed on
        #: this thread, reading the file a second time beside the reader
        self._hash_thread: threading.Thread | None = None
        self._hash_progress = [0]
        self._hash_error: str | None = None
        self._hash_stop = threading.Event()

    @property
    def sha256(self) -> str:
        self._hashed()
        return self.hasher.hexdigest()

    @property
    def nbytes(self) -> int:
        if self._hash_thread is not None and self._hash_thread.is_alive():
            return self._hash_progress[0]  # the bytes hashed so far (progress lines)
        self._hashed()
        return self.hasher.nbytes

    def _hashed(self) -> None:
        t = self._hash_thread
        if t is not None:
            t.join()
            if self._hash_error is not None:
                raise SpftraceError(f"{self.name}: cannot read: {self._hash_error}")

    def sniff_head(self) -> Head:
        return Head(self.sniff_bytes())

    def sniff_bytes(self) -> bytes:
        """The head from its first non-blank line: what the sniffers look at."""
        if len(self.head) >= BLANK_LIMIT and not self.head.strip():
            raise SpftraceError(
                f"{self.name}: the first {BLANK_LIMIT >> 20} MiB are blank lines; "
                "force a format with --format FMT to read past them"
            )
        return self.head[self.sniff_from :]

    # -- text formats -----------------------------------------------------------
    def lines(self) -> LineReader:
        """The input's lines (once): head first, then the rest of the stream."""
        if self.reader is None:
            self.reader = LineReader(
                self._stream, self.head, read_errors=read_errors(self), failed=self.head_error
            )
        return self.reader

    # -- the ByteSource protocol (binary formats) -------------------------------
    @property
    def path(self) -> Path | None:
        return self._path if self.compression is None else None

    def stream(self) -> IO[bytes]:
        """A regular uncompressed file is opened again and given as itself (seekable:
        a perf.data reader then seeks to its features instead of spooling the stream
        to a temporary file) while a thread hashes it; anything else is the stream."""
        if self._path is not None and self.compression is None and self._hash_thread is None:
            try:
                f = self._path.open("rb")
            except OSError:
                pass
            else:
                self.closers.append(f)
                if self.hasher.early is not None:  # hashed since start-up: the whole file
                    self.hasher.nbytes = self.hasher.early.key[2]
                    return f
                self._hash_thread = threading.Thread(
                    target=self._hash_file, name="spftrace-hash", daemon=True
                )
                self._hash_thread.start()
                return f
        return io.BufferedReader(_HeadThenRest(self.head, self._stream), CHUNK_BYTES)

    def _hash_file(self) -> None:
        assert self._path is not None
        sha = hashlib.sha256()
        n = 0
        buf = bytearray(HASH_CHUNK)
        view = memoryview(buf)
        try:
            with self._path.open("rb", buffering=0) as f:
                while True:
                    got = f.readinto(buf)
                    if not got or self._hash_stop.is_set():
                        break
                    sha.update(view[:got])  # hashlib releases the GIL for large updates
                    n += got
                    self._hash_progress[0] = n
        except OSError as exc:
            self._hash_error = exc.strerror or str(exc)
            return
        if self._hash_stop.is_set():
            self._hash_error = "the input was closed while it was hashed"
            return
        self.hasher.sha, self.hasher.nbytes = sha, n

    def interrupt_with(self, stop: Callable[[], object]) -> None:
        self.interrupters.append(stop)

    def stop_reading(self) -> None:
        """The consumer has gone: stop the drain, which wakes a read-ahead thread
        waiting on it (a silent pipe then holds up nothing)."""
        if self.drain is not None:
            self.drain.close()

    def close(self) -> None:
        """Close the streams, unless a read-ahead thread still blocks in a read of one (a
        silent pipe): closing would wait for that read forever.  Asked of the threads
        themselves, not of a flag their generator sets: an exception (Ctrl-C, SIGTERM)
        may close the input before that generator is finalised."""
        self._hash_stop.set()
        self.stop_reading()
        for _, stop in self.reader_threads:
            stop.set()
        for t, _ in self.reader_threads:
            t.join(timeout=1.0)
        if any(t.is_alive() for t, _ in self.reader_threads):
            for interrupt in self.interrupters:
                interrupt()
            for t, _ in self.reader_threads:
                t.join(timeout=1.0)
            if any(t.is_alive() for t, _ in self.reader_threads):
                return  # the daemon thread is left behind with its stream
        for c in reversed(self.closers):
            c.close()


def stdin_closed() -> bool:
    """Whether the process has no standard input at all (``exec 0<&-``)."""
    return sys.stdin is None


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def open_input(spec: str | os.PathLike[str], *, stdin: IO[bytes] | None = None) -> Input:
    """Open a path, or ``-`` for stdin, detecting compression by magic bytes."""
    closers: list[IO[bytes]] = []
    path: Path | None = None
    early: Early | None = None
    drain: Drain | None = None
    raw: IO[bytes] | Drain
    if str(spec) == "-":
        if stdin is None and stdin_closed():
            raise SpftraceError("<stdin>: standard input is closed; give FILE ..., or pipe data in")
        if stdin is None:
            drain = stdin_drain()  # a pipe: read ahead since start-up (spftrace.__main__)
        raw = stdin if stdin is not None else drain or _stdin_raw()
        name = "<stdin>"
    else:
        p = Path(spec)
        if p.is_dir():
            raise SpftraceError(f"{p}: is a directory; give the files inside it")
        try:
            raw = p.open("rb")
        except FileNotFoundError:
            raise SpftraceError(f"{p}: no such file") from None
        except PermissionError:
            raise SpftraceError(f"{p}: permission denied") from None
        except OSError as exc:
            raise SpftraceError(f"{p}: cannot open: {exc.strerror}") from None
        closers.append(raw)
        name = str(spec)
        try:
            if stat.S_ISREG(os.fstat(raw.fileno()).st_mode):
                path = p
                early = claim(raw.fileno())  # hashed since start-up (spftrace.prehash)
        except OSError:
            pass
    hasher = _HashingReader(raw, early)
    buffered = io.BufferedReader(hasher, buffer_size=RAW_BUFFER)
    try:
        magic = buffered.peek(8)[:8]
    except OSError as exc:
        for c in closers:
            c.close()
        if drain is not None:
            drain.close()
        raise SpftraceError(f"{name}: cannot read: {exc.strerror or exc}") from None
    compression = next((kind for m, kind in _MAGIC if magic.startswith(m)), None)
    stream: io.BufferedIOBase = buffered
    if compression == "gzip":
        stream = gzip.GzipFile(fileobj=buffered)
    elif compression == "xz":
        stream = lzma.LZMAFile(buffered)  # noqa: SIM115 - closed via closers
    elif compression == "bzip2":
        stream = bz2.BZ2File(buffered)
    elif compression == "zstd":
        stream = io.BufferedReader(_ZstdReader(buffered), CHUNK_BYTES)
    decoded = cast(IO[bytes], stream)  # the decompressors are binary file objects
    closers.append(decoded)
    inp = Input(name, decoded, hasher, compression, closers, path, drain)
    try:
        inp.head, inp.head_error = _read_head(decoded, HEAD_BYTES, read_errors(inp))
        if len(inp.head) == HEAD_BYTES and not inp.head.strip() and inp.head_error is None:
            inp.head, inp.head_error, inp.sniff_from = _read_past_blanks(
                decoded, inp.head, read_errors(inp)
            )
    except BaseException:
        inp.close()
        raise
    if inp.head_error is not None and not inp.head:
        inp.close()
        raise SpftraceError(
            f"{name}: cannot read {compression or 'the input'}: {inp.head_error}; nothing to ingest"
        )
    return inp


def _stdin_raw() -> IO[bytes]:
    """File descriptor 0 unbuffered, not ``sys.stdin.buffer``: a read-ahead thread
    left blocked on a silent pipe must not hold the interpreter's stdin lock, or
    Python aborts at exit instead of reporting the error that stopped the ingest."""
    try:
        return io.FileIO(sys.stdin.fileno(), "rb", closefd=False)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return sys.stdin.buffer


def _read_head(
    stream: IO[bytes], n: int, errors: tuple[type[BaseException], ...]
) -> tuple[bytes, str | None]:
    """Up to ``n`` bytes, and what stopped the stream early, if it failed."""
    parts = []
    got = 0
    failed = None
    read = getattr(stream, "read1", None) or stream.read  # see LineReader._read
    while got < n:
        try:
            b = read(n - got)
        except errors as exc:
            failed = error_text(exc)
            break
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts), failed


def _read_past_blanks(
    stream: IO[bytes], head: bytes, errors: tuple[type[BaseException], ...]
) -> tuple[bytes, str | None, int]:
    """A blank ``head`` read on to its first non-blank line and HEAD_BYTES after it (at
    most BLANK_LIMIT of blanks); also where that line starts."""
    parts = [head]
    got = len(head)
    failed = None
    while got < BLANK_LIMIT and failed is None:
        more, failed = _read_head(stream, HEAD_BYTES, errors)
        parts.append(more)
        got += len(more)
        if len(more) < HEAD_BYTES or more.strip():
            break
    whole = b"".join(parts)
    start = len(whole) - len(whole.lstrip())
    if start == len(whole):
        return whole, failed, 0
    line = whole.rfind(b"\n", 0, start) + 1
    if failed is None:
        more, failed = _read_head(stream, max(0, line + HEAD_BYTES - len(whole)), errors)
        whole += more
    return whole, failed, line


def read_errors(inp: Input) -> tuple[type[BaseException], ...]:
    """Exceptions that mean 'the input's stream is damaged' (or could not be read)."""
    errors: tuple[type[BaseException], ...] = (OSError, EOFError, lzma.LZMAError, zlib.error)
    if inp.compression == "zstd":
        import zstandard

        errors += (zstandard.ZstdError,)
    return errors
