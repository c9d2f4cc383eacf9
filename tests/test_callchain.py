"""perf script callchains and loss records: kept as data, equal to perf's own text.

Expected frames come from tests/vmalock_truth.py (its own regular expressions over
the same files) and from perf's grammar (tools/perf/util/evsel_fprintf.c:
sample__fprintf_callchain), quoted in each case.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spftrace.formats import callchain
from spftrace.formats.lines import LineReader
from spftrace.formats.spec import Batch
from spftrace.ingest.inputs import open_input

from . import vmalock_truth
from .helpers import DATA, Parsed, make_parser, parse_path

VMALOCK = DATA / "vmalock"
STACKED = sorted(
    p for p in VMALOCK.glob("*.txt") if "nostack" not in p.name and "2to1" not in p.name
)

FRAMES = [
    # perf script default: ip, sym+symoff, (dso)
    ("\tffffffff815f7e84 lock_mm_and_find_vma+0x144 ([kernel.kallsyms])",
     (0xFFFFFFFF815F7E84, "lock_mm_and_find_vma", 0x144, "[kernel.kallsyms]")),
    # a user frame perf could not name: '[unknown]' symbol and dso
    ("\t    7fc8f2af2ad7 [unknown] ([unknown])", (0x7FC8F2AF2AD7, None, None, None)),
    # a user frame in a shared object (perf prints the dso-relative address)
    ("\t           1ab70 _start+0x0 (/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2)",
     (0x1AB70, "_start", 0, "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")),
    # -F ip only: the address alone
    ("\tffffffff815f7e84", (0xFFFFFFFF815F7E84, None, None, None)),
    # -F ip,sym (no symoff, no dso)
    ("\tffffffff815f7e84 lock_mm_and_find_vma",
     (0xFFFFFFFF815F7E84, "lock_mm_and_find_vma", None, None)),
    # left alignment spaces before the tab (perf script -F ... with --call-trace indent)
    ("      \tffffffff81000c82 asm_exc_page_fault+0x22 ([kernel.kallsyms])",
     (0xFFFFFFFF81000C82, "asm_exc_page_fault", 0x22, "[kernel.kallsyms]")),
    # an inlined frame: perf prints no dso, then ' (inlined)'
    ("\tffffffff8225fcc6 do_user_addr_fault+0x3d6 (inlined)",
     (0xFFFFFFFF8225FCC6, "do_user_addr_fault", 0x3D6, None)),
    # a C++ symbol with spaces and parentheses before its dso
    ("\t    55d0c0ffee00 std::map<int, int>::at(int const&)+0x10 (/usr/bin/app)",
     (0x55D0C0FFEE00, "std::map<int, int>::at(int const&)", 0x10, "/usr/bin/app")),
]  # fmt: skip


@pytest.mark.parametrize(("line", "want"), FRAMES, ids=[str(i) for i in range(len(FRAMES))])
def test_frame_grammar(line: str, want: callchain.Frame) -> None:
    assert callchain.is_frame(line)
    assert callchain.frame(line) == want


@pytest.mark.parametrize(
    "line",
    [
        "mtfault 15184 [000]  2508.305897:    mmap_lock:mmap_lock_start_locking: mm=0x1 write=true",
        "",
        "\tnot-an-address foo",
        "    7fc8f2af2ad7 [unknown] ([unknown])",  # spaces only: not perf's frame shape
    ],
)
def test_not_frames(line: str) -> None:
    assert not (callchain.is_frame(line) and callchain.frame(line) is not None)


def test_sample_tail() -> None:
    """perf prints a sample's own ip/sym/dso after its payload when it has no
    callchain (sample__fprintf_sym): perf's fields, kept apart from the payload."""
    line = (
        "         mtfault 15184 [000]  2508.306867:           exceptions:page_fault_user: "
        "address=0x7ffaaa943b70 ip=0x7ffaaa943b70 error_code=0x14 ffffffff8225fe40 "
        "exc_page_fault+0x2f0 ([kernel.kallsyms])\n"
    )
    p = parse_text_lines([line])
    (row,) = p.rows
    assert (row["sym"], row["dso"], row["address"]) == (
        "exc_page_fault+0x2f0", "[kernel.kallsyms]", 0x7FFAAA943B70
    )  # fmt: skip
    assert row["callchain"] is None
    assert row["payload"] == "address=0x7ffaaa943b70 ip=0x7ffaaa943b70 error_code=0x14"


def parse_text_lines(lines: list[str], chunk_bytes: int | None = None) -> Parsed:
    import io

    inp = open_input("-", stdin=io.BytesIO("".join(lines).encode()))
    try:
        parser = make_parser("perf-script")
        lines = inp.lines()
        chunks = lines.chunks(chunk_bytes) if chunk_bytes else lines.chunks()
        outs = [parser.feed(c) for c in chunks]
        outs.append(parser.close())
    finally:
        inp.close()
    return Parsed(outs, parser)


