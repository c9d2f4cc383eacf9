"""The drain of a pipe on stdin (spftrace/drain.py) and the command's fast exit
(spftrace/__main__.py): the producer is never held up by more than the drain's
budget, what the drain hands out is the stream byte for byte, its errors read as
a direct read's, and the consumer's going away wakes it."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import typer.main

import spftrace
from spftrace import drain
from spftrace.cli import app
from spftrace.formats.lines import LineReader
from spftrace.store import Dataset

from .helpers import DATA

TRACE = DATA / "traces" / "perf-script-default.txt"
MiB = 1 << 20
F_GETPIPE_SZ = 1032


def test_the_value_options_are_the_ingest_commands() -> None:
    """ingests_stdin skips an option's value only for the options that take one: the
    same set as the command line's own definition (click's, through typer)."""
    cmd = typer.main.get_command(app)
    ingest = cmd.commands["ingest"]  # type: ignore[attr-defined]
    takes_value = {
        name
        for p in ingest.params
        if p.param_type_name == "option" and not p.is_flag
        for name in p.opts
    }
    assert takes_value == drain.INGEST_VALUE_OPTIONS


@pytest.mark.parametrize(
    ("argv", "reads_stdin"),
    [
        (["ingest", "-"], True),
        (["ingest"], True),  # no input: stdin
        (["ingest", "--data", "d", "--run", "r"], True),
        (["ingest", "--data", "-"], True),  # a dataset named '-', no input: stdin
        (["ingest", "--data", "d", "f.txt"], False),
        (["ingest", "--run", "f.txt"], True),  # the run's name, not an input
        (["ingest", "f.txt", "-", "--force"], True),
        (["ingest", "--force", "f.txt"], False),
        (["ingest", "--", "-"], True),
        (["ingest", "--", "--data"], False),  # a file named --data
        (["ingest", "--help"], False),
        (["report", "text"], False),
        ([], False),
    ],
)
def test_which_command_lines_ingest_stdin(argv: list[str], reads_stdin: bool) -> None:
    assert drain.ingests_stdin(argv) is reads_stdin


def _read_all(d: drain.Drain, sizes: list[int]) -> bytes:
    out = bytearray()
    k = 0
    while True:
        buf = bytearray(sizes[k % len(sizes)])
        k += 1
        n = d.readinto(buf)
        if not n:
            return bytes(out)
        out += buf[:n]


def test_the_bytes_come_out_as_they_went_in() -> None:
    blob = os.urandom(5 * MiB + 12345)
    r, w = os.pipe()

    def produce() -> None:
        view, k = memoryview(blob), 0
        while view:  # uneven writes, as a producer's buffer flushes make them
            step = (4096, 100_000, 7, 1_500_000)[k % 4]
            view = view[os.write(w, view[:step]) :]
            k += 1
        os.close(w)

    t = threading.Thread(target=produce)
    t.start()
    try:
        d = drain.Drain(r, budget=MiB, nap=0)
        got = _read_all(d, [3, 65536, 2 * MiB, 1000])
    finally:
        t.join()
        os.close(r)
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(blob).hexdigest()
    assert d.readinto(bytearray(10)) == 0  # the end stays the end
    assert d.peak <= MiB + drain.BLOCK


def _reads(parts: list[bytes | OSError]) -> Callable[[int, int], bytes]:
    """A read function giving ``parts`` in turn (raising the errors among them)."""
    it = iter(parts)

    def read(_fd: int, _n: int) -> bytes:
        item = next(it, b"")
        if isinstance(item, OSError):
            raise type(item)(*item.args)  # fresh: no traceback kept in ``parts``
        return item

    return read


class _Direct(io.RawIOBase):
    """The same parts read directly (no drain): the reference."""

    def __init__(self, parts: list[bytes | OSError]) -> None:
        self._read = _reads(parts)

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._read(0, len(b))
        with memoryview(b) as whole, whole.cast("B") as view:
            view[: len(data)] = data
        return len(data)


def test_a_read_error_reads_as_it_would_without_the_drain() -> None:
    """bytes, then EIO: the lines before it, the cut last line and the error's text are
    what a direct read gives (the same one-line error in the summary and in strict
    mode); the text itself is the OSError's (errno 5 is EIO on Linux)."""
    parts: list[bytes | OSError] = [
        b"one\ntwo\nthr",
        b"ee\nfo",
        OSError(errno.EIO, "Input/output error"),
    ]
    results = []
    for stream in (_Direct(parts), drain.Drain(-1, read=_reads(parts), nap=0)):
        reader = LineReader(stream)  # type: ignore[arg-type]
        chunks = [(c.first_line_no, bytes(c.data), c.damage) for c in reader.chunks(1024)]
        results.append((chunks, reader.cut))
    direct, drained = results
    assert drained == direct
    chunks, cut = drained
    assert cut == "[Errno 5] Input/output error"
    assert b"".join(c[1] for c in chunks) == b"one\ntwo\nthree\nfo"
    assert chunks[-1][0] == 4 and chunks[-1][2] is not None and cut in chunks[-1][2]


