"""Faults at the ingest layer (issue 10): each test checks the dataset afterwards -
its files and their bytes, the runs that read back - not only the exit code.

Expected values come from the inputs themselves (counters read from the files,
lines counted in what a stdlib decompressor gets out of a cut stream), never
from the code under test.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import json
import lzma
import os
import resource
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

import spftrace

from .helpers import DATA
from .test_bad_input import one_line_error, run_cli
from .test_store import snapshot

HUMAN = DATA / "perf_stat" / "human.txt"
SEED = DATA / "seed" / "ebizzy-x86-16cpu.txt"
TRACE = DATA / "traces" / "perf-script-default.txt"
VM = DATA / "vmstat"


def pgfault(text: str) -> int:
    return next(int(ln.split()[1]) for ln in text.splitlines() if ln.startswith("pgfault "))


@pytest.fixture
def seeded(data: Path) -> Path:
    spftrace.ingest([SEED], data=data)
    return data


# --- vmstat series ---------------------------------------------------------------------


def test_vmstat_files_without_timestamps_keep_the_order_given(tmp_path: Path, data: Path) -> None:
    """Named so that name order is the wrong order: before is given first."""
    before, after = tmp_path / "vmstat-before.txt", tmp_path / "vmstat-after.txt"
    before.write_bytes((VM / "snap-0.txt").read_bytes())
    after.write_bytes((VM / "snap-1.txt").read_bytes())
    spftrace.ingest([before, after], data=data, run="r")
    (run,) = json.loads(spftrace.report("json", data=data))["runs"]
    want = pgfault(after.read_text()) - pgfault(before.read_text())
    assert want > 0 and run["faults"] == want


def test_vmstat_files_are_ordered_by_their_own_timestamps(tmp_path: Path, data: Path) -> None:
    text = (VM / "lkp-series.txt").read_text()
    parts = ["time:" + p for p in text.split("time:")[1:]]  # three time-stamped snapshots
    assert len(parts) == 3
    files = []
    for name, part in zip(("c.txt", "a.txt", "b.txt"), parts, strict=True):
        (tmp_path / name).write_text(part)
        files.append(tmp_path / name)
    given = [files[2], files[0], files[1]]  # neither name nor time order
    summaries = spftrace.ingest(given, data=data)
    assert [Path(s.source).name for s in summaries] == ["c.txt", "a.txt", "b.txt"]
    assert {s.run for s in summaries} == {"c"}
    (run,) = json.loads(spftrace.report("json", data=data))["runs"]
    assert run["faults"] == pgfault(parts[2]) - pgfault(parts[0]) > 0


def test_a_counter_that_goes_down_is_a_note_not_a_negative_count(
    tmp_path: Path, data: Path
) -> None:
    after, before = tmp_path / "after.txt", tmp_path / "before.txt"
    after.write_bytes((VM / "snap-1.txt").read_bytes())
    before.write_bytes((VM / "snap-0.txt").read_bytes())
    spftrace.ingest([after, before], data=data, run="r")  # the wrong way round
    (run,) = json.loads(spftrace.report("json", data=data))["runs"]
    assert run["faults"] is None  # no source left that counts faults
    notes = [n for n in run["disagreements"] if "went down" in n]
    assert len(notes) == 1 and "pgfault" in notes[0]
    text = spftrace.report("text", data=data)
    assert "-18,446,744" not in text and "faults -" not in text


# --- damaged and over-long input -------------------------------------------------------

#: perf script samples (as in perf-script-default.txt) that compress like real ones:
#: several bzip2 blocks of 900 kB, several zstd blocks
BLOB = "".join(
    f"{'mtfault':>16} {23999 + k % 4} [{k % 2:03d}] {1514 + k // 10**6}.{k % 10**6:06d}: "
    f"exceptions:page_fault_user: address=0x{0x7F0000000000 + k * 4099:x} "
    f"ip=0x{0x55D0C0DE1234 + (k * 7919) % 65536:x} error_code=0x6\n"
    for k in range(60_000)
).encode()


def _zstd_decoded(cut: bytes) -> bytes:
    out = bytearray()
    d = zstandard.ZstdDecompressor().decompressobj()
    with contextlib.suppress(zstandard.ZstdError):
        out += d.decompress(cut)
    return bytes(out)


def _stream_decoded(make: Callable[[], object], cut: bytes) -> bytes:
    d = make()
    try:
        return d.decompress(cut)  # type: ignore[attr-defined, no-any-return]
    except (EOFError, OSError, zlib.error, lzma.LZMAError):
        return b""


CODECS: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
    "gzip": (gzip.compress, lambda c: _stream_decoded(lambda: zlib.decompressobj(31), c)),
    "xz": (lzma.compress, lambda c: _stream_decoded(lzma.LZMADecompressor, c)),
    "bzip2": (bz2.compress, lambda c: _stream_decoded(bz2.BZ2Decompressor, c)),
    "zstd": (lambda b: zstandard.ZstdCompressor().compress(b), _zstd_decoded),
}


@pytest.mark.parametrize("codec", list(CODECS))
def test_a_truncated_compressed_input(tmp_path: Path, seeded: Path, codec: str) -> None:
    compress, decode = CODECS[codec]
    blob = compress(BLOB)
    cut = blob[: len(blob) * 2 // 3]
    decoded = decode(cut)
    assert 0 < len(decoded) < len(BLOB) and not decoded.endswith(b"\n")
    n_lines = decoded.count(b"\n")
    f = tmp_path / ("cut." + {"gzip": "gz", "xz": "xz", "bzip2": "bz2", "zstd": "zst"}[codec])
    f.write_bytes(cut)
    before = snapshot(seeded)
    line = one_line_error(*run_cli("ingest", str(f), "--data", str(seeded)))
    assert f"ends early, after {n_lines:,} decoded lines" in line and "  " not in line
    assert snapshot(seeded) == before  # nothing committed
    code, _ = run_cli("ingest", str(f), "--data", str(seeded), "--errors", "skip")
    assert code == 0
    t = spftrace.load(seeded)
    rej = t.rejects[t.rejects.run == "cut"]
    assert rej.line_no.tolist() == [n_lines + 1]
    assert bytes(rej.line.iloc[0]) == decoded[decoded.rindex(b"\n") + 1 :]
    assert "ends inside this line" in rej.reason.iloc[0]
    assert (t.events.run == "cut").sum() == n_lines  # every line decoded is a record
    stats = t.stats[t.stats.run == "cut"]
    assert dict(zip(stats.name, stats.value, strict=True))["truncated_input"] == 1


def test_an_overlong_line_is_a_reject_with_its_length(tmp_path: Path, data: Path) -> None:
    """Cut at 1 MiB this line would still be a valid record: it must not become one."""
    good = TRACE.read_bytes().splitlines()
    big = good[0] + b" pad=" + b"x" * (2 << 20)
    f = tmp_path / "big.txt"
    f.write_bytes(b"\n".join([*good[:10], big, *good[10:20]]) + b"\n")
    line = one_line_error(*run_cli("ingest", str(f), "--data", str(data)))
    assert f"{f}:11:" in line and f"line of {len(big):,} bytes" in line
    assert not data.exists() or not list(data.glob("*/run=*"))
    code, _ = run_cli("ingest", str(f), "--data", str(data), "--errors", "skip")
    assert code == 0
    t = spftrace.load(data)
    assert sorted(t.events.line_no) == [*range(1, 11), *range(12, 22)]
    assert t.rejects.line_no.tolist() == [11]
    assert f"{len(big):,} bytes" in t.rejects.reason.iloc[0]
    assert bytes(t.rejects.line.iloc[0]) == big[: 1 << 20]


@pytest.mark.parametrize("errors", ["strict", "skip"])
def test_concatenated_formats_are_an_error_naming_the_line(
    tmp_path: Path, seeded: Path, errors: str
) -> None:
    stat, vm, trace = (HUMAN.read_bytes(), (VM / "snap-0.txt").read_bytes(), TRACE.read_bytes())
    f = tmp_path / "all.txt"
    f.write_bytes(stat + vm + trace)
    before = snapshot(seeded)
    line = one_line_error(*run_cli("ingest", str(f), "--data", str(seeded), "--errors", errors))
    first_vmstat = stat.count(b"\n") + 1
    assert f"{f}:{first_vmstat}:" in line and "vmstat" in line and "perf-stat" in line
    assert snapshot(seeded) == before


# --- where the data goes ---------------------------------------------------------------


def test_closed_stdin_is_a_one_line_error(tmp_path: Path) -> None:
    d = tmp_path / "d"
    for args in ("", "-"):
        r = subprocess.run(
            ["sh", "-c", f'exec 0<&-; "$0" -m spftrace ingest {args} --data "$1"',
             sys.executable, str(d)],
            capture_output=True, text=True,
        )  # fmt: skip
        assert r.returncode == 1, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert not d.exists()


def test_data_that_is_not_a_dataset_directory(tmp_path: Path) -> None:
    passwd = Path("/etc/passwd").read_bytes()
    for target, words in (("/etc/passwd", "not a directory"), ("/proc", "not an spftrace dataset")):
        line = one_line_error(*run_cli("ingest", str(HUMAN), "--data", target))
        assert target in line and words in line
    assert Path("/etc/passwd").read_bytes() == passwd
    assert not Path("/proc/runs").exists() and not Path("/proc/spftrace-dataset.json").exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    one_line_error(*run_cli("ingest", str(HUMAN), "--data", str(other)))
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]


# --- runs: names, --append, labels ------------------------------------------------------


def test_reusing_a_run_needs_append(tmp_path: Path, data: Path) -> None:
    spftrace.ingest([HUMAN], data=data, run="exp", label="head")
    before = snapshot(data)
    other = tmp_path / "csv.txt"
    other.write_bytes((DATA / "perf_stat" / "csv-comma.txt").read_bytes())
    line = one_line_error(*run_cli("ingest", str(other), "--data", str(data), "--run", "exp"))
    assert "'exp' already exists" in line and "--append" in line
    assert snapshot(data) == before
    line = one_line_error(
        *run_cli("ingest", str(other), "--data", str(data), "--run", "exp", "--append",
                 "--label", "base")
    )  # fmt: skip
    assert "label 'head'" in line and "base" in line
    assert snapshot(data) == before
    code, _ = run_cli("ingest", str(other), "--data", str(data), "--run", "exp", "--append")
    assert code == 0
    runs = spftrace.load(data).runs.sort_values("input")
    assert runs.run.tolist() == ["exp", "exp"] and runs.label.tolist() == ["head", "head"]
    assert runs.source.tolist() == [str(HUMAN), str(other)]


def test_parallel_ingests_get_distinct_default_names(tmp_path: Path, data: Path) -> None:
    """Four ingests of four files all called x.txt: the name is chosen under the lock."""
    files = []
    for k in range(4):
        (tmp_path / str(k)).mkdir()
        f = tmp_path / str(k) / "x.txt"
        f.write_text(HUMAN.read_text() + "\n" * (k + 1))  # other bytes, same format
        files.append(f)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "spftrace", "ingest", str(f), "--data", str(data)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for f in files
    ]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errs
    runs = spftrace.load(data).runs
    assert sorted(runs.run) == ["x", "x-2", "x-3", "x-4"]
    assert sorted(runs.source) == sorted(str(f) for f in files)
    assert len(spftrace.load(data).counters.groupby("run")) == 4


@pytest.mark.capture
def test_parallel_captures_get_four_runs(data: Path) -> None:
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "spftrace",
                "capture",
                "--data",
                str(data),
                "--no-trace",
                "--",
                "true",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errs
    runs = spftrace.load(data).runs
    names = sorted(set(runs.run))
    assert names == ["capture-true", "capture-true-2", "capture-true-3", "capture-true-4"]
    assert all((runs.run == n).sum() == 3 for n in names)  # perf stat + two vmstat each


def test_a_waiting_writer_says_who_holds_the_lock(tmp_path: Path, data: Path) -> None:
    """The first ingest reads a pipe that stays open; the second waits for it, and
    says so once, with the holder's pid and command."""
    lines = list((DATA / "perf_stat" / "interval-human-long.txt").read_text().splitlines())
    head = "\n".join(lines).encode() + b"\n"
    first = subprocess.Popen(
        [sys.executable, "-m", "spftrace", "ingest", "-", "--data", str(data), "--run", "pipe"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert first.stdin is not None
    while len(head) < 80_000:  # more than the sniffed head: the lock is then taken
        head += head
    first.stdin.write(head)
    first.stdin.flush()
    deadline = time.monotonic() + 120
    while not (data / ".lock-holder").exists():
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.1)
    second = subprocess.Popen(
        [sys.executable, "-m", "spftrace", "ingest", str(HUMAN), "--data", str(data)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(3)
    assert second.poll() is None  # still waiting
    first_err = first.communicate(timeout=120)[1]  # closes the pipe: the first one ends
    second_err = second.communicate(timeout=120)[1]
    assert (first.returncode, second.returncode) == (0, 0), (first_err, second_err)
    waiting = [ln for ln in second_err.splitlines() if "waiting" in ln]
    assert len(waiting) == 1
    assert f"pid {first.pid}" in waiting[0] and "ingest - --data" in waiting[0]
    assert "since" in waiting[0]
    assert sorted(set(spftrace.load(data).runs.run)) == ["human", "pipe"]
    assert not (data / ".lock-holder").exists()


# --- the writer's own errors -------------------------------------------------------------


def test_a_full_disk_names_the_dataset_not_the_input(tmp_path: Path, seeded: Path) -> None:
    """RLIMIT_FSIZE makes the writer's writes fail with EFBIG, as a full disk makes
    them fail with ENOSPC: a local OSError of the writer, not a fault of the input."""
    big = tmp_path / "big.txt"
    big.write_bytes(TRACE.read_bytes() * 60)
    before = snapshot(seeded)
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (8000, 8000))\n"
        "from spftrace.cli import main\n"
        "sys.argv = ['spftrace', 'ingest', sys.argv[1], '--data', sys.argv[2]]\n"
        "main()\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(big), str(seeded)], capture_output=True, text=True
    )
    assert r.returncode == 1, r.stderr
    (line,) = r.stderr.strip().splitlines()
    assert line == (
        f"error: {seeded}: cannot write to the dataset: File too large (EFBIG); "
        "nothing was changed (free space or fix permissions, then ingest again)"
    )
    assert str(big) not in line
    assert snapshot(seeded) == before
    assert set(spftrace.load(seeded).runs.run) == {"ebizzy-x86-16cpu"}
    assert os.environ.get("SPFTRACE_DATA") is None


def test_a_zstd_bomb_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """zstd's ``decompress`` has no output limit and an RLE block of 4 bytes stands for
    128 KiB: a 115 kB file of 1 GiB of one byte took 2 GB in the first read (fed 1 MiB
    of input at once).  Fed in small pieces, the ingest sees its head and stops with
    the one-line unknown-format error, its peak RSS far below the 250 MB target."""
    comp = zstandard.ZstdCompressor().compressobj()
    parts = [comp.compress(b"a" * (1 << 22)) for _ in range(256)]
    f = tmp_path / "bomb.zst"
    f.write_bytes(b"".join(parts) + comp.flush())
    assert f.stat().st_size < 1 << 20
    args = ["-m", "spftrace", "ingest", str(f), "--data", str(tmp_path / "ds")]
    p = subprocess.Popen([sys.executable, *args], stderr=subprocess.PIPE, text=True)
    assert p.stderr is not None
    with p.stderr:
        err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)  # this child's own peak RSS
    p.returncode = os.waitstatus_to_exitcode(status)
    lines = err.strip().splitlines()
    assert p.returncode == 1 and len(lines) == 1 and "unknown format" in lines[0], err
    # a child's ru_maxrss starts from its parent's at the fork (Linux): pytest's own
    inherited = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert usage.ru_maxrss <= max(inherited, 250_000), (usage.ru_maxrss, inherited)  # KiB
