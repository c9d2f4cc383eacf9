"""Tracepoint ``format`` files, and raw tracepoint records decoded with them.

Source:  /sys/kernel/tracing/events/SYSTEM/EVENT/format, the copies perf stores in
         perf.data (HEADER_TRACING_DATA) and trace-cmd in trace.dat (EVENT FORMATS).
Sample:  name: page_fault_user / ID: 190 / format: / field:unsigned long address;
         offset:8; size:8; signed:0; ... / print fmt: "address=%ps ...", REC->address
Reference: libtraceevent src/event-parse.c (event_read_fields, field_is_string,
         __data_loc and __rel_loc offsets); the kernel writes these files.

Records of one event share a layout, so every field is decoded for a whole batch
of records at once: the fixed part of the records is gathered into one (n, size)
byte matrix and each field is a column slice of it, viewed in the file's byte
order (tracefs_eval.py renders the payload text from those columns).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .strcol import StrCol, cstrings

_FIELD_RE = re.compile(
    r"^\s*field:(?P<decl>[^;]*);\s*offset:(?P<off>\d+);\s*size:(?P<size>\d+);"
    r"(?:\s*signed:(?P<signed>-?\d+);)?"
)
_ARRAY_RE = re.compile(r"^(?P<name>\w+)\s*\[(?P<len>[^\]]*)\]$")


class FormatError(ValueError):
    """A format file that cannot be read."""


@dataclass(frozen=True)
class Field:
    name: str
    ctype: str  # the declared type, without the name ("unsigned long", "__data_loc char[]")
    offset: int
    size: int
    signed: bool
    array_len: int | None = None  # char comm[16] -> 16; [] -> 0
    dynamic: str | None = None  # "data_loc" or "rel_loc"

    @property
    def is_string(self) -> bool:
        """char/u8/s8 arrays print as strings (libtraceevent field_is_string)."""
        if self.array_len is None and self.dynamic is None:
            return False
        return any(t in self.ctype for t in ("char", "u8", "s8"))

    @property
    def is_pointer(self) -> bool:
        return "*" in self.ctype

    @property
    def is_long(self) -> bool:
        return "long" in self.ctype

    @property
    def is_scalar(self) -> bool:
        return self.array_len is None and self.dynamic is None and self.size in (1, 2, 4, 8)


@dataclass(frozen=True)
class EventFormat:
    id: int
    system: str
    name: str
    fields: tuple[Field, ...]
    print_fmt: str  # the quoted format string, as written
    print_args: str  # the arguments after it, as written
    _by_name: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({f.name: f for f in self.fields})

    @property
    def full_name(self) -> str:
        return f"{self.system}:{self.name}"

    def field(self, name: str) -> Field | None:
        return self._by_name.get(name)

    @property
    def static_size(self) -> int:
        """Bytes covered by the fixed part of the record (the dynamic data follows)."""
        return max((f.offset + f.size for f in self.fields), default=0)


def _parse_decl(decl: str, offset: int, size: int, signed: bool) -> Field:
    decl = " ".join(decl.split())
    dynamic = None
    for kind in ("__data_loc", "__rel_loc"):
        if decl.startswith(kind + " "):
            dynamic = kind[2:]
    head, _, last = decl.rpartition(" ")
    m = _ARRAY_RE.match(last)
    array_len = None
    name = last
    if m is not None:
        name = m.group("name")
        raw = m.group("len").strip()
        array_len = int(raw, 0) if raw.isdigit() or raw.startswith("0x") else 0
        head = f"{head}[{raw}]"
    elif last.startswith("*"):  # "char *name"
        name, head = last.lstrip("*"), head + " *"
    if dynamic is not None:
        array_len = None
    if array_len == 0 and dynamic is None and size:  # char comm[TASK_COMM_LEN]
        elem = 1 if any(t in head for t in ("char", "u8", "s8")) else 0
        array_len = size // elem if elem else 0
    if not name or not re.match(r"^\w+$", name):
        raise FormatError(f"cannot read field declaration {decl!r}")
    return Field(name, head or last, offset, size, signed, array_len, dynamic)


#: fields of one event: the kernel's have a few dozen; a format of 200,000 (a 10 MB
#: trace.dat) took 3 s and 230 MB, and is refused (its records are counted unknown)
MAX_FIELDS = 1024


def parse_format(text: str | bytes, system: str | None = None) -> EventFormat:
    """One event's ``format`` file.  ``system`` comes from where the file was found
    (its directory, or the system name stored before it in perf.data / trace.dat)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if text.count("field:") > MAX_FIELDS:
        raise FormatError(f"more than {MAX_FIELDS} fields")
    name = None
    ident = None
    fields: list[Field] = []
    fmt, args = "", ""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        s = line.strip()
        if s.startswith("name:") and name is None:
            name = s[5:].strip()
        elif s.startswith("ID:") and ident is None:
            try:
                ident = int(s[3:].strip())
            except ValueError as err:
                raise FormatError(f"bad ID line {s!r}") from err
        elif s.startswith("field:"):
            m = _FIELD_RE.match(s)
            if m is None:
                raise FormatError(f"cannot read field line {s!r}")
            sg = m.group("signed")
            fields.append(
                _parse_decl(
                    m.group("decl"),
                    int(m.group("off")),
                    int(m.group("size")),
                    sg is not None and int(sg) != 0,
                )
            )
        elif s.startswith("print fmt:"):
            rest = "\n".join([line.split("print fmt:", 1)[1], *lines[i + 1 :]]).strip()
            fmt, args = split_print_fmt(rest)
            break
    if name is None or ident is None:
        raise FormatError("format file without name or ID")
    return EventFormat(ident, system or "", name, tuple(fields), fmt, args)