def test_the_drain_holds_at_most_its_budget() -> None:
    """Nobody reads: a non-blocking writer gets the pipe plus about the budget into it,
    then no more (memory stays bounded); then every byte comes out, in order."""
    budget = 4 * MiB
    r, w = os.pipe()
    try:
        os.set_blocking(w, False)
        pipe = fcntl.fcntl(w, F_GETPIPE_SZ)
        d = drain.Drain(r, budget=budget, nap=0)
        written = _fill(w, bytes(range(256)) * 256, 4 * budget)
        assert budget <= len(written) <= budget + drain.BLOCK + pipe
        assert d.peak <= budget + drain.BLOCK
        os.set_blocking(w, True)
        t = threading.Thread(target=lambda: (os.write(w, b"tail"), os.close(w)))
        t.start()
        got = _read_all(d, [MiB])
        t.join()
    finally:
        os.close(r)
    assert got == bytes(written) + b"tail"


def _fill(w: int, chunk: bytes, limit: int) -> bytes:
    """Write ``chunk`` after ``chunk`` without blocking until nothing more goes in
    for a while (or ``limit`` bytes): what went in."""
    written = bytearray()
    last = time.monotonic()
    while time.monotonic() - last < 1.5 and len(written) < limit:
        try:
            n = os.write(w, chunk)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        written += chunk[:n]
        last = time.monotonic()
    return bytes(written)


def test_once_steady_the_drain_holds_its_smaller_budget() -> None:
    """Start-up over (``steady``): the backlog of the start-up budget is taken, and
    then the drain fills only up to the steady budget."""
    start, steady = 4 * MiB, 1 * MiB
    r, w = os.pipe()
    try:
        os.set_blocking(w, False)
        pipe = fcntl.fcntl(w, F_GETPIPE_SZ)
        d = drain.Drain(r, budget=start, nap=0)
        chunk = bytes(range(256)) * 256
        first = _fill(w, chunk, 4 * start)
        assert len(first) >= start
        d.steady(steady)
        got = bytearray()
        while len(got) < len(first):  # the backlog, as the ingest takes it
            buf = bytearray(MiB)
            got += buf[: d.readinto(buf)]
        more = _fill(w, chunk, 4 * start)
        assert steady <= len(more) <= steady + drain.BLOCK + pipe
        os.close(w)
        w = -1
        got += _read_all(d, [MiB])
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    assert bytes(got) == first + more


def test_closing_wakes_a_reader_that_waits() -> None:
    """The consumer has gone (an error, Ctrl-C): a read-ahead thread waiting on a
    silent pipe returns at once instead of holding up the exit."""
    r, w = os.pipe()
    try:
        d = drain.Drain(r, nap=0)
        got: list[int] = []
        t = threading.Thread(target=lambda: got.append(d.readinto(bytearray(100))))
        t.start()
        time.sleep(0.2)
        assert t.is_alive()  # waiting: the pipe is silent
        d.close()
        t.join(timeout=5)
        assert not t.is_alive() and got == [0]
    finally:
        os.close(w)
        os.close(r)