@pytest.mark.parametrize("path", STACKED, ids=[p.name for p in STACKED])
def test_callchains_equal_perfs_text(path: Path) -> None:
    """Every sample's frames, in order, as the independent reader finds them."""
    evs, _ = vmalock_truth.read(path)
    p = parse_path("perf-script", path)
    assert len(p.rows) == len(evs)
    got = [[f["sym"] for f in (r.get("callchain") or [])] for r in p.rows]
    want = [e.frames for e in evs]
    assert [[s or "" for s in g] for g in got] == [[s or "" for s in w] for w in want]
    assert sum(map(len, got)) > 0
    assert not p.rejects


@pytest.mark.parametrize("chunk_bytes", [97, 1000, 4096])
def test_frames_survive_every_chunk_boundary(chunk_bytes: int) -> None:
    """A sample's frames cut by a chunk boundary (at any line) still join it."""
    path = VMALOCK / "faultread.txt"
    whole = parse_path("perf-script", path)
    lines = path.read_text().splitlines(keepends=True)[:1500]
    cut = parse_text_lines(lines, chunk_bytes)
    ref = parse_text_lines(lines)
    assert cut.rows == ref.rows
    assert (cut.record_lines, cut.ignored) == (ref.record_lines, ref.ignored)
    assert ref.rows[:-1] == whole.rows[: len(ref.rows) - 1]  # the cut ends mid-callchain


@pytest.mark.parametrize("cut", [0, 1, 6], ids=["read-ends-on-newline", "tab", "tab-ip"])
def test_frames_after_a_fast_chunk_join_its_last_sample(cut: int) -> None:
    """The first frames of a file may start right after a chunk the compiled scanner
    took whole (no frames in it): its last sample is held back and gets them, whether
    the read that ended the chunk stopped on its newline or inside the frame's line."""
    sample = (
        "mtfault 24004 [000]  1515.{:06d}:  exceptions:page_fault_user: "
        "address=0x{:x} ip=0x1 error_code=0x6\n"
    )
    head = [sample.format(i, 0x1000 * i) for i in range(200)]
    blob = "".join(head).encode()
    stacked = [
        "mtfault 24004 [000]  1516.000000:    mmap_lock:mmap_lock_start_locking: "
        "mm=0x1 write=false\n",
        "\tffffffff815f7e84 lock_mm_and_find_vma+0x144 ([kernel.kallsyms])\n",
        "\n",
    ]
    # the frame of the last fast-path sample is the first line of the next chunk
    lines = [*head, "\tffffffff8225fd28 exc_page_fault+0x1d8 ([kernel.kallsyms])\n", "\n", *stacked]
    p = parse_text_lines(lines, len(blob) + cut)
    assert len(p.rows) == 201
    assert [f["sym"] for f in p.rows[199]["callchain"]] == ["exc_page_fault"]
    assert p.rows[198].get("callchain") is None
    assert [f["sym"] for f in p.rows[200]["callchain"]] == ["lock_mm_and_find_vma"]
    assert not p.rejects


_RIGHT_ALIGNED = (  # perf's default: the comm right-aligned in 16 columns
    "         mtfault 24004 [000]  1515.{:06d}:  exceptions:page_fault_user: "
    "address=0x{:x} ip=0x1 error_code=0x6\n"
)


@pytest.mark.parametrize(
    ("cut", "held"),
    [(3, 1), (9, 1), (10, 0), (40, 0)],
    ids=["spaces", "all-the-spaces", "comm", "payload"],
)
def test_a_chunks_samples_leave_with_it_when_the_next_line_is_no_frame(cut: int, held: int) -> None:
    """The last sample of a chunk is held back for frames that may follow only while
    the next line's start, as far as the read took it, could begin one: spaces alone
    could (a frame is a tab after spaces), the comm after them cannot.  The rest go
    to the writer with their chunk (a live pipe's rows must not wait for more input)."""
    lines = [_RIGHT_ALIGNED.format(i, 0x1000 * i) for i in range(400)]
    blob = "".join(lines[:200]).encode()
    outs = _batches("".join(lines).encode(), len(blob) + cut)
    assert outs[0].rows.column("line_no").to_pylist() == list(range(1, 201 - held))
    got = [n for o in outs for n in o.rows.column("line_no").to_pylist()]
    assert got == list(range(1, 401))
    assert all(o.rows.column("line_no").num_chunks <= 1 for o in outs[:1])


