"""A print fmt rendered by the compiled core a row at a time (perf_walk.c format_rows).

``render`` (tracefs_eval.py) builds each conversion as a column of strings and joins
the columns; for the print fmts most tracepoints have (literals, and conversions
without a width or precision of numbers, ``%p``/``%ps`` pointers, strings and
``cond ? "a" : "b"``) ``render_flat`` hands the numbers to the compiled core
instead, which writes the payload once, flat.  Arguments are evaluated by the
same Evaluator, so values are the same; tests hold the text equal to ``render``'s.
Anything else (``%c``, widths, precisions, ``+``/blank flags) returns None and
``render`` does it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import strcol as sc
from .numbers import unique_inverse
from .strcol import StrCol
from .tracefs_eval import Evaluator, Program, _mask, render_conv
from .tracefs_print import Cond, Conv, Expr, Str, Unsupported

Arr = np.ndarray[Any, Any]
_SIZES = {-2: 1, -1: 2, 0: 4, 2: 8}


def flat_ok(prog: Program) -> bool:
    """Whether ``render_flat`` takes this program (statically: its conversions)."""
    from .native import perf_walk

    mod = perf_walk()
    if mod is None or not hasattr(mod, "format_rows"):
        return False
    return all(isinstance(p, bytes) or _conv_ok(p[0]) for p in prog.pieces)


def _conv_ok(c: Conv) -> bool:
    if c.width is not None or c.prec is not None or set(c.flags) - set("#-"):
        return False
    return c.conv in "diuxXops"


@dataclass
class Flat:
    """The payload, each piece's evaluated argument (for the token columns), and the
    rows where a rendered piece holds a blank (their fields come from the text)."""

    payload: StrCol
    values: dict[int, Any]
    spaced: Arr
    ops: dict[int, list[tuple[Any, ...]]]  # each conversion's ops (a piece alone)


def render_flat(prog: Program, ev: Evaluator) -> Flat | None:
    """The payload as ``render`` gives it, or None where this path does not apply."""
    if not flat_ok(prog):
        return None

    n = ev.n
    ops: list[tuple[Any, ...]] = []
    values: dict[int, Any] = {}
    spaced = np.zeros(n, bool)
    per: dict[int, list[tuple[Any, ...]]] = {}
    for i, p in enumerate(prog.pieces):
        if isinstance(p, bytes):
            if p:
                ops.append((0, p))
            continue
        conv, arg = p
        per[i] = _ops(conv, arg, ev, values, i, spaced)
        ops += per[i]
    return Flat(_format(ops, n), values, spaced, per)


def _format(ops: list[tuple[Any, ...]], n: int) -> StrCol:
    from .native import perf_walk

    off = np.empty(n + 1, np.int64)
    data = perf_walk().format_rows(ops, n, off)
    return StrCol(np.frombuffer(data, np.uint8), off)


def _ops(
    conv: Conv, arg: Expr, ev: Evaluator, values: dict[int, Any], i: int, spaced: Arr
) -> list[tuple[Any, ...]]:
    n = ev.n
    if (
        conv.conv in "sp"
        and isinstance(arg, Cond)
        and isinstance(arg.yes, Str)
        and isinstance(arg.no, Str)
    ):
        test = ev.num(arg.test) != 0
        table = [arg.yes.value, arg.no.value]
        values[i] = ("choice", test, table)
        idx = np.where(test, 0, 1).astype(np.int64)
        _blanks(table, idx, spaced)
        data, off = _table(table)
        return [(5, np.zeros(n, np.uint64), idx, data, off)]
    v = ev.value(arg)
    values[i] = v
    if isinstance(v, StrCol):
        if conv.conv not in "sp":
            raise Unsupported(f"%{conv.conv} of a string")
        spaced |= sc.contains_any(v, b" ")
        return [(4, np.ascontiguousarray(v.data, np.uint8), np.ascontiguousarray(v.offsets))]
    if conv.conv == "s":
        raise Unsupported("%s of a number")
    if conv.conv == "p":
        val = np.ascontiguousarray(_mask(v, ev.long_size, False), np.uint64)
        if not (conv.ext and conv.ext in "sSfF"):
            return [(3, val)]
        return _symbols(conv.ext, val, ev, spaced)
    size = _SIZES.get(conv.length, ev.long_size)
    if conv.conv in "di":
        return [(2, np.ascontiguousarray(_mask(v, size, True), np.uint64))]
    val = np.ascontiguousarray(_mask(v, size, False), np.uint64)
    base = {"u": 10, "x": 16, "X": 16, "o": 8}[conv.conv]
    alt = {"x": b"0x", "X": b"0X", "o": b"0"}.get(conv.conv, b"") if "#" in conv.flags else b""
    return [(1, val, base, conv.conv == "X", alt)]


def _symbols(ext: str, val: Arr, ev: Evaluator, spaced: Arr) -> list[tuple[Any, ...]]:
    """%ps and kin (tracefs_eval._function): the resolver's symbol, else 0x and hex."""
    n = ev.n
    idx = np.full(n, -1, np.int64)
    texts: list[bytes] = []
    # a resolver may say which addresses it could name at all (``scope``: the kernel's)
    scope = getattr(ev.resolve, "scope", None)
    rows = None if scope is None or not n else np.flatnonzero(scope(val))
    if ev.resolve is not None and n and (rows is None or len(rows)):
        sub = val if rows is None else val[rows]
        uniq, inv = unique_inverse(sub)
        names, starts = ev.resolve(uniq)
        pick = np.full(len(uniq), -1, np.int64)
        for j, name in enumerate(names):
            if name is None:
                continue
            pick[j] = len(texts)
            if ext in "SF":
                texts.append(name + b"+0x%x" % (int(uniq[j]) - int(starts[j])))
            else:
                texts.append(name)
        if texts:
            got = pick[inv.reshape(len(sub))]
            if rows is None:
                idx = got
            else:
                idx[rows] = got
            _blanks(texts, idx, spaced)
    data, off = _table(texts)
    return [(5, val, idx, data, off)]


