"""perf script callchain frames, sample symbols and loss records -> values.

Produced by: perf record -g ... (per event: -e 'mmap_lock:mmap_lock_released/call-graph=fp/')
             perf script [-F ...,ip,sym,symoff,dso] [--show-lost-events]
Sample:      \tffffffff815f7e84 lock_mm_and_find_vma+0x144 ([kernel.kallsyms])
             \t    7fc8f2af2ad7 [unknown] ([unknown])
Variants:    tests/data/vmalock/*.txt, tests/data/traces/perf-script-callchain.txt

The frame grammar is perf's ``sample__fprintf_callchain`` (tools/perf/util/
evsel_fprintf.c): left-alignment spaces, a tab, the ip as ``%16lx``; then, as the
``-F`` fields ask, `` SYM`` (``+0xOFF`` with symoff; ``[unknown]`` without a
symbol), `` (DSO)`` and `` (inlined)``.  A sample without a callchain prints the
same ip/sym/dso after its payload on its own line (``sample__fprintf_sym``):
``sample_tail`` finds it.  Symbols may hold spaces (C++), so the DSO is the last
parenthesised group; without a dso field a symbol ending in ``(...)`` is taken for
one (perf's output is ambiguous there).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..lazy_re import lazy

if TYPE_CHECKING:
    import re

#: (ip, sym, off, dso), innermost frame first; sym/off/dso None where perf printed none
Frame = tuple[int, str | None, int | None, str | None]

_FRAME_RE = lazy(globals(), "_FRAME_RE", r"^ *\t *([0-9a-fA-F]{1,16})(?: (.*))?$")
_DSO_RE = lazy(globals(), "_DSO_RE", r"^(.*?) \(([^()]*)\)$")
_OFF_RE = lazy(globals(), "_OFF_RE", r"^(.*)\+0x([0-9a-fA-F]+)$")
_TAIL_RE = lazy(globals(), "_TAIL_RE", r"\s([0-9a-fA-F]{1,16}) (\S.*?) \(([^()]+)\)$")
_IP_WORD_RE = lazy(globals(), "_IP_WORD_RE", r"\s([0-9a-fA-F]{1,16}) (?=\S)")
_LOST_RE = lazy(globals(), "_LOST_RE", r"\bPERF_RECORD_LOST lost (\d+)\s*$")
_UNKNOWN = ("[unknown]", "")


def is_frame(line: str) -> bool:
    """Cheap test: a line that looks like a frame (tab after optional spaces)."""
    return line[:1] == "\t" or (line[:1] == " " and line.lstrip(" ")[:1] == "\t")


def frame(line: str) -> Frame | None:
    """One callchain line, or None when it is not one."""
    m = _FRAME_RE.match(line)
    if m is None:
        return None
    ip, rest = int(m.group(1), 16), m.group(2)
    if rest is None:
        return (ip, None, None, None)
    rest = rest.removesuffix(" (inlined)")
    dso = None
    d = _DSO_RE.match(rest)
    if d is not None:
        rest, dso = d.group(1), d.group(2)
    sym, off = _sym_off(rest)
    return (ip, sym, off, None if dso in _UNKNOWN else dso)


def _sym_off(text: str) -> tuple[str | None, int | None]:
    o = _OFF_RE.match(text)
    if o is not None:
        return o.group(1), int(o.group(2), 16)
    if text in _UNKNOWN or (text.startswith("[0x") and text.endswith("]")):
        return None, None
    return text, None


def sample_tail(payload: str) -> tuple[str, str, str | None] | None:
    """(the payload without it, sym as printed, dso) of a sample line that ends in
    perf's ``ip sym (dso)``: those are perf's fields, not the tracepoint's."""
    if not payload.endswith(")"):
        return None
    if "\n" in payload:  # (never in a line; the regex's own reading, which is quadratic)
        m = _TAIL_RE.search(payload)
        if m is None:
            return None
        dso = m.group(3)
        return payload[: m.start()], m.group(2), None if dso in _UNKNOWN else dso
    lp = _dso_open(payload)
    if lp < 0:
        return None
    # _TAIL_RE's match, found without it: its lazy sym makes the ``(dso)`` the last
    # parenthesis, and its search the leftmost hex word before it; the regex tried every
    # hex word and scanned to the end from each (n^2 on a line of many hex words)
    ip = _IP_WORD_RE.search(payload, 0, lp - 1)
    if ip is None:
        return None
    dso = payload[lp + 1 : -1]
    return payload[: ip.start()], payload[ip.end() : lp - 1], None if dso in _UNKNOWN else dso


def _dso_open(text: str) -> int:
    """Where the trailing `` (dso)`` of ``text`` (it ends in ')') opens, or -1."""
    lp = text.rfind("(")
    if lp < 1 or text[lp - 1] != " " or lp + 2 > len(text) - 1 or ")" in text[lp + 1 : -1]:
        return -1
    return lp


_IP_AT_RE = lazy(globals(), "_IP_AT_RE", r"(?<=\s)([0-9a-fA-F]{1,16}) (?=\S)")
_SYM_DSO_RE = lazy(globals(), "_SYM_DSO_RE", r"(\S.*?) \(([^()]+)\)")


