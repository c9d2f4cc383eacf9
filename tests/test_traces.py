"""Tracepoint text: perf script, ftrace and trace-cmd report.

The columnar path (the compiled C scanners of spftrace/_native) and the
per-line path (the reference) must give the same rows; renderings of one
recording must agree on every field they share; random events rendered with
the kernel's / perf's printf formats must parse back exactly.  With
SPFTRACE_NO_NATIVE=1 (``make test-pure``) both paths are the per-line one, and
the tests check that nothing takes the compiled path.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spftrace import _native
from spftrace.formats import FORMATS as REGISTRY
from spftrace.formats.lines import Chunk
from spftrace.formats.tracetext import TraceTextParser, decode_payload
from spftrace.kernel import full_event_name

from .helpers import DATA, Parsed, parse_path

TRACES = DATA / "traces"
FORMATS = {"perf-script": "perf-script", "ftrace": "ftrace", "trace-cmd": "trace-cmd"}
#: every real capture: the golden inputs, and the one the package ships for `demo`
SHIPPED = Path(_native.__file__).parents[1] / "samples" / "capture" / "mtfault-perf-script.txt"
CAPTURES = [
    *((fmt, p) for fmt in FORMATS for p in sorted(TRACES.glob(f"{fmt}-*.txt"))),
    ("perf-script", SHIPPED),
]


def test_compiled_core_is_used_unless_switched_off() -> None:
    """A build that lost its C core would pass every equality test below (both
    sides the per-line path), only slowly: it must fail here instead."""
    if _native.disabled():
        assert not _native.AVAILABLE
    else:
        assert _native.AVAILABLE, _native.REASON


def via(fmt: str, data: bytes, columnar: bool) -> Parsed:
    """Parse bytes through the columnar path (Chunk.arrow) or the per-line path."""
    parser = make_parser(fmt)
    parser._VECTOR_MIN_LINES = 1 if columnar else 10**12
    chunk = Chunk(
        1, data, data.count(b"\n") + (0 if data.endswith(b"\n") else 1), data.endswith(b"\n")
    )
    return Parsed([parser.feed(chunk), parser.close()], parser)


def make_parser(fmt: str) -> TraceTextParser:
    factory = REGISTRY[fmt].parser
    assert factory is not None
    parser = factory()
    assert isinstance(parser, TraceTextParser)
    return parser


#: columns a batch may leave out: the writer stores them as nulls (tracetext.text_schema)
_OPTIONAL = ("period", "sym", "dso", "callchain")


def norm(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**dict.fromkeys(_OPTIONAL), **r, "fields": sorted(r["fields"] or [])} for r in rows]


@pytest.mark.parametrize(("fmt", "path"), CAPTURES, ids=[p.name for _, p in CAPTURES])
def test_columnar_equals_per_line(fmt: str, path: Path) -> None:
    data = path.read_bytes()
    a, b = via(fmt, data, True), via(fmt, data, False)
    assert a.record_lines == b.record_lines > 0
    assert (a.ignored, len(a.rejects), a.stats) == (b.ignored, len(b.rejects), b.stats)
    assert norm(a.rows) == norm(b.rows)


SHARED = ("ts", "cpu", "tid", "comm", "event", "payload", "ip", "address", "mm", "write", "success")


def project(p: Parsed, cols: tuple[str, ...], usec: bool = False) -> list[tuple[Any, ...]]:
    out = []
    for r in p.rows:
        vals = dict(r)
        if usec and vals["ts"] is not None:
            vals["ts"] = vals["ts"] // 1000 * 1000
        out.append(tuple(vals[c] for c in cols))
    return out


def test_perf_script_renderings_agree() -> None:
    base = parse_path("perf-script", TRACES / "perf-script-default.txt")
    fields = parse_path("perf-script", TRACES / "perf-script-fields.txt")
    header = parse_path("perf-script", TRACES / "perf-script-header.txt")
    ns = parse_path("perf-script", TRACES / "perf-script-ns.txt")
    ns_default = parse_path("perf-script", TRACES / "perf-script-ns-default.txt")
    pid_only = parse_path("perf-script", TRACES / "perf-script-pid-only.txt")
    no_comm = parse_path("perf-script", TRACES / "perf-script-no-comm.txt")
    assert len(base.rows) == 324
    assert project(base, SHARED) == project(fields, SHARED) == project(header, SHARED)
    mt = [r for r in fields.rows if r["comm"] == "mtfault"]
    assert len({r["pid"] for r in mt}) == 1 and len({r["tid"] for r in mt}) == 3  # main + 2 threads
    no_cpu = tuple(c for c in SHARED if c != "cpu")
    # --ns keeps nine digits; the same instants, truncated to microseconds, match
    assert project(ns, no_cpu, usec=True) == project(base, no_cpu)
    assert [r["ts"] for r in ns_default.rows] == [r["ts"] for r in ns.rows]
    assert any(r["ts"] % 1000 for r in ns.rows)  # the extra digits are really there
    # a single id column is stored as tid: it is the tid by default, but with
    # -F comm,pid it is the pid, which the text cannot tell apart
    assert [r["tid"] for r in pid_only.rows] == [r["pid"] for r in fields.rows]
    no_comm_cols = tuple(c for c in SHARED if c != "comm")
    assert project(no_comm, no_comm_cols) == project(base, no_comm_cols)
    assert header.meta["kernel"] and "perf record" in header.meta["command"]


def test_trace_cmd_report_with_and_without_l_agree() -> None:
    a = parse_path("trace-cmd", TRACES / "trace-cmd-report.txt")
    b = parse_path("trace-cmd", TRACES / "trace-cmd-report-l.txt")
    assert len(a.rows) > 300
    assert project(a, SHARED) == project(b, SHARED)


def test_trace_cmd_drops_are_counted_not_rejected() -> None:
    p = parse_path("trace-cmd", TRACES / "trace-cmd-report-overflow.txt")
    text = (TRACES / "trace-cmd-report-overflow.txt").read_text()
    import re

    dropped = sum(int(n) for n in re.findall(r"\[(\d+) EVENTS DROPPED\]", text))
    assert dropped > 0 and p.stats["events_dropped"] == dropped
    assert not p.rejects


def test_ftrace_layouts_agree_on_content() -> None:
    plain = parse_path("ftrace", TRACES / "ftrace-trace.txt")
    for name in ("ftrace-trace-noirq.txt", "ftrace-trace-tgid.txt", "ftrace-trace-tgid-noirq.txt"):
        other = parse_path("ftrace", TRACES / name)
        assert other.record_lines > 300 and not other.rejects
        assert {r["event"] for r in other.rows} == {r["event"] for r in plain.rows}
    tgid = parse_path("ftrace", TRACES / "ftrace-trace-tgid.txt")
    assert all(r["pid"] is not None for r in tgid.rows if r["comm"] == "mtfault")
    counter = parse_path("ftrace", TRACES / "ftrace-trace-counter-clock.txt")
    assert all(r["ts"] < 10**7 for r in counter.rows)  # counter ticks, not ns


def test_ftrace_event_names_are_qualified() -> None:
    assert full_event_name("page_fault_user") == "exceptions:page_fault_user"
    assert full_event_name("spf_vma_changed") == "pagefault:spf_vma_changed"
    assert full_event_name("mmap_lock_released") == "mmap_lock:mmap_lock_released"
    assert full_event_name("sched_switch") == "sched_switch"  # unknown: kept as written


# --- payload decoding ---------------------------------------------------------------

SPF_FMT = "ip:{ip:x} vma:{s:x}-{e:x} address:{a:x}"
SPF_V4_FMT = "ip:{ip:x} vma:{s:d}-{e:x} address:{a:x}"


def test_decode_spf_payloads() -> None:
    d = decode_payload(
        SPF_FMT.format(ip=0xFFFFFFFF8123ABCD, s=0x7F12A0000000, e=0x7F12A8000000, a=0x7F12A0001000)
    )
    assert (d["ip"], d["vm_start"], d["vm_end"], d["address"]) == (
        0xFFFFFFFF8123ABCD, 0x7F12A0000000, 0x7F12A8000000, 0x7F12A0001000,
    )  # fmt: skip
    v4 = SPF_V4_FMT.format(ip=1, s=0x7F12A0000000, e=0x7F12A8000000, a=2)
    assert decode_payload(v4, v4=True)["vm_start"] == 0x7F12A0000000


def test_decode_fault_and_mmap_lock_payloads() -> None:
    d = decode_payload("address=0x7f3a1c000000 ip=0x55d0c0de1234 error_code=0x6")
    assert (d["address"], d["ip"], d["error_code"]) == (0x7F3A1C000000, 0x55D0C0DE1234, 6)
    d = decode_payload("address=0xffffc90000abc000 ip=clear_user_erms+0x9 error_code=0x2")
    assert d["ip"] is None and d["address"] == 0xFFFFC90000ABC000  # %ps symbol: payload keeps it
    d = decode_payload(
        "mm=0xffff888104401f40 memcg_path=/sys/fs/cgroup/a b write=true success=false"
    )
    assert (d["mm"], d["write"], d["success"]) == (0xFFFF888104401F40, True, False)
    assert ("memcg_path", "/sys/fs/cgroup/a") in d["fields"]
    d = decode_payload("mm=00000000375918cf memcg_id=2741 write=false")
    assert d["mm"] == 0x375918CF and d["fields"] == [("memcg_id", "2741")]


# --- hypothesis round trips -----------------------------------------------------------

COMM_CHARS = string.ascii_letters + string.digits + " -_:/.#()[]"
COMM = st.text(COMM_CHARS, min_size=1, max_size=16).filter(
    lambda s: s == s.strip() and "  " not in s
)
U64 = st.integers(0, 2**64 - 1)
USER = st.integers(0x1000, 2**47 - 1)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["spf", "fault", "lock", "lock_ret", "other"]))
    if kind == "spf":
        name = draw(
            st.sampled_from(
                ["spf_vma_changed", "spf_vma_notsup", "spf_pmd_changed", "spf_pte_lock"]
            )
        )
        ip, s, a = draw(U64), draw(USER), draw(USER)
        e = s + draw(st.integers(0x1000, 2**30))
        payload = SPF_FMT.format(ip=ip, s=s, e=e, a=a)
        want = {"ip": ip, "vm_start": s, "vm_end": e, "address": a}
    elif kind == "fault":
        name = "page_fault_user"
        a, ip, ec = draw(USER), draw(USER), draw(st.integers(0, 0x3F))
        payload = f"address=0x{a:x} ip=0x{ip:x} error_code=0x{ec:x}"
        want = {"address": a, "ip": ip, "error_code": ec}
    elif kind in ("lock", "lock_ret"):
        mm, w = draw(U64), draw(st.booleans())
        name = "mmap_lock_acquire_returned" if kind == "lock_ret" else "mmap_lock_start_locking"
        payload = f"mm=0x{mm:x} memcg_id={draw(st.integers(0, 99999))} write={str(w).lower()}"
        want = {"mm": mm, "write": w}
        if kind == "lock_ret":
            ok = draw(st.booleans())
            payload += f" success={str(ok).lower()}"
            want["success"] = ok
    else:
        name = "sched_switch"
        payload = f"prev_comm=a prev_pid={draw(st.integers(0, 9999))} next_comm=b"
        want = {}
    return {
        "name": name,
        "payload": payload,
        "want": want,
        "comm": draw(COMM),
        "pid": draw(st.integers(1, 4194304)),
        "cpu": draw(st.integers(0, 511)),
        "sec": draw(st.integers(0, 10**7)),
        "usec": draw(st.integers(0, 999999)),
        "nsec": draw(st.integers(0, 999999999)),
    }


def render(fmt: str, e: dict[str, Any], variant: str) -> tuple[str, int]:
    name = full_event_name(e["name"])
    if name == "sched_switch":
        name = "sched:sched_switch"
    if fmt == "perf-script":
        if variant == "ns":
            t, ts = f"{e['sec']}.{e['nsec']:09d}", e["sec"] * 10**9 + e["nsec"]
            return f"{e['comm']:>16} {e['pid']:7d} {t:>12}: {name:>36}: {e['payload']}", ts
        t, ts = f"{e['sec']}.{e['usec']:06d}", e["sec"] * 10**9 + e["usec"] * 1000
        ids = f"{e['pid']:7d}/{e['pid']:<7d}" if variant == "pidtid" else f"{e['pid']:5d}"
        return f"{e['comm']:>16} {ids} [{e['cpu']:03d}] {t:>12}: {name:>36}: {e['payload']}", ts
    t, ts = f"{e['sec']:5d}.{e['usec']:06d}", e["sec"] * 10**9 + e["usec"] * 1000
    bare = e["name"]
    if fmt == "ftrace":
        tgid = f"({e['pid']:7d}) " if variant == "tgid" else ""
        flags = "d..1. " if variant in ("irq", "tgid") else ""
        return (
            f"{e['comm']:>16}-{e['pid']:<7d} {tgid}[{e['cpu']:03d}] {flags}{t}: "
            f"{bare}: {e['payload']}",
            ts,
        )
    inst = "spf: " if variant == "instance" else ""
    return (
        f"{inst}{e['comm']:>16}-{e['pid']:<5d} [{e['cpu']:03d}] {t}: "
        f"{bare + ':':<21}{e['payload']}",
        ts,
    )


VARIANTS = {
    "perf-script": ["default", "pidtid", "ns"],
    "ftrace": ["irq", "noirq", "tgid"],
    "trace-cmd": ["plain", "instance"],
}


@pytest.mark.parametrize("fmt", list(VARIANTS))
@given(data=st.data())
def test_roundtrip(fmt: str, data: st.DataObject) -> None:
    variant = data.draw(st.sampled_from(VARIANTS[fmt]))
    evs = data.draw(st.lists(events(), min_size=1, max_size=12))
    lines, stamps = zip(*(render(fmt, e, variant) for e in evs), strict=True)
    blob = ("cpus=4\n" if fmt == "trace-cmd" else "") + "\n".join(lines) + "\n"
    for columnar in (True, False):
        p = via(fmt, blob.encode(), columnar)
        assert not p.rejects, (columnar, p.rejects[:2])
        assert len(p.rows) == len(evs)
        for e, ts, row in zip(evs, stamps, p.rows, strict=True):
            assert row["ts"] == ts
            assert row["comm"] == e["comm"]
            assert row["tid"] == e["pid"]
            assert row["payload"] == e["payload"]
            if not (fmt == "perf-script" and variant == "ns"):
                assert row["cpu"] == e["cpu"]
            for k, v in e["want"].items():
                assert row[k] == v, (k, columnar)


@pytest.mark.parametrize("fmt", list(VARIANTS))
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(fmt: str, blob: bytes) -> None:
    for columnar in (True, False):
        p = via(fmt, blob, columnar)
        assert p.lines == p.record_lines + p.ignored + len(p.rejects)


# --- the fast path against the per-line path on damaged lines --------------------------

#: the characters the grammars care about, plus a tab, a CR and non-ASCII text
EDIT_CHARS = " :.-/[]()0123456789abx=_\t\ré\\\x7f"


@st.composite
def damaged_lines(draw: st.DrawFn, fmt: str) -> list[str]:
    variant = draw(st.sampled_from(VARIANTS[fmt]))
    lines = [render(fmt, e, variant)[0] for e in draw(st.lists(events(), min_size=2, max_size=8))]
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        at = draw(st.integers(0, len(line)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        ch = draw(st.sampled_from(EDIT_CHARS))
        if op == "insert":
            line = line[:at] + ch + line[at:]
        elif op == "delete":
            line = line[:at] + line[at + 1 :]
        else:
            line = line[:at] + ch + line[at + 1 :]
        lines[i] = line
    return lines


@pytest.mark.parametrize("fmt", list(VARIANTS))
@given(data=st.data())
def test_fast_path_equals_per_line_on_damaged_lines(fmt: str, data: st.DataObject) -> None:
    """The fast path may leave any line to the per-line path, but a line it accepts
    must come out exactly as the per-line path makes it."""
    lines = data.draw(damaged_lines(fmt))
    blob = (("cpus=4\n" if fmt == "trace-cmd" else "") + "\n".join(lines) + "\n").encode()
    a, b = via(fmt, blob, True), via(fmt, blob, False)
    assert norm(a.rows) == norm(b.rows)
    assert [(r.line_no, r.reason) for r in a.rejects] == [(r.line_no, r.reason) for r in b.rejects]
    assert (a.record_lines, a.ignored, a.stats) == (b.record_lines, b.ignored, b.stats)


@pytest.mark.parametrize(("fmt", "path"), CAPTURES, ids=[p.name for _, p in CAPTURES])
def test_fast_path_takes_every_record_of_real_captures(fmt: str, path: Path) -> None:
    """Speed: the compiled scanners must accept every record of a real capture
    (a scanner that refused lines would still pass the equality tests, slowly)."""
    data = path.read_bytes()
    parser = make_parser(fmt)
    ends = data.endswith(b"\n")
    chunk = Chunk(1, data, data.count(b"\n") + (0 if ends else 1), ends)
    fast = parser.fast_columns(chunk)
    if _native.disabled():
        assert fast is None  # switched off: every line takes the per-line path
        return
    assert fast is not None
    expected = len(via(fmt, data, False).rows)  # records (a callchain's frames are record lines)
    assert fast.scan.records == expected > 0


@pytest.mark.parametrize("at", [2, 500])
def test_a_sample_event_anywhere_in_a_chunk_reads_as_the_per_line_path_reads_it(at: int) -> None:
    """Only the first 400 lines of a chunk used to be asked for sample events, so a
    ``page-faults:u`` further down was cut as a tracepoint (its address in the
    payload).  The scanner now counts those it meets and the chunk goes per line:
    the number is the sample's ip (perf prints ``ip [sym] [(dso)]`` without a callchain)."""
    tp = "          app  4321 [003]  1.{:06d}:  exceptions:page_fault_user: address=0x1000 ip=0x2"
    sample = "          app  4321 [003]  1.{:06d}:  page-faults:u:  7f2a00000800"
    lines = [(sample if k == at else tp).format(k) for k in range(1, 601)]
    data = ("\n".join(lines) + "\n").encode()
    a, b = via("perf-script", data, True), via("perf-script", data, False)
    assert norm(a.rows) == norm(b.rows)
    row = a.rows[at - 1]
    assert (row["event"], row["ip"], row["address"]) == ("page-faults:u", 0x7F2A00000800, None)


