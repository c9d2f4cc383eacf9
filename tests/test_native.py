"""The compiled core (spftrace/_native) on its own: named results, the lines it
must leave to the per-line path, and memory safety on arbitrary bytes.

Its equality with the per-line Python path on captures, generated and damaged
lines is in test_traces.py.  Here the expected values are hand-derived from the
lines (perf's ``%5u.%06u`` time, ``[%03d]`` cpu, the payloads' printk formats).
With SPFTRACE_NO_NATIVE set the core is off on purpose and these tests do not
apply (``make test-pure`` runs the rest without it).
"""

from __future__ import annotations

import itertools
import struct
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spftrace import _native
from spftrace.formats.lines import Chunk
from spftrace.formats.tracetext import Scanners, record_columns

pytestmark = pytest.mark.skipif(_native.disabled(), reason="SPFTRACE_NO_NATIVE: the core is off")

LINE = (
    "          ebizzy  4321 [003] 12345.678901: pagefault:spf_vma_changed: "
    "ip:ffffffff8123abcd vma:7f12a0000000-7f12a8000000 address:7f12a0001000 seq=7"
)


def chunk(text: str | bytes, first: int = 1) -> Chunk:
    data = text.encode() if isinstance(text, str) else text
    ends = data.endswith(b"\n")
    return Chunk(first, data, data.count(b"\n") + (0 if ends or not data else 1), ends)


def perf(c: Chunk) -> _native.Scan:
    return Scanners().perf_script(c, comm=True, ids=1, cpu=True)


def ints(raw: bytes, fmt: str) -> list[int]:
    return list(struct.unpack(f"<{len(raw) // struct.calcsize(fmt)}{fmt}", raw))


def strings(s: _native.Strings) -> list[str]:
    off = ints(s.offsets, "i")
    return [bytes(s.data[a:b]).decode() for a, b in itertools.pairwise(off)]


def test_core_is_built() -> None:
    assert _native.AVAILABLE, _native.REASON


def test_a_record_comes_back_by_name() -> None:
    scan = perf(chunk(f"{LINE}\n{LINE.replace('4321', '4322')}\n", first=10))
    assert scan.records == 2 and not scan.other_line_no
    assert ints(scan.line_no, "q") == [10, 11]
    assert ints(scan.ts.values, "q") == [12345_678901000] * 2
    assert scan.cpu is not None and ints(scan.cpu.values, "i") == [3, 3]
    assert scan.tid is not None and ints(scan.tid.values, "i") == [4321, 4322]
    assert scan.pid is None  # a single id column is the tid
    assert scan.comm is not None and strings(scan.comm) == ["ebizzy", "ebizzy"]
    assert strings(scan.event) == ["pagefault:spf_vma_changed"] * 2
    typed = scan.typed
    assert ints(typed["ip"].values, "Q")[0] == 0xFFFFFFFF8123ABCD
    assert ints(typed["vm_start"].values, "Q")[0] == 0x7F12A0000000
    assert ints(typed["vm_end"].values, "Q")[0] == 0x7F12A8000000
    assert ints(typed["address"].values, "Q")[0] == 0x7F12A0001000
    assert typed["mm"] is None  # no record has it: all null, no buffer
    assert typed["vm_start_decimal"] is None  # 7f12...: not decimal
    assert ints(scan.field_offsets, "i") == [0, 1, 2]
    assert strings(scan.keys) == ["seq", "seq"] and strings(scan.values) == ["7", "7"]
    assert strings(scan.payload)[0] == LINE.split("spf_vma_changed: ")[1]
    assert not scan.v4


def test_ftrace_names_are_qualified_in_c() -> None:
    line = "  ebizzy-4321    [003] .....  1234.567890: {}: address=0x1000 ip=0x2 error_code=0x6"
    text = "\n".join(line.format(ev) for ev in ("page_fault_user", "sched_switch")) + "\n"
    scan = Scanners().ftrace(chunk(text), tracecmd=False)
    assert strings(scan.event) == ["exceptions:page_fault_user", "sched_switch"]
    assert scan.pid is not None and scan.pid.valid == b"\x00"  # no tgid printed: null
    assert ints(scan.typed["error_code"].values, "Q") == [6, 6]


