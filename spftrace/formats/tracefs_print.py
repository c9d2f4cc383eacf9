"""The ``print fmt`` of a tracepoint format file, parsed.

Sample:  "mm=%p memcg_id=%llu write=%s", REC->mm, REC->memcg_id, REC->write ? "true" : "false"
Reference: libtraceevent src/event-parse.c (event_read_print_args, parse_arg_format,
         pretty_print: the escapes \\n \\t \\r, flags, widths, length modifiers, %p
         extensions).

The format string becomes a list of literal pieces and conversions, the arguments
a small C expression tree (fields, numbers, strings, casts, unary/binary operators,
ternaries, calls such as __get_str and __print_symbolic).  Anything outside that
subset raises ``Unsupported``; the event's payload is then printed as libtraceevent
prints an event whose format it cannot parse (its fields, ``name=value``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class Unsupported(ValueError):
    """A print fmt construct this module does not evaluate."""


# --- the format string ----------------------------------------------------------------


@dataclass(frozen=True)
class Conv:
    """One printf conversion: %[flags][width][.prec][length]conv[ext]."""

    flags: str
    width: int | None  # None: none; -1: taken from an argument ('*')
    prec: int | None
    length: int  # libtraceevent's ls: -2 hh, -1 h, 0, 1 l, 2 ll
    conv: str  # d i u x X o c s p
    ext: str = ""  # %p extensions: s S f F


_CONV_RE = re.compile(
    r"%(?P<flags>[-+ #0]*)(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d+))?"
    r"(?P<len>hh|h|ll|l|L|z|Z|j|t|q)?(?P<conv>[diuxXoscp%])"
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"'}


def _unescape(text: str) -> str:
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def parse_format_string(fmt: str) -> list[str | Conv]:
    """Literal pieces and conversions, in order (``%%`` becomes a literal ``%``)."""
    text = _unescape(fmt)
    pieces: list[str | Conv] = []
    lit: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != "%":
            lit.append(text[i])
            i += 1
            continue
        m = _CONV_RE.match(text, i)
        if m is None:
            raise Unsupported(f"conversion at {text[i : i + 8]!r}")
        if m.group("conv") == "%":
            lit.append("%")
            i = m.end()
            continue
        ext = ""
        end = m.end()
        if m.group("conv") == "p" and end < len(text) and text[end].isalnum():
            ext = text[end]
            end += 1
            if ext not in "sSfF":
                raise Unsupported(f"%p{ext}")
        ln = m.group("len") or ""
        length = {"hh": -2, "h": -1, "l": 1, "ll": 2, "L": 2, "q": 2}.get(ln, 0)
        if ln in ("z", "Z", "j", "t"):
            length = 1
        width = m.group("width")
        prec = m.group("prec")
        if lit:
            pieces.append("".join(lit))
            lit = []
        pieces.append(
            Conv(
                m.group("flags"),
                None if width is None else (-1 if width == "*" else int(width)),
                None if prec is None else (-1 if prec == "*" else int(prec)),
                length,
                m.group("conv"),
                ext,
            )
        )
        i = end
    if lit:
        pieces.append("".join(lit))
    return pieces


# --- the argument expressions --------------------------------------------------------


@dataclass(frozen=True)
class FieldRef:
    name: str


@dataclass(frozen=True)
class Num:
    value: int


@dataclass(frozen=True)
class Str:
    value: bytes


@dataclass(frozen=True)
class Cast:
    ctype: str
    expr: Expr


@dataclass(frozen=True)
class Unary:
    op: str
    expr: Expr


@dataclass(frozen=True)
class Binary:
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Cond:
    test: Expr
    yes: Expr
    no: Expr


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Braces:
    items: tuple[Expr, ...]


Expr = FieldRef | Num | Str | Cast | Unary | Binary | Cond | Call | Braces

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>0[xX][0-9a-fA-F]+|\d+)[uUlL]*|(?P<str>\"(?:\\.|[^\"\\])*\")"
    r"|(?P<chr>'(?:\\.|[^'\\])')|(?P<id>[A-Za-z_]\w*)"
    r"|(?P<op>->|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^~!<>?:,()\[\]{}.]))"
)
_BINARY = [
    ("||",),
    ("&&",),
    ("|",),
    ("^",),
    ("&",),
    ("==", "!="),
    ("<", ">", "<=", ">="),
    ("<<", ">>"),
    ("+", "-"),
    ("*", "/", "%"),
]


_FIELD_CALLS = frozenset(
    ("__get_str", "__get_rel_str", "__get_dynamic_array", "__get_rel_dynamic_array",
     "__get_dynamic_array_len", "__get_bitmask", "__get_cpumask")
)  # fmt: skip


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None or m.end() == pos:
            raise Unsupported(f"print args at {text[pos : pos + 12]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, str]:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if value is not None and tok[1] != value:
            raise Unsupported(f"expected {value!r}, found {tok[1]!r}")
        self.i += 1
        return tok

    def args(self) -> list[Expr]:
        out: list[Expr] = []
        while self.peek()[0] != "end":
            out.append(self.expr())
            if self.peek()[1] == ",":
                self.take()
            elif self.peek()[0] != "end":
                raise Unsupported(f"unexpected {self.peek()[1]!r}")
        return out

    def expr(self) -> Expr:
        test = self.binary(0)
        if self.peek()[1] == "?":
            self.take()
            yes = self.expr()
            self.take(":")
            return Cond(test, yes, self.expr())
        return test

    def binary(self, level: int) -> Expr:
        if level == len(_BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in _BINARY[level]:
            op = self.take()[1]
            left = Binary(op, left, self.binary(level + 1))
        return left

    def unary(self) -> Expr:
        kind, val = self.peek()
        if kind == "op" and val in ("-", "!", "~", "+", "*", "&"):
            self.take()
            if val in ("*", "&"):
                raise Unsupported(f"unary {val}")
            return Unary(val, self.unary())
        if kind == "op" and val == "(" and self._is_cast():
            self.take()
            words = []
            while self.peek()[1] != ")":
                words.append(self.take()[1])
            self.take(")")
            return Cast(" ".join(words), self.unary())
        return self.postfix()

    def _is_cast(self) -> bool:
        j = 1
        words = 0
        while True:
            kind, val = self.peek(j)
            if kind == "id" and val != "REC":
                words += 1
            elif not (kind == "op" and val == "*"):
                break
            j += 1
        if words == 0 or self.peek(j)[1] != ")":
            return False
        nk, nv = self.peek(j + 1)
        return nk in ("id", "num", "str", "chr") or nv in ("(", "-", "!", "~")

    def postfix(self) -> Expr:
        kind, val = self.take()
        if kind == "num":
            return Num(int(val, 0) if not re.match(r"^0\d", val) else int(val, 8))
        if kind == "chr":
            body = _unescape(val[1:-1])
            return Num(ord(body))
        if kind == "str":
            text = _unescape(val[1:-1])
            while self.peek()[0] == "str":  # "a" "b"
                text += _unescape(self.take()[1][1:-1])
            return Str(text.encode("utf-8", "surrogateescape"))
        if kind == "id":
            if val == "REC" and self.peek()[1] in ("->", "."):
                self.take()
                return self._index(FieldRef(self.take()[1]))
            if self.peek()[1] == "(":
                self.take()
                args: list[Expr] = []
                while self.peek()[1] != ")":
                    nk, nv = self.peek()
                    if val in _FIELD_CALLS and nk == "id" and self.peek(1)[1] in (",", ")"):
                        self.take()  # __get_str(memcg_path): a bare field name
                        args.append(FieldRef(nv))
                    else:
                        args.append(self.expr())
                    if self.peek()[1] == ",":
                        self.take()
                    elif self.peek()[1] != ")":
                        raise Unsupported(f"call {val}: unexpected {self.peek()[1]!r}")
                self.take(")")
                return Call(val, tuple(args))
            raise Unsupported(f"identifier {val}")
        if val == "(":
            inner = self.expr()
            self.take(")")
            return inner
        if val == "{":
            items: list[Expr] = []
            while self.peek()[1] != "}":
                items.append(self.expr())
                if self.peek()[1] == ",":
                    self.take()
            self.take("}")
            return Braces(tuple(items))
        raise Unsupported(f"token {val!r}")

    def _index(self, expr: Expr) -> Expr:
        if self.peek()[1] == "[":
            raise Unsupported("array index")
        return expr


def parse_args(text: str) -> list[Expr]:
    """The comma-separated argument expressions of a print fmt."""
    return _Parser(text).args() if text.strip() else []
