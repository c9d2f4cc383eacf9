"""Raw tracepoint records -> the events columns the text grammars produce.

The text path (parsers/tracetext.py ``decode_payload``) reads a payload as
space-separated ``key=value`` / ``key:value`` tokens: hex keys (address, ip,
error_code, mm) and booleans (write, success) fill typed columns, ``vma:S-E``
fills vm_start/vm_end, every other pair goes to ``fields``.  Here the same split
is worked out once per event from its print fmt (which token holds which
argument), so the columns come straight from the decoded numbers; typed columns
hold the field's value even where the text shows a symbol (``ip=do_fault``) or
``(nil)``.  Rows whose rendered strings contain a space (a comm with a blank)
would split differently, so their ``fields`` come from ``decode_payload`` on the
rendered text, as the text path would read it.
Fixed-offset integer fields are read by the compiled core (perf_walk.c fields)
when it is built, the rest by decode_fields; tests hold both equal to decode_fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import strcol as sc
from .strcol import StrCol
from .tracefs_eval import Evaluator, Program, Resolver, _mask, compile_program, render
from .tracefs_flat import Pieces, flat_ok, render_flat
from .tracefs_format import Decoded, EventFormat, Records, decode_fields
from .tracefs_print import Conv, Expr, FieldRef, Str, Unsupported

HEX_KEYS = ("address", "ip", "error_code", "mm")
BOOL_KEYS = ("write", "success")
TYPED = (*HEX_KEYS, "vm_start", "vm_end", *BOOL_KEYS)
_NUMERIC = "diuxXop"


@dataclass
class EventRows:
    """One event's rows: the payload, typed columns (values, valid) and fields pairs."""

    payload: StrCol
    typed: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]
    keys: list[bytes]  # the static field keys, one pair per key on every row
    values: list[StrCol]
    row_fields: dict[int, list[tuple[bytes, bytes]]] = field(default_factory=dict)
    rendered: bool = True  # False: the print fmt was not evaluated (field listing)


@dataclass
class _Token:
    key: bytes
    parts: list[bytes | int]  # value parts: literal bytes or index into the rendered pieces


def _tokens(prog: Program) -> tuple[list[_Token], bool]:
    """The print fmt's tokens with a key known statically, and whether every token
    is such (False: a key depends on the data; fields then come from the text)."""
    raw: list[list[bytes | int]] = [[]]
    for i, p in enumerate(prog.pieces):
        if isinstance(p, bytes):
            chunks = p.split(b" ")
            for j, c in enumerate(chunks):
                if j:
                    raw.append([])
                if c:
                    raw[-1].append(c)
        else:
            raw[-1].append(i)
    out: list[_Token] = []
    static = True
    for parts in raw:
        if not parts:
            continue
        first = parts[0]
        lits = [p for p in parts if isinstance(p, bytes)]
        convs = [p for p in parts if isinstance(p, int)]
        if not isinstance(first, bytes) or (b"=" not in first and b":" not in first):
            if any(b"=" in x or b":" in x for x in lits) or convs:
                static = False
            continue
        numeric = all(_conv(prog, c).conv in _NUMERIC for c in convs)
        if b"=" in first:
            key, _, rest = first.partition(b"=")
        elif not any(b"=" in x for x in lits) and numeric:
            key, _, rest = first.partition(b":")
        else:
            static = False
            continue
        if key:
            value: list[bytes | int] = [rest] if rest else []
            out.append(_Token(key, value + parts[1:]))
    return out, static


def _conv(prog: Program, i: int) -> Conv:
    p = prog.pieces[i]
    assert not isinstance(p, bytes)
    return p[0]


def _blank_free(conv: Conv) -> bool:
    """A conversion whose text never holds a blank: digits (with a sign or prefix),
    without a field width (spaces) or the ``' '`` flag."""
    if conv.width or " " in conv.flags:
        return False
    return conv.conv in "diuxXo"


def _arg(prog: Program, i: int) -> Expr:
    p = prog.pieces[i]
    assert not isinstance(p, bytes)
    return p[1]


