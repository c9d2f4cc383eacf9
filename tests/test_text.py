"""Untrusted text: lossless storage and harmless display (spftrace/text.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from spftrace.text import escape, escape_bytes, to_bytes, visible


@given(st.binary(max_size=64))
def test_any_bytes_round_trip(raw: bytes) -> None:
    stored = escape_bytes(raw)
    stored.encode("utf-8")  # always valid UTF-8, so Parquet can hold it
    assert to_bytes(stored) == raw


def test_plain_ascii_is_stored_unchanged() -> None:
    assert escape("mtfault-worker 4321") == "mtfault-worker 4321"


def test_comm_cut_inside_a_utf8_character() -> None:
    # the kernel keeps 15 bytes of "ab日本語スレッド": the last character is split
    raw = "ab日本語スレッド".encode()[:15]
    assert escape_bytes(raw) == "ab日本語ス\\xe3"
    assert to_bytes("ab日本語ス\\xe3") == raw


def test_a_literal_backslash_is_not_mistaken_for_an_escape() -> None:
    raw = b"a\\xe3"  # the four characters a \ x e 3, valid ASCII
    assert escape_bytes(raw) == "a\\\\xe3"
    assert to_bytes(escape_bytes(raw)) == raw


def test_visible_shows_terminal_and_bidi_controls() -> None:
    assert visible("\x1b]52;c;ZXZpbA==\x07x") == "\\x1b]52;c;ZXZpbA==\\x07x"
    assert visible("\u202eevil") == "\\u202eevil"
    assert visible("日本語\tok") == "日本語\tok"