@pytest.mark.parametrize("chunk_bytes", range(40, 1100, 23))
def test_srclines_survive_every_chunk_boundary(chunk_bytes: int) -> None:
    """``-F +srcline`` lines (one word after two spaces) join the sample event before
    them wherever a read cuts the input: inside the srcline, before it, after it."""
    path = DATA / "fault_samples" / "page-faults-no-callchain-srcline.txt"
    lines = path.read_text().splitlines(keepends=True)
    cut = parse_text_lines(lines, chunk_bytes)
    ref = parse_text_lines(lines)
    assert cut.rows == ref.rows
    assert (cut.record_lines, cut.ignored, cut.stats) == (ref.record_lines, ref.ignored, ref.stats)
    srclines = [ln for ln in lines if ln[:2] == "  " and len(ln.split()) == 1]
    assert ref.stats["callchain_srcline_lines"] == len(srclines) == 7


def _batches(data: bytes, chunk_bytes: int) -> list[Batch]:
    """The batches of perf script text read ``chunk_bytes`` at a time."""
    import io

    parser = make_parser("perf-script")
    outs = [parser.feed(c) for c in LineReader(io.BytesIO(data), b"").chunks(chunk_bytes)]
    return [*outs, parser.close()]


def test_show_lost_events_become_statistics() -> None:
    """perf script --show-lost-events: each PERF_RECORD_LOST line is a statistic."""
    path = VMALOCK / "lossy-show-lost.txt"
    text = path.read_text()
    want = sum(int(n) for n in re.findall(r"PERF_RECORD_LOST lost (\d+)", text))
    p = parse_path("perf-script", path)
    assert p.stats["events_lost"] == want > 0
    assert not p.rejects


def test_perf_loss_warnings_become_statistics() -> None:
    """`perf script 2>&1`: 'lost N chunks' and 'lost P%' (of the samples perf
    processed), checked against perf report --stats of the same perf.data (its
    LOST records and per-event LOST_SAMPLES counts)."""
    lost_records = lost_samples = 0
    section = "aggregated"
    for line in (VMALOCK / "lossy-report.stats").read_text().splitlines():
        if line.endswith(" stats:") and not line.startswith("Aggregated"):
            section = line
        m = re.match(r"\s+(LOST|LOST_SAMPLES) events:\s+(\d+)", line)
        if m and section == "aggregated" and m.group(1) == "LOST":
            lost_records = int(m.group(2))
        elif m and section != "aggregated" and m.group(1) == "LOST_SAMPLES":
            lost_samples += int(m.group(2))  # per event: the samples it lost
    out = _ingest_skip(VMALOCK / "lossy-2to1.txt")
    assert out["chunks_lost"] == lost_records > 0
    assert out["samples_lost_approx"] == lost_samples > 0


def _ingest_skip(path: Path) -> dict[str, int]:
    """Statistics of a file whose stdout and stderr interleave (one damaged line)."""
    p = parse_path("perf-script", path)
    assert len(p.rejects) <= 1  # perf's warning cut one sample line in two
    return p.stats


def _frame_ips(path: Path) -> list[list[int]]:
    """The frame addresses under each sample of perf script text, read by hand."""
    chains: list[list[int]] = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("\t") and line.strip():
            chains[-1].append(int(line.split()[0], 16))
        elif line.strip() and not line.startswith("#"):
            chains.append([])
    return chains


def test_perf_data_keeps_callchains_and_losses(tmp_path: Path) -> None:
    """perf.data goes through perf script with callchains and lost events."""
    from spftrace import api, ingest

    ingest([VMALOCK / "lossy.data"], data=tmp_path, run="d")
    con = api.open_dataset(tmp_path).connect()
    chains = con.execute("SELECT callchain FROM events ORDER BY line_no").fetchall()
    lost = dict(con.execute("SELECT name, value FROM stats").fetchall())
    con.close()
    # every frame's address as perf script printed it when the file was recorded; the
    # kernel's names only where this machine's kernel is the recording one (kallsyms
    # of another build would name other functions, so the reader leaves them empty)
    text_ips = _frame_ips(VMALOCK / "lossy.txt")
    assert [[f["ip"] for f in (c or [])] for (c,) in chains] == text_ips
    evs, _ = vmalock_truth.read(VMALOCK / "lossy.txt")
    got = [[f["sym"] or "" for f in (c or [])] for (c,) in chains]
    want = [[s or "" for s in e.frames] for e in evs]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert all(a in ("", b) for a, b in zip(g, w, strict=True)), (g, w)
    text = (VMALOCK / "lossy-show-lost.txt").read_text()
    assert lost["events_lost"] == sum(int(n) for n in re.findall(r"LOST lost (\d+)", text)) > 0