def tail(text: str) -> tuple[str, int, str, str | None] | None:
    """(text before it, ip, sym as printed, dso) of a trailing ``ip sym (dso)``.  The
    ip is the *last* hex word followed by ``sym (dso)``: what comes before it (a
    vpa-dtl record's ``timebase: 2140360070 ...``) may hold hex words too."""
    if not text.endswith(")"):
        return None
    padded = " " + text
    if "\n" in text:  # (never in a line; the regexes' own reading, which is quadratic)
        for m in reversed(list(_IP_AT_RE.finditer(padded))):
            rest = _SYM_DSO_RE.fullmatch(padded, m.end())
            if rest is not None:
                dso = rest.group(2)
                before = padded[: m.start()].strip()
                return before, int(m.group(1), 16), rest.group(1), None if dso in _UNKNOWN else dso
        return None
    lp = _dso_open(padded)
    if lp < 0:
        return None
    # the sym-and-dso fullmatch from a hex word holds exactly when the word ends before
    # the (dso)'s blank: the last such word, without a fullmatch from each (n^2)
    last = None
    for m in _IP_AT_RE.finditer(padded, 0, lp - 1):
        last = m
    if last is None:
        return None
    dso = padded[lp + 1 : -1]
    sym = padded[last.end() : lp - 1]
    return (
        padded[: last.start()].strip(),
        int(last.group(1), 16),
        sym,
        None if dso in _UNKNOWN else dso,
    )


def lost(line: str) -> int | None:
    """The count of a ``--show-lost-events`` ``PERF_RECORD_LOST lost N`` line."""
    m = _LOST_RE.search(line)
    return int(m.group(1)) if m else None


#: linear: the lookbehind tries a run of digits once, from its start (not quadratic)
_SIDE_BAND_RE = lazy(globals(), "_SIDE_BAND_RE", r"(?<![\d.])\d+\.\d+: +PERF_RECORD_[A-Z_0-9]+")
_LOST_CHUNKS_RE = lazy(
    globals(), "_LOST_CHUNKS_RE", r"Processed (\d+) events and lost (\d+) chunks!"
)
_LOST_PCT_RE = lazy(
    globals(), "_LOST_PCT_RE", r"Processed (\d+) samples and lost (\d+(?:\.\d+)?)%!"
)


def perf_notice(line: str) -> tuple[str, int] | None:
    """perf's words about what it did not deliver, as a statistic (name, value):
    ``PERF_RECORD_LOST lost N``, other side-band records (``--show-mmap-events``...),
    and the "lost N chunks" / "lost N%" summaries perf record and perf script print."""
    n = lost(line)
    if n is not None:
        return "events_lost", n
    if "PERF_RECORD_" in line and _SIDE_BAND_RE.search(line):
        return "perf_side_band_records", 1
    m = _LOST_CHUNKS_RE.search(line)
    if m is not None:
        return "chunks_lost", int(m.group(2))
    m = _LOST_PCT_RE.search(line)
    if m is not None:
        return "samples_lost_approx", round(int(m.group(1)) * float(m.group(2)) / 100)
    return None


def frames_array(chains: Sequence[list[Frame] | None]) -> Any:
    """The ``callchain`` column (schema.frames_type) of per-record frame lists."""
    import pyarrow as pa

    from ..schema import frames_type, to_arrow
    from ..text import escape

    typ = frames_type()
    flat = [f for c in chains if c for f in c]
    cols = list(zip(*flat, strict=True)) if flat else [(), (), (), ()]
    # symbols and DSOs are the input's bytes: stored escaped, as comms and payloads
    cols[1] = tuple(None if v is None else escape(v) for v in cols[1])
    cols[3] = tuple(None if v is None else escape(v) for v in cols[3])
    kinds = (pa.uint64(), pa.string(), pa.uint64(), pa.string())
    struct = pa.StructArray.from_arrays(
        [to_arrow(list(c), k) for c, k in zip(cols, kinds, strict=True)],
        fields=list(typ.value_type),
    )
    offsets = [0]
    for c in chains:
        offsets.append(offsets[-1] + (len(c) if c else 0))
    mask = to_arrow([c is None for c in chains], pa.bool_())
    return pa.ListArray.from_arrays(to_arrow(offsets, pa.int32()), struct, type=typ, mask=mask)


def may_continue(start: bytes, *, srcline: bool) -> bool:
    """Whether a line that starts with ``start`` (as much of it as is known: b"" for
    nothing) may continue a sample: a frame (a tab after spaces: ``is_frame``), or with
    ``srcline`` a ``-F +srcline`` line, one word after two spaces.  Two ASCII words
    (``str.split`` splits them too) are no srcline; anything else might be."""
    rest = start.lstrip(b" ")
    if not rest or rest[:1] == b"\t":
        return True
    return srcline and start[:2] == b"  " and _two_words().match(rest) is None


@functools.cache
def _two_words() -> re.Pattern[bytes]:
    import re

    return re.compile(rb"[\x21-\x7e]+ +[\x21-\x7e]")


def has_stacks(data: bytes | bytearray) -> bool:
    """Frames (tab-indented) or a sample's ``ip sym (dso)`` tail in a chunk's bytes."""
    if b"\t" in data:
        return True
    # ")" alone first: one memchr pass, where ")\n" is a slow two-byte search (3 ms a MiB)
    return b")" in data and (b")\n" in data or data.endswith(b")"))
