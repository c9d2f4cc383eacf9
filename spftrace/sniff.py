"""Format detection in a fixed order; an unknown input is an error, never a guess."""

from __future__ import annotations

from .errors import SpftraceError, quote_line
from .parsers import FORMATS, module


def first_line(head: bytes) -> str:
    for raw in head.split(b"\n"):
        if raw.strip():
            return raw.decode("utf-8", "replace")
    return ""


def sniff(head: bytes) -> str | None:
    """The first format (in registry order) whose ``sniff`` accepts ``head``."""
    if head.startswith(b"PERFILE2"):
        return "perf-data"  # the one binary format: perf script renders it
    if b"\x00" in head[:4096]:
        return None  # binary: no other format accepts NUL bytes
    text = head.decode("utf-8", "replace")
    for fmt in FORMATS:
        if module(fmt).sniff(text):
            return fmt
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
