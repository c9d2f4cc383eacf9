"""The tracepoint format decoder: format files, payload rendering, typed columns, symbols.

Expected values are derived by hand from the kernel's TRACE_EVENT definitions
(reference/kernel-formats.md §1.1 for pagefault:spf_*, the memcg_path form of
mmap_lock before late 2024), from Python's own printf-style ``%`` (C semantics for
d i u x X o with flags and widths), and from the text path's reading of the same
payload text (parsers/tracetext.py decode_payload).
"""

from __future__ import annotations

import io
import lzma
import struct
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from spftrace.formats.kallsyms import perf_symbols, tep_symbols
from spftrace.formats.trace_dat.header import read_dat_header
from spftrace.formats.tracefs_format import Formats, Records, parse_format
from spftrace.formats.tracefs_rows import EventDecoder
from spftrace.formats.tracetext import decode_payload

COMMON = """\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;
"""
SPF = (
    "name: spf_vma_changed\nID: 1234\nformat:\n" + COMMON + "\n"
    "\tfield:unsigned long caller;\toffset:8;\tsize:8;\tsigned:0;\n"
    "\tfield:unsigned long vm_start;\toffset:16;\tsize:8;\tsigned:0;\n"
    "\tfield:unsigned long vm_end;\toffset:24;\tsize:8;\tsigned:0;\n"
    "\tfield:unsigned long address;\toffset:32;\tsize:8;\tsigned:0;\n\n"
    'print fmt: "ip:%lx vma:%lx-%lx address:%lx", REC->caller, REC->vm_start, '
    "REC->vm_end, REC->address\n"
)
MEMCG = (
    "name: mmap_lock_start_locking\nID: 77\nformat:\n" + COMMON + "\n"
    "\tfield:struct mm_struct * mm;\toffset:8;\tsize:8;\tsigned:0;\n"
    "\tfield:__data_loc char[] memcg_path;\toffset:16;\tsize:4;\tsigned:0;\n"
    "\tfield:bool write;\toffset:20;\tsize:1;\tsigned:0;\n\n"
    'print fmt: "mm=%p memcg_path=%s write=%s", REC->mm, __get_str(memcg_path), '
    'REC->write ? "true" : "false"\n'
)


def records(payloads: list[bytes]) -> Records:
    buf = b"".join(payloads)
    starts = np.cumsum([0] + [len(p) for p in payloads[:-1]]).astype(np.int64)
    lens = np.array([len(p) for p in payloads], np.int64)
    return Records(np.frombuffer(buf, np.uint8), starts, lens, False)


def spf_payload(caller: int, start: int, end: int, addr: int) -> bytes:
    return struct.pack("<HBBiQQQQ", 1234, 0, 0, 42, caller, start, end, addr)


def decode(fmt_text: str, payloads: list[bytes], system: str = "s") -> tuple[list[str], dict, list]:  # type: ignore[type-arg]
    fmt = parse_format(fmt_text, system)
    dec = EventDecoder({fmt.id: fmt})
    er = dec.decode(fmt, records(payloads))
    texts = [p.decode() for p in er.payload.to_list()]
    fields = [
        list(
            zip([k.decode() for k in er.keys], [v.row(i).decode() for v in er.values], strict=True)
        )
        for i in range(len(payloads))
    ]
    for i, pairs in er.row_fields.items():
        fields[i] = [(k.decode(), v.decode()) for k, v in pairs]
    typed = {
        k: [
            bool(o) and (bool(v) if v.dtype == bool else int(v))
            for v, o in zip(*er.typed[k], strict=True)
        ]
        for k in er.typed
    }
    return texts, typed, fields


def test_spf_events_render_and_fill_typed_columns() -> None:
    p = spf_payload(0xFFFFFFFF8123ABCD, 0x7F0000000000, 0x7F0000021000, 0x7F0000000123)
    texts, typed, fields = decode(SPF, [p] * 70, "pagefault")  # >64: distinct-args path too
    assert texts[0] == "ip:ffffffff8123abcd vma:7f0000000000-7f0000021000 address:7f0000000123"
    assert typed["ip"][0] == 0xFFFFFFFF8123ABCD and typed["vm_start"][0] == 0x7F0000000000
    assert typed["vm_end"][0] == 0x7F0000021000 and typed["address"][0] == 0x7F0000000123
    assert fields[0] == []
    d = decode_payload(texts[0])  # the text path reads the same numbers from the text
    assert (d["ip"], d["vm_start"], d["vm_end"], d["address"]) == (
        typed["ip"][0],
        typed["vm_start"][0],
        typed["vm_end"][0],
        typed["address"][0],
    )


def test_spf_v4_decimal_vma_start_keeps_its_value() -> None:
    v4 = SPF.replace('"ip:%lx vma:%lx-%lx', '"ip:%lx vma:%lu-%lx')
    texts, typed, _ = decode(v4, [spf_payload(0x1, 139637976727552, 0x7F0000021000, 0x5)])
    assert texts[0] == "ip:1 vma:139637976727552-7f0000021000 address:5"
    assert typed["vm_start"][0] == 139637976727552
    assert decode_payload(texts[0], v4=True)["vm_start"] == 139637976727552


