"""Compiled byte scanners for tracepoint text (numba).

Why compiled: ``perf script`` emits ~800k lines/s on a CI machine and the ingest
must take them at least twice as fast.  Arrow kernels cost ~1.5 us a line (a
dozen passes, each building new strings); one compiled pass over the raw bytes,
cutting the prefix, decoding the payload and copying the strings, costs ~0.27 us.
numba ships wheels for every supported Python, so nothing is built on the
user's machine; kernels are cached on disk after the first compile.

Contract: a scanner *accepts* a line only where the exact per-line path (the
record regexes of perf_script.py, ftrace.py and trace_cmd.py, then
``tracetext.decode_payload``) gives the same values.
Anything else - non-ASCII or control bytes, CR, numbers that could overflow,
odd shapes - is marked not-ok and left to that path.  tests/test_traces.py
compares the two on every capture and on generated and mutated lines.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

_init_lock = threading.Lock()
_initialised = False


def ready() -> None:
    """Initialise numba's CPU target once per process, without scipy.linalg.

    The target checks for a BLAS (for ``np.dot`` in compiled code, which these
    scanners never use) by importing scipy.linalg: 0.17 s and 21 MB of every
    cold ingest.  While the target initialises that import is made to fail, so
    numba records "no BLAS"; scipy.linalg imports normally afterwards."""
    global _initialised
    with _init_lock:
        if _initialised:
            return
        blocked = "scipy.linalg" not in sys.modules
        if blocked:
            sys.modules["scipy.linalg"] = None  # type: ignore[assignment]
        try:
            from numba.core.registry import cpu_target

            cpu_target.target_context.refresh()
        finally:
            if blocked and sys.modules.get("scipy.linalg", False) is None:
                del sys.modules["scipy.linalg"]
        _initialised = True


def _compiled(fn: F, **options: Any) -> F:
    """numba.njit, cached on disk (next to this file, else in the user's cache
    directory); where neither is writable numba refuses to cache, and the kernels
    are compiled once per process instead."""
    from numba import njit

    try:
        return cast(F, njit(nogil=True, cache=True, **options)(fn))
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return cast(F, njit(nogil=True, **options)(fn))


def _jit(fn: F) -> F:
    return _compiled(fn)


def _inline(fn: F) -> F:
    """A helper compiled into its callers (no call, no reference counting of its
    array arguments: a call per payload with eleven arrays cost more than the work)."""
    return _compiled(fn, inline="always")


_U64_MAX = np.uint64(0xFFFFFFFFFFFFFFFF)
#: room for fields (key=value pairs other than the typed keys) per row; see new_rows
FIELDS_PER_ROW = 8

# Byte classes by table lookup: one load instead of a chain of compares (measured:
# a fifth of the scan time went to branchy character tests).
_WORD = np.zeros(256, np.uint8)
for _c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-":
    _WORD[_c] = 1
#: payload bytes: 0 plain, 1 space or newline (ends a token), 2 '=', 3 not printable
_PAYLOAD = np.full(256, 3, np.uint8)
_PAYLOAD[33:127] = 0
_PAYLOAD[ord(" ")] = _PAYLOAD[ord("\n")] = 1
_PAYLOAD[ord("=")] = 2
#: prefix bytes: 0 plain, 1 ':', 2 newline, 3 not printable
_PREFIX = np.full(256, 3, np.uint8)
_PREFIX[32:127] = 0
_PREFIX[ord(":")] = 1
_PREFIX[ord("\n")] = 2
_PREFIX[ord("\\")] = _PAYLOAD[ord("\\")] = 3  # the per-line path escapes backslashes
#: hex digit values; 16 marks a byte that is not a hex digit
_HEX = np.full(256, 16, np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEX[_c] = 10 + _i

#: typed payload keys: slots of the uint64 matrix, and of the boolean matrix
U64_KEYS = ("ip", "vm_start", "vm_end", "address", "error_code", "mm")
BOOL_KEYS = ("write", "success")
_IP, _VM_START, _VM_END, _ADDRESS, _ERROR_CODE, _MM = range(6)
_VMA = 100
_WRITE, _SUCCESS = 200, 201


@_inline
def _isdigit(c: int) -> bool:
    return 48 <= c <= 57


@_inline
def _isword(c: int) -> bool:
    """``[A-Za-z0-9_.-]`` (the ASCII part of the event-name class ``[\\w.-]``)."""
    return bool(_WORD[c] != 0)


@_inline
def _dec(buf: Any, a: int, b: int) -> int:
    """Value of the ASCII digits buf[a:b] (callers check them and keep b - a <= 18)."""
    v = 0
    for i in range(a, b):
        v = v * 10 + (buf[i] - 48)
    return v


@_inline
def _hexval(buf: Any, a: int, b: int) -> tuple[Any, bool]:
    """``^(?:0x)?[0-9a-fA-F]{1,16}$`` -> (uint64, ok)."""
    if b - a >= 2 and buf[a] == 48 and buf[a + 1] == 120:
        a += 2
    if b - a < 1 or b - a > 16:
        return np.uint64(0), False
    v = np.uint64(0)
    bad = np.uint8(0)
    for i in range(a, b):
        d = _HEX[buf[i]]
        bad |= d
        v = (v << np.uint64(4)) | np.uint64(d & 15)
    if bad & 16:
        return np.uint64(0), False
    return v, True


@_inline
def _decval_u64(buf: Any, a: int, b: int) -> tuple[Any, bool]:
    """``text.isdigit() and int(text) < 2**64`` on ASCII -> (uint64, ok)."""
    if b <= a:
        return np.uint64(0), False
    v = np.uint64(0)
    over = False
    ten = np.uint64(10)
    for i in range(a, b):
        c = buf[i]
        if c < 48 or c > 57:
            return np.uint64(0), False
        d = np.uint64(c - 48)
        if v > (_U64_MAX - d) // ten:
            over = True
        else:
            v = v * ten + d
    if over:
        return np.uint64(0), False
    return v, True


@_inline
def _is(buf: Any, a: int, word: Any) -> bool:
    for i in range(len(word)):  # noqa: SIM110 (numba compiles loops, not generators)
        if buf[a + i] != word[i]:
            return False
    return True


_K_IP = np.frombuffer(b"ip", np.uint8)
_K_MM = np.frombuffer(b"mm", np.uint8)
_K_VMA = np.frombuffer(b"vma", np.uint8)
_K_WRITE = np.frombuffer(b"write", np.uint8)
_K_ADDRESS = np.frombuffer(b"address", np.uint8)
_K_SUCCESS = np.frombuffer(b"success", np.uint8)
_K_ERROR_CODE = np.frombuffer(b"error_code", np.uint8)
_TRUE = np.frombuffer(b"true", np.uint8)
_FALSE = np.frombuffer(b"false", np.uint8)


@_inline
def _key(buf: Any, a: int, n: int) -> int:
    """Which typed key buf[a:a+n] is (-1: none)."""
    if n == 2:
        if _is(buf, a, _K_IP):
            return _IP
        if _is(buf, a, _K_MM):
            return _MM
    elif n == 3:
        if _is(buf, a, _K_VMA):
            return _VMA
    elif n == 5:
        if _is(buf, a, _K_WRITE):
            return _WRITE
    elif n == 7:
        if _is(buf, a, _K_ADDRESS):
            return _ADDRESS
        if _is(buf, a, _K_SUCCESS):
            return _SUCCESS
    elif n == 10 and _is(buf, a, _K_ERROR_CODE):
        return _ERROR_CODE
    return -1


@_jit
def new_rows(n: int, nbytes: int) -> tuple[Any, ...]:
    """Empty output for ``n`` rows whose payloads hold at most ``nbytes`` bytes.

    (u64 values [7, n], u64 valid, bool values [2, n], bool valid,
     payload offsets, payload bytes, field offsets, key offsets, key bytes,
     value offsets, value bytes).  Slot 6 of the u64 matrix is vm_start read as
     decimal (v4 kernels); the caller picks it or slot 1 once it knows.

    The fields get room for FIELDS_PER_ROW fields a row on average: a payload
    that does not fit is refused like a non-printable one and its line takes the
    per-line path, so the bound costs speed on exotic input, never correctness,
    and keeps the buffers (and the memory they pin) near what is used."""
    nf = FIELDS_PER_ROW * n + 1
    return (
        np.zeros((7, n), np.uint64),
        np.zeros((7, n), np.bool_),
        np.zeros((2, n), np.bool_),
        np.zeros((2, n), np.bool_),
        np.zeros(n + 1, np.int32),
        np.empty(nbytes, np.uint8),
        np.zeros(n + 1, np.int32),
        _offsets(nf + 1),
        np.empty(min(nbytes, 24 * nf), np.uint8),
        _offsets(nf + 1),
        np.empty(min(nbytes, 48 * nf), np.uint8),
    )


@_inline
def _offsets(n: int) -> Any:
    """Offsets filled as entries are appended: only the first needs a value."""
    out = np.empty(n, np.int32)
    out[0] = 0
    return out


@_inline
def _payload(buf: Any, a0: int, b0: int, r: int, out: tuple[Any, ...]) -> tuple[int, bool]:
    """Decode the payload starting at buf[a0] and ending at b0 or at the newline,
    whichever comes first, as row ``r``; append its bytes and fields to ``out``
    (``decode_payload`` on bytes).  Returns (end, ok); not ok, with nothing
    appended, when the payload holds a byte outside printable ASCII.  One visit
    per byte: the token scan also finds the end and checks the bytes."""
    u, uv, bv, bok, poff, pdata, foff, koff, kdata, voff, vdata = out
    m = foff[r]
    m0 = m
    i = a0
    printable = True
    while True:
        j = i
        sep = -1
        while j < b0:
            cls = _PAYLOAD[buf[j]]
            if cls != 0:
                if cls == 1:
                    break
                if cls == 2:
                    if sep < 0:
                        sep = j
                else:
                    printable = False
            j += 1
        if sep < 0:
            for k in range(i, j):
                if buf[k] == 58:
                    sep = k
                    break
        if sep > i:
            a = sep + 1
            kind = _key(buf, i, sep - i)
            if 0 <= kind < 6:
                v, ok = _hexval(buf, a, j)
                u[kind, r] = v
                uv[kind, r] = ok
            elif _WRITE <= kind <= _SUCCESS:
                slot = kind - _WRITE
                if j - a == 4 and _is(buf, a, _TRUE):
                    bv[slot, r] = True
                    bok[slot, r] = True
                else:
                    bv[slot, r] = False
                    bok[slot, r] = j - a == 5 and _is(buf, a, _FALSE)
            elif kind == _VMA:
                dash = -1
                for k in range(a, j):
                    if buf[k] == 45:
                        dash = k
                        break
                if dash < 0:
                    for slot in (_VM_START, _VM_END, 6):
                        u[slot, r] = 0
                        uv[slot, r] = False
                else:
                    v, ok = _hexval(buf, a, dash)
                    u[_VM_START, r] = v
                    uv[_VM_START, r] = ok
                    v, ok = _decval_u64(buf, a, dash)
                    u[6, r] = v
                    uv[6, r] = ok
                    v, ok = _hexval(buf, dash + 1, j)
                    u[_VM_END, r] = v
                    uv[_VM_END, r] = ok
            elif (
                m + 1 >= len(koff) or koff[m] + sep - i > len(kdata) or voff[m] + j - a > len(vdata)
            ):
                printable = False  # no room: the per-line path takes this line
            else:
                o = koff[m]
                kn = sep - i
                kdata[o : o + kn] = buf[i:sep]
                koff[m + 1] = o + kn
                o = voff[m]
                vn = j - a
                vdata[o : o + vn] = buf[a:j]
                voff[m + 1] = o + vn
                m += 1
        if j >= b0 or buf[j] == 10:
            break
        i = j + 1
    if not printable:
        for slot in range(7):
            u[slot, r] = 0
            uv[slot, r] = False
        for slot in range(2):
            bv[slot, r] = False
            bok[slot, r] = False
        foff[r + 1] = m0
        poff[r + 1] = poff[r]
        return j, False
    foff[r + 1] = m
    o = poff[r]
    pdata[o : o + j - a0] = buf[a0:j]
    poff[r + 1] = o + j - a0
    return j, True


_SPF = np.frombuffer(b"pagefault:spf_", np.uint8)
_VMA_DEAD = np.frombuffer(b"pagefault:spf_vma_dead", np.uint8)
_VMA_COLON = np.frombuffer(b"vma:", np.uint8)


@_inline
def _v4_evidence(buf: Any, ea: int, eb: int, pa: int, pb: int) -> bool:
    """Whether an event (buf[ea:eb]) and payload (buf[pa:pb]) show a v4 kernel:
    spf_vma_dead, or an spf_* event whose first ``vma:DIGITS-`` has 13+ digits
    (``TraceTextParser._note_v4``)."""
    if eb - ea < len(_SPF) or not _is(buf, ea, _SPF):
        return False
    if eb - ea == len(_VMA_DEAD) and _is(buf, ea, _VMA_DEAD):
        return True
    k = pa
    while k + 4 <= pb:
        if _is(buf, k, _VMA_COLON):
            d = k + 4
            while d < pb and _isdigit(buf[d]):
                d += 1
            if d > k + 4 and d < pb and buf[d] == 45:
                return d - (k + 4) >= 13
        k += 1
    return False


@_inline
def new_records(n: int, nbytes: int) -> tuple[Any, ...]:
    """A scanner's output for ``n`` lines of ``nbytes`` bytes: (line index, ts, cpu,
    pid, pid valid, tid, comm offsets, comm bytes, event offsets, event bytes,
    payload rows, other lines' index, start, end).  Comms and events get room for
    16 and 48 bytes a line (kernel comms have 15 at most); a line that does not
    fit takes the per-line path."""
    return (
        np.empty(n, np.int64),
        np.zeros(n, np.int64),
        np.zeros(n, np.int32),
        np.zeros(n, np.int32),
        np.zeros(n, np.bool_),
        np.zeros(n, np.int32),
        np.zeros(n + 1, np.int32),
        np.empty(min(nbytes, 16 * n), np.uint8),
        np.zeros(n + 1, np.int32),
        np.empty(min(nbytes, 48 * n), np.uint8),
        new_rows(n, nbytes),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
    )


@_inline
def _append(buf: Any, a: int, b: int, r: int, offs: Any, data: Any) -> None:
    """buf[a:b] as string ``r`` of (offs, data)."""
    o = offs[r]
    offs[r + 1] = o + b - a
    data[o : o + b - a] = buf[a:b]


@_inline
def _result(r: int, out: tuple[Any, ...], v4: bool, nbad: int) -> tuple[Any, ...]:
    """(records, line index, ts, cpu, pid, pid valid, tid, comm offsets, comm
    bytes, event offsets, event bytes, payload rows, v4, other lines' index,
    start, end): what tracetext.TraceTextParser.scanned takes."""
    line, ts, cpu, pid, pid_ok, tid, coff, cdata, eoff, edata, rows, bad, bad_s, bad_e = out
    return (
        r, line, ts, cpu, pid, pid_ok, tid, coff, cdata, eoff, edata, rows, v4,
        bad[:nbad], bad_s[:nbad], bad_e[:nbad],
    )  # fmt: skip


@_inline
def _rnum(buf: Any, s: int, p: int) -> tuple[int, int]:
    """``-?\\d+`` ending at p (1-9 digits), read right to left -> (start, value);
    start -1 when there is none."""
    q = p
    while q > s and _isdigit(buf[q - 1]):
        q -= 1
    if p - q < 1 or p - q > 9:
        return -1, 0
    v = _dec(buf, q, p)
    if q > s and buf[q - 1] == 45:
        q -= 1
        v = -v
    return q, v


@_jit
def scan_perf_script(
    buf: Any, n: int, has_comm: bool, ids_mode: int, has_cpu: bool
) -> tuple[Any, ...]:
    """Cut ``n`` newline-terminated perf script lines of one layout, and decode the
    payloads of the records, in one pass (one visit per byte, most of them the
    copy into the payload column).

    ids_mode: 0 none, 1 one id (stored as tid), 2 pid/tid.  Mirrors _RECORD_RE and
    _prefix_re(layout) of perf_script.py for printable-ASCII lines.  Returns
    ``_result``: the first ``records`` entries of the per-record arrays filled,
    whether a record shows a v4 kernel, and where the other lines are."""
    nbytes = len(buf)
    out = new_records(n, nbytes)
    line, ts, cpu, pid, _, tid, coff, cdata, eoff, edata, rows, bad, bad_s, bad_e = out
    v4 = False
    nbad = 0
    r = 0  # records so far
    pos = 0
    for li in range(n):
        s = pos
        e = s
        good = True
        c1 = -1
        # the prefix, up to the first ": ", must be printable ASCII
        while True:
            cls = _PREFIX[buf[e]]
            if cls != 0:
                if cls == 1:
                    if buf[e + 1] == 32:
                        c1 = e
                        break
                elif cls == 2:
                    break
                else:
                    good = False
                    break
            e += 1
        if good and c1 >= 0:
            good = False
            # time: \d+\.\d+ right before the first ": "
            j = c1 - 1
            while j >= s and _isdigit(buf[j]):
                j -= 1
            fd = c1 - 1 - j
            dot = j
            k = dot - 1
            while k >= s and _isdigit(buf[k]):
                k -= 1
            wd = dot - 1 - k
            t0 = k + 1
            i = c1 + 1
            a = i
            ev_end = i
            if fd >= 1 and j >= s and buf[j] == 46 and 1 <= wd <= 9:
                # event: ": +" system:name ":" then one optional space
                while buf[i] == 32:
                    i += 1
                a = i
                while _isword(buf[i]):
                    i += 1
                if i > a and buf[i] == 58:
                    i += 1
                    b = i
                    while _isword(buf[i]):
                        i += 1
                    if i > b and buf[i] == 58:
                        ev_end = i
                        i += 1
                        if buf[i] == 32:
                            i += 1
                        good = True
            # prefix, right to left: \s* [cpu] ids comm
            p = t0
            cq = s
            if good:
                while p > s and buf[p - 1] == 32:
                    p -= 1
                if has_cpu:
                    good = p > s and buf[p - 1] == 93
                    if good:
                        q, v = _rnum(buf, s, p - 1)
                        good = q > s and buf[q] != 45 and buf[q - 1] == 91
                        cpu[r] = v
                        p = q - 1
                        good = good and p > s and buf[p - 1] == 32
                        while p > s and buf[p - 1] == 32:
                            p -= 1
            if good and ids_mode:
                q, v = _rnum(buf, s, p)
                good = q >= 0
                tid[r] = v
                if good and ids_mode == 2:
                    good = q > s and buf[q - 1] == 47
                    if good:
                        q, v = _rnum(buf, s, q - 1)
                        good = q >= 0
                        pid[r] = v
                p = q
                if good and has_comm:
                    good = p > s and buf[p - 1] == 32
                while p > s and buf[p - 1] == 32:
                    p -= 1
            if good:
                if has_comm:
                    while cq < p and buf[cq] == 32:
                        cq += 1
                    good = cq < p
                else:
                    good = p == s
            if good:  # room for the comm and the event (else: the per-line path)
                good = coff[r] + p - cq <= len(cdata) and eoff[r] + ev_end - a <= len(edata)
            if good:
                e, good = _payload(buf, i, nbytes, r, rows)
            if good:
                pos = e + 1
                fk = min(fd, 9)
                frac = _dec(buf, dot + 1, dot + 1 + fk)
                for _ in range(9 - fk):
                    frac *= 10
                ts[r] = _dec(buf, t0, dot) * 1_000_000_000 + frac
                line[r] = li
                if has_comm:
                    _append(buf, cq, p, r, coff, cdata)
                else:
                    coff[r + 1] = coff[r]
                _append(buf, a, ev_end, r, eoff, edata)
                if not v4:
                    v4 = _v4_evidence(buf, a, ev_end, i, e)
                r += 1
                continue
        while buf[e] != 10:
            e += 1
        pos = e + 1
        bad[nbad] = li
        bad_s[nbad] = s
        bad_e[nbad] = e
        nbad += 1
    return _result(r, out, v4, nbad)


@_inline
def _digits(buf: Any, k: int) -> int:
    """End of the run of ASCII digits starting at k."""
    while _isdigit(buf[k]):
        k += 1
    return k


@_inline
def _spaces(buf: Any, k: int) -> int:
    while buf[k] == 32:
        k += 1
    return k


@_inline
def _token_end(buf: Any, k: int) -> int:
    """End of the run of non-space bytes starting at k (lines end in a newline)."""
    while buf[k] != 32 and buf[k] != 10:
        k += 1
    return k


@_inline
def _ftrace_rest(buf: Any, d: int, tracecmd: bool) -> tuple[Any, ...]:
    """The record regex of ftrace.py / trace_cmd.py from the dash at d to the end of
    a printable line: (ok, pid, tgid, tgid valid, cpu, ts, event start, event end,
    payload start).  Each step is the only way the regex can go on (a failed
    optional group cannot be skipped: the next element would need a digit where
    the group's first byte is not one), so the result is the regex's."""
    fail = (False, 0, 0, False, 0, 0, 0, 0, 0)
    k = d + 1
    q = _digits(buf, k)
    if q == k or q - k > 9 or buf[q] != 32:
        return fail
    pid = _dec(buf, k, q)
    k = _spaces(buf, q)
    tgid, tgid_ok = 0, False
    if tracecmd:
        # \[(\d+)\] | (\d+)(\S*)
        if buf[k] == 91:
            q = _digits(buf, k + 1)
            if q == k + 1 or q - k - 1 > 9 or buf[q] != 93:
                return fail
            cpu = _dec(buf, k + 1, q)
            k = q + 1
        else:
            q = _digits(buf, k)
            if q == k or q - k > 9:
                return fail
            cpu = _dec(buf, k, q)
            k = _token_end(buf, q)
        # (?:\s+flags)?\s+time
        if buf[k] != 32:
            return fail
        k = _spaces(buf, k)
        if not _isdigit(buf[k]):
            t = _token_end(buf, k)
            if t - k < 3 or t - k > 7 or buf[t] != 32:
                return fail
            k = _spaces(buf, t)
    else:
        # (?:\(\s*(\d+|-+)\)\s+)?
        if buf[k] == 40:
            g = _spaces(buf, k + 1)
            q = _digits(buf, g)
            if q > g:
                if q - g > 9:
                    return fail
                tgid, tgid_ok = _dec(buf, g, q), True
            else:
                while buf[q] == 45:
                    q += 1
                if q == g:
                    return fail
            if buf[q] != 41 or buf[q + 1] != 32:
                return fail
            k = _spaces(buf, q + 1)
        # \[(\d+)\]\s+
        if buf[k] != 91:
            return fail
        q = _digits(buf, k + 1)
        if q == k + 1 or q - k - 1 > 9 or buf[q] != 93 or buf[q + 1] != 32:
            return fail
        cpu = _dec(buf, k + 1, q)
        k = _spaces(buf, q + 1)
        # (?:([^\s\d][^\s]{2,6})\s+)?
        if not _isdigit(buf[k]):
            t = _token_end(buf, k)
            if t - k < 3 or t - k > 7 or buf[t] != 32:
                return fail
            k = _spaces(buf, t)
    # \d+(?:\.\d+)?: then ': '
    q = _digits(buf, k)
    if q == k:
        return fail
    if buf[q] == 46:
        f = _digits(buf, q + 1)
        if f == q + 1 or q - k > 9:
            return fail
        fk = min(f - q - 1, 9)
        frac = _dec(buf, q + 1, q + 1 + fk)
        for _ in range(9 - fk):
            frac *= 10
        ts = _dec(buf, k, q) * 1_000_000_000 + frac
        q = f
    else:
        if q - k > 18:
            return fail
        ts = _dec(buf, k, q)
    if buf[q] != 58 or buf[q + 1] != 32:
        return fail
    # ([^\s:]+): then " ?" (ftrace) or "\s*" (trace-cmd)
    a = q + 2
    b = a
    while buf[b] != 32 and buf[b] != 58 and buf[b] != 10:
        b += 1
    if b == a or buf[b] != 58:
        return fail
    p = b + 1
    if tracecmd:
        p = _spaces(buf, p)
    elif buf[p] == 32:
        p += 1
    return (True, pid, tgid, tgid_ok, cpu, ts, a, b, p)


_NAME = np.zeros(256, np.uint8)  # trace-cmd instance names: [A-Za-z0-9_.-]
for _c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-":
    _NAME[_c] = 1

#: dashes remembered per line while looking for the comm-pid dash (more: per-line path)
MAX_DASHES = 64


@_jit
def scan_ftrace(buf: Any, n: int, tracecmd: bool) -> tuple[Any, ...]:
    """Cut ``n`` newline-terminated ftrace (``trace``/``trace_pipe``) or trace-cmd
    report lines and decode the payloads of the records, like scan_perf_script
    (the pid column holds ftrace's tgid where it is known).

    The comm may hold dashes, so the regex's greedy ``(?P<comm>.*)-`` picks the
    rightmost dash after which the rest of the record matches: the dashes of a
    line are tried from the right.  A trace-cmd instance prefix (``NAME: ``) is
    stripped when its lookahead holds, as ``_strip_instance`` does."""
    nbytes = len(buf)
    out = new_records(n, nbytes)
    line, ts, cpu, pid, pid_ok, tid, coff, cdata, eoff, edata, rows, bad, bad_s, bad_e = out
    v4 = False
    dashes = np.empty(MAX_DASHES, np.int64)
    nbad = 0
    r = 0
    pos = 0
    for li in range(n):
        s = pos
        e = s
        good = True
        nd = 0
        while True:
            cls = _PREFIX[buf[e]]
            if cls == 2:
                break
            if cls == 3:
                good = False
            elif buf[e] == 45:
                if nd < MAX_DASHES:
                    dashes[nd] = e
                nd += 1
            e += 1
        pos = e + 1
        if good and nd <= MAX_DASHES:
            good = False
            start = s
            if tracecmd:
                # NAME: (?=\s*\S.*-\d+\s)
                k = s
                while _NAME[buf[k]]:
                    k += 1
                if k > s and buf[k] == 58 and buf[k + 1] == 32:
                    x = _spaces(buf, k + 2)
                    if x < e:
                        for j in range(nd - 1, -1, -1):
                            dj = dashes[j]
                            if dj <= x:
                                break
                            q = _digits(buf, dj + 1)
                            if q > dj + 1 and buf[q] == 32:
                                start = k + 2
                                break
            d = -1
            ok, p_, tg, tg_ok, c_, t_, ea, eb, pa = False, 0, 0, False, 0, 0, 0, 0, 0
            for j in range(nd - 1, -1, -1):
                d = dashes[j]
                if d < start:
                    break
                ok, p_, tg, tg_ok, c_, t_, ea, eb, pa = _ftrace_rest(buf, d, tracecmd)
                if ok:
                    good = True
                    break
            if good:
                # comm: ^\s*(.*) before the dash, then str.strip()
                cq = _spaces(buf, start)
                ce = d
                while ce > cq and buf[ce - 1] == 32:
                    ce -= 1
                good = coff[r] + ce - cq <= len(cdata) and eoff[r] + eb - ea <= len(edata)
            if good:
                _, good = _payload(buf, pa, e, r, rows)
            if good:
                ts[r] = t_
                cpu[r] = c_
                tid[r] = p_
                pid[r] = tg
                pid_ok[r] = tg_ok
                line[r] = li
                _append(buf, cq, ce, r, coff, cdata)
                _append(buf, ea, eb, r, eoff, edata)
                if not v4:
                    v4 = _v4_evidence(buf, ea, eb, pa, e)
                r += 1
                continue
        bad[nbad] = li
        bad_s[nbad] = s
        bad_e[nbad] = e
        nbad += 1
    return _result(r, out, v4, nbad)
