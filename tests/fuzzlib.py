"""The fuzzing corpus and its mutations, shared by tests/test_fuzz_*.py and make fuzz.

The seeds are the real captures (tests/data, each with its PROVENANCE.tsv) and the
simulator's artefacts (sample_traces/sim); the mutations are the ways traces arrive
damaged: cut anywhere, bits flipped, NULs, bytes that are not UTF-8 (the kernel cuts
comm at 15 bytes, splitting characters), CRLF, a 10 MB line, garbage lines between.
A case's allowed outcomes are records, rejects with line numbers, or one SpftraceError
line; anything else, a hang (``case_timeout``) or unbounded memory is a failure.
"""

from __future__ import annotations

import contextlib
import io
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from spftrace.errors import SpftraceError

ROOT = Path(__file__).parents[1]
DATA = ROOT / "tests" / "data"

#: format -> seed files (expected tables and provenance files are not inputs)
CORPUS: dict[str, list[Path]] = {
    "perf-stat": sorted((DATA / "perf_stat").glob("*.txt"))
    + sorted((DATA / "seed").glob("*.txt"))
    + sorted((ROOT / "sample_traces" / "sim").glob("*/perf-stat.txt"))[:3],
    "perf-script": sorted((DATA / "traces").glob("perf-script-*.txt"))
    + sorted((ROOT / "sample_traces" / "sim").glob("*/perf-script.txt"))[:2],
    "ftrace": sorted((DATA / "traces").glob("ftrace-*.txt"))
    + sorted((ROOT / "sample_traces" / "sim").glob("*/ftrace.txt"))[:2],
    "trace-cmd": sorted((DATA / "traces").glob("trace-cmd-*.txt")),
    "vmstat": sorted((DATA / "vmstat").glob("*.txt"))
    + sorted((ROOT / "sample_traces" / "sim").glob("*/vmstat.txt"))[:2],
    "will-it-scale": sorted((DATA / "will_it_scale").glob("*.txt")),
}
SEEDS: list[tuple[str, Path]] = [(fmt, f) for fmt, files in CORPUS.items() for f in files]

BAD_UTF8 = (
    b"\xff",  # never valid
    b"\xc3",  # a lead byte alone
    b"\xe6\x97",  # a CJK character cut after two of its three bytes (a comm cut at 15)
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"\xc0\xaf",  # an overlong '/'
)
TEN_MB = 10 << 20


def line_bounds(data: bytes, k: int) -> tuple[int, int]:
    """(start, end) of line ``k`` (modulo the number of lines); end excludes the newline."""
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A and i + 1 < len(data)]
    start = starts[k % len(starts)]
    nl = data.find(b"\n", start)
    return start, len(data) if nl < 0 else nl


def _at_line(data: bytes, pos: int) -> int:
    """The start of the line after ``pos`` (or the end)."""
    nl = data.find(b"\n", pos % (len(data) + 1))
    return len(data) if nl < 0 else nl + 1


def truncate(data: bytes, pos: int, _arg: int) -> bytes:
    return data[: pos % (len(data) + 1)]


def bitflip(data: bytes, pos: int, arg: int) -> bytes:
    if not data:
        return data
    i = pos % len(data)
    return data[:i] + bytes([data[i] ^ (1 << (arg % 8))]) + data[i + 1 :]


def nul(data: bytes, pos: int, _arg: int) -> bytes:
    i = pos % (len(data) + 1)
    return data[:i] + b"\0" + data[i:]


def bad_utf8(data: bytes, pos: int, arg: int) -> bytes:
    i = pos % (len(data) + 1)
    return data[:i] + BAD_UTF8[arg % len(BAD_UTF8)] + data[i:]


def crlf(data: bytes, _pos: int, _arg: int) -> bytes:
    return data.replace(b"\n", b"\r\n")


def garbage(data: bytes, pos: int, arg: int) -> bytes:
    """A line of bytes from a fixed generator (any byte but newline) between lines."""
    junk = bytes(((arg * 7919 + k * 104729) % 255) + (1 if k % 3 else 0) for k in range(97))
    junk = junk.replace(b"\n", b"?")
    i = _at_line(data, pos)
    return data[:i] + junk + b"\n" + data[i:]


def long_line(data: bytes, pos: int, _arg: int) -> bytes:
    i = _at_line(data, pos)
    return data[:i] + b"7" * TEN_MB + b"\n" + data[i:]


def repeat(data: bytes, _pos: int, arg: int) -> bytes:
    """Enough lines for the compiled scanners' vectorised path (64+ lines)."""
    return data * (2 + arg % 6)


MUTATIONS: dict[str, Callable[[bytes, int, int], bytes]] = {
    "truncate": truncate,
    "bitflip": bitflip,
    "nul": nul,
    "bad_utf8": bad_utf8,
    "crlf": crlf,
    "garbage": garbage,
    "repeat": repeat,
}  # long_line is applied on its own (10 MB per case): see test_fuzz_ingest


class CaseTimeout(Exception):
    """A case ran past its time: a hang."""


@contextlib.contextmanager
def case_timeout(seconds: float, what: str) -> Iterator[None]:
    """Fail a case that runs longer than ``seconds`` (SIGALRM; main thread only)."""

    def fire(_signum: int, _frame: Any) -> None:
        raise CaseTimeout(f"{what}: still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def parse_bytes(fmt: str, data: bytes) -> tuple[int, int, list[int]] | str:
    """Feed ``data`` through the input layer and ``fmt``'s parser: (lines, records,
    reject line numbers), or the SpftraceError's message."""
    from spftrace.ingest.inputs import open_input

    from .helpers import make_parser

    try:
        inp = open_input("-", stdin=io.BytesIO(data))
        try:
            parser = make_parser(fmt)
            lines = records = 0
            rejects: list[int] = []
            outs = [parser.feed(c) for c in inp.lines().chunks()]
            outs.append(parser.close())
            for out in outs:
                out.check()  # every line a record, an ignored line or a reject
                lines += out.lines
                records += out.record_lines
                rejects += [r.line_no for r in out.rejects]
        finally:
            inp.close()
    except SpftraceError as exc:
        message = str(exc)
        assert "\n" not in message, message
        return message
    return lines, records, rejects
