"""The format seam: a new format is one module and one registry line.

Each test registers a toy format (its parser or reader written here, against
``formats.spec`` only) and ingests it through the real ingest; nothing else in
the package learns about it.  And ingestion's code names no format.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

import spftrace
from spftrace.formats import FORMATS
from spftrace.formats.detect import sniff
from spftrace.formats.lines import Chunk
from spftrace.formats.spec import Batch, ByteSource, FormatSpec, Head, Reject, rows_table

# --- a text format: "TOY <event> <value>" lines ---------------------------------------

_TOY = re.compile(r"^TOY (\w+) (\d+)$")


def toy_sniff(head: Head) -> bool:
    return bool(head.lines) and head.lines[0] == "# toy counters"


class ToyParser:
    def feed(self, chunk: Chunk) -> Batch:
        out = Batch.empty("counters")
        cols: dict[str, list[object]] = {"line_no": [], "event": [], "value": []}
        for k, line in enumerate(chunk.lines()):
            line_no = chunk.first_line_no + k
            out.lines += 1
            m = _TOY.match(line)
            if m is None:
                if line.startswith("#"):
                    out.ignored += 1
                else:
                    out.rejects.append(Reject(line_no, line, "not a TOY line"))
                continue
            cols["line_no"].append(line_no)
            cols["event"].append(m.group(1))
            cols["value"].append(float(m.group(2)))
            out.record_lines += 1
        n = len(cols["line_no"])
        cols.update(block=[0] * n, origin=["toy"] * n, status=["counted"] * n)
        out.rows = rows_table("counters", cols)
        return out

    def close(self) -> Batch:
        return Batch.empty("counters")


TOY = FormatSpec("toy", "counters", "toy counters (a test)", toy_sniff, parser=ToyParser)


def test_a_text_format_is_one_spec_and_one_registry_line(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(FORMATS, "toy", TOY)
    f = tmp_path / "t.txt"
    f.write_text("# toy counters\nTOY faults 12\nTOY spf 10\n")
    (s,) = spftrace.ingest([f], data=data)
    assert (s.format, s.lines, s.record_lines, s.ignored, s.rows) == (
        "toy", 3, 2, 1, {"counters": 2},
    )  # fmt: skip
    t = spftrace.load(data)
    assert t.runs.source_format.tolist() == ["toy"]
    got = sorted(zip(t.counters.event, t.counters.value, t.counters.line_no, strict=True))
    assert got == [("faults", 12.0, 2), ("spf", 10.0, 3)]
    # a bad line is a reject with its line number, like any format's
    g = tmp_path / "u.txt"
    g.write_text("# toy counters\nTOY faults 1\nnonsense\n")
    with pytest.raises(spftrace.SpftraceError, match=r"u\.txt:3: not a TOY line"):
        spftrace.ingest([g], data=data)


def test_the_registry_order_is_the_sniffing_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """A format registered first wins over a later one that accepts the same head."""
    head = b"# toy counters\nTOY faults 12\n"
    greedy = FormatSpec("greedy", "counters", "accepts anything", lambda h: True, ToyParser)
    monkeypatch.setitem(FORMATS, "toy", TOY)
    monkeypatch.setitem(FORMATS, "greedy", greedy)
    assert sniff(head) == "toy"
    reordered = {"greedy": greedy, **{k: v for k, v in FORMATS.items() if k != "greedy"}}
    monkeypatch.setattr("spftrace.formats.detect.FORMATS", reordered)
    assert sniff(head) == "greedy"


# --- a binary format: the whole stream to a reader -------------------------------------

MAGIC = b"TOYBIN\x00\x01"


def read_toybin(source: ByteSource) -> Iterator[Batch]:
    """Records of (u32 line, u64 value) after the magic, 1000 per batch."""
    stream = source.stream()
    assert stream.read(len(MAGIC)) == MAGIC
    while True:
        blob = stream.read(12 * 1000)
        if not blob:
            return
        recs = [struct.unpack_from("<IQ", blob, k) for k in range(0, len(blob), 12)]
        n = len(recs)
        rows = rows_table(
            "counters",
            {
                "line_no": [r[0] for r in recs],
                "block": [0] * n,
                "origin": ["toybin"] * n,
                "event": ["faults"] * n,
                "value": [float(r[1]) for r in recs],
                "status": ["counted"] * n,
            },
        )
        yield Batch("counters", rows, lines=n, record_lines=n, meta={"command": "toy"})


TOYBIN = FormatSpec(
    "toybin",
    "counters",
    "toy binary records (a test)",
    lambda h: h.raw.startswith(MAGIC),
    reader=read_toybin,
    binary=True,
)


@pytest.mark.parametrize("via", ["file", "pipe"])
def test_a_binary_format_reads_the_whole_stream(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    monkeypatch.setitem(FORMATS, "toybin", TOYBIN)
    blob = MAGIC + b"".join(struct.pack("<IQ", k + 1, 2**40 + k) for k in range(2500))
    if via == "file":
        f = tmp_path / "t.bin"
        f.write_bytes(blob)
        (s,) = spftrace.ingest([f], data=data)
    else:
        (s,) = spftrace.ingest(["-"], data=data, stdin=io.BytesIO(blob))
    assert (s.format, s.rows, s.command) == ("toybin", {"counters": 2500}, "toy")
    t = spftrace.load(data)
    assert sorted(t.counters.value.tolist()) == [float(2**40 + k) for k in range(2500)]
    import hashlib

    assert t.runs.sha256.tolist() == [hashlib.sha256(blob).hexdigest()]


def test_ingestion_names_no_format() -> None:
    """Ingestion knows formats only through FormatSpec: no format name in its code."""
    names = [*FORMATS, "perf.data", "perf_data", "PERFILE2"]
    for path in sorted(Path(spftrace.__file__).with_name("ingest").glob("*.py")):
        code = "\n".join(
            ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("#")
        )
        code = re.sub(r'"""(.|\n)*?"""', "", code)  # docstrings may give examples
        for name in names:
            hit = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", code)
            assert hit is None, f"{path.name} names the format {name!r}"


def test_binary_sniffers_take_every_reader_magic_without_importing_readers() -> None:
    """binary.py tells text from perf.data/trace.dat by the magics' first bytes before
    it imports a reader; every magic the readers know still reaches their sniffer."""
    from spftrace.formats import binary
    from spftrace.formats.perf_data import header
    from spftrace.formats.trace_dat import MAGIC

    for magic in (header.MAGIC, header.MAGIC_BE, header.MAGIC_V1):
        assert binary.PERF_DATA.sniff(Head(magic + bytes(200))), magic
    assert binary.TRACE_DAT.sniff(Head(MAGIC + bytes(200)))
    for text in (b"PERF is not a magic", b"\x17\x08Dtracinx", b"mtfault 1 [000] 1.0: a:b"):
        assert not binary.PERF_DATA.sniff(Head(text)) and not binary.TRACE_DAT.sniff(Head(text))


def test_a_text_ingest_imports_no_binary_reader(tmp_path: Path) -> None:
    """A 10-line perf script ingest loads neither binary reader (numpy tables, kallsyms:
    0.3 s of start-up) nor pandas or pyarrow.compute; and through the command line (the
    whole process, as users run it: issue 11's 10-line ingest under 0.3 s) neither
    numpy (``spftrace.lazy_numpy``), duckdb, rich, Arrow's dataset or Acero layers,
    nor the formats sniffing never reached (``formats.FORMATS`` imports on first use).
    (ssl stays: pyarrow.parquet imports pyarrow.fs, which imports it.)"""
    import subprocess
    import sys

    src = Path(__file__).parent / "data" / "traces" / "perf-script-default.txt"
    ten = tmp_path / "ten.txt"
    ten.write_bytes(b"".join(src.read_bytes().splitlines(keepends=True)[:10]))
    code = (
        "import sys, spftrace\n"
        f"spftrace.ingest([{str(ten)!r}], data={str(tmp_path / 'ds')!r})\n"
        "heavy = ('spftrace.formats.perf_data', 'spftrace.formats.trace_dat', 'pandas',"
        " 'pyarrow.compute')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
    heavy = (
        "numpy", "pandas", "duckdb", "rich", "scipy", "pyarrow.compute", "pyarrow.acero",
        "pyarrow.dataset", "spftrace.formats.perf_data", "spftrace.formats.trace_dat",
        "spftrace.formats.perf_stat", "spftrace.formats.simpleperf_stat", "spftrace.fleet.engine",
    )  # fmt: skip
    cli = (  # (the ingest ends with os._exit: what is loaded is listed there)
        "import os, sys\n"
        "end = os._exit\n"
        "def listed(code):\n"
        f"    print([m for m in {heavy!r} if m in sys.modules], flush=True)\n"
        "    end(code)\n"
        "os._exit = listed\n"
        f"sys.argv = ['spftrace', 'ingest', {str(ten)!r}, '--data', {str(tmp_path / 'cli')!r}]\n"
        "from spftrace.__main__ import main\n"
        "main()\n"
    )
    out = subprocess.run([sys.executable, "-c", cli], capture_output=True, text=True, check=True)
    assert "rows: 10 events" in out.stderr, out.stdout + out.stderr
    assert out.stdout.splitlines()[-1] == "[]", out.stdout + out.stderr


def test_no_small_text_ingest_loads_pandas(tmp_path: Path) -> None:
    """Every perf stat, vmstat and will-it-scale golden ingests without pandas or
    pyarrow.acero (``Table.group_by`` loads both: 0.48 s and ~40 MB before the
    first perf stat row was stored; the mainline example pipes 10 such lines)."""
    import subprocess
    import sys

    data = Path(__file__).parent / "data"
    inputs = sorted(
        str(p) for d in ("perf_stat", "vmstat", "will_it_scale") for p in (data / d).glob("*.txt")
    )
    assert len(inputs) > 50
    code = (
        "import sys, spftrace\n"
        "from spftrace.errors import SpftraceError\n"
        "stored = 0\n"
        f"for i, p in enumerate({inputs!r}):\n"
        "    try:\n"
        f"        spftrace.ingest([p], data={str(tmp_path)!r} + f'/ds{{i}}', errors='skip')\n"
        "        stored += 1\n"
        "    except SpftraceError:\n"
        "        pass  # (perf's own error output: a clear error, by design)\n"
        "print(stored)\n"
        "print([m for m in ('pandas', 'pyarrow.acero') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    assert lines[-1:] == ["[]"], out.stdout[-2000:] + out.stderr[-2000:]
    assert int(lines[-2]) > 40  # (most inputs stored rows: the parsers really ran)


def test_simpleperf_share_search_is_linear_in_a_run_of_blanks() -> None:
    """simpleperf prints a counter's time share as ``(12.50%)`` at the comment's end.
    Searched for with a leading ``\\s*``, a comment with 600,000 blanks inside cost
    n^2 / 2 steps (a regression shows as the suite's timeout); the share is still found
    after blanks, and the text before it is what is left once they are stripped."""
    from spftrace.formats.simpleperf_stat import _SHARE_RE

    blanks = " " * 600_000
    assert _SHARE_RE.search("a" + blanks + "b") is None
    comment = "1.5 M/sec" + blanks + "(12.50%)"
    m = _SHARE_RE.search(comment)
    assert m is not None and float(m.group("pct")) == 12.5
    assert comment[: m.start()].rstrip() == "1.5 M/sec"


def test_will_it_scale_failed_testcase_row_is_named() -> None:
    """runtest.py (antonblanchard/will-it-scale) sets processes_avg and threads_avg to -1
    and prints them so when the testcase printed no "average:" line; linear is then
    max(-1, -1) * tasks.  Such a row is a reject that says so, beside the good rows."""
    from spftrace.formats.will_it_scale import HEADER, WillItScaleParser

    lines = [HEADER, "0,0,100,0,100,0", "1,1000,50.00,990,50.00,1000", "2,-1,99.50,-1,99.50,-2"]
    out = WillItScaleParser().feed_lines(lines, 1)
    assert out.record_lines == 2
    assert [(r.line_no, "gave no average" in r.reason) for r in out.rejects] == [(4, True)]