def split_print_fmt(rest: str) -> tuple[str, str]:
    """``"fmt", args`` -> (the format string's content, the argument text)."""
    if not rest.startswith('"'):
        return "", rest
    i = 1
    while i < len(rest):
        c = rest[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            break
        i += 1
    fmt = rest[1:i]
    tail = rest[i + 1 :].strip()
    if tail.startswith(","):
        tail = tail[1:].strip()
    return fmt, tail


_ID_RE = re.compile(rb"^ID:\s*(\d+)\s*$", re.MULTILINE)


class Formats(dict[int, EventFormat]):
    """Formats by event id, each parsed when first asked for: a trace.dat stores the
    formats of every event of the kernel (thousands), a trace uses a handful."""

    def __init__(self, items: Iterable[tuple[str, bytes]]) -> None:
        super().__init__()
        self.raw: dict[int, tuple[str, bytes]] = {}
        self.bad = 0
        for system, text in items:
            m = _ID_RE.search(text)
            if m is None:
                self.bad += 1
                continue
            self.raw[int(m.group(1))] = (system, text)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int) and self.get(key) is not None

    def __missing__(self, key: int) -> EventFormat:
        got: EventFormat | None = self.get(key)
        if got is None:
            raise KeyError(key)
        return got

    def get(self, key: int, default: Any = None) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        item = self.raw.pop(key, None)
        if item is None:
            return default
        try:
            fmt = parse_format(item[1], item[0])
        except FormatError:
            self.bad += 1
            return default
        self[key] = fmt
        return fmt


def parse_formats(items: Iterable[tuple[str, bytes]]) -> tuple[Formats, int]:
    """(system, format text) pairs -> formats by id (parsed lazily), and how many
    could not be read (so far)."""
    out = Formats(items)
    return out, out.bad


@dataclass(frozen=True)
class PageHeader:
    """The ring-buffer sub-buffer header (events/header_page)."""

    timestamp: Field
    commit: Field
    data: Field


def parse_header_page(text: str | bytes) -> PageHeader:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    found: dict[str, Field] = {}
    for line in text.splitlines():
        m = _FIELD_RE.match(line.strip())
        if m is None:
            continue
        f = _parse_decl(m.group("decl"), int(m.group("off")), int(m.group("size")), False)
        found[f.name] = f
    try:
        return PageHeader(found["timestamp"], found["commit"], found["data"])
    except KeyError as err:
        raise FormatError(f"header_page lacks the {err.args[0]} field") from err


# --- decoding records ---------------------------------------------------------------


