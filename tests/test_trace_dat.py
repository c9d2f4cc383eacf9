"""trace.dat read by spftrace equals what ``trace-cmd report -t`` prints of the same file.

Oracle: the existing text path (TraceCmdParser) reading trace-cmd's report of the
committed bytes (tests/data/trace_dat, PROVENANCE.tsv: v6, v7 with zstd, v7 without
compression); the ``capture`` tests extract a fresh private tracefs instance.
"""

from __future__ import annotations

import lzma
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spftrace.errors import SpftraceError
from spftrace.formats.kallsyms import tep_symbols
from spftrace.formats.trace_cmd import TraceCmdParser
from spftrace.formats.trace_dat import read_trace_dat
from spftrace.formats.trace_dat.header import read_dat_header

from .test_perf_data import HEXES, _token

DATA = Path(__file__).with_name("data") / "trace_dat"
FIXTURES = sorted(p.name.removesuffix(".report.txt") for p in DATA.glob("*.report.txt"))
SHARED = ("ts", "cpu", "pid", "tid", "comm", "event", "vm_start", "vm_end", "write", "success")


def fixture(name: str, tmp: Path) -> Path:
    path = DATA / name
    if path.exists():
        return path
    out = tmp / name
    out.write_bytes(lzma.decompress((DATA / f"{name}.xz").read_bytes()))
    return out


