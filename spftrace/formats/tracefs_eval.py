"""Render tracepoint payloads from decoded fields, a column at a time.

The print fmt (tracefs_print.py) is evaluated over whole columns: every argument is
a numpy uint64 array (C's unsigned long long, as libtraceevent computes) or a
StrCol, every conversion formats a column (strcol.py), and the payload is the
row-wise concatenation of the pieces.  Output matches libtraceevent's
pretty_print for the subset tracefs_print.py parses; ``%p`` prints glibc's
``(nil)`` for 0, ``%ps`` a symbol from the caller's resolver or ``0x%llx``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import strcol as sc
from .numbers import unique_inverse
from .strcol import StrCol
from .tracefs_format import Decoded, EventFormat
from .tracefs_print import (
    Binary,
    Braces,
    Call,
    Cast,
    Cond,
    Conv,
    Expr,
    FieldRef,
    Num,
    Str,
    Unary,
    Unsupported,
    parse_args,
    parse_format_string,
)

#: addresses -> (name or None, symbol start) for each, in order
Resolver = Callable[[np.ndarray[Any, Any]], tuple[list[bytes | None], np.ndarray[Any, Any]]]

U64 = np.uint64
Value = np.ndarray[Any, Any] | StrCol


def _u(x: Any) -> np.ndarray[Any, Any]:
    out: np.ndarray[Any, Any] = np.asarray(x)
    return out


def _mask(v: np.ndarray[Any, Any], size: int, signed: bool) -> np.ndarray[Any, Any]:
    """``v`` cast to a C integer of ``size`` bytes (sign-extended back to 64 bits)."""
    if size >= 8:
        return v
    bits = U64(8 * size)
    low = v & U64((1 << (8 * size)) - 1)
    if not signed:
        return low
    top = U64(1 << (8 * size - 1))
    return np.where(low & top, low | (~U64(0) << bits), low)


def _type_size(ctype: str, long_size: int) -> tuple[int, bool] | None:
    """(size, signed) of a C type name, or None for typedefs left as they are."""
    words = ctype.replace("*", " * ").split()
    if "*" in words:
        return long_size, False
    uns = "unsigned" in words
    for w in words:
        if w in ("u8", "s8", "u16", "s16", "u32", "s32", "u64", "s64"):
            return int(w[1:]) // 8, w[0] == "s"
        if w == "bool":
            return 1, False
    if words.count("long") >= 2:
        return 8, not uns
    if "long" in words:
        return long_size, not uns
    if "short" in words:
        return 2, not uns
    if "char" in words:
        return 1, not uns
    if "int" in words or words in (["unsigned"], ["signed"]):
        return 4, not uns
    return None


class Evaluator:
    def __init__(self, dec: Decoded, long_size: int, resolve: Resolver | None) -> None:
        self.d = dec
        self.n = dec.n
        self.long_size = long_size
        self.resolve = resolve

    def num(self, e: Expr) -> np.ndarray[Any, Any]:
        v = self.value(e)
        if isinstance(v, StrCol):
            raise Unsupported("string used as a number")
        return v

    def value(self, e: Expr) -> Value:
        n = self.n
        if isinstance(e, Num):
            return np.full(n, e.value & ((1 << 64) - 1), U64)
        if isinstance(e, Str):
            return sc.const(e.value, n)
        if isinstance(e, FieldRef):
            if e.name in self.d.strings:
                return self.d.strings[e.name]
            if e.name in self.d.numbers:
                return self.d.numbers[e.name]
            raise Unsupported(f"field {e.name}")
        if isinstance(e, Cast):
            v = self.num(e.expr)
            ts = _type_size(e.ctype, self.long_size)
            return v if ts is None else _mask(v, *ts)
        if isinstance(e, Unary):
            v = self.num(e.expr)
            if e.op == "-":
                return _u((~v) + U64(1))
            if e.op == "!":
                return _u((v == 0).astype(U64))
            if e.op == "~":
                return _u(~v)
            return v
        if isinstance(e, Binary):
            return self._binary(e)
        if isinstance(e, Cond):
            test = self.num(e.test) != 0
            yes, no = self.value(e.yes), self.value(e.no)
            if isinstance(yes, StrCol) and isinstance(no, StrCol):
                return _where_str(test, yes, no)
            if isinstance(yes, StrCol) or isinstance(no, StrCol):
                raise Unsupported("ternary of a string and a number")
            return _u(np.where(test, yes, no))
        if isinstance(e, Call):
            return self._call(e)
        raise Unsupported(type(e).__name__)

    def _binary(self, e: Binary) -> np.ndarray[Any, Any]:
        a, b = self.num(e.left), self.num(e.right)
        op = e.op
        with np.errstate(all="ignore"):
            if op == "+":
                return _u(a + b)
            if op == "-":
                return _u(a - b)
            if op == "*":
                return _u(a * b)
            if op in ("/", "%"):
                safe = np.where(b == 0, U64(1), b)
                r = a // safe if op == "/" else a % safe
                return _u(np.where(b == 0, U64(0), r))
            if op in ("<<", ">>"):
                big = b >= 64
                sh = np.where(big, U64(0), b)
                r = a << sh if op == "<<" else a >> sh
                return _u(np.where(big, U64(0), r))
        if op == "&":
            return _u(a & b)
        if op == "|":
            return _u(a | b)
        if op == "^":
            return _u(a ^ b)
        cmp = {
            "==": a == b,
            "!=": a != b,
            "<": a < b,
            ">": a > b,
            "<=": a <= b,
            ">=": a >= b,
            "&&": (a != 0) & (b != 0),
            "||": (a != 0) | (b != 0),
        }
        if op not in cmp:
            raise Unsupported(f"operator {op}")
        return _u(cmp[op].astype(U64))

    def _call(self, e: Call) -> Value:
        name = e.name
        if name in ("__get_str", "__get_rel_str") and len(e.args) == 1:
            arg = e.args[0]
            if isinstance(arg, FieldRef) and arg.name in self.d.strings:
                return self.d.strings[arg.name]
            raise Unsupported(f"{name} of {arg}")
        if name == "__builtin_expect" and e.args:
            return self.value(e.args[0])
        if name == "__print_symbolic" and e.args:
            return self._symbolic(self.num(e.args[0]), e.args[1:])
        if name == "__print_flags" and len(e.args) >= 2 and isinstance(e.args[1], Str):
            return self._flags(self.num(e.args[0]), e.args[1].value, e.args[2:])
        raise Unsupported(f"call {name}")

    def _pairs(self, items: tuple[Expr, ...]) -> list[tuple[int, bytes]]:
        out = []
        for it in items:
            if not (isinstance(it, Braces) and len(it.items) == 2):
                raise Unsupported("symbol table entry")
            k, s = it.items
            if not isinstance(s, Str):
                raise Unsupported("symbol table string")
            kv = self.num(k)
            out.append((int(kv[0]) if len(kv) else 0, s.value))
        return out

    def _symbolic(self, val: np.ndarray[Any, Any], items: tuple[Expr, ...]) -> StrCol:
        pairs = self._pairs(items)
        idx = np.full(self.n, -1, np.int64)
        for j in range(len(pairs) - 1, -1, -1):  # the first match wins
            idx[val == U64(pairs[j][0] & ((1 << 64) - 1))] = j
        table = [s for _, s in pairs]
        miss = idx < 0
        if not miss.any():
            return sc.choose(table, idx)
        # no match: libtraceevent prints the value as 0x%llx
        hexs = sc.concat([sc.const(b"0x", self.n), sc.unsigned(val, 16)])
        hit = sc.choose([*table, b""], np.where(miss, len(table), idx))
        return _where_str(miss, hexs, hit)

    def _flags(self, val: np.ndarray[Any, Any], delim: bytes, items: tuple[Expr, ...]) -> StrCol:
        pairs = self._pairs(items)
        n = self.n
        rest = val.copy()
        printed = np.zeros(n, bool)
        pieces: list[StrCol] = []
        zero_hit = np.zeros(n, bool)
        for fval, text in pairs:
            if fval == 0:
                zmask = (val == 0) & ~zero_hit & ~printed
                if zmask.any():
                    pieces.append(sc.choose([b"", text], zmask.astype(np.int64)))
                    zero_hit |= zmask
                continue
            f = U64(fval & ((1 << 64) - 1))
            hit = ((rest & f) == f) & ~zero_hit
            if not hit.any():
                continue
            pieces.append(sc.choose([b"", delim], (hit & printed).astype(np.int64)))
            pieces.append(sc.choose([b"", text], hit.astype(np.int64)))
            printed |= hit
            rest = np.where(hit, rest & ~f, rest)
        left = (rest != 0) & ~zero_hit
        if left.any():
            pieces.append(sc.choose([b"", delim], (left & printed).astype(np.int64)))
            hexs = sc.concat([sc.const(b"0x", n), sc.unsigned(rest, 16)])
            pieces.append(_where_str(left, hexs, sc.const(b"", n)))
        return sc.concat(pieces) if pieces else sc.const(b"", n)


def _where_str(test: np.ndarray[Any, Any], yes: StrCol, no: StrCol) -> StrCol:
    return sc.where(test, yes, no)


def render_conv(conv: Conv, v: Value, ev: Evaluator) -> StrCol:
    """One printf conversion over a column."""
    n = ev.n
    left = "-" in conv.flags
    if conv.conv == "s":
        if not isinstance(v, StrCol):
            raise Unsupported("%s of a number")
        if conv.prec is not None and conv.prec >= 0:
            v = sc.gather(v.data, v.offsets[:-1], np.minimum(v.lengths, conv.prec))
        return sc.pad(v, conv.width, left) if conv.width and conv.width > 0 else v
    if isinstance(v, StrCol):
        if conv.conv == "p":  # a string where a pointer was meant: printed as given
            return v
        raise Unsupported(f"%{conv.conv} of a string")
    if conv.conv == "p":
        if conv.ext in "sSfF" and conv.ext:
            out = _function(conv.ext, v, ev)
        else:
            val = _mask(v, ev.long_size, False)
            hexs = sc.concat([sc.const(b"0x", n), sc.unsigned(val, 16)])
            out = _where_str(val == 0, sc.const(b"(nil)", n), hexs)
        return sc.pad(out, conv.width, left) if conv.width and conv.width > 0 else out
    size = {-2: 1, -1: 2, 0: 4, 1: ev.long_size, 2: 8}[conv.length]
    if conv.conv == "c":
        body = sc.gather(
            (v & U64(0xFF)).astype(np.uint8), np.arange(n, dtype=np.int64), np.ones(n, np.int64)
        )
        return sc.pad(body, conv.width, left) if conv.width and conv.width > 0 else body
    is_signed = conv.conv in "di"
    val = _mask(v, size, is_signed)
    sign = None
    if is_signed:
        neg = val.view(np.int64) < 0
        mag = np.where(neg, (~val) + U64(1), val)
        digits = sc.unsigned(mag)
        lead = b"+" if "+" in conv.flags else (b" " if " " in conv.flags else b"")
        sign = sc.choose([lead, b"-"], neg.astype(np.int64))
    else:
        base = {"u": 10, "x": 16, "X": 16, "o": 8}[conv.conv]
        digits = sc.unsigned(val, base, upper=conv.conv == "X")
        if "#" in conv.flags and conv.conv in "xXo":
            pre = {"x": b"0x", "X": b"0X", "o": b"0"}[conv.conv]
            sign = sc.choose([b"", pre], (val != 0).astype(np.int64))
    if conv.prec is not None and conv.prec > 0:
        digits = sc.pad(digits, conv.prec, fill=b"0")
    width = conv.width if conv.width and conv.width > 0 else 0
    if width and "0" in conv.flags and not left and conv.prec is None:
        head = sign if sign is not None else sc.const(b"", n)
        body_len = head.lengths + digits.lengths
        zeros = sc.gather(
            np.frombuffer(b"0" * width, np.uint8),
            np.zeros(n, np.int64),
            np.maximum(0, width - body_len),
        )
        return sc.concat([head, zeros, digits])
    body = sc.concat([sign, digits]) if sign is not None else digits
    return sc.pad(body, width, left) if width else body


def _function(ext: str, v: np.ndarray[Any, Any], ev: Evaluator) -> StrCol:
    """%ps/%pS/%pf/%pF: the resolver's symbol, else ``0x%llx`` (formatted a column at
    a time; only the distinct addresses that have a symbol are formatted one by one)."""
    n = ev.n
    val = _mask(v, ev.long_size, False)
    hexs = sc.concat([sc.const(b"0x", n), sc.unsigned(val, 16)])
    if ev.resolve is None or not n:
        return hexs
    uniq, inv = unique_inverse(val)
    names, starts = ev.resolve(uniq)
    texts: list[bytes] = [b""]
    pick = np.zeros(len(uniq), np.int64)
    for i, name in enumerate(names):
        if name is None:
            continue
        pick[i] = len(texts)
        if ext in "SF":
            texts.append(name + b"+0x%x" % (int(uniq[i]) - int(starts[i])))
        else:
            texts.append(name)
    if len(texts) == 1:
        return hexs
    idx = pick[inv.reshape(n)]
    return sc.where(idx > 0, sc.choose(texts, idx), hexs)


@dataclass
class Program:
    """A parsed print fmt: pieces are literal bytes or (conversion, argument)."""

    pieces: list[bytes | tuple[Conv, Expr]]


def compile_program(fmt: EventFormat) -> Program:
    """The event's print fmt, parsed (Unsupported if outside the subset)."""
    parts = parse_format_string(fmt.print_fmt)
    args = parse_args(fmt.print_args)
    pieces: list[bytes | tuple[Conv, Expr]] = []
    k = 0
    for p in parts:
        if isinstance(p, str):
            pieces.append(p.encode("utf-8", "surrogateescape"))
            continue
        if p.width == -1 or p.prec == -1:
            raise Unsupported("'*' width or precision")
        if k >= len(args):
            raise Unsupported("fewer arguments than conversions")
        pieces.append((p, args[k]))
        k += 1
    if k != len(args):
        raise Unsupported("more arguments than conversions")
    return Program(pieces)


def render(prog: Program, ev: Evaluator) -> tuple[StrCol, list[StrCol | bytes]]:
    """The payload column, and each piece rendered (bytes for literals)."""
    out: list[StrCol | bytes] = []
    for p in prog.pieces:
        if isinstance(p, bytes):
            out.append(p)
        else:
            conv, arg = p
            out.append(render_conv(conv, ev.value(arg), ev))
    n = ev.n
    cols = [sc.const(p, n) if isinstance(p, bytes) else p for p in out]
    return (sc.concat(cols) if cols else sc.const(b"", n)), out
