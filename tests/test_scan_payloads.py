"""The compiled scanners' payload decoding at the sizes its SSE2 paths switch on
(tracetext.c: payloads of at most 64 bytes by bit masks, hex values by the
sixteen bytes ending at them), held to the per-line Python path
(tracetext.decode_payload), which is the reference: every payload length from 0
to 80 bytes, each kind of token, and a refused byte at every position.  With
SPFTRACE_NO_NATIVE both sides are the per-line path and the equality is trivial."""

from __future__ import annotations

import pytest

from spftrace import _native
from spftrace.formats.lines import Chunk
from spftrace.formats.tracetext import Scanners

from .test_traces import norm, via

HEAD = "          ebizzy  4321 [003] 12345.678901: pagefault:spf_vma_changed: "
#: tokens of every kind decode_payload tells apart (typed, bool, vma, other, bare,
#: "word:", empty key, ':' pairs, a second '=' in the value)
TOKENS = (
    "ip=0xffffffff8123abcd", "address:7f12a0001000", "mm=0x6", "error_code=0x",
    "vma:7f12a0000000-7f12a8000000", "vma=1234567890123-7f00", "vma=12", "write=true",
    "success=false", "write=maybe", "seq=7", "a=b=c", "word:", "=x", ":y", "bare", "k:v:w",
    "x=", "ip=0x1g",
)  # fmt: skip


def payloads() -> list[str]:
    """Every length from 0 to 80 bytes, made of the tokens above (single and double
    spaces between them), cut where the length says."""
    out = []
    for n in range(81):
        for k in range(len(TOKENS)):
            text = ""
            while len(text) < n:
                text += TOKENS[(k + len(text)) % len(TOKENS)] + (" " if len(text) % 3 else "  ")
            out.append(text[:n])
    return out


def lines_of(payloads: list[str]) -> bytes:
    return "".join(f"{HEAD}{p}\n" for p in payloads).encode()


def test_payloads_of_every_length_decode_as_the_per_line_path_does() -> None:
    data = lines_of(payloads())
    a, b = via("perf-script", data, True), via("perf-script", data, False)
    assert not a.rejects and not b.rejects
    assert norm(a.rows) == norm(b.rows)


@pytest.mark.skipif(_native.disabled(), reason="SPFTRACE_NO_NATIVE: the core is off")
def test_clean_payloads_are_all_taken_by_the_scanner() -> None:
    data = lines_of(payloads())
    n = data.count(b"\n")
    scan = Scanners().perf_script(Chunk(1, data, n, True), comm=True, ids=1, cpu=True)
    assert scan.records == n and not scan.other_line_no


@pytest.mark.parametrize("bad", ["\t", "\r", "\x7f", "\\", "é", "\x01"])
def test_a_refused_byte_anywhere_in_a_payload(bad: str) -> None:
    """At every position of payloads from 1 to 80 bytes: the scanner leaves the
    line to the per-line path (a byte outside printable ASCII, or a backslash),
    which then reads it as it reads it alone."""
    base = "mm=0xffff88810006a580 memcg_id=2972 write=true success=true seq=7 x=yz q"
    texts = [base[:n][:k] + bad + base[:n][k + 1 :] for n in range(1, 81) for k in range(n)]
    data = lines_of(texts)
    if not _native.disabled():
        n = data.count(b"\n")
        scan = Scanners().perf_script(Chunk(1, data, n, True), comm=True, ids=1, cpu=True)
        assert scan.records == 0 and len(scan.other_line_no) // 8 == n
    a, b = via("perf-script", data, True), via("perf-script", data, False)
    assert norm(a.rows) == norm(b.rows)
    assert [(r.line_no, r.reason) for r in a.rejects] == [(r.line_no, r.reason) for r in b.rejects]


@pytest.mark.parametrize("digits", range(0, 18))
def test_hex_values_of_every_width_near_the_line_start(digits: int) -> None:
    """Hex values of 0 to 17 digits, at the line's start (no comm, ids or cpu:
    fewer than sixteen bytes before the value's end, where the scanner reads it
    a byte at a time) and after a long prefix (sixteen at once)."""
    value = "0123456789abcdefABCDEF"[:digits]
    for head in ("1.5: x:y: ", HEAD):  # (a:b would be a sample event: b is a modifier)
        data = "".join(
            f"{head}{key}{v}\n" for v in (value, "0x" + value) for key in ("ip=", "mm:", "x=1 ip=")
        ).encode()
        a, b = via("perf-script", data, True), via("perf-script", data, False)
        assert norm(a.rows) == norm(b.rows)
        want = int(value, 16) if 1 <= digits <= 16 else None
        assert [r["ip"] if r["ip"] is not None else r["mm"] for r in a.rows] == [want] * 6


@pytest.mark.parametrize("sec_digits", range(1, 11))
def test_times_of_every_width(sec_digits: int) -> None:
    """The time right before the first ': ' is read from the sixteen bytes before it
    (tracetext.c perf_line) or, where those do not hold it all, a byte at a time:
    1-10 digits of seconds (10 is not a record of the fast path: the per-line path
    decides) and 1-17 of fraction (past 9 truncated), after a long prefix and
    after none.  Expected: sec * 10**9 + the fraction's first 9 digits, by hand."""
    sec = "1234567890"[:sec_digits]
    for head in ("", "          ebizzy  4321 [003] "):
        lines, want = [], []
        for frac_digits in range(1, 18):
            frac = "98765432101234567"[:frac_digits]
            lines.append(f"{head}{sec}.{frac}: x:y: seq=1")
            want.append(int(sec) * 10**9 + int(frac[:9].ljust(9, "0")))
        data = ("\n".join(lines) + "\n").encode()
        a, b = via("perf-script", data, True), via("perf-script", data, False)
        assert norm(a.rows) == norm(b.rows)
        assert [r.line_no for r in a.rejects] == [r.line_no for r in b.rejects]
        if sec_digits <= 9:
            assert [r["ts"] for r in a.rows] == want
