"""Exact numbers from kernel and perf text: times without floats, locale-grouped counts."""

from __future__ import annotations

from typing import Any

from ..lazy_re import lazy

# --- exact numbers -----------------------------------------------------------

_NS_PAD = "000000000"


def seconds_to_ns(text: str) -> int:
    """``'1234.567890'`` -> 1234567890000 without going through a float.

    Any number of fraction digits is accepted; digits beyond nanoseconds are
    truncated (the kernel never prints more than 9).  A ``,`` decimal mark is
    accepted too (perf's footers follow LC_NUMERIC).
    """
    s = text.strip()
    neg = s.startswith("-")
    if neg or s.startswith("+"):
        s = s[1:]
    sec, _, frac = s.replace(",", ".").partition(".")
    if not sec and not frac:
        raise ValueError(f"not a time: {text!r}")
    if not (sec.isdigit() or sec == "") or not (frac.isdigit() or frac == ""):
        raise ValueError(f"not a time: {text!r}")
    ns = int(sec or "0") * 1_000_000_000 + int((frac + _NS_PAD)[:9])
    return -ns if neg else ns


#: Characters perf's ``%'`` grouping may produce, depending on the locale:
#: en_US ``,`` de_DE ``.`` de_CH ``’`` (U+2019) or ``'``, fr_FR U+202F, and
#: U+00A0 / plain space in pasted or reformatted text.
_NUMBER_RE = lazy(globals(), "_NUMBER_RE", r"[0-9][0-9,.'\u2019\u202f\u00a0 ]*")
_SPLIT_RE = lazy(globals(), "_SPLIT_RE", r"[,.'\u2019\u202f\u00a0 ]")


def parse_locale_number(text: str) -> float | None:
    """A perf human-format number in any locale, or None if it is not one.

    Rules (reference/perf-stat-formats.md §2.3): with two kinds of separator
    the last one is the decimal mark; with one kind, groups of exactly three
    digits after every separator mean digit grouping (counts are printed with
    ``%'.0f``), anything else means a decimal mark (msec values have 2
    decimals, 3.x task-clock 6).  A space, ``'``, U+2019, U+202F or U+00A0 is
    never a decimal mark.
    """
    s = text.strip()
    if not s:
        return None
    if s.isdigit():
        return float(s)
    if _NUMBER_RE.fullmatch(s) is None:
        return None
    seps = _SPLIT_RE.findall(s)
    groups = _SPLIT_RE.split(s)
    if any(g == "" for g in groups):
        return None
    kinds = list(dict.fromkeys(seps))
    if len(kinds) == 1:
        sep = kinds[0]
        if sep in ",." and len(seps) == 1 and len(groups[-1]) != 3:
            return float(groups[0] + "." + groups[1])
        if all(len(g) == 3 for g in groups[1:]) and len(groups[0]) <= 3:
            return float("".join(groups))
        if sep in ",." and len(seps) == 1:
            return float(groups[0] + "." + groups[1])
        return None
    if len(kinds) == 2:
        _group_sep, dec_sep = kinds
        if dec_sep not in ",." or seps.count(dec_sep) != 1 or seps[-1] != dec_sep:
            return None
        int_groups = groups[:-1]
        if len(int_groups[0]) > 3 or any(len(g) != 3 for g in int_groups[1:]):
            return None
        return float("".join(int_groups) + "." + groups[-1])
    return None


_PLAIN_RE = lazy(globals(), "_PLAIN_RE", r"^[+-]?\d+(?:[.,]\d+)?$")


def parse_plain_number(text: str) -> float | None:
    """An ungrouped decimal with ``.`` or ``,`` as the decimal mark (CSV/JSON).

    Stricter than ``float()``: no exponents, ``inf`` or ``nan`` (``0E-1`` is a comm).
    """
    s = text.strip()
    if not _PLAIN_RE.match(s):
        return None
    return float(s.replace(",", "."))


def time_to_ns(text: str) -> int:
    """A trace's time: ``sec.frac`` (seconds_to_ns), or whole nanoseconds."""
    return seconds_to_ns(text) if "." in text else int(text)


def unique_inverse(a: Any) -> tuple[Any, Any]:
    """``np.unique(a, return_inverse=True)`` of a 1-D integer array.  When its first
    rows hold few distinct values (addresses, thread ids: a handful over a batch),
    computed as the distinct values (numpy's hash table, no sort of ``a``) and each
    element's place among them (a binary search), a third faster; otherwise by
    np.unique itself (the hash table is slower than a sort for many values).
    Either way the same two arrays."""
    import numpy as np

    if len(a) > 4096 and len(np.unique(a[:256])) <= 16:
        u = np.unique(a)
        if len(u) <= 64:
            return u, np.searchsorted(u, a)
    u, inv = np.unique(a, return_inverse=True)
    return u, inv.reshape(-1)