def _table(texts: list[bytes]) -> tuple[Arr, Arr]:
    off = np.zeros(len(texts) + 1, np.int64)
    np.cumsum([len(t) for t in texts], out=off[1:])
    return np.frombuffer(b"".join(texts), np.uint8), off


def _blanks(table: list[bytes], idx: Arr, spaced: Arr) -> None:
    blank = np.array([b" " in t for t in table] + [False], bool)
    if blank.any():
        spaced |= blank[idx]  # idx -1 picks the last (False): no symbol, hex


class Pieces:
    """``render``'s pieces, made only when a token asks for one."""

    def __init__(self, prog: Program, ev: Evaluator, flat: Flat) -> None:
        self.prog = prog
        self.ev = ev
        self.values = flat.values
        self.ops = flat.ops
        self.done: dict[int, StrCol | bytes] = {}

    def equals(self, parts: list[bytes | int], text: bytes) -> Arr | None:
        """Rows where a token of one ``cond ? "a" : "b"`` piece reads ``text``
        (None for any other token: compare its text)."""
        if len(parts) != 1 or isinstance(parts[0], bytes):
            return None
        v = self.values.get(parts[0])
        if not isinstance(v, tuple):
            return None
        _, test, (yes, no) = v
        out: Arr = np.where(test, yes == text, no == text)
        return out

    def __len__(self) -> int:
        return len(self.prog.pieces)

    def __getitem__(self, i: int) -> StrCol | bytes:
        if i not in self.done:
            p = self.prog.pieces[i]
            if isinstance(p, bytes):
                self.done[i] = p
            elif i in self.ops:  # rendered alone by the compiled core, as in the payload
                self.done[i] = _format(self.ops[i], self.ev.n)
            else:
                v = self.values[i]
                if isinstance(v, tuple):  # a choice of two strings
                    _, test, table = v
                    v = sc.choose(table, np.where(test, 0, 1))
                self.done[i] = render_conv(p[0], v, self.ev)
        return self.done[i]