def test_a_sample_tail_deep_in_a_chunk_is_split_off_as_per_line() -> None:
    """``perf script -F +ip,sym,dso`` ends a tracepoint line with ``ip sym (dso)``:
    the scanner leaves such lines over (it keeps payloads whole), and the chunk
    then takes the per-line path, which splits the tail off."""
    tp = "          app  4321 [003]  1.{:06d}:  exceptions:page_fault_user: address=0x1000 ip=0x2"
    tail = " ffffffff81234567 asm_exc_page_fault+0x26 ([kernel.kallsyms])"
    lines = [tp.format(k) + (tail if k == 500 else "") for k in range(1, 601)]
    data = ("\n".join(lines) + "\n").encode()
    a, b = via("perf-script", data, True), via("perf-script", data, False)
    assert norm(a.rows) == norm(b.rows)
    row = a.rows[499]
    assert (row["payload"], row["dso"]) == ("address=0x1000 ip=0x2", "[kernel.kallsyms]")


@pytest.mark.parametrize("columnar", [True, False])
def test_ids_too_large_for_their_column_are_rejected(columnar: bool) -> None:
    """Found by the damaged-lines test: a 10-digit tid used to crash the table build."""
    ok = "            zz  1234 [000]     5.000001:  exceptions:page_fault_user: address=0x1"
    big = "            zz  2147521475 [000]     5.000002:  exceptions:page_fault_user: address=0x1"
    p = via("perf-script", f"{ok}\n{big}\n".encode(), columnar)
    assert [r["tid"] for r in p.rows] == [1234]
    assert [r.line_no for r in p.rejects] == [2]


