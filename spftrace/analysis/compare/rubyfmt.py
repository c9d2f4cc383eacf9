"""Ruby's printf for Floats (``%W.Pf``, ``%W.Pg``), digit for digit.

LKP prints its table with Ruby, and MRI does not round like C or Python: its dtoa (ruby/ruby
missing/dtoa.c, David Gay's algorithm with one change) first tries double arithmetic, and when
the remainder is within that arithmetic's error of one half it rounds to an even digit instead
of deciding exactly.  So ``%.2f`` prints 1.925 as ``1.92`` and 2.675 as ``2.68``, ``%.1f`` 2.45
as ``2.4`` (C and Python: ``1.93``, ``2.67``, ``2.5``), and a zero it rounds to is kept by ``%g``
(6050 as ``6.0e+03``, not ``6e+03``).  This module takes the same steps with Python floats (the
same IEEE doubles, so the same errors) and integers for the exact parts; tests hold it to Ruby.
"""

from __future__ import annotations

import math

TENS = tuple(float(10**i) for i in range(23))  # 1e0..1e22 are exact doubles
BIGTENS = (1e16, 1e32, 1e64, 1e128, 1e256)
QUICK_MAX = 14  # most digits the double-arithmetic pass is tried for
INT_MAX = 14  # largest power of ten whose integers are digit-generated in doubles


def _estimate_k(d: float) -> tuple[int, bool]:
    """floor(log10(d)) from the binary exponent, possibly one too high when unchecked."""
    m, e = math.frexp(d)
    ds = (2 * m - 1.5) * 0.289529654602168 + 0.1760912590558 + (e - 1) * 0.301029995663981
    k = int(ds)
    if ds < 0 and ds != k:
        k -= 1
    if 0 <= k <= 22:
        return (k - 1 if d < TENS[k] else k), False
    return k, True


def _bump(digits: list[int], k: int) -> tuple[list[int], int]:
    """Round the last digit up, carrying through nines (which are dropped)."""
    while digits and digits[-1] == 9:
        digits.pop()
    if not digits:
        return [1], k + 1
    digits[-1] += 1
    return digits, k


def _strip(digits: list[int]) -> list[int]:
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
    return digits


def _quick(d: float, k: int, k_check: bool, ilim: int, ilim1: int) -> tuple[list[int], int] | bool:
    """The double-arithmetic pass: (digits, k), or whether it found a near-half (fall back)."""
    ieps = 2
    if k > 0:
        ds, j, i = TENS[k & 0xF], k >> 4, 0
        if j & 0x10:
            j &= 0xF
            d /= BIGTENS[-1]
            ieps += 1
        while j:
            if j & 1:
                ieps += 1
                ds *= BIGTENS[i]
            j, i = j >> 1, i + 1
        d /= ds
    elif k < 0:
        j1 = -k
        d *= TENS[j1 & 0xF]
        j, i = j1 >> 4, 0
        while j:
            if j & 1:
                ieps += 1
                d *= BIGTENS[i]
            j, i = j >> 1, i + 1
    if k_check and d < 1.0 and ilim > 0:
        if ilim1 <= 0:
            return False
        ilim, k, d, ieps = ilim1, k - 1, d * 10.0, ieps + 1
    eps = math.ldexp(ieps * d + 7.0, -52)
    if ilim == 0:
        d -= 5.0
        if d > eps:
            return [1], k + 1
        if d < -eps:
            return [], -1 - k  # no digits; the caller reads the exponent from ndigits
        return False
    eps *= TENS[ilim - 1]
    digits: list[int] = []
    i = 1
    while True:
        n = int(d)
        d -= n
        if d == 0:
            ilim = i
        digits.append(n)
        if i == ilim:
            if d > 0.5 + eps:
                return _bump(digits, k)
            if d < 0.5 - eps:
                return _strip(digits), k
            if n & 1:  # near half, odd digit: up to even
                return _bump(digits, k)
            return True  # near half, even digit: decided exactly, biased to even
        i += 1
        d *= 10.0


