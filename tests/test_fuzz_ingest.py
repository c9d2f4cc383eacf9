"""Fuzzing every format through the input layer and parsers, the public
``spftrace.ingest`` and the ``ingest`` command.  The default budget keeps `make test`
short; `make fuzz` sets SPFTRACE_FUZZ_EXAMPLES much higher (figures in
tests/fuzz-corpus/RESULTS.md)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import spftrace
from spftrace.cli import app
from spftrace.errors import SpftraceError

from .faults import fingerprint
from .fuzzlib import CORPUS, MUTATIONS, SEEDS, TEN_MB, case_timeout, line_bounds, parse_bytes

EXAMPLES = int(os.environ.get("SPFTRACE_FUZZ_EXAMPLES", "12"))
CASE_SECONDS = 60.0
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check_parsed(result: tuple[int, int, list[int]] | str, what: str) -> None:
    if isinstance(result, str):
        return  # one line, checked by parse_bytes
    lines, records, rejects = result
    assert records <= lines, what
    assert all(1 <= n <= lines for n in rejects), f"{what}: reject line numbers {rejects}"


# --- the input layer and parsers, exhaustively on one line of each format ------------


@pytest.mark.parametrize("fmt", list(CORPUS))
def test_truncation_at_every_byte_of_a_line(fmt: str) -> None:
    """Cut a real capture at every byte of a line in its middle (a record line
    there, for the traces): the parser gives records and rejects, or one error."""
    seed = CORPUS[fmt][0]
    data = seed.read_bytes()
    start, end = line_bounds(data, data.count(b"\n") // 2)
    for cut in range(start, end + 2):
        with case_timeout(CASE_SECONDS, f"{seed.name} cut at {cut}"):
            check_parsed(parse_bytes(fmt, data[:cut]), f"{seed.name} cut at {cut}")


@pytest.mark.parametrize("fmt", list(CORPUS))
@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_each_mutation_of_each_format(fmt: str, name: str) -> None:
    for seed in CORPUS[fmt][:3]:
        data = seed.read_bytes()
        for k in (0, 1, len(data) // 2, len(data) - 1):
            case = MUTATIONS[name](data, k, k)
            with case_timeout(CASE_SECONDS, f"{seed.name} {name} at {k}"):
                check_parsed(parse_bytes(fmt, case), f"{seed.name} {name} at {k}")


@given(
    seed=st.sampled_from(SEEDS),
    ops=st.lists(
        st.tuples(st.sampled_from(sorted(MUTATIONS)), st.integers(0, 1 << 20), st.integers(0, 64)),
        min_size=1,
        max_size=4,
    ),
)
@FUZZ
def test_stacked_mutations_parse(seed: tuple[str, Path], ops: list[tuple[str, int, int]]) -> None:
    fmt, path = seed
    data = path.read_bytes()
    for name, pos, arg in ops:
        data = MUTATIONS[name](data, pos, arg)
    with case_timeout(CASE_SECONDS, f"{path.name} {ops}"):
        check_parsed(parse_bytes(fmt, data), f"{path.name} {ops}")


@given(fmt=st.sampled_from(sorted(CORPUS)), data=st.binary(max_size=4096))
@FUZZ
def test_arbitrary_bytes_parse(fmt: str, data: bytes) -> None:
    with case_timeout(CASE_SECONDS, f"{fmt} on {data[:40]!r}"):
        check_parsed(parse_bytes(fmt, data), f"{fmt} on {data[:40]!r}")


# --- the public API: records and rejects land, or the dataset is untouched ----------


def ingest_case(data: bytes, fmt: str | None, errors: str, what: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        ds = base / "ds"
        spftrace.ingest([DATA_SEED], data=ds)
        before = fingerprint(ds)
        f = base / "case.txt"
        f.write_bytes(data)
        try:
            with case_timeout(CASE_SECONDS, what):
                (s,) = spftrace.ingest([f], data=ds, fmt=fmt, errors=errors, force=True)
        except SpftraceError as exc:
            assert "\n" not in str(exc), what
            assert fingerprint(ds) == before, f"{what}: a failed ingest changed the dataset"
            return
        assert s.lines == s.record_lines + s.ignored + s.rejected, what
        rejects = spftrace.load(ds, runs=[s.run]).rejects
        assert all(1 <= n <= s.lines for n in rejects.line_no), what
        if errors == "strict":
            assert s.rejected == 0, what
        assert spftrace.check(ds).ok, what


DATA_SEED = CORPUS["perf-stat"][0]


@given(
    seed=st.sampled_from(SEEDS),
    name=st.sampled_from(sorted(MUTATIONS)),
    pos=st.integers(0, 1 << 20),
    arg=st.integers(0, 64),
    forced=st.booleans(),
    errors=st.sampled_from(["strict", "skip"]),
)
@FUZZ
def test_ingest_api(
    seed: tuple[str, Path], name: str, pos: int, arg: int, forced: bool, errors: str
) -> None:
    fmt, path = seed
    case = MUTATIONS[name](path.read_bytes(), pos, arg)
    ingest_case(case, fmt if forced else None, errors, f"{path.name} {name}({pos}, {arg})")


@given(
    seed=st.sampled_from(SEEDS),
    name=st.sampled_from(sorted(MUTATIONS)),
    pos=st.integers(0, 1 << 20),
    arg=st.integers(0, 64),
)
@FUZZ
def test_ingest_command(seed: tuple[str, Path], name: str, pos: int, arg: int) -> None:
    """The CLI: exit 0, or exit 1 with exactly one `error: ` line."""
    _fmt, path = seed
    case = MUTATIONS[name](path.read_bytes(), pos, arg)
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "case.txt"
        f.write_bytes(case)
        with case_timeout(CASE_SECONDS, f"{path.name} {name}"):
            r = CliRunner().invoke(
                app, ["ingest", str(f), "--data", str(Path(tmp) / "ds"), "--errors", "skip"]
            )
        assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
        assert r.exit_code in (0, 1), r.stderr
        if r.exit_code == 1:
            lines = r.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr


# --- a 10 MB line and interleaved garbage: bounded time and memory ------------------


#: runs argv[2:] as its child and writes that child's peak RSS (KiB, from wait4) to
#: argv[1].  The kernel carries a process's high-water mark across exec, so a child
#: spawned straight from pytest would be charged pytest's own memory (hundreds of MB
#: late in a full run); spawned from this small launcher it carries at most the
#: launcher's ~10 MB.
RSS_LAUNCHER = """
import os, subprocess, sys
p = subprocess.Popen(sys.argv[2:])
_pid, status, usage = os.wait4(p.pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""
RSS_BOUND_MB = 250  # issue 11's bound for any input size (bench/whole.py)


def test_ten_mb_line_and_garbage_in_bounded_memory(tmp_path: Path) -> None:
    """One real process (its peak RSS from the kernel): a capture, a 10 MB line, the
    capture again with a garbage line after every line.  It ends in time, with one
    error line or a summary, in less memory than the benchmarks' bound; the 10 MB
    line is one reject that names its length."""
    seed = (CORPUS["perf-script"][0]).read_bytes()
    dirty = b"".join(ln + b"\n\x00\xff garbage \x1b[2J\n" for ln in seed.splitlines())
    f = tmp_path / "case.txt"
    f.write_bytes(seed + b"9" * TEN_MB + b"\n" + dirty * 20)
    rss_file = tmp_path / "rss"
    ingest = [sys.executable, "-m", "spftrace", "ingest", str(f), "--data", str(tmp_path / "ds")]
    ingest += ["--errors", "skip", "--format", "perf-script"]
    proc = subprocess.Popen(
        [sys.executable, "-c", RSS_LAUNCHER, str(rss_file), *ingest],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    try:
        with case_timeout(60, "a 10 MB line"):
            err = proc.stderr.read().decode()
            proc.wait()
    finally:
        proc.stderr.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (0, 1), err
    if proc.returncode == 1:
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    peak_mb = int(rss_file.read_text()) / 1024  # KiB on Linux
    assert peak_mb < RSS_BOUND_MB, f"peak RSS {peak_mb:.0f} MB"
    if proc.returncode == 0:
        rejects = spftrace.load(tmp_path / "ds").rejects
        long = rejects[rejects.line_no == seed.count(b"\n") + 1]
        assert len(long) == 1, rejects
        assert f"line of {TEN_MB:,} bytes" in long.reason.iloc[0]


def test_a_reject_alone_does_not_load_pandas() -> None:
    """A batch that is only a reject (an over-long line) has empty columns; the list
    column must not reach ``pa.array``, whose first call imports pandas (+36 MB RSS,
    measured: 106 -> 142 MB at the 10 MB line above)."""
    code = (
        "import sys\n"
        "from spftrace.formats.lines import Chunk\n"
        "from spftrace.formats.spec import Batch\n"
        "for table in ('events', 'counters'):\n"
        "    b = Batch.damaged(table, Chunk(7, b'9' * 100, 1, False, 'too long'))\n"
        "    assert b.n_rows == 0 and b.rejects[0].line_no == 7\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stdout


LONG = {"digits": "9", "letters": "a", "spaced digits": " 1", "colons": ": ", "dots": "1."}


@pytest.mark.parametrize("fmt", list(CORPUS))
@pytest.mark.parametrize("pattern", list(LONG))
def test_a_long_line_parses_in_linear_time(fmt: str, pattern: str) -> None:
    """One 64 KiB line (the input layer passes lines up to 1 MiB): milliseconds for a
    linear parser; a regex that backtracks quadratically needs minutes for 1 MiB."""
    line = (LONG[pattern] * (65536 // len(LONG[pattern]))).encode() + b"\n"
    with case_timeout(5, f"{fmt} on a 64 KiB line of {pattern}"):
        check_parsed(parse_bytes(fmt, line), f"{fmt} {pattern}")