def memcg_payload(mm: int, path: bytes, write: bool) -> bytes:
    fixed = 24
    loc = (len(path) + 1) << 16 | fixed
    return struct.pack("<HBBiQIB3x", 77, 0, 0, 7, mm, loc, write) + path + b"\0"


def test_data_loc_strings_and_booleans() -> None:
    rows = [
        memcg_payload(0xFFFF888103B7B200, b"/user.slice", True),
        memcg_payload(0, b"", False),
        memcg_payload(0x10, b"/odd path", True),  # a blank: the text path splits it
    ]
    texts, typed, fields = decode(MEMCG, rows)
    assert texts == [
        "mm=0xffff888103b7b200 memcg_path=/user.slice write=true",
        "mm=(nil) memcg_path= write=false",
        "mm=0x10 memcg_path=/odd path write=true",
    ]
    assert typed["mm"] == [0xFFFF888103B7B200, 0, 0x10]
    assert typed["write"] == [True, False, True]
    for text, got in zip(texts, fields, strict=True):
        assert got == decode_payload(text)["fields"]


def test_short_records_do_not_read_past_their_end() -> None:
    full = spf_payload(0xAB, 0x1000, 0x2000, 0x1800)
    texts, typed, _ = decode(SPF, [full[:20], full])
    assert texts[1].startswith("ip:ab ")
    assert typed["ip"][1] == 0xAB


FLAGS = (
    "name: f\nID: 5\nformat:\n" + COMMON + "\n"
    "\tfield:unsigned long flags;\toffset:8;\tsize:8;\tsigned:0;\n"
    "\tfield:int state;\toffset:16;\tsize:4;\tsigned:1;\n"
    "\tfield:char comm[16];\toffset:20;\tsize:16;\tsigned:0;\n\n"
    'print fmt: "flags=%s state=%s v=%d comm=%s", __print_flags(REC->flags, "|", '
    '{ 0x1, "READ" }, { 0x2, "WRITE" }, { 0x8, "EXEC" }), __print_symbolic(REC->state, '
    '{ 0, "RUNNING" }, { 1, "SLEEPING" }), REC->state, REC->comm\n'
)


def flag_payload(flags: int, state: int, comm: bytes) -> bytes:
    return struct.pack("<HBBiQi16s", 5, 0, 0, 1, flags, state, comm)


def test_print_flags_and_symbolic_as_libtraceevent() -> None:
    texts, _, _ = decode(FLAGS, [
        flag_payload(0x3, 0, b"bash"), flag_payload(0x0, 1, b"x"),
        flag_payload(0x19, 7, b"sixteen-chars-xx"), flag_payload(0x8, -1, b"a\0b"),
    ])  # fmt: skip
    assert texts == [
        "flags=READ|WRITE state=RUNNING v=0 comm=bash",
        "flags= state=SLEEPING v=1 comm=x",
        "flags=READ|EXEC|0x10 state=0x7 v=7 comm=sixteen-chars-xx",
        # a field is read unsigned at its size (eval_num_arg's tep_read_number); %d casts
        "flags=EXEC state=0xffffffff v=-1 comm=a",
    ]


NUM = (
    "name: n\nID: 9\nformat:\n" + COMMON + "\n"
    "\tfield:u64 v;\toffset:8;\tsize:8;\tsigned:0;\n\n"
    'print fmt: "%s", REC->v\n'
)


@given(
    conv=st.sampled_from("diuxXo"),
    flags=st.sets(st.sampled_from("-0#+ "), max_size=3),
    width=st.one_of(st.none(), st.integers(1, 24)),
    length=st.sampled_from(["", "l", "ll", "h", "hh"]),
    v=st.integers(0, 2**64 - 1),
)
def test_numeric_conversions_match_printf(
    conv: str, flags: set[str], width: int | None, length: str, v: int
) -> None:
    spec = "%" + "".join(sorted(flags)) + (str(width) if width else "") + length + conv
    fmt = NUM.replace('"%s"', f'"{spec}"')
    texts, _, _ = decode(fmt, [struct.pack("<HBBiQ", 9, 0, 0, 0, v)])
    bits = {"": 32, "l": 64, "ll": 64, "h": 16, "hh": 8}[length]
    x = v & ((1 << bits) - 1)
    if conv in "di" and x >= 1 << (bits - 1):
        x -= 1 << bits
    # C: '+' and ' ' only for signed conversions; '#' adds no prefix to zero, and
    # "%#o" is "0" + digits where Python writes "0o"
    pyflags = "".join(f for f in sorted(flags) if conv in "di" or f not in "+ ")
    if x == 0 or conv == "o":
        pyflags = pyflags.replace("#", "")
    if conv == "o" and "#" in flags and x:
        digits = "0" + format(x, "o")
        want = f"{digits:{'<' if '-' in flags else '>'}{width or 0}}"
        if "0" in flags and "-" not in flags:
            want = digits.rjust(width or 0, "0")
        assert texts[0] == want
        return
    assert texts[0] == ("%" + pyflags + (str(width) if width else "") + conv.replace("u", "d")) % x