@pytest.mark.parametrize("columnar", [True, False])
def test_v4_decimal_vm_start_is_decided_per_chunk(columnar: bool) -> None:
    """A v4 kernel prints every vm_start in decimal; the first record that shows it
    (13+ digits) may come after records whose digits read as hex too. Both paths
    decide for the whole chunk (the damaged-lines test found them disagreeing)."""
    lines = [
        "          app  4321 [003]  1.000001:  pagefault:spf_vma_changed: "
        "ip:ffffffff81000000 vma:1000-2000 address:1800",
        "          app  4321 [003]  1.000002:  pagefault:spf_vma_changed: "
        "ip:ffffffff81000000 vma:139800000000000-7f2a00001000 address:7f2a00000800",
    ]
    p = via("perf-script", ("\n".join(lines) + "\n").encode(), columnar)
    assert [r["vm_start"] for r in p.rows] == [1000, 139800000000000]
    assert [r["vm_end"] for r in p.rows] == [0x2000, 0x7F2A00001000]


@pytest.mark.parametrize("columnar", [True, False])
@pytest.mark.parametrize("fmt", ["ftrace", "trace-cmd"])
def test_v4_decimal_vm_start_of_bare_spf_names(fmt: str, columnar: bool) -> None:
    """ftrace and trace-cmd write SPF events bare (spf_vma_changed); the full name
    pagefault:spf_vma_changed is what shows v4's decimal ``vma:%lu-%lx``.  The
    numba scanner compared the bare name and missed it (found porting it to C)."""
    head = "cpus=4\n" if fmt == "trace-cmd" else ""
    flags = "" if fmt == "trace-cmd" else " ....."
    lines = [
        f"             app-4321  [003]{flags}  1.000001: spf_vma_changed: "
        f"ip:ffffffff81000000 vma:{vma} address:7f2a00000800"
        for vma in ("1000-2000", "139800000000000-7f2a00001000")
    ]
    p = via(fmt, (head + "\n".join(lines) + "\n").encode(), columnar)
    assert [r["event"] for r in p.rows] == ["pagefault:spf_vma_changed"] * 2
    assert [r["vm_start"] for r in p.rows] == [1000, 139800000000000]
    assert [r["vm_end"] for r in p.rows] == [0x2000, 0x7F2A00001000]