@dataclass
class Records:
    """Raw records of one event: ``buf[starts[i]:starts[i] + lengths[i]]``."""

    buf: np.ndarray[Any, np.dtype[np.uint8]]
    starts: np.ndarray[Any, np.dtype[np.int64]]
    lengths: np.ndarray[Any, np.dtype[np.int64]]
    big_endian: bool

    def __len__(self) -> int:
        return len(self.starts)


@dataclass
class Decoded:
    """The fields of a batch of records: numbers as uint64 (signed ones sign-extended
    to 64 bits), strings as StrCol; ``valid`` is False where a record was too short."""

    n: int
    numbers: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    strings: dict[str, StrCol] = field(default_factory=dict)
    valid: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)


_DT = {1: "u1", 2: "u2", 4: "u4", 8: "u8"}


def fixed_part(recs: Records, size: int) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """The first ``size`` bytes of every record as an (n, size) matrix, zero past a
    short record's end.  Rows are copied through a sliding-window view of the buffer
    (one row copy each, no per-byte index arrays)."""
    n = len(recs)
    buf = recs.buf
    if size == 0 or n == 0:
        return np.zeros((n, size), np.uint8)
    if len(buf) < size:
        buf = np.concatenate([buf, np.zeros(size - len(buf), np.uint8)])
    windows = np.lib.stride_tricks.sliding_window_view(buf, size)
    starts = np.clip(recs.starts, 0, len(buf) - size)
    mat: np.ndarray[Any, np.dtype[np.uint8]] = windows[starts]
    short = (recs.lengths < size) | (starts != recs.starts)
    if short.any():
        rows = np.flatnonzero(short)
        col = np.arange(size)
        keep = (col[None, :] < recs.lengths[rows, None]) & (
            starts[rows, None] == recs.starts[rows, None]
        )
        mat[rows] = np.where(keep, mat[rows], 0)
    return mat


def decode_fields(fmt: EventFormat, recs: Records) -> Decoded:
    """Every field of ``fmt`` for every record (one gather, then column slices)."""
    n = len(recs)
    out = Decoded(n)
    size = fmt.static_size
    lengths = recs.lengths
    mat = fixed_part(recs, size)
    order = ">" if recs.big_endian else "<"
    for f in fmt.fields:
        ok = lengths >= f.offset + f.size
        out.valid[f.name] = ok
        part = np.ascontiguousarray(mat[:, f.offset : f.offset + f.size])
        if f.dynamic is not None and f.size == 4:
            loc = part.view(order + "u4").reshape(n).astype(np.int64)
            off = loc & 0xFFFF
            ln = loc >> 16
            if f.dynamic == "rel_loc":
                off = off + f.offset + f.size
            good = ok & (off + ln <= lengths)
            out.valid[f.name] = good
            out.numbers[f.name + "@len"] = np.where(good, ln, 0).astype(np.uint64)
            if f.is_string:
                out.strings[f.name] = cstrings(
                    recs.buf, np.where(good, recs.starts + off, 0), np.where(good, ln, 0)
                )
            out.numbers[f.name + "@off"] = np.where(good, off, 0).astype(np.uint64)
        elif f.is_string and f.array_len:
            zero = part == 0
            first = np.where(zero.any(axis=1), zero.argmax(axis=1), f.size)
            keep = np.arange(f.size)[None, :] < first[:, None]
            out.strings[f.name] = StrCol(mat=part, mask=keep, lens=first.astype(np.int64))
        elif f.is_scalar:
            # unsigned at the field's size, as libtraceevent's eval_num_arg reads a field
            # (tep_read_number); a cast or a %d conversion brings the sign back
            out.numbers[f.name] = part.view(order + _DT[f.size]).reshape(n).astype(np.uint64)
    return out


def split_by_id(ids: np.ndarray[Any, Any]) -> Iterator[tuple[int, np.ndarray[Any, Any]]]:
    """(event id, row indices) for each distinct id, rows in input order."""
    if not len(ids):
        return
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    cuts = np.flatnonzero(np.diff(sorted_ids)) + 1
    for part in np.split(order, cuts):
        yield int(ids[part[0]]), part