#: lines the core must leave to the per-line path (tracetext.h's contract)
REFUSED = {
    "non-ASCII comm": LINE.replace("ebizzy", "ébizzy"),
    "tab in payload": LINE.replace(" seq=7", "\tseq=7"),
    "CR at the end": LINE + "\r",
    "backslash in payload": LINE.replace("seq=7", "seq=a\\x41"),
    "backslash in comm": LINE.replace("ebizzy", "eb\\zzy"),
    "DEL byte": LINE.replace("seq=7", "seq=\x7f"),
    "NUL byte": LINE.replace("seq=7", "seq=\x00"),
    "10-digit tid": LINE.replace(" 4321 ", " 2147483648 "),
    "10-digit seconds": LINE.replace("12345.678901", "9999999999.678901"),
    "10-digit cpu": LINE.replace("[003]", "[0000000003]"),
    "no time": LINE.replace("12345.678901", "12345"),
    "event without system": LINE.replace("pagefault:spf_vma_changed", "spf_vma_changed"),
}


@pytest.mark.parametrize("line", list(REFUSED.values()), ids=list(REFUSED))
def test_doubtful_lines_are_left_to_python(line: str) -> None:
    data = f"{LINE}\n{line}\n{LINE}\n".encode("utf-8", "surrogateescape")
    scan = perf(chunk(data))
    assert ints(scan.line_no, "q") == [1, 3]
    assert ints(scan.other_line_no, "q") == [2]
    start, end = ints(scan.other_start, "q")[0], ints(scan.other_end, "q")[0]
    assert data[start:end] == line.encode()


def test_sample_events_are_left_over_and_counted() -> None:
    """``page-faults:u`` reads as a tracepoint name too, but its fields are perf's own
    (perf_script.sample_row): the core leaves it over and counts it.  The rule is
    _SAMPLE_EVENT_RE's: modifier letters after the colon, no PERF_RECORD_ name."""
    sample = LINE.replace("pagefault:spf_vma_changed", "page-faults:u")
    mods = LINE.replace("pagefault:spf_vma_changed", "cpu-clock:uhH")
    side = LINE.replace("pagefault:spf_vma_changed", "PERF_RECORD_X:u")  # not a sample event
    trace = LINE.replace("pagefault:spf_vma_changed", "sched:sched_switch")
    scan = perf(chunk("\n".join([LINE, sample, mods, side, trace]) + "\n"))
    assert ints(scan.other_line_no, "q") == [2, 3]
    assert scan.samples == 2
    assert strings(scan.event) == [
        "pagefault:spf_vma_changed",
        "PERF_RECORD_X:u",
        "sched:sched_switch",
    ]
    assert perf(chunk(LINE + "\n")).samples == 0


def test_lines_ending_in_a_parenthesis_are_left_over_and_counted() -> None:
    """perf script prints a sample's ``ip sym (dso)`` after a tracepoint payload with
    -F +ip,sym,dso; the per-line path splits it off (callchain.sample_tail)."""
    tail = LINE + " ffffffff81234567 do_user_addr_fault+0x1e3 ([kernel.kallsyms])"
    scan = perf(chunk(f"{LINE}\n{tail}\n{LINE}\n{tail}"))
    assert ints(scan.other_line_no, "q") == [2, 4]
    assert scan.tails == 2 and scan.samples == 0
    assert perf(chunk(LINE + " (x\n")).tails == 0


def test_last_line_without_newline_and_bytearray() -> None:
    data = bytearray(f"{LINE}\n{LINE}".encode())
    scan = perf(Chunk(1, data, 2, terminated=False))
    assert scan.records == 2
    assert strings(scan.payload)[1].endswith("seq=7")