def dat_rows(path: Path, **kw: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    with open(path, "rb") as f:
        batches = list(read_trace_dat(f, source=str(path), **kw))
    return [r for b in batches for r in b.events.to_pylist()], batches


def report_rows(text: str) -> tuple[list[dict[str, Any]], dict[tuple[str, int | None], int]]:
    p = TraceCmdParser()
    out = p.feed_lines(text.splitlines(), 1)
    out.check()
    assert not out.rejects, out.rejects[:3]
    stats: dict[tuple[str, int | None], int] = {}
    for name, cpu, value in out.stats:
        stats[(name, cpu)] = stats.get((name, cpu), 0) + value
    return list(out.rows.to_pylist()), stats


def assert_same(binary: list[dict[str, Any]], text: list[dict[str, Any]], kallsyms: bytes) -> None:
    assert len(binary) == len(text) and text
    syms = tep_symbols(kallsyms)
    for i, (b, t) in enumerate(zip(binary, text, strict=True)):
        for k in (*SHARED, "fields", "payload"):
            assert b[k] == t[k], (i, k, b[k], t[k])
        for k in HEXES:
            if t[k] is not None:
                assert b[k] == t[k], (i, k)
                continue
            shown = _token(t["payload"], k)
            if shown == "(nil)":
                assert b[k] == 0
            elif shown is not None:  # a symbol libtraceevent found in the file's kallsyms
                (name,), _ = syms.resolve(np.array([b[k]], np.uint64))
                assert name == shown.encode(), (i, k, hex(b[k]), shown)


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_equals_trace_cmd_report(name: str, tmp_path: Path) -> None:
    path = fixture(name, tmp_path)
    rows, batches = dat_rows(path)
    text, _ = report_rows((DATA / f"{name}.report.txt").read_text(errors="surrogateescape"))
    with open(path, "rb") as f:
        kallsyms = read_dat_header(f).td.kallsyms
    assert_same(rows, text, kallsyms)
    meta = batches[-1].meta
    assert meta["kernel"].startswith("6.") and meta["trace_dat_version"] in ("6", "7")


def test_versions_and_compression_give_the_same_rows(tmp_path: Path) -> None:
    got = [dat_rows(fixture(n, tmp_path))[0] for n in FIXTURES]
    assert len(got) == 4 and all(g == got[0] for g in got)


def test_cpus_are_merged_by_time() -> None:
    rows, _ = dat_rows(DATA / "extract-v7-zstd.dat")
    assert len({r["cpu"] for r in rows}) == 2
    ts = [r["ts"] for r in rows]
    assert ts == sorted(ts)


def test_small_batches_and_a_pipe(tmp_path: Path) -> None:
    path = DATA / "extract-v7-zstd.dat"
    whole, _ = dat_rows(path)
    small, batches = dat_rows(path, batch_rows=100)
    assert small == whole and max(b.rows for b in batches) <= 100
    proc = subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    with proc.stdout:
        piped = [r for b in read_trace_dat(proc.stdout) for r in b.events.to_pylist()]
    proc.wait()
    assert piped == whole


@pytest.mark.parametrize(
    ("blob", "why"),
    [
        (b"", "empty input"),
        (b"\x17\x08\x44nottrace" + b"\0" * 40, "not a trace.dat"),
        (b"\x17\x08\x44tracing8\0\0\x08\0\x10\0\0" + b"\0" * 40, "newer than spftrace reads"),
        (b"\x17\x08\x44tracing6\0\0\x08\0\x10\0\0header_pa", "truncated"),
    ],
)
def test_unreadable_headers_are_one_line_errors(blob: bytes, why: str, tmp_path: Path) -> None:
    path = tmp_path / "t.dat"
    path.write_bytes(blob)
    with pytest.raises(SpftraceError) as err:
        dat_rows(path)
    assert why in str(err.value) and "\n" not in str(err.value)


# --- fresh captures through a private tracefs instance ---------------------------------

T = Path("/sys/kernel/tracing")
WORKLOAD_C = Path(__file__).parent.parent / "sample_traces" / "workloads" / "mtfault.c"


@pytest.fixture(scope="module")
def mtfault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    exe = tmp_path_factory.mktemp("bin") / "mtfault"
    subprocess.run(["gcc", "-O1", "-pthread", "-o", str(exe), str(WORKLOAD_C)], check=True)
    return exe


def _extract(tmp: Path, mtfault: Path, buffer_kb: int, args: list[str]) -> Path:
    name = f"spftest{tmp.name[-6:]}".replace("-", "")
    inst = T / "instances" / name
    inst.mkdir()
    try:
        (inst / "buffer_size_kb").write_text(str(buffer_kb))
        for ev in ("exceptions", "mmap_lock"):
            (inst / "events" / ev / "enable").write_text("1")
        (inst / "tracing_on").write_text("1")
        subprocess.run([str(mtfault), *args], check=True)
        (inst / "tracing_on").write_text("0")
        out = tmp / "t.dat"
        subprocess.run(
            ["trace-cmd", "extract", "-B", name, "-o", str(out)], check=True, capture_output=True
        )
    finally:
        if inst.exists():
            inst.rmdir()
    return out


def _report(path: Path) -> str:
    r = subprocess.run(
        ["trace-cmd", "report", "-t", "-i", str(path)], capture_output=True, check=True
    )
    return r.stdout.decode("utf-8", "surrogateescape")


@pytest.mark.capture
@pytest.mark.parametrize("version", ["7-zstd", "7-none", "6"])
def test_fresh_extract_equals_trace_cmd_report(version: str, mtfault: Path, tmp_path: Path) -> None:
    raw = _extract(tmp_path, mtfault, 1410, ["2", "1", "32"])
    path = raw
    if version != "7-zstd":
        path = tmp_path / "c.dat"
        ver, _, comp = version.partition("-")
        opts = ["--file-version", ver] + (["--compression", comp] if comp else [])
        subprocess.run(
            ["trace-cmd", "convert", "-i", str(raw), "-o", str(path), *opts],
            check=True,
            capture_output=True,
        )
    rows, _ = dat_rows(path)
    text, _ = report_rows(_report(path))
    with open(path, "rb") as f:
        assert_same(rows, text, read_dat_header(f).td.kallsyms)


@pytest.mark.capture
def test_fresh_overflow_counts_the_dropped_events(mtfault: Path, tmp_path: Path) -> None:
    path = _extract(tmp_path, mtfault, 4, ["2", "4", "256"])
    rows, batches = dat_rows(path)
    text, stats = report_rows(_report(path))
    with open(path, "rb") as f:
        assert_same(rows, text, read_dat_header(f).td.kallsyms)
    got: dict[tuple[str, int | None], int] = {}
    for b in batches:
        for name, cpu, value in b.stats:
            if name == "events_dropped":
                got[(name, cpu)] = got.get((name, cpu), 0) + value
    want = {k: v for k, v in stats.items() if k[0] == "events_dropped"}
    assert got == want and want


def test_trace_cmd_is_not_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert shutil.which("trace-cmd") is None
    rows, _ = dat_rows(DATA / "extract-v7-zstd.dat")
    assert rows


def _with_subbuf(tmp: Path, size: int) -> Path:
    """The 16 KiB sub-buffer fixture with its BUFFER option's page size set to ``size``."""
    raw = bytearray(fixture("extract-v7-subbuf16k.dat", tmp).read_bytes())
    at = raw.rfind(b"spfbin\0local\0") + len(b"spfbin\0local\0")
    assert int.from_bytes(raw[at : at + 4], "little") == 16384
    raw[at : at + 4] = size.to_bytes(4, "little")
    out = tmp / f"subbuf-{size}.dat"
    out.write_bytes(bytes(raw))
    return out


def test_the_buffer_option_carries_the_sub_buffer_size(tmp_path: Path) -> None:
    # trace-cmd.dat.v7(5): BUFFER is offset, name, clock, page size u32, CPU count, CPUs
    with open(fixture("extract-v7-subbuf16k.dat", tmp_path), "rb") as f:
        hdr = read_dat_header(f)
    assert hdr.td.page_size == 4096
    assert [(b.name, b.page_size, len(b.cpus)) for b in hdr.buffers] == [("spfbin", 16384, 2)]
    # read as the file's 4 KiB pages, the same bytes are damaged pages and no records
    with open(_with_subbuf(tmp_path, 4096), "rb") as f:
        batches = list(read_trace_dat(f))
    assert sum(b.records for b in batches) == 0
    assert ("pages_damaged", None, 4) in batches[-1].stats


@pytest.mark.parametrize(
    "size",
    [2048, 12288, 1 << 20, 1 << 21],  # under a page, not a power of two, over 128 pages
)
def test_a_sub_buffer_size_linux_cannot_have_is_refused(size: int, tmp_path: Path) -> None:
    # kernel/trace/trace.c buffer_subbuf_size_write: 1 to 128 system pages (2^0..2^7)
    with pytest.raises(SpftraceError) as err:
        dat_rows(_with_subbuf(tmp_path, size))
    assert f"bad sub-buffer size {size}" in str(err.value) and "\n" not in str(err.value)


def test_the_largest_sub_buffer_is_accepted(tmp_path: Path) -> None:
    # 128 pages of 4 KiB is accepted; each CPU's 16 KiB of data is then less than one
    # such sub-buffer: named, counted, not a traceback
    rows, batches = dat_rows(_with_subbuf(tmp_path, 128 * 4096))
    assert rows == [] and ("records_damaged", None, 2) in batches[-1].stats
    assert "CPU 1 has 16384 bytes of data, less than one page (524288)" in batches[-1].notes