def test_pointer_function_and_nil() -> None:
    kallsyms = (
        b"ffffffff81000000 T _text\nffffffff81001000 T do_fault\nffffffff81002000 t next_one\n"
    )
    syms = perf_symbols(kallsyms)
    fmt_text = NUM.replace('"%s", REC->v', '"a=%ps b=%pS c=%p", REC->v, REC->v, REC->v')
    fmt = parse_format(fmt_text, "x")
    dec = EventDecoder({9: fmt}, resolve=syms.resolve)
    rows = [struct.pack("<HBBiQ", 9, 0, 0, 0, v) for v in (0xFFFFFFFF81001234, 0x55, 0)]
    got = [p.decode() for p in dec.decode(fmt, records(rows)).payload.to_list()]
    assert got == [
        "a=do_fault b=do_fault+0x234 c=0xffffffff81001234",
        "a=0x55 b=0x55 c=0x55",
        "a=0x0 b=0x0 c=(nil)",
    ]


def test_kallsyms_lookups_follow_each_tool() -> None:
    text = (
        b"ffffffff81000000 T _stext\nffffffff81000000 t __pfx_start\n"
        b"ffffffff81000000 T _text\nffffffff81000100 W weak_one\nffffffff81000100 T strong_one\n"
        b"ffffffff81000200 A abs_sym\nffffffff81000300 r rodata_sym\nffffffff81000400 T last\n"
    )
    base = 0xFFFFFFFF81000000
    addrs = np.array([base + o for o in (0x10, 0x150, 0x210, 0x310, 0x500, 0x2000)], np.uint64)
    perf, _ = perf_symbols(text).resolve(addrs)
    # perf: T/W/D/B only; of _stext/_text (both global, no leading '_' difference) the longer
    # name; strong over weak; the last symbol ends at the page after it
    assert perf == [b"_stext", b"strong_one", b"strong_one", b"strong_one", b"last", None]
    tep, _ = tep_symbols(text).resolve(addrs)
    # libtraceevent: every type but A/a; of equal addresses the first line (sorts last);
    # past the last symbol only its exact address matches
    assert tep == [b"_stext", b"weak_one", b"weak_one", b"rodata_sym", None, None]


def test_kallsyms_duplicate_runs_keep_perfs_choice_in_linear_time() -> None:
    """A run of 200,000 symbols at one start (a hostile kallsyms in a perf.data's
    tracing data): perf's choose_best_symbol keeps the longest name, of equal ones the
    first seen.  Walking back over the dropped ones made this n^2 / 2 steps (hours);
    a regression shows as the suite's timeout."""
    names = [b"x" * (1 + i % 3) for i in range(200_000)]
    text = b"".join(b"ffffffff81000000 t " + n + b"\n" for n in names)
    text += b"ffffffff81000010 t mod_sym\t[m]\n" * 1000  # a module run of its own
    syms = perf_symbols(text)
    assert len(syms) == 2
    assert syms.name(0) == b"xxx"
    # the first "xxx" is the third line: 19 bytes of address and type, then the names
    assert int(syms.name_at[0][0]) == (19 + 2) + (19 + 3) + 19
    assert syms.name(1) == b"mod_sym" and bool(syms.module[1])


def test_kallsyms_text_of_millions_of_empty_lines_parses_in_bounded_memory() -> None:
    """The per-line arrays are built per block: 5M empty lines (a reduced fixture's
    kallsyms, a damaged file) took 170 MB at once; the symbols are those of the same
    text without the empty lines."""
    import tracemalloc

    dense = b"ffffffff81000000 T _stext\nffffffff81000100 T last\n"
    text = dense[:26] + b"\n" * 5_000_000 + dense[26:]
    tracemalloc.start()
    try:
        syms = tep_symbols(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    want = tep_symbols(dense)
    assert [syms.name(i) for i in range(len(syms))] == [want.name(i) for i in range(len(want))]
    assert syms.starts.tolist() == want.starts.tolist()
    assert peak < 32 << 20, peak  # the text is 5 MB; blocks of 256 KiB


def test_every_format_of_a_real_kernel_parses() -> None:
    raw = lzma.decompress(
        (Path(__file__).with_name("data") / "trace_dat" / "extract-v6.dat.xz").read_bytes()
    )
    td = read_dat_header(io.BytesIO(raw)).td
    formats = Formats(td.formats)
    assert len(formats.raw) > 2000 and formats.bad == 0
    ids = list(formats.raw)
    dec = EventDecoder(formats)
    parsed = [formats.get(i) for i in ids]
    assert all(p is not None for p in parsed) and formats.bad == 0
    ok = {p.full_name: dec.program(p) is not None for p in parsed if p is not None}
    assert all(v for k, v in ok.items() if k.startswith(("exceptions:", "mmap_lock:")))
    # the rest: 88% of this kernel's 2,323 print fmts (the others use %pU/%pI, '*'
    # widths, array indexing or enum names; they are printed as field lists)
    assert sum(ok.values()) / len(ok) > 0.85