def test_a_stalled_ingest_keeps_reading_its_pipe(tmp_path: Path) -> None:
    """`producer | spftrace ingest -` while the ingest waits for the dataset lock (as it
    would wait for its imports, its parser or its writer): the producer is not held up
    by a 1 MiB pipe but goes on into the drain, up to its budget; then the ingest
    takes every byte (its SHA-256 and line count are those of the bytes written)."""
    data = tmp_path / "ds"
    Dataset(data, create=True)
    unit = TRACE.read_bytes()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with (data / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = subprocess.Popen(
            [sys.executable, "-m", "spftrace", "ingest", "-", "--data", str(data)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
        )  # fmt: skip
        assert proc.stdin is not None and proc.stderr is not None
        w = proc.stdin.fileno()
        os.set_blocking(w, False)
        sha, accepted, pos = hashlib.sha256(), 0, 0
        limit = 2 * drain.BUDGET
        last = time.monotonic()
        while time.monotonic() - last < 3.0 and accepted < limit:
            try:
                n = os.write(w, unit[pos:])
            except BlockingIOError:
                time.sleep(0.01)
                continue
            sha.update(unit[pos : pos + n])
            accepted += n
            pos = (pos + n) % len(unit)
            last = time.monotonic()
        assert proc.poll() is None, proc.stderr.read()
        fcntl.flock(lock, fcntl.LOCK_UN)
    # 64 KiB of head and a 1 MiB pipe held a stalled ingest before; the drain: its budget
    assert 16 * MiB < accepted <= drain.BUDGET + drain.BLOCK + 4 * MiB, accepted
    os.set_blocking(w, True)
    rest = unit[pos:] if pos else b""
    sha.update(rest)
    _, err = proc.communicate(rest, timeout=300)
    assert proc.returncode == 0, err
    total = accepted + len(rest)
    assert total % len(unit) == 0
    runs = spftrace.load(data).runs
    assert list(runs.sha256) == [sha.hexdigest()] and list(runs.bytes) == [total]
    lines = total // len(unit) * unit.count(b"\n")
    assert f"{lines} lines:".encode() in err


@pytest.mark.parametrize(
    ("code", "status", "stderr"),
    [("0", 0, ""), ("3", 3, ""), ("None", 0, ""), ("'bad thing'", 1, "bad thing\n")],
)
def test_the_fast_exit_flushes_and_keeps_the_status(
    tmp_path: Path, code: str, status: int, stderr: str
) -> None:
    """Output still buffered (stdout to a file is block-buffered) reaches the file,
    and the status is the one sys.exit would give."""
    out, err = tmp_path / "out", tmp_path / "err"
    prog = (
        f"import sys; from spftrace.__main__ import _fast_exit; print('kept'); _fast_exit({code})"
    )
    with out.open("wb") as o, err.open("wb") as e:
        rc = subprocess.run([sys.executable, "-c", prog], stdout=o, stderr=e, check=False)
    assert rc.returncode == status
    assert out.read_text() == "kept\n" and err.read_text() == stderr


def test_the_drain_starts_before_anything_heavy_loads() -> None:
    """In a fresh interpreter: the drain and the command line import none of the
    packages that make the start-up slow (the drain must run while they load), nor
    the fleet's engine (only its commands need it)."""
    heavy = ["numpy", "pyarrow", "duckdb", "rich", "pandas", "spftrace.fleet.engine",
             "spftrace.ingest", "spftrace.formats"]  # fmt: skip
    prog = (
        "import sys\n"
        "import spftrace.drain\n"
        "early = set(sys.modules)\n"
        "import spftrace.cli\n"
        f"print(sorted(m for m in {heavy!r} if m in early), "
        f"sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", prog], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[] []"
