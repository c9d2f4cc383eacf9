"""Bad input gets a one-line error naming file and line; the dataset is unchanged."""

from __future__ import annotations

import gzip
import lzma
from pathlib import Path

import pytest
import zstandard
from typer.testing import CliRunner

import spftrace
from spftrace.cli import app

from .helpers import DATA
from .test_store import snapshot

HUMAN = DATA / "perf_stat" / "human.txt"


@pytest.fixture
def seeded(data: Path) -> Path:
    spftrace.ingest([DATA / "seed" / "ebizzy-x86-16cpu.txt"], data=data)
    return data


def run_cli(*args: str, input: bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


def one_line_error(code: int, err: str) -> str:
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


CASES = {
    "empty": b"",
    "blank": b"\n\n   \n",
    "binary": bytes(range(256)) * 4,
    "elf": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200,
    "random-text": b"hello world\nthis is not perf output\n",
}


@pytest.mark.parametrize("name", list(CASES))
def test_unusable_inputs(tmp_path: Path, seeded: Path, name: str) -> None:
    f = tmp_path / f"{name}.txt"
    f.write_bytes(CASES[name])
    before = snapshot(seeded)
    code, err = run_cli("ingest", str(f), "--data", str(seeded))
    line = one_line_error(code, err)
    assert str(f) in line
    assert snapshot(seeded) == before


def test_unknown_format_lists_formats_and_quotes_first_line(tmp_path: Path, seeded: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("hello world\n")
    line = one_line_error(*run_cli("ingest", str(f), "--data", str(seeded)))
    assert "'hello world'" in line and "perf-stat" in line and "--format" in line


def test_truncated_json_line(tmp_path: Path, seeded: Path) -> None:
    text = (DATA / "perf_stat" / "json.txt").read_text()
    f = tmp_path / "t.txt"
    f.write_text(text[: len(text) - 40])  # cut inside the last object
    before = snapshot(seeded)
    line = one_line_error(*run_cli("ingest", str(f), "--data", str(seeded)))
    assert f"{f}:6:" in line and "truncated" in line
    assert snapshot(seeded) == before
    # with --errors skip the good lines land and the bad one is kept verbatim
    code, _ = run_cli("ingest", str(f), "--data", str(seeded), "--errors", "skip")
    assert code == 0
    t = spftrace.load(seeded)
    rej = t.rejects[t.rejects.run == "t"]
    assert rej.line_no.tolist() == [6]
    assert bytes(rej.line.iloc[0]) == text[: len(text) - 40].splitlines()[-1].encode()


def test_truncated_csv_line(tmp_path: Path, seeded: Path) -> None:
    f = tmp_path / "c.txt"
    f.write_text((DATA / "perf_stat" / "csv-comma.txt").read_text() + "8255,,faults,162")
    line = one_line_error(*run_cli("ingest", str(f), "--data", str(seeded)))
    assert f"{f}:7:" in line


def test_locale_mangled_csv(seeded: Path) -> None:
    f = DATA / "perf_stat" / "csv-locale-de_DE.txt"
    before = snapshot(seeded)
    line = one_line_error(*run_cli("ingest", str(f), "--data", str(seeded)))
    assert f"{f}:1:" in line and "LC_ALL=C" in line
    assert snapshot(seeded) == before


def test_perf_error_block_quotes_perf(seeded: Path) -> None:
    f = DATA / "perf_stat" / "error-bogus-event.txt"
    line = one_line_error(*run_cli("ingest", str(f), "--data", str(seeded)))
    assert "event syntax error: 'faults,bogus_event'" in line


def test_non_utf8_bytes_survive_to_rejects(tmp_path: Path, data: Path) -> None:
    raw = HUMAN.read_bytes().replace(
        b"\n\n       0.0", b"\n   12\xff\xfe34 \xc3( faults\n\n       0.0", 1
    )
    f = tmp_path / "latin.txt"
    f.write_bytes(raw)
    code, _ = run_cli("ingest", str(f), "--data", str(data), "--errors", "skip")
    assert code == 0
    rej = spftrace.load(data).rejects
    assert bytes(rej.line.iloc[0]) == b"   12\xff\xfe34 \xc3( faults"


def test_enormous_line_is_cut_not_loaded(tmp_path: Path, data: Path) -> None:
    f = tmp_path / "big.txt"
    with f.open("wb") as fh:
        fh.write(HUMAN.read_bytes())
        fh.write(b"9" * (3 << 20) + b"\n")  # one 3 MiB line after a valid block
    code, _ = run_cli("ingest", str(f), "--data", str(data), "--errors", "skip")
    assert code == 0
    t = spftrace.load(data)
    assert len(t.rejects) == 1 and len(bytes(t.rejects.line.iloc[0])) == 1 << 20
    stats = dict(zip(t.stats.name, t.stats.value, strict=True))
    assert stats["overlong_lines"] == 1


FTRACE = DATA / "traces" / "ftrace-trace.txt"


@pytest.mark.parametrize("blanks", [70_000, 3 << 20])
def test_a_head_of_blank_lines_is_read_past(tmp_path: Path, blanks: int) -> None:
    """The first 64 KiB were all the sniffers saw: a capture after 70,000 newlines was
    'empty input' and nothing was ingested.  Its rows are those of the capture alone,
    and the blank lines are counted as lines (through the head, in reads' sizes)."""
    alone = spftrace.ingest([FTRACE], data=tmp_path / "alone")[0]
    f = tmp_path / "blank-head.txt"
    f.write_bytes(b"\n" * blanks + FTRACE.read_bytes())
    (s,) = spftrace.ingest([f], data=tmp_path / "d")
    assert (s.format, s.rows, s.record_lines) == ("ftrace", alone.rows, alone.record_lines)
    assert s.lines == alone.lines + blanks


def test_a_head_of_16_mib_of_blank_lines_is_named(tmp_path: Path, seeded: Path) -> None:
    from spftrace.ingest.inputs import BLANK_LIMIT

    f = tmp_path / "blank-head.txt"
    f.write_bytes(b"\n" * BLANK_LIMIT + FTRACE.read_bytes())
    before = snapshot(seeded)
    line = one_line_error(*run_cli("ingest", str(f), "--data", str(seeded)))
    assert f"{f}: the first 16 MiB are blank lines" in line and "--format" in line
    assert snapshot(seeded) == before


@pytest.mark.parametrize(
    ("kind", "compress"),
    [
        ("gzip", gzip.compress),
        ("xz", lzma.compress),
        ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
    ],
)
def test_compressed_inputs(tmp_path: Path, data: Path, kind: str, compress: object) -> None:
    f = tmp_path / "human.txt.z"
    f.write_bytes(compress(HUMAN.read_bytes()))  # type: ignore[operator]
    (s,) = spftrace.ingest([f], data=data)
    assert s.compression == kind and s.rows == {"counters": 9}


def test_truncated_compressed_input(tmp_path: Path, seeded: Path) -> None:
    f = tmp_path / "cut.gz"
    blob = gzip.compress(HUMAN.read_bytes() * 50)
    f.write_bytes(blob[: len(blob) // 2])
    before = snapshot(seeded)
    line = one_line_error(*run_cli("ingest", str(f), "--data", str(seeded)))
    assert str(f) in line
    assert snapshot(seeded) == before


def test_missing_file(tmp_path: Path) -> None:
    line = one_line_error(
        *run_cli("ingest", str(tmp_path / "nope.txt"), "--data", str(tmp_path / "d"))
    )
    assert "no such file" in line


@pytest.mark.parametrize("fmt", ["ftrace", "trace-cmd"])
def test_a_line_of_blanks_is_a_reject_in_linear_time(tmp_path: Path, fmt: str) -> None:
    """``^\\s*(?P<comm>.*)-`` let the blanks go to either quantifier: a line of n tabs
    cost n^2 / 2 steps (600,000 and an x, under the 1 MiB line limit: about 20 minutes;
    a regression shows as the suite's timeout).  comm starts at a non-blank now, which
    the greedy \\s* gave it anyway, and the line is one reject."""
    rec = {
        "ftrace": "          <idle>-0       [001] d..2.  100.000001: sched_switch: prev_comm=a\n",
        "trace-cmd": "          <idle>-0     [001]   100.000001: sched_switch: prev_comm=a\n",
    }[fmt]
    head = "# tracer: nop\n#\n" if fmt == "ftrace" else "cpus=2\n"
    f = tmp_path / "blanks.txt"
    f.write_text(head + rec * 20 + "\t" * 600_000 + "x\n" + rec)
    data = tmp_path / "ds"
    code, out = run_cli("ingest", str(f), "--data", str(data), "--format", fmt, "--errors", "skip")
    assert code == 0, out
    t = spftrace.load(data)
    assert len(t.events) == 21
    assert t.rejects.line_no.tolist() == [head.count("\n") + 21]


def test_a_long_blank_line_is_not_read_as_locale_mangled_csv_in_quadratic_time() -> None:
    """perf_stat.tokens.MANGLED_RE's leading blanks could go to ``\\s*`` or to the ``.*``
    of its second branch: n^2 / 2 steps on a line of n tabs (20k: 0.32 s, 1M: about
    13 minutes).  Possessive blanks (``\\s*+``) match the same lines (the branch can
    absorb any prefix); the de_DE shapes still match.  A regression shows as the
    suite's timeout."""
    from spftrace.formats.perf_stat.csv_lines import looks_locale_mangled

    assert not looks_locale_mangled("\t" * 1_000_000 + "x")
    assert looks_locale_mangled("\t" * 200_000 + "a,15942337,100,00,517,K/sec")
    assert looks_locale_mangled("  16,97,msec,,task-clock")
    assert looks_locale_mangled("1.000000000,16,97,ns,,cycles")


def test_sample_tails_of_a_megabyte_of_hex_words_are_found_in_linear_time() -> None:
    """callchain.sample_tail searched ``\\s(hex) (\\S.*?) \\((dso)\\)$`` from every hex word,
    each scan running to the line's end, and tail() fullmatched from every one: n^2 on a
    line of many hex words (80k characters: 13 s; a 1 MiB line: tens of minutes).  The
    answers as perf prints them: the leftmost ip before the trailing (dso) for a sample's
    tail (ip 1, the sym the rest: "11 11 ..."), the last one for tail(); a line
    without a (dso) has none."""
    from spftrace.formats.callchain import sample_tail, tail

    words = "1 1" * 333_333
    assert sample_tail("x: " + words + " )") is None
    assert tail("x: " + words + " )") is None
    before, sym, dso = sample_tail("x: " + words + " do_fault ([kernel.kallsyms])") or ("", "", "")
    assert (before, sym[:5], sym[-8:], dso) == ("x:", "11 11", "do_fault", "[kernel.kallsyms]")
    got = tail("x: " + words + " ffffffff81001234 do_fault ([unknown])")
    assert got is not None and got[1:] == (0xFFFFFFFF81001234, "do_fault", None)


HUGE = "9" * 5000  # int() refuses a string of over 4300 digits (ValueError)
OUT_OF_RANGE = {
    "wis-row-digits": (
        None,
        "tasks,processes,processes_idle,threads,threads_idle,linear\n" + f"1,{HUGE},1.0,1,1.0,1\n",
        ":2: not will-it-scale output",
    ),
    # idle is a percentage: float() of 5000 digits is inf, which was stored with exit 0
    "wis-idle-digits": (
        None,
        "tasks,processes,processes_idle,threads,threads_idle,linear\n" + f"1,1,{HUGE},1,1.0,1\n",
        ":2: not will-it-scale output",
    ),
    "wis-average-digits": (
        None,
        f"testcase:x\nwarmup\nmin:1 max:1 total:1\naverage:{HUGE}\n",
        ":4: not will-it-scale output",
    ),
    # /proc/vmstat prints u64 or s64 (<= 20 digits); a longer value was stored as inf
    "vmstat-value-digits": (
        "vmstat",
        f"nr_free_pages 1\npgfault {HUGE}\n",
        ":2: not a 'name value'",
    ),
    "vmstat-time-digits": ("vmstat", f"time: {HUGE}\nnr_free_pages 1\n", ":1: not a 'name value'"),
    "wis-sample-digits": (
        None,
        f"testcase:x\nmeasurement\nmin:1 max:{HUGE} total:1\n",
        ":3: not will-it-scale output",
    ),
    # 9999999999.5 s is past int64 nanoseconds (2262): OverflowError in the Arrow column
    "vmstat-time-past-2262": ("vmstat", "time: 9999999999.5\nnr_free_pages 1\n", ":1: not a"),
    # ISO-8601 and date(1) stamps reach year 9999 (and 1): as far outside int64 ns
    "vmstat-iso-year-9999": ("vmstat", "9999-12-31T23:59:59\nnr_free_pages 1\n", ":1: not a"),
    "vmstat-iso-year-1": ("vmstat", "0001-01-01 00:00:00\nnr_free_pages 1\n", ":1: not a"),
    "vmstat-date-year-9999": (
        "vmstat",
        "Fri Dec 31 23:59:59 UTC 9999\nnr_free_pages 1\n",
        ":1: not a",
    ),
}


@pytest.mark.parametrize("name", list(OUT_OF_RANGE))
def test_numbers_out_of_range_are_rejected_lines(tmp_path: Path, seeded: Path, name: str) -> None:
    fmt, text, why = OUT_OF_RANGE[name]
    f = tmp_path / f"{name}.txt"
    f.write_text(text)
    before = snapshot(seeded)
    args = ["ingest", str(f), "--data", str(seeded)] + (["--format", fmt] if fmt else [])
    line = one_line_error(*run_cli(*args))
    assert f"{f}{why}" in line
    assert snapshot(seeded) == before