def test_lines_past_the_data_are_empty_and_left_to_python() -> None:
    scan = perf(Chunk(5, f"{LINE}\n".encode(), 3))
    assert ints(scan.line_no, "q") == [5]
    assert ints(scan.other_line_no, "q") == [6, 7]


def test_bad_arguments_raise() -> None:
    v4 = _native.V4Rule(b"p", b"d")
    with pytest.raises(ValueError, match="ids"):
        _native.scan_perf_script(b"", 0, 1, comm=True, ids=3, cpu=True, v4=v4)
    with pytest.raises(TypeError, match="bytes"):
        _native.scan_ftrace(b"", 0, 1, tracecmd=False, systems={"a": "b"}, v4=v4)  # type: ignore[dict-item]


def test_threads_scan_at_once() -> None:
    """The scans release the GIL (ingestion parses on threads): results must not mix."""
    texts = [("\n".join([LINE.replace("4321", str(1000 + k))] * 2000) + "\n") for k in range(4)]
    results: dict[int, list[int]] = {}

    def run(k: int) -> None:
        scan = perf(chunk(texts[k]))
        assert scan.tid is not None
        results[k] = sorted(set(ints(scan.tid.values, "i")))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {k: [1000 + k] for k in range(4)}


@given(st.binary(max_size=3000), st.integers(0, 15))
def test_lines_are_counted_as_bytes_count_counts_them(blob: bytes, skip: int) -> None:
    """count_lines (formats/lines.py cuts chunks with it) at any alignment."""
    data = b"\n" * 2100 + blob  # past 255 words: the lane sums carry over
    assert _native.count_lines(data[skip:]) == data[skip:].count(b"\n")
    assert _native.count_lines(bytearray(blob)) == blob.count(b"\n")


@pytest.mark.parametrize("n", [63, 64, 65, 4031, 4032, 4033, 4095, 4096, 4097, 3 * 4096 + 77])
@pytest.mark.parametrize("skip", [0, 1, 15])
def test_every_byte_a_newline_is_counted(n: int, skip: int) -> None:
    """The widest case for the SIMD byte counters (one newline per byte, at block
    sizes around 64 bytes and 63 * 64 bytes, where the counters are summed): a
    counter that wrapped would lose 256 newlines."""
    data = b"x" * skip + b"\n" * n + b"x\n"[: skip % 2 + 1]
    assert _native.count_lines(data[skip:]) == data[skip:].count(b"\n")
    assert _native.count_lines(data) == data.count(b"\n")


PIECES = st.sampled_from(
    [LINE, " ", ":", ": ", "-", "1", "[0]", "=", "vma:", "\\", "\t", "\r", "\x00", "é", "\n", "x"]
)


@pytest.mark.parametrize("grammar", ["perf-script", "ftrace", "trace-cmd"])
@given(pieces=st.lists(PIECES, max_size=30), extra=st.integers(0, 2), first=st.integers(1, 99))
def test_every_line_is_a_record_or_left_over(
    grammar: str, pieces: list[str], extra: int, first: int
) -> None:
    """On any bytes: each line is exactly one of a record or a left-over line, in
    order, with its byte range; the buffers make valid Arrow columns."""
    data = "".join(pieces).encode("utf-8", "surrogateescape")
    n = data.count(b"\n") + (0 if data.endswith(b"\n") else 1) + extra
    c = Chunk(first, data, n, terminated=data.endswith(b"\n"))
    s = Scanners()
    scan = (
        s.perf_script(c, comm=True, ids=2, cpu=True)
        if grammar == "perf-script"
        else s.ftrace(c, tracecmd=grammar == "trace-cmd")
    )
    got = ints(scan.line_no, "q")
    other = ints(scan.other_line_no, "q")
    assert sorted(got + other) == list(range(first, first + n))
    assert got == sorted(got) and other == sorted(other)
    for a, b in zip(ints(scan.other_start, "q"), ints(scan.other_end, "q"), strict=True):
        assert 0 <= a <= b <= len(data) and b"\n" not in data[a:b]
    for col in record_columns(scan, v4=False).values():
        col.validate(full=True)
        assert len(col) == scan.records