class EventDecoder:
    """Decodes records of any event id with the formats of one trace file."""

    def __init__(
        self,
        formats: dict[int, EventFormat],
        *,
        long_size: int = 8,
        resolve: Resolver | None = None,
    ) -> None:
        self.formats = formats
        self.long_size = long_size
        self.resolve = resolve
        self._programs: dict[int, Program | None] = {}
        self.unrendered: dict[str, int] = {}  # event name -> rows printed as field lists

    def program(self, fmt: EventFormat) -> Program | None:
        if fmt.id not in self._programs:
            try:
                self._programs[fmt.id] = compile_program(fmt)
            except (Unsupported, ValueError, KeyError):
                self._programs[fmt.id] = None
        return self._programs[fmt.id]

    def decode(self, fmt: EventFormat, recs: Records) -> EventRows:
        dec = decode(fmt, recs)
        ev = Evaluator(dec, self.long_size, self.resolve)
        prog = self.program(fmt)
        if prog is not None:
            try:
                # rendered flat, every row costs little: no grouping of equal rows
                few = None if flat_ok(prog) else _distinct(dec, _field_refs(prog))
                if few is not None:  # render each distinct set of arguments once
                    sub, inv = few
                    return _expand(
                        self._rows(prog, Evaluator(sub, self.long_size, self.resolve)), inv
                    )
                return self._rows(prog, ev)
            except (Unsupported, ValueError, KeyError, IndexError):
                self._programs[fmt.id] = None
        self.unrendered[fmt.full_name] = self.unrendered.get(fmt.full_name, 0) + dec.n
        return self._listing(fmt, ev)

    def _rows(self, prog: Program, ev: Evaluator, *, use_flat: bool = True) -> EventRows:
        n = ev.n
        flat = render_flat(prog, ev) if use_flat else None
        pieces: Any
        if flat is not None:
            payload, pieces, spaced = flat.payload, Pieces(prog, ev, flat), flat.spaced
        else:
            payload, pieces = render(prog, ev)
            spaced = np.zeros(n, bool)
            for i, p in enumerate(pieces):
                if not isinstance(p, bytes) and not _blank_free(_conv(prog, i)):
                    spaced |= sc.contains_any(p, b" ")
        tokens, static = _tokens(prog)
        typed: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}
        keys: list[bytes] = []
        values: list[StrCol] = []
        for tok in tokens:
            name = tok.key.decode("ascii", "replace")

            def val(tok: _Token = tok) -> StrCol:
                return _value(tok, pieces, n)

            if name in HEX_KEYS:
                typed[name] = self._hex_value(tok, prog, ev, val)
            elif name in BOOL_KEYS:
                if (
                    isinstance(pieces, Pieces)
                    and (t := pieces.equals(tok.parts, b"true")) is not None
                ):
                    f = pieces.equals(tok.parts, b"false")
                    assert f is not None
                else:
                    v = val()
                    t, f = sc.equals(v, b"true"), sc.equals(v, b"false")
                typed[name] = (t, t | f)
            elif name == "vma":
                typed.update(self._vma(tok, prog, ev, val))
            else:
                keys.append(tok.key)
                values.append(val())
        rows = EventRows(payload, typed, keys, values)
        redo = np.flatnonzero(spaced) if static else np.arange(n)
        if len(redo):
            from .tracetext import decode_payload

            for i in redo.tolist():
                text = payload.row(i).decode("utf-8", "surrogateescape")
                d = decode_payload(text)
                rows.row_fields[i] = [
                    (k.encode("utf-8", "surrogateescape"), v.encode("utf-8", "surrogateescape"))
                    for k, v in d["fields"]
                ]
                if not static:
                    _typed_from_text(rows.typed, d, i, n)
        return rows

    def _hex_value(
        self, tok: _Token, prog: Program, ev: Evaluator, val: Callable[[], StrCol]
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        parts = [p for p in tok.parts if not (isinstance(p, bytes) and p == b"0x")]
        if len(parts) == 1 and isinstance(parts[0], int):
            conv = _conv(prog, parts[0])
            if conv.conv in _NUMERIC:
                v = ev.num(_arg(prog, parts[0]))
                return v, np.ones(ev.n, bool)
        return _hex_text(val())

    def _vma(
        self, tok: _Token, prog: Program, ev: Evaluator, val: Callable[[], StrCol]
    ) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
        p = tok.parts
        if (
            len(p) == 3
            and isinstance(p[0], int)
            and p[1] == b"-"
            and isinstance(p[2], int)
            and _conv(prog, p[0]).conv in _NUMERIC
            and _conv(prog, p[2]).conv in _NUMERIC
        ):
            ok = np.ones(ev.n, bool)
            return {
                "vm_start": (ev.num(_arg(prog, p[0])), ok),
                "vm_end": (ev.num(_arg(prog, p[2])), ok),
            }
        start, end = [], []
        for text in val().to_list():
            a, dash, b = text.partition(b"-")
            start.append(_hex1(a) if dash else None)
            end.append(_hex1(b) if dash else None)
        return {"vm_start": _opt_u64(start), "vm_end": _opt_u64(end)}

    def _listing(self, fmt: EventFormat, ev: Evaluator) -> EventRows:
        """libtraceevent's listing of an event it cannot print: ``name=value`` per field."""
        n = ev.n
        d = ev.d
        pieces: list[StrCol] = []
        keys: list[bytes] = []
        values: list[StrCol] = []
        typed: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}
        for f in fmt.fields:
            if f.name.startswith("common_"):
                continue
            if f.name in d.strings:
                v = d.strings[f.name]
            elif f.name in d.numbers and f.is_scalar:
                num = d.numbers[f.name]
                if f.is_pointer or (f.is_long and not f.signed):
                    v = sc.concat([sc.const(b"0x", n), sc.unsigned(num, 16)])
                elif f.signed:
                    v = sc.signed(_mask(num, f.size, True).view(np.int64))
                else:
                    v = sc.unsigned(num)
                if f.name in HEX_KEYS or f.name in ("vm_start", "vm_end"):
                    typed[f.name] = (num, d.valid[f.name])
                elif f.name in BOOL_KEYS:
                    typed[f.name] = (num != 0, d.valid[f.name])
            else:
                continue
            key = f.name.encode()
            if pieces:
                pieces.append(sc.const(b" ", n))
            pieces += [sc.const(key + b"=", n), v]
            if f.name not in typed:
                keys.append(key)
                values.append(v)
        payload = sc.concat(pieces) if pieces else sc.const(b"", n)
        return EventRows(payload, typed, keys, values, rendered=False)


