from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spftrace.formats.numbers import parse_locale_number, seconds_to_ns


@given(st.integers(0, 10**12), st.integers(1, 12), st.data())
def test_seconds_to_ns_is_exact(sec: int, digits: int, data: st.DataObject) -> None:
    frac = data.draw(st.integers(0, 10**digits - 1))
    text = f"{sec}.{frac:0{digits}d}"
    expected = int(Decimal(text) * 1_000_000_000)  # truncation beyond ns
    assert seconds_to_ns(text) == expected


def test_seconds_to_ns_no_float_rounding() -> None:
    # 0.1 + 0.2 style errors would show up here through a float
    assert seconds_to_ns("1795628358.509859714") == 1795628358509859714
    assert seconds_to_ns("520.000449") == 520000449000
    assert seconds_to_ns("0,155282357") == 155282357


@pytest.mark.parametrize("bad", ["", ".", "abc", "1.2.3", "1e5"])
def test_seconds_to_ns_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        seconds_to_ns(bad)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1706379", 1706379.0),
        ("1,706,379", 1706379.0),  # en_US
        ("1.706.379", 1706379.0),  # de_DE
        ("1\u202f706\u202f379", 1706379.0),  # fr_FR
        ("1\u2019706\u2019379", 1706379.0),  # de_CH
        ("1'706'379", 1706379.0),
        ("1\u00a0706\u00a0379", 1706379.0),
        ("1 706 379", 1706379.0),
        ("15.836", 15836.0),  # de_DE count
        ("144,69", 144.69),  # de_DE msec
        ("1.40", 1.40),
        ("8117.370256", 8117.370256),  # 2.6-era task clock
        ("1,234.56", 1234.56),
        ("1.234,56", 1234.56),
        ("355,222,544,890,379", 355222544890379.0),
    ],
)
def test_locale_numbers(text: str, value: float) -> None:
    assert parse_locale_number(text) == value


@pytest.mark.parametrize("bad", ["", "abc", "1,,2", "1.2.3,4.5", "12,3456,789"])
def test_locale_numbers_reject(bad: str) -> None:
    assert parse_locale_number(bad) is None


@given(st.integers(0, 10**15), st.sampled_from([",", ".", "\u202f", "\u2019", "'", "\u00a0"]))
def test_grouped_integers_roundtrip(n: int, sep: str) -> None:
    text = f"{n:,}".replace(",", sep)
    assert parse_locale_number(text) == float(n)