def test_recycled_buffers_carry_nothing_over() -> None:
    """A chunk's large buffers go back to a pool for the next chunk's (tracetext.c
    pool_get): a chunk whose records have every field set, dropped, then one of the
    same size whose records have none must read as all null (hand-derived: the
    second payload has no ip, vma or address)."""
    full = (LINE + "\n") * 9000
    bare = LINE.split("pagefault:")[0] + "pagefault:spf_vma_changed: seq=7" + " " * 55 + "\n"
    for _ in range(3):  # the first scan's buffers are made, the later ones recycled
        scan = perf(chunk(full))
        assert scan.records == 9000
        del scan
        scan = perf(chunk(bare * 9000))
        assert scan.records == 9000
        cols = record_columns(scan, v4=False)
        for name in ("ip", "vm_start", "vm_end", "address"):
            assert cols[name].null_count == 9000, name
        assert set(cols["payload"].to_pylist()) == {"seq=7" + " " * 55}
        assert cols["fields"][0].as_py() == [("seq", "7")]
        assert ints(scan.ts.values, "q") == [12345_678901000] * 9000


def test_a_typed_column_begun_late_is_null_before_it() -> None:
    """A typed column is written from the first record that has it on (tracetext.c
    put_typed): the records before it read null, those after it as they are, and a
    column no record has comes back as None and reads all null (hand-derived from
    the payloads: address= in lines 3 and 5 only, vm_start in none)."""
    head = LINE.split("pagefault:")[0] + "pagefault:spf_vma_changed: "
    payloads = ["seq=1", "seq=2", "address=0x1000", "seq=4", "address=0x7f12a0001000 seq=5"]
    for rows in (payloads, payloads * 40):  # * 40: past a bitmap's first byte
        scan = perf(chunk("".join(f"{head}{p}\n" for p in rows)))
        assert scan.records == len(rows)
        assert scan.typed["vm_start"] is None and scan.typed["ip"] is None
        cols = record_columns(scan, v4=False)
        for col in cols.values():
            col.validate(full=True)
        want = [None, None, 0x1000, None, 0x7F12A0001000] * (len(rows) // 5)
        assert cols["address"].to_pylist() == want
        assert cols["vm_start"].to_pylist() == [None] * len(rows)
        assert cols["ip"].null_count == len(rows)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("ffff88810006a580", 0xFFFF88810006A580),
        ("FFFF88810006A580", 0xFFFF88810006A580),
        ("0xffff88810006a580", 0xFFFF88810006A580),  # 16 digits after the 0x
        ("0123456789abcdef", 0x0123456789ABCDEF),
        ("ffffffffffffffff", 2**64 - 1),
        ("0000000000000000", 0),
        ("ffff88810006a58g", None),  # the byte after 'f'
        ("ffff88810006a58G", None),
        ("ffff88810006a58@", None),  # the bytes either side of 'A' and 'a' ...
        ("ffff88810006a58`", None),
        ("ffff88810006a58/", None),  # ... and of '0' and '9'
        ("ffff88810006a58:", None),
        ("fffff88810006a580", None),  # 17 digits
        ("xffff88810006a58", None),
    ],
)
def test_sixteen_hex_digits(text: str, want: int | None) -> None:
    """An address of sixteen digits is read sixteen bytes at once (tracetext.c
    hexval): tracetext._hex's ``^(?:0x)?([0-9a-fA-F]{1,16})$`` decides, by hand."""
    head = LINE.split("pagefault:")[0] + "pagefault:spf_vma_changed: "
    scan = perf(chunk(f"{head}address={text} seq=1\n"))
    assert scan.records == 1
    assert record_columns(scan, v4=False)["address"].to_pylist() == [want]