_REST: dict[tuple[int, str, str], EventFormat] = {}


def decode(fmt: EventFormat, recs: Records, *, use_native: bool = True) -> Decoded:
    """``decode_fields(fmt, recs)``, its scalar fields read by the compiled ``fields``."""
    from .native import perf_walk

    mod = perf_walk() if use_native else None
    scalars = [f for f in fmt.fields if f.is_scalar]
    n = len(recs)
    if mod is None or not hasattr(mod, "fields") or not scalars or n < 16:
        return decode_fields(fmt, recs)
    key = (fmt.id, fmt.system, fmt.name)
    rest = _REST.get(key)
    if rest is None or rest.fields != tuple(f for f in fmt.fields if not f.is_scalar):
        rest = _REST[key] = EventFormat(
            fmt.id,
            fmt.system,
            fmt.name,
            tuple(f for f in fmt.fields if not f.is_scalar),
            fmt.print_fmt,
            fmt.print_args,
        )
    out = decode_fields(rest, recs) if rest.fields else Decoded(n)
    mat = np.empty((len(scalars), n), np.uint64)
    mod.fields(
        np.ascontiguousarray(recs.buf, np.uint8),
        np.ascontiguousarray(recs.starts, np.int64),
        np.ascontiguousarray(recs.lengths, np.int64),
        np.array([f.offset for f in scalars], np.int64),
        np.array([f.size for f in scalars], np.int64),
        fmt.static_size,
        recs.big_endian,
        mat,
    )
    lengths = recs.lengths
    for j, f in enumerate(scalars):
        out.numbers[f.name] = mat[j]
        out.valid[f.name] = lengths >= f.offset + f.size
    # the same key order as decode_fields (every field in format order)
    out.valid = {f.name: out.valid[f.name] for f in fmt.fields}
    return out


