"""Format detection in ``FORMATS`` order; an unknown input is an error, never a guess."""

from __future__ import annotations

from ..errors import SpftraceError, quote_line
from . import FORMATS
from .spec import Head


def first_line(head: bytes) -> str:
    for raw in head.split(b"\n", 64)[:64]:
        if raw.strip():
            return raw[:200].decode("utf-8", "replace")
    return ""


def is_binary(head: Head) -> bool:
    """Text formats never hold a NUL byte."""
    return b"\x00" in head.raw[:4096]


def sniff(head: bytes | Head, *, exclude: str | None = None) -> str | None:
    """The first format (in registry order) whose ``sniff`` accepts ``head``."""
    h = head if isinstance(head, Head) else Head(head)
    binary = is_binary(h)
    for name, spec in FORMATS.items():
        if name == exclude or (binary and not spec.binary):
            continue
        if spec.sniff(h):
            return name
    return None


def detect(head: bytes, name: str) -> str:
    """Like ``sniff`` but raises a user error naming the input and the options."""
    if not head.strip():
        raise SpftraceError(f"{name}: empty input; nothing to ingest")
    fmt = sniff(head)
    if fmt is not None:
        return fmt
    kind = "binary data" if b"\x00" in head[:4096] else "an unknown format"
    raise SpftraceError(
        f"{name}:1: {kind}, starting {quote_line(first_line(head), 60)}; known formats: "
        f"{', '.join(FORMATS)} (force one with --format FMT)"
    )
