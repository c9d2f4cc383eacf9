"""The numpy decoders against the exact Python definitions they replace."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from spftrace.parsers.base import seconds_to_ns
from spftrace.parsers.vec import dec_i64, hex_u64, seconds_ns

TEXT = st.text("0123456789abcdefABCDEFx.-+ :g", max_size=22)


def ref_hex(s: str | None) -> int | None:
    if s is None:
        return None
    t = s[2:] if s.startswith("0x") and len(s) >= 3 else s
    if not 1 <= len(t) <= 16 or any(c not in "0123456789abcdefABCDEF" for c in t):
        return None
    return int(t, 16)


def ref_dec(s: str | None) -> int | None:
    if s is None:
        return None
    neg = s.startswith("-") and len(s) >= 2
    t = s[1:] if neg else s
    if not 1 <= len(t) <= 18 or not t.isascii() or not t.isdigit():
        return None
    return -int(t) if neg else int(t)


def ref_time(s: str | None) -> int | None:
    if s is None or not s or len(s) > 40:
        return None
    if s.count(".") > 1 or any(c not in "0123456789." for c in s):
        return None
    whole, dot, _ = s.partition(".")
    if len(whole) > (10 if dot else 18):
        return None
    if dot:
        return seconds_to_ns(s) if s != "." else None
    return int(s)


def test_time_edges() -> None:
    check(seconds_ns, ref_time, [".", "1.", ".5", "0.000000001", "12.3456789999", "7", "1.2.3", ""])


def check(fn, ref, values: list[str | None]) -> None:  # type: ignore[no-untyped-def]
    got, ok = fn(pa.array(values, pa.string()))
    for v, g, k in zip(values, got.tolist(), ok.tolist(), strict=True):
        want = ref(v)
        assert (g if k else None) == want, (v, g, k, want)


@given(
    st.lists(
        st.one_of(st.none(), TEXT, st.integers(0, 2**64 - 1).map(lambda i: f"0x{i:x}")), max_size=40
    )
)
def test_hex(values: list[str | None]) -> None:
    check(hex_u64, ref_hex, values)


@given(
    st.lists(st.one_of(st.none(), TEXT, st.integers(-(10**17), 10**18 - 1).map(str)), max_size=40)
)
def test_dec(values: list[str | None]) -> None:
    check(dec_i64, ref_dec, values)


TIMES = st.builds(
    lambda a, b, d: f"{a}.{b:0{d}d}",
    st.integers(0, 10**9),
    st.integers(0, 10**6),
    st.integers(6, 12),
)


@given(st.lists(st.one_of(st.none(), TIMES, st.integers(0, 10**17).map(str), TEXT), max_size=40))
def test_seconds(values: list[str | None]) -> None:
    check(seconds_ns, ref_time, values)