def _field_refs(prog: Program) -> set[str]:
    out: set[str] = set()

    def walk(e: Any) -> None:
        if isinstance(e, FieldRef):
            out.add(e.name)
        for v in getattr(e, "__dict__", {}).values():
            if isinstance(v, tuple):
                for x in v:
                    walk(x)
            elif not isinstance(v, (str, bytes, int)):
                walk(v)

    for p in prog.pieces:
        if not isinstance(p, bytes):
            walk(p[1])
    return out


def _distinct(dec: Decoded, refs: set[str]) -> tuple[Decoded, np.ndarray[Any, Any]] | None:
    """The records reduced to distinct values of the fields the print fmt reads, and
    each record's index among them; None when that would not save much."""
    n = dec.n
    if n < 64 or not refs or any(r in dec.strings or r not in dec.numbers for r in refs):
        return None
    names = sorted(refs)
    probe = min(n, 2048)
    if probe >= 1024 and len(np.unique(dec.numbers[names[0]][:probe])) > probe // 2:
        return None  # mostly distinct already in one field: no saving to be had
    # a validity column that is True throughout does not split any group
    partial = [r for r in names if not dec.valid[r].all()]
    keys = np.stack(
        [dec.numbers[r] for r in names] + [dec.valid[r].astype(np.uint64) for r in partial]
    )
    order = np.lexsort(keys[::-1])
    srt = keys[:, order]
    new = np.ones(n, bool)
    new[1:] = (srt[:, 1:] != srt[:, :-1]).any(axis=0)
    k = int(new.sum())
    if k > n // 2:
        return None
    group = np.cumsum(new) - 1
    inv = np.empty(n, np.int64)
    inv[order] = group
    first = order[new]
    sub = Decoded(k)
    for r in names:
        sub.numbers[r] = dec.numbers[r][first]
        sub.valid[r] = dec.valid[r][first]
    return sub, inv


def _expand(er: EventRows, inv: np.ndarray[Any, Any]) -> EventRows:
    out = EventRows(
        er.payload.take(inv),
        {k: (v[inv], ok[inv]) for k, (v, ok) in er.typed.items()},
        er.keys,
        [c.take(inv) for c in er.values],
        rendered=er.rendered,
    )
    if er.row_fields:
        special = np.array(sorted(er.row_fields), np.int64)
        for i in np.flatnonzero(np.isin(inv, special)).tolist():
            out.row_fields[i] = er.row_fields[int(inv[i])]
    return out


def _value(tok: _Token, pieces: list[StrCol | bytes], n: int) -> StrCol:
    cols = []
    for p in tok.parts:
        if isinstance(p, bytes):
            cols.append(sc.const(p, n))
        else:
            piece = pieces[p]
            cols.append(sc.const(piece, n) if isinstance(piece, bytes) else piece)
    return sc.concat(cols) if cols else sc.const(b"", n)


def _hex1(text: bytes) -> int | None:
    t = text[2:] if text[:2] == b"0x" else text
    if not 1 <= len(t) <= 16:
        return None
    try:
        return int(t, 16)
    except ValueError:
        return None


def _opt_u64(vals: list[int | None]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    ok = np.array([v is not None for v in vals], bool)
    return np.array([v or 0 for v in vals], np.uint64), ok


def _hex_text(val: StrCol) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The text path's reading of a hex value (tracetext._hex), row by row."""
    out: list[int | None] = []
    for t in val.to_list():
        v = _hex1(t)
        ok = v is not None and all(c in b"0123456789abcdefABCDEF" for c in t.removeprefix(b"0x"))
        out.append(v if ok else None)
    return _opt_u64(out)


def _typed_from_text(
    typed: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]],
    d: dict[str, Any],
    i: int,
    n: int,
) -> None:
    for name in TYPED:
        if name not in d:
            continue
        if name not in typed:
            dtype = bool if name in BOOL_KEYS else np.uint64
            typed[name] = (np.zeros(n, dtype), np.zeros(n, bool))
        vals, ok = typed[name]
        v = d[name]
        ok[i] = v is not None
        vals[i] = v if v is not None else 0


def is_constant_string(e: Expr) -> bool:
    return isinstance(e, Str)
