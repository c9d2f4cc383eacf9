"""Untrusted text: stored losslessly, shown harmlessly.

Traces carry bytes the kernel chose: a comm is cut at 15 bytes and may split a
UTF-8 character, payloads may hold anything.  Parquet strings must be UTF-8, so
text from inputs is stored *backslash-escaped*: a backslash becomes ``\\\\`` and a
byte that is not part of valid UTF-8 becomes ``\\xNN``; everything else is kept as
is.  The mapping is a bijection (``to_bytes(stored(b)) == b`` for any bytes), so
nothing is lost, and plain ASCII without backslashes - nearly every comm and
payload - is stored unchanged, which is why this was chosen over a second binary
column.  Inputs are decoded with ``surrogateescape`` (inputs.py), so ``escape``
takes such a ``str``; ``escape_bytes`` takes raw bytes.

Showing is a different question: ``visible`` makes control characters (terminal
escapes, CR, BEL), bidirectional overrides and other invisible format characters
appear as ``\\x1b``, ``\\u202e``..., so no report, table or terminal interprets them.
"""

from __future__ import annotations

import re
import unicodedata

_NEEDS = re.compile(r"[\\\udc80-\udcff]")


def escape(text: str) -> str:
    """A ``surrogateescape``-decoded string as it is stored (see module doc)."""
    if _NEEDS.search(text) is None:
        return text
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif "\udc80" <= ch <= "\udcff":
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        else:
            out.append(ch)
    return "".join(out)


def escape_bytes(raw: bytes) -> str:
    """Raw input bytes as they are stored."""
    return escape(raw.decode("utf-8", "surrogateescape"))


_UNESCAPE = re.compile(r"\\(\\|x([0-9a-f]{2}))")


def to_bytes(stored: str) -> bytes:
    """The original bytes of a stored string (the inverse of ``escape_bytes``)."""
    out = bytearray()
    pos = 0
    for m in _UNESCAPE.finditer(stored):
        out += stored[pos : m.start()].encode()
        out += b"\\" if m.group(2) is None else bytes([int(m.group(2), 16)])
        pos = m.end()
    out += stored[pos:].encode()
    return bytes(out)


def _invisible(ch: str) -> bool:
    cat = unicodedata.category(ch)
    # Cc: controls (ESC, CR, BEL, DEL, C1); Cf: format characters, bidi overrides
    # and isolates among them; Zl/Zp: line and paragraph separators; Cs: surrogates
    return cat in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")


def visible(text: str | None) -> str:
    """``text`` with every control, format (bidi) and unassigned character shown as an
    escape, for terminals, tables and HTML.  Stored escapes stay as they are."""
    if text is None:
        return ""
    if text.isascii() and text.isprintable():
        return text
    out = []
    for ch in text:
        if ch == "\t" or not _invisible(ch):
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "".join(out)