def dtoa(d: float, mode: int, ndigits: int) -> tuple[str, int]:
    """Digits and decimal exponent of ``d`` > 0 (value = 0.DIGITS * 10**decpt); mode 2 keeps
    ``ndigits`` significant digits, mode 3 ``ndigits`` after the point."""
    if d == 0:
        return "0", 1
    k, k_check = _estimate_k(d)
    if mode == 2:
        ilim = ilim1 = max(ndigits, 1)
    else:
        ilim, ilim1 = ndigits + k + 1, ndigits + k
    half = False
    if 0 <= ilim <= QUICK_MAX:
        quick = _quick(d, k, k_check, ilim, ilim1)
        if isinstance(quick, tuple):
            digits, kq = quick
            if not digits:
                return "", -ndigits
            return "".join(map(str, digits)), kq + 1
        half = quick
    num, den = d.as_integer_ratio()
    if den == 1 and k <= INT_MAX:  # an integer: exact digits, ties to even, zeros kept
        ds = 10**k
        digits, rem = [], num
        for i in range(1, ilim + 1):
            n, rem = divmod(rem, ds)
            digits.append(n)
            if rem == 0:
                break
            if i == ilim:
                if 2 * rem > ds or (2 * rem == ds and n & 1):
                    digits, k = _bump(digits, k)
                break
            rem *= 10
        return "".join(map(str, digits)), k + 1
    b, s = (num, den * 10**k) if k >= 0 else (num * 10**-k, den)
    if k_check and b < s:  # the estimate was one too high
        k -= 1
        b *= 10
        ilim = ilim1
    if ilim <= 0 and mode == 3:
        if ilim < 0 or b <= 5 * s:
            return "", -ndigits
        return "1", k + 2
    digits = []
    for i in range(1, ilim + 1):
        n, b = divmod(b, s)
        digits.append(n)
        if b == 0:
            return "".join(map(str, digits)), k + 1
        if i < ilim:
            b *= 10
    j = 2 * b - s
    if j > 0 or (j == 0 and digits[-1] & 1):
        while digits and digits[-1] == 9:
            digits.pop()
        if not digits:
            return "1", k + 2
        if not half or digits[-1] & 1:  # near half: an even digit stays
            digits[-1] += 1
    else:
        digits = _strip(digits)
    return "".join(map(str, digits)), k + 1


def _sign(x: float, plus: bool) -> str:
    if x < 0 or (x == 0 and math.copysign(1.0, x) < 0):
        return "-"
    return "+" if plus else ""


def fmt_f(x: float, prec: int, width: int = 0, plus: bool = False) -> str:
    """Ruby's ``%{+}{width}.{prec}f``."""
    digits, decpt = dtoa(abs(x), 3, prec)
    digits = digits or "0"
    if decpt <= 0:
        intpart, frac = "0", "0" * -decpt + digits
    else:
        intpart = (digits[:decpt] + "0" * max(0, decpt - len(digits))).lstrip("0") or "0"
        frac = digits[decpt:]
    frac = (frac + "0" * prec)[:prec]
    body = intpart + ("." + frac if prec else "")
    return f"{_sign(x, plus) + body:>{width}}"


def fmt_g(x: float, prec: int, width: int = 0, plus: bool = False) -> str:
    """Ruby's ``%{+}{width}.{prec}g``: the digits dtoa returns, no more and no fewer."""
    prec = max(prec, 1)
    digits, decpt = dtoa(abs(x), 2, prec)
    if decpt <= -4 or decpt > prec:
        exp = decpt - 1
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        body = f"{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    elif decpt <= 0:
        body = "0." + "0" * -decpt + digits
    elif decpt >= len(digits):
        body = digits + "0" * (decpt - len(digits))
    else:
        body = digits[:decpt] + "." + digits[decpt:]
    return f"{_sign(x, plus) + body:>{width}}"
