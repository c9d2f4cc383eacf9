/* Tracepoint text scanners (see tracetext.h for the contract).
 *
 * One pass per line: the prefix is cut, the payload decoded and the strings
 * copied.  Inside a line every read may go one byte past the last character:
 * the line's newline (or, for a last line without one, a copy that has it) is
 * the sentinel that ends every run.  Each function names the Python it mirrors. */
#include <pthread.h>

#include "tracetext.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

typedef ptrdiff_t ix;

/* --- byte classes -------------------------------------------------------------- */

enum { PLAIN = 0 };
static uint8_t WORD[256];    /* [A-Za-z0-9_.-]: perf's [\w.-] on ASCII; trace-cmd NAME */
static uint8_t PREFIX[256];  /* 0 plain, 1 ':', 2 newline, 3 refused */
static uint8_t PAYLOAD[256]; /* 0 plain, 1 space or newline, 2 '=', 3 refused */
static uint8_t HEX[256];     /* digit value; 16: not a hex digit */
static uint8_t MODS[256];    /* perf's event modifier letters [ukhpPGHSDIWeb] */
static int classes_ready;

static void classes_init(void) {
    if (classes_ready)
        return;
    const char *word = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";
    for (int c = 0; c < 256; c++) {
        PREFIX[c] = (c >= 32 && c < 127) ? PLAIN : 3;
        PAYLOAD[c] = (c > 32 && c < 127) ? PLAIN : 3;
        HEX[c] = 16;
    }
    for (const char *w = word; *w; w++)
        WORD[(uint8_t)*w] = 1;
    for (const char *m = "ukhpPGHSDIWeb"; *m; m++)
        MODS[(uint8_t)*m] = 1;
    PREFIX[':'] = 1;
    PREFIX['\n'] = 2;
    PAYLOAD[' '] = PAYLOAD['\n'] = 1;
    PAYLOAD['='] = 2;
    /* text.escape doubles a backslash: such lines are left to the Python path */
    PREFIX['\\'] = PAYLOAD['\\'] = 3;
    for (int i = 0; i < 10; i++)
        HEX['0' + i] = (uint8_t)i;
    for (int i = 0; i < 6; i++)
        HEX['a' + i] = HEX['A' + i] = (uint8_t)(10 + i);
    classes_ready = 1;
}

static inline int isdig(uint8_t c) { return c >= '0' && c <= '9'; }

/* --- eight bytes at a time ----------------------------------------------------------
 * The prefix and payload loops skip whole words of plain bytes: a word is tested
 * for any byte the byte loop would stop at (exact as a yes/no; the byte loop then
 * finds which), so the result is the byte loop's.  Words are read only up to the
 * line's newline, which is such a byte, so a skip never passes the line's end. */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline uint64_t load8(const uint8_t *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/* some byte of w is below n (n <= 128) / above n (n <= 127) / equal to c */
static inline uint64_t any_below(uint64_t w, uint8_t n) { return (w - ONES * n) & ~w & HIGHS; }
static inline uint64_t any_above(uint64_t w, uint8_t n) {
    return ((w + ONES * (127 - n)) | w) & HIGHS;
}
static inline uint64_t any_eq(uint64_t w, uint8_t c) {
    uint64_t x = w ^ (ONES * c);
    return (x - ONES) & ~x & HIGHS;
}

/* the first byte a mask of the above flags (little-endian: the lowest flag is
 * exact, a false flag only ever sits above a true one); elsewhere the word's
 * first byte, which the byte loops then step over as usual */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FIRST_FLAG(m) ((ix)(__builtin_ctzll(m) >> 3))
#else
#define FIRST_FLAG(m) ((ix)0)
#endif

/* PREFIX[c] != PLAIN: outside ' '..'~', ':' or a backslash */
static inline uint64_t prefix_stop(uint64_t w) {
    return any_below(w, 32) | any_above(w, 126) | any_eq(w, ':') | any_eq(w, '\\');
}

/* PAYLOAD[c] != PLAIN, or (with eq) '=': outside '!'..'~' or a backslash */
static inline uint64_t payload_stop(uint64_t w, int eq) {
    uint64_t x = any_below(w, 33) | any_above(w, 126) | any_eq(w, '\\');
    return eq ? x | any_eq(w, '=') : x;
}

#ifdef __SSE2__
/* The same stops sixteen bytes at a time (a bit per byte): a signed compare below
 * ' ' (or '!') also takes the bytes from 0x80 up, which are negative, and 0x7f is
 * the one byte above '~' left */
static inline __m128i load16(const uint8_t *p) {
    return _mm_loadu_si128((const __m128i *)(const void *)p);
}

static inline unsigned prefix_stop16(const uint8_t *p) {
    __m128i x = load16(p);
    __m128i m = _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(' ')),
                             _mm_cmpeq_epi8(x, _mm_set1_epi8(127)));
    m = _mm_or_si128(m, _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(':')),
                                     _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));
    return (unsigned)_mm_movemask_epi8(m);
}

static inline unsigned payload_stop16(const uint8_t *p, int eq) {
    __m128i x = load16(p);
    __m128i m = _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8('!')),
                             _mm_cmpeq_epi8(x, _mm_set1_epi8(127)));
    m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
    if (eq)
        m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8('=')));
    return (unsigned)_mm_movemask_epi8(m);
}

/* bytes of WORD ([A-Za-z0-9_.-]): letters folded to lower case by the 0x20 bit */
static inline unsigned word_mask16(const uint8_t *p) {
    __m128i x = load16(p), l = _mm_or_si128(x, _mm_set1_epi8(0x20));
    __m128i let = _mm_and_si128(_mm_cmpgt_epi8(l, _mm_set1_epi8('a' - 1)),
                                _mm_cmplt_epi8(l, _mm_set1_epi8('z' + 1)));
    __m128i dig = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
                                _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
    __m128i pun = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('_')),
                               _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('.')),
                                            _mm_cmpeq_epi8(x, _mm_set1_epi8('-'))));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(let, _mm_or_si128(dig, pun)));
}
#endif

/* The end of the run of WORD bytes from i on, in a line ending at e (the newline
 * is not one): the loop `while (WORD[p[i]]) i++` */
static inline ix word_end(const uint8_t *p, ix i, ix e) {
#ifdef __SSE2__
    for (; i + 16 <= e + 1; i += 16) {
        unsigned m = ~word_mask16(p + i) & 0xFFFFu;
        if (m)
            return i + __builtin_ctz(m);
    }
#endif
    while (WORD[p[i]])
        i++;
    return i;
}

/* From j on, past whole words of plain bytes of the line ending at e: j itself,
 * or a later byte no further than the first stop */
static inline ix prefix_skip(const uint8_t *p, ix j, ix e) {
#ifdef __SSE2__
    for (; j + 16 <= e + 1; j += 16) {
        unsigned m = prefix_stop16(p + j);
        if (m)
            return j + __builtin_ctz(m);
    }
#endif
    for (; j + 8 <= e + 1; j += 8) {
        uint64_t m = prefix_stop(load8(p + j));
        if (m)
            return j + FIRST_FLAG(m);
    }
    return j;
}

static inline ix payload_skip(const uint8_t *p, ix j, ix e, int eq) {
#ifdef __SSE2__
    for (; j + 16 <= e + 1; j += 16) {
        unsigned m = payload_stop16(p + j, eq);
        if (m)
            return j + __builtin_ctz(m);
    }
#endif
    for (; j + 8 <= e + 1; j += 8) {
        uint64_t m = payload_stop(load8(p + j), eq);
        if (m)
            return j + FIRST_FLAG(m);
    }
    return j;
}

/* value of the digits p[a:b]; callers check them and keep b - a <= 18 */
static inline int64_t dec(const uint8_t *p, ix a, ix b) {
    int64_t v = 0;
    for (ix i = a; i < b; i++)
        v = v * 10 + (p[i] - '0');
    return v;
}

static inline ix digits(const uint8_t *p, ix k) {
    while (isdig(p[k]))
        k++;
    return k;
}

static inline ix spaces(const uint8_t *p, ix k) {
    while (p[k] == ' ')
        k++;
    return k;
}

/* spaces() within a line ending at e (p[e] is its newline), a word at a time */
static inline ix spaces_to(const uint8_t *p, ix k, ix e) {
    while (k + 8 <= e + 1 && load8(p + k) == ONES * ' ')
        k += 8;
    return spaces(p, k);
}

static inline ix token_end(const uint8_t *p, ix k) {
    while (p[k] != ' ' && p[k] != '\n')
        k++;
    return k;
}

static inline int is(const uint8_t *p, ix a, ix b, const char *word, size_t n) {
    return (size_t)(b - a) == n && memcmp(p + a, word, n) == 0;
}

/* Eight ASCII digits (the first in the lowest byte) -> their value, by three
 * multiplications (simdjson's parse_eight_digits_unrolled) */
static inline uint32_t parse8(uint64_t w) {
    w -= 0x3030303030303030ULL;
    w = w * 10 + (w >> 8);
    w = (((w & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
         (((w >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >>
        32;
    return (uint32_t)w;
}

/* dec() of the 0-9 digits p[a:b]; p[lo:b] may be read (the line): eight bytes
 * ending at b at once, those before the digits read as '0' */
static inline int64_t dec9(const uint8_t *p, ix lo, ix a, ix b) {
    ix n = b - a;
    if (n < 1 || n > 9 || b - 8 < lo)
        return dec(p, a, b);
    uint64_t w = load8(p + b - 8);
    if (n < 8) {
        uint64_t low = (1ULL << (8 * (8 - n))) - 1;
        w = (w & ~low) | (0x3030303030303030ULL & low);
    }
    int64_t v = parse8(w);
    return n == 9 ? (int64_t)(p[a] - '0') * 100000000 + v : v;
}

static const int64_t POW10[10] = {1,      10,      100,      1000,      10000,
                                  100000, 1000000, 10000000, 100000000, 1000000000};

/* `sec.frac` with 1-9 digits before the dot -> ns, fraction digits past 9
 * truncated (base.seconds_to_ns); p[lo:end] may be read */
static inline int64_t sec_frac_ns(const uint8_t *p, ix lo, ix a, ix dot, ix end) {
    ix fk = end - dot - 1 > 9 ? 9 : end - dot - 1;
    int64_t frac = dec9(p, lo, dot + 1, dot + 1 + fk) * POW10[9 - fk];
    return dec9(p, lo, a, dot) * 1000000000 + frac;
}

/* --- the payload (tracetext.decode_payload) ----------------------------------------- */

typedef struct {
    uint64_t u[N_U64];
    uint8_t uok[N_U64], b[N_BOOL], bok[N_BOOL];
} Row;

/* ^(?:0x)?([0-9a-fA-F]{1,16})$ (tracetext._hex); p[lo:b] may be read (the line) */
static inline int hexval(const uint8_t *p, ix lo, ix a, ix b, uint64_t *v) {
    if (b - a >= 2 && p[a] == '0' && p[a + 1] == 'x')
        a += 2;
    if (b - a < 1 || b - a > 16)
        return 0;
#ifdef __SSE2__
    if (b - 16 >= lo) { /* the sixteen bytes ending at b at once: the digits are the last */
        unsigned n = (unsigned)(b - a);
        __m128i c = load16(p + b - 16), l = _mm_or_si128(c, _mm_set1_epi8(0x20));
        __m128i dig = _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8('0' - 1)),
                                    _mm_cmplt_epi8(c, _mm_set1_epi8('9' + 1)));
        __m128i let = _mm_and_si128(_mm_cmpgt_epi8(l, _mm_set1_epi8('a' - 1)),
                                    _mm_cmplt_epi8(l, _mm_set1_epi8('f' + 1)));
        unsigned ok = (unsigned)_mm_movemask_epi8(_mm_or_si128(dig, let));
        if ((ok | ((1u << (16 - n)) - 1)) != 0xFFFFu)
            return 0;
        /* a digit's value is its low four bits, a letter's those plus 9 ('a', 'A': 1);
         * any other byte's low four bits, never above 15, fill the nibbles cut off */
        __m128i d = _mm_add_epi8(_mm_and_si128(c, _mm_set1_epi8(0x0F)),
                                 _mm_and_si128(let, _mm_set1_epi8(9)));
        /* each 16-bit lane holds digits 2k (low byte) and 2k+1: one byte 2k << 4 | 2k+1 */
        __m128i pair = _mm_and_si128(_mm_or_si128(_mm_slli_epi16(d, 4), _mm_srli_epi16(d, 8)),
                                     _mm_set1_epi16(0xFF));
        uint64_t be = (uint64_t)_mm_cvtsi128_si64(_mm_packus_epi16(pair, pair));
        uint64_t x = __builtin_bswap64(be); /* the first digit pair is the top byte */
        *v = n == 16 ? x : x & ((1ULL << (4 * n)) - 1);
        return 1;
    }
#endif
    uint64_t x = 0;
    uint8_t bad = 0;
    for (ix i = a; i < b; i++) {
        uint8_t d = HEX[p[i]];
        bad |= d;
        x = (x << 4) | (d & 15);
    }
    if (bad & 16)
        return 0;
    *v = x;
    return 1;
}

/* text.isdigit() and int(text) < 2**64 (tracetext._vm_start, decimal) */
static inline int decval(const uint8_t *p, ix lo, ix a, ix b, uint64_t *v) {
    if (b <= a)
        return 0;
    uint64_t x = 0;
    for (ix i = a; i < b; i++) {
        if (!isdig(p[i]))
            return 0;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    *v = x;
    return 1;
}

/* row's slot from a reader (hexval or decval) of p[a:b]; no reader: null */
typedef int (*Reader)(const uint8_t *, ix, ix, ix, uint64_t *);

static inline void put_u64(Row *row, int slot, Reader read, const uint8_t *p, ix lo, ix a,
                           ix b) {
    uint64_t v = 0;
    int ok = read != NULL && read(p, lo, a, b, &v);
    row->u[slot] = ok ? v : 0;
    row->uok[slot] = (uint8_t)ok;
}

enum { K_OTHER = -1, K_VMA = 100, K_WRITE = 200, K_SUCCESS = 201 };

static inline int key_kind(const uint8_t *p, ix a, ix b) {
    switch (b - a) {
    case 2:
        if (is(p, a, b, "ip", 2))
            return U_IP;
        if (is(p, a, b, "mm", 2))
            return U_MM;
        break;
    case 3:
        if (is(p, a, b, "vma", 3))
            return K_VMA;
        break;
    case 5:
        if (is(p, a, b, "write", 5))
            return K_WRITE;
        break;
    case 7:
        if (is(p, a, b, "address", 7))
            return U_ADDRESS;
        if (is(p, a, b, "success", 7))
            return K_SUCCESS;
        break;
    case 10:
        if (is(p, a, b, "error_code", 10))
            return U_ERROR_CODE;
        break;
    }
    return K_OTHER;
}

/* One key=value (or key:value) token: p[i:sep] the key, p[sep+1:j] the value. */
static inline void decode_pair(const uint8_t *p, ix lo, ix i, ix sep, ix j, Row *row,
                               Scan *out) {
    ix a = sep + 1;
    int kind = key_kind(p, i, sep);
    if (kind >= 0 && kind < N_U64) {
        put_u64(row, kind, hexval, p, lo, a, j);
    } else if (kind == K_WRITE || kind == K_SUCCESS) {
        int slot = kind == K_WRITE ? B_WRITE : B_SUCCESS;
        int t = is(p, a, j, "true", 4);
        row->b[slot] = (uint8_t)t;
        row->bok[slot] = (uint8_t)(t || is(p, a, j, "false", 5));
    } else if (kind == K_VMA) {
        ix dash = -1;
        for (ix k = a; k < j; k++)
            if (p[k] == '-') {
                dash = k;
                break;
            }
        if (dash < 0) {
            put_u64(row, U_VM_START, NULL, p, lo, 0, 0);
            put_u64(row, U_VM_START_DEC, NULL, p, lo, 0, 0);
            put_u64(row, U_VM_END, NULL, p, lo, 0, 0);
        } else {
            put_u64(row, U_VM_START, hexval, p, lo, a, dash);
            put_u64(row, U_VM_START_DEC, decval, p, lo, a, dash);
            put_u64(row, U_VM_END, hexval, p, lo, dash + 1, j);
        }
    } else {
        strs_push(&out->keys, p + i, (size_t)(sep - i));
        strs_push(&out->values, p + a, (size_t)(j - a));
    }
}

#ifdef __SSE2__
/* decode_payload on a payload of at most 64 bytes (its newline included), by bit
 * masks of the bytes that matter: the same tokens, separators and refusals. */
static int decode_short(const uint8_t *p, ix lo, ix a0, ix e, Row *row, Scan *out) {
    ix len = e + 1 - a0;
    uint64_t sp = 0, eq = 0, co = 0, bad = 0;
    for (ix k = 0; k < len; k += 16) {
        /* a block past the newline is read as the sixteen bytes ending at it,
         * shifted down (the caller knows the line holds them) */
        ix at = a0 + k + 16 <= e + 1 ? a0 + k : e + 1 - 16;
        unsigned shift = (unsigned)(a0 + k - at);
        __m128i x = load16(p + at);
        unsigned msp = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\n'))));
        unsigned mlow = (unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(x, _mm_set1_epi8('!')));
        unsigned mbad = (unsigned)_mm_movemask_epi8(_mm_or_si128(
            _mm_cmpeq_epi8(x, _mm_set1_epi8(127)), _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));
        unsigned meq = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('=')));
        unsigned mco = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(':')));
        sp |= (uint64_t)(msp >> shift) << k;
        bad |= (uint64_t)(((mlow & ~msp) | mbad) >> shift) << k;
        eq |= (uint64_t)(meq >> shift) << k;
        co |= (uint64_t)(mco >> shift) << k;
    }
    uint64_t in = len == 64 ? ~0ULL : (1ULL << len) - 1;
    if (bad & in & ~(1ULL << (len - 1))) /* the bytes before the newline */
        return 0;
    memset(row, 0, sizeof *row);
    ix i = a0;
    for (;;) {
        unsigned off = (unsigned)(i - a0);
        ix j = i + __builtin_ctzll(sp >> off); /* the newline's bit ends every token */
        uint64_t tok = (1ULL << (j - i)) - 1;
        uint64_t m = (eq >> off) & tok;
        ix sep = -1;
        if (m) {
            sep = i + __builtin_ctzll(m);
        } else if ((m = (co >> off) & tok) != 0) {
            sep = i + __builtin_ctzll(m);
            if (sep == j - 1)
                sep = -1; /* "word:" with nothing after it is a bare token, not a pair */
        }
        if (sep > i)
            decode_pair(p, lo, i, sep, j, row, out);
        if (j >= e)
            return 1;
        i = j + 1;
    }
}
#endif

/* Decode p[a0:e] (e: the newline) into row, appending its other fields to out.
 * Returns 0, with nothing appended, when a byte is refused.  Tokens are split
 * on single spaces; a token's key ends at its first '=' or else its first ':'
 * (which then needs a value after it: "word:" is a bare token, as decode_payload);
 * a later key overwrites an earlier one, as dict assignment does. */
static int decode_payload(const uint8_t *p, ix s, ix a0, ix e, Row *row, Scan *out) {
    ix lo = s;
#ifdef __SSE2__
    if (e + 1 - a0 <= 64 && e + 1 - 16 >= s)
        return decode_short(p, s, a0, e, row, out);
#endif
    size_t nfields = strs_count(&out->keys);
    memset(row, 0, sizeof *row);
    ix i = a0;
    for (;;) {
        ix j = i, sep = -1;
        for (;; j++) {
            j = payload_skip(p, j, e, sep < 0);
            if (j >= e)
                break;
            uint8_t c = PAYLOAD[p[j]];
            if (c == PLAIN)
                continue;
            if (c == 1)
                break;
            if (c == 2) {
                if (sep < 0)
                    sep = j;
                continue;
            }
            strs_truncate(&out->keys, nfields);
            strs_truncate(&out->values, nfields);
            return 0;
        }
        if (sep < 0) {
            for (ix k = i; k < j; k++)
                if (p[k] == ':') {
                    sep = k;
                    break;
                }
            if (sep == j - 1)
                sep = -1; /* "word:" with nothing after it is a bare token, not a pair */
        }
        if (sep > i)
            decode_pair(p, lo, i, sep, j, row, out);
        if (j >= e)
            return 1;
        i = j + 1;
    }
}

/* --- records ------------------------------------------------------------------------ */

typedef struct {
    int64_t ts;
    int32_t cpu, pid, tid;
    int pid_ok;
    ix comm_a, comm_b, ev_a, ev_b, pay_a;
    const System *sys; /* the system a bare event name is qualified with, or NULL */
    Row row;
} Rec;

/* Whether a record shows a v4 kernel (TraceTextParser._note_v4): an SPF event
 * that is spf_vma_dead, or whose first `vma:DIGITS-` has 13+ digits. */
static int v4_evidence(const char *ev, size_t n, const uint8_t *p, ix a, ix e, const V4Rule *v4) {
    if (n < v4->prefix_len || (v4->prefix_len && ev[0] != v4->prefix[0]) ||
        memcmp(ev, v4->prefix, v4->prefix_len) != 0)
        return 0;
    if (n == v4->dead_len && memcmp(ev, v4->dead, n) == 0)
        return 1;
    for (ix k = a; k + 4 <= e; k++) {
        if (memcmp(p + k, "vma:", 4) != 0)
            continue;
        ix d = digits(p, k + 4);
        if (d > k + 4 && d < e && p[d] == '-')
            return d - (k + 4) >= 13;
    }
    return 0;
}

/* Appends into the room reserve() made for the chunk's worst case (scan_lines
 * cuts no line once that failed), without capacity checks: strings by their
 * lengths; the fixed-width columns and bitmaps at the record's index, their
 * lengths set once at the end (finish). */
static inline void put_fast(Buf *b, const void *src, size_t n) {
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static inline void strs_fast(Strs *s, const void *src, size_t n) {
    put_fast(&s->data, src, n);
    int32_t end = (int32_t)s->data.len;
    put_fast(&s->off, &end, sizeof end);
}

/* The bits of a record (Scan.bitrow): u64 valid 0-6, then these */
enum { BIT_BOOL = N_U64, BIT_BOOL_VALID = N_U64 + N_BOOL, BIT_PID = N_U64 + 2 * N_BOOL };

static void commit(const uint8_t *p, ix e, const Rec *r, int64_t line_no, const V4Rule *v4,
                   Scan *out) {
    size_t n = out->records;
    ((int64_t *)(void *)out->line_no.p)[n] = line_no;
    ((int64_t *)(void *)out->ts.p)[n] = r->ts;
    if (out->has_cpu)
        ((int32_t *)(void *)out->cpu.p)[n] = r->cpu;
    if (out->has_pid)
        ((int32_t *)(void *)out->pid.p)[n] = r->pid;
    unsigned bits = (unsigned)(r->pid_ok != 0) << BIT_PID;
    if (out->has_tid)
        ((int32_t *)(void *)out->tid.p)[n] = r->tid;
    if (out->has_comm)
        strs_fast(&out->comm, p + r->comm_a, (size_t)(r->comm_b - r->comm_a));
    size_t ev0 = out->event.data.len;
    if (r->sys != NULL) { /* tracetext.full_event_name */
        put_fast(&out->event.data, r->sys->system, r->sys->system_len);
        put_fast(&out->event.data, ":", 1);
    }
    strs_fast(&out->event, p + r->ev_a, (size_t)(r->ev_b - r->ev_a));
    strs_fast(&out->payload, p + r->pay_a, (size_t)(e - r->pay_a));
    /* A typed column is written from its first valid value on (the records before
     * it null: zeros, clear bits); one that no record of the chunk has stays
     * unwritten and comes out as None (all null), which spares the memory of the
     * columns an input never fills (vm_start of mmap_lock events). */
    for (int k = 0; k < N_U64; k++) {
        int ok = r->row.uok[k];
        if (!out->u64_any[k]) {
            if (!ok)
                continue;
            out->u64_any[k] = 1;
            memset(out->u64[k].p, 0, 8 * n);
        }
        ((uint64_t *)(void *)out->u64[k].p)[n] = r->row.u[k];
        bits |= (unsigned)(ok != 0) << k;
    }
    for (int k = 0; k < N_BOOL; k++) {
        bits |= (unsigned)(r->row.b[k] != 0) << (BIT_BOOL + k);
        bits |= (unsigned)(r->row.bok[k] != 0) << (BIT_BOOL_VALID + k);
    }
    ((uint16_t *)(void *)out->bitrow.p)[n] = (uint16_t)bits;
    ((int32_t *)(void *)out->field_off.p)[n + 1] = (int32_t)strs_count(&out->keys);
    out->records = n + 1;
    if (!out->v4 && !out->oom)
        out->v4 = v4_evidence(out->event.data.p + ev0, out->event.data.len - ev0, p, r->pay_a, e,
                              v4);
}

/* Bitmap bit k of n records' bit rows: eight records a byte */
static void spread_bits(uint8_t *dst, const uint16_t *rows, size_t n, int k) {
    size_t i = 0;
#ifdef __SSE2__
    __m128i zero = _mm_setzero_si128();
    for (; i + 8 <= n; i += 8) { /* bit k to the top of each 16-bit lane, then one per lane */
        __m128i v = _mm_sll_epi16(load16((const uint8_t *)(rows + i)), _mm_cvtsi32_si128(15 - k));
        dst[i / 8] = (uint8_t)_mm_movemask_epi8(_mm_packs_epi16(v, zero));
    }
#endif
    for (; i < n; i += 8) {
        uint8_t b = 0;
        for (size_t t = 0; t < 8 && i + t < n; t++)
            b |= (uint8_t)(((rows[i + t] >> k) & 1) << t);
        dst[i / 8] = b;
    }
}

/* The lengths of what commit wrote at record indices, and its bitmaps. */
static void finish(Scan *out) {
    size_t n = out->records, nb = (n + 7) / 8;
    const uint16_t *rows = (const uint16_t *)(const void *)out->bitrow.p;
    Bits *bits[2 * N_BOOL + N_U64 + 1];
    int which[2 * N_BOOL + N_U64 + 1];
    size_t nbits = 0;
    out->line_no.len = out->ts.len = 8 * n;
    if (out->has_cpu)
        out->cpu.len = 4 * n;
    if (out->has_pid)
        out->pid.len = 4 * n;
    if (out->has_tid)
        out->tid.len = 4 * n;
    if (out->has_pid_valid) {
        which[nbits] = BIT_PID;
        bits[nbits++] = &out->pid_valid;
    }
    for (int k = 0; k < N_U64; k++)
        if (out->u64_any[k]) {
            out->u64[k].len = 8 * n;
            which[nbits] = k;
            bits[nbits++] = &out->u64_valid[k];
        }
    for (int k = 0; k < N_BOOL; k++) {
        which[nbits] = BIT_BOOL + k;
        bits[nbits++] = &out->bools[k];
        which[nbits] = BIT_BOOL_VALID + k;
        bits[nbits++] = &out->bools_valid[k];
    }
    for (size_t k = 0; k < nbits; k++) {
        spread_bits((uint8_t *)bits[k]->b.p, rows, n, which[k]);
        bits[k]->b.len = nb;
        bits[k]->n = n;
    }
    out->field_off.len = 4 * (n + 1);
}

/* perf_script._SAMPLE_EVENT_RE on an event "A:B" (p[a:b-1] ":" p[b:i]) of word
 * bytes: B is perf's modifier letters (1-15 of [ukhpPGHSDIWeb]), A does not
 * start with PERF_RECORD_.  page-faults:u reads as a tracepoint name too. */
static int sample_event(const uint8_t *p, ix a, ix b, ix i) {
    if (i - b > 15)
        return 0;
    for (ix k = b; k < i; k++)
        if (!MODS[p[k]])
            return 0;
    return !(b - 1 - a >= 12 && memcmp(p + a, "PERF_RECORD_", 12) == 0);
}

/* -?\d+ ending at p (1-9 digits), read right to left: its start, or -1 */
static inline ix rnum(const uint8_t *p, ix s, ix end, int32_t *v) {
    ix q = end;
    while (q > s && isdig(p[q - 1]))
        q--;
    if (end - q < 1 || end - q > 9)
        return -1;
    int64_t x = dec(p, q, end);
    if (q > s && p[q - 1] == '-') {
        q--;
        x = -x;
    }
    *v = (int32_t)x;
    return q;
}

/* One perf script line p[s:e] of a known layout: _RECORD_RE then
 * _prefix_re(layout) of perf_script.py.  The prefix regex is lazy, so the time
 * is the \d+\.\d+ right before the first ": " (if that one is not followed by an
 * event, the regex may go on to a later one: the line is refused); the prefix
 * left of the time is anchored on the right, so it is cut from the right. */
static int perf_line(const uint8_t *p, ix s, ix e, const PerfLayout *lay, Rec *r, Scan *out) {
    if (e > s && p[e - 1] == ')') {
        out->tails++; /* perhaps a sample's `ip sym (dso)` (callchain.sample_tail) */
        return 0;
    }
    ix c1 = s;
    for (;; c1++) { /* up to the first ": ", printable */
        c1 = prefix_skip(p, c1, e);
        uint8_t c = PREFIX[p[c1]];
        if (c == PLAIN)
            continue;
        if (c == 1 && p[c1 + 1] == ' ')
            break;
        if (c != 1)
            return 0;
    }
    /* the time: the digits right before c1, a dot, the digits before it */
    ix dot = -1, t0 = -1;
#ifdef __SSE2__
    if (c1 - 16 >= s) { /* the sixteen bytes before c1 at once (bit b: byte c1 - 16 + b) */
        __m128i x = load16(p + c1 - 16);
        unsigned nd = ~(unsigned)_mm_movemask_epi8(
                          _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
                                        _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)))) &
                      0xFFFFu;
        if (nd != 0) { /* else all digits: the byte loops below */
            int hz = 31 - __builtin_clz(nd); /* the last byte before the fraction */
            if (hz == 15 || p[c1 - 16 + hz] != '.')
                return 0;
            unsigned below = nd & ((1u << hz) - 1);
            if (below != 0) { /* else the seconds may go on before the sixteen bytes */
                int ilen = hz - 1 - (31 - __builtin_clz(below));
                if (ilen < 1 || ilen > 9)
                    return 0;
                dot = c1 - 16 + hz;
                t0 = dot - ilen;
            }
        }
    }
#endif
    if (dot < 0) {
        ix j = c1 - 1;
        while (j >= s && isdig(p[j]))
            j--;
        if (c1 - 1 - j < 1 || j < s || p[j] != '.')
            return 0;
        ix k = j - 1;
        dot = j;
        while (k >= s && isdig(p[k]))
            k--;
        t0 = k + 1;
        if (dot - t0 < 1 || dot - t0 > 9)
            return 0;
    }
    r->ts = sec_frac_ns(p, s, t0, dot, c1);
    /* ": +" system:name ":" then one optional space */
    ix i = spaces_to(p, c1 + 1, e), a = i;
    i = word_end(p, i, e);
    if (i == a || p[i] != ':')
        return 0;
    ix b = ++i;
    i = word_end(p, i, e);
    if (i == b || p[i] != ':')
        return 0;
    if (sample_event(p, a, b, i)) {
        out->samples++; /* a sample event's fields are perf's own: the per-line path */
        return 0;
    }
    r->ev_a = a;
    r->ev_b = i++;
    if (p[i] == ' ')
        i++;
    r->pay_a = i;
    /* the prefix, right to left: \s* [cpu] ids comm */
    ix q = t0;
    while (q > s && p[q - 1] == ' ')
        q--;
    if (lay->cpu) {
        if (!(q > s && p[q - 1] == ']'))
            return 0;
        ix c = rnum(p, s, q - 1, &r->cpu);
        if (!(c > s && p[c] != '-' && p[c - 1] == '['))
            return 0;
        q = c - 1;
        if (!(q > s && p[q - 1] == ' '))
            return 0;
        while (q > s && p[q - 1] == ' ')
            q--;
    }
    if (lay->ids) {
        ix d = rnum(p, s, q, &r->tid);
        if (d < 0)
            return 0;
        if (lay->ids == 2) {
            if (!(d > s && p[d - 1] == '/'))
                return 0;
            d = rnum(p, s, d - 1, &r->pid);
            if (d < 0)
                return 0;
        }
        q = d;
        if (lay->comm && !(q > s && p[q - 1] == ' '))
            return 0;
        while (q > s && p[q - 1] == ' ')
            q--;
    }
    ix cq = s;
    if (lay->comm) {
        cq = spaces_to(p, s, e);
        if (cq >= q)
            return 0;
    } else if (q != s) {
        return 0;
    }
    r->comm_a = cq;
    r->comm_b = q;
    r->pid_ok = 1;
    r->sys = NULL;
    return decode_payload(p, s, r->pay_a, e, &r->row, out);
}

/* The record regex of ftrace.py / trace_cmd.py from the comm-pid dash at d on.
 * Each step is the only way the regex can go on (a failed optional group cannot
 * be skipped: the next element needs a byte the group's first one is not), so
 * a match here is the regex's match. */
static int ftrace_rest(const uint8_t *p, ix d, int tracecmd, Rec *r) {
    ix k = d + 1, q = digits(p, k);
    if (q == k || q - k > 9 || p[q] != ' ')
        return 0;
    r->tid = (int32_t)dec(p, k, q);
    k = spaces(p, q);
    r->pid = 0;
    r->pid_ok = 0;
    if (tracecmd) {
        /* \[(\d+)\] | (\d+)(\S*) */
        if (p[k] == '[') {
            q = digits(p, k + 1);
            if (q == k + 1 || q - k - 1 > 9 || p[q] != ']')
                return 0;
            r->cpu = (int32_t)dec(p, k + 1, q);
            k = q + 1;
        } else {
            q = digits(p, k);
            if (q == k || q - k > 9)
                return 0;
            r->cpu = (int32_t)dec(p, k, q);
            k = token_end(p, q);
        }
        /* (?:\s+flags)?\s+time */
        if (p[k] != ' ')
            return 0;
        k = spaces(p, k);
        if (!isdig(p[k])) {
            ix t = token_end(p, k);
            if (t - k < 3 || t - k > 7 || p[t] != ' ')
                return 0;
            k = spaces(p, t);
        }
    } else {
        /* (?:\(\s*(\d+|-+)\)\s+)? */
        if (p[k] == '(') {
            ix g = spaces(p, k + 1);
            q = digits(p, g);
            if (q > g) {
                if (q - g > 9)
                    return 0;
                r->pid = (int32_t)dec(p, g, q);
                r->pid_ok = 1;
            } else {
                while (p[q] == '-')
                    q++;
                if (q == g)
                    return 0;
            }
            if (p[q] != ')' || p[q + 1] != ' ')
                return 0;
            k = spaces(p, q + 1);
        }
        /* \[(\d+)\]\s+ */
        if (p[k] != '[')
            return 0;
        q = digits(p, k + 1);
        if (q == k + 1 || q - k - 1 > 9 || p[q] != ']' || p[q + 1] != ' ')
            return 0;
        r->cpu = (int32_t)dec(p, k + 1, q);
        k = spaces(p, q + 1);
        /* (?:([^\s\d][^\s]{2,6})\s+)? */
        if (!isdig(p[k])) {
            ix t = token_end(p, k);
            if (t - k < 3 || t - k > 7 || p[t] != ' ')
                return 0;
            k = spaces(p, t);
        }
    }
    /* \d+(?:\.\d+)?: then ": " */
    q = digits(p, k);
    if (q == k)
        return 0;
    if (p[q] == '.') {
        ix f = digits(p, q + 1);
        if (f == q + 1 || q - k > 9)
            return 0;
        r->ts = sec_frac_ns(p, d, k, q, f);
        q = f;
    } else {
        if (q - k > 18)
            return 0;
        r->ts = dec(p, k, q);
    }
    if (p[q] != ':' || p[q + 1] != ' ')
        return 0;
    /* ([^\s:]+): then " ?" (ftrace) or "\s*" (trace-cmd) */
    ix a = q + 2, b = a;
    while (p[b] != ' ' && p[b] != ':' && p[b] != '\n')
        b++;
    if (b == a || p[b] != ':')
        return 0;
    r->ev_a = a;
    r->ev_b = b;
    ix pa = b + 1;
    if (tracecmd)
        pa = spaces(p, pa);
    else if (p[pa] == ' ')
        pa++;
    r->pay_a = pa;
    return 1;
}

static const System *system_of(const uint8_t *p, ix a, ix b, const System *sys, size_t n) {
    for (size_t k = 0; k < n; k++)
        if (is(p, a, b, sys[k].name, sys[k].name_len))
            return &sys[k];
    return NULL;
}

/* One ftrace or trace-cmd line p[s:e].  The comm may hold dashes and the
 * regex's greedy (?P<comm>.*)- takes the rightmost dash after which the rest
 * matches, so dashes are tried from the right.  A trace-cmd instance prefix
 * (NAME: ) is cut when its lookahead holds, as TraceCmdParser._strip_instance. */
static int ftrace_line(const uint8_t *p, ix s, ix e, int tracecmd, const System *sys,
                       size_t nsys, Rec *r, Scan *out) {
    for (ix k = s; k < e; k++)
        if (PREFIX[p[k]] == 3)
            return 0;
    ix start = s;
    if (tracecmd) { /* ^[A-Za-z0-9_.-]+: (?=\s*\S.*-\d+\s) */
        ix k = s;
        while (WORD[p[k]])
            k++;
        if (k > s && p[k] == ':' && p[k + 1] == ' ') {
            ix x = spaces(p, k + 2);
            for (ix d = e - 1; x < e && d > x; d--) {
                if (p[d] != '-')
                    continue;
                ix q = digits(p, d + 1);
                if (q > d + 1 && p[q] == ' ') {
                    start = k + 2;
                    break;
                }
            }
        }
    }
    ix d = e - 1;
    for (; d >= start; d--)
        if (p[d] == '-' && ftrace_rest(p, d, tracecmd, r))
            break;
    if (d < start)
        return 0;
    /* comm: ^\s*(.*) before the dash, then str.strip() */
    ix cq = spaces(p, start), ce = d;
    while (ce > cq && p[ce - 1] == ' ')
        ce--;
    r->comm_a = cq;
    r->comm_b = ce;
    r->sys = system_of(p, r->ev_a, r->ev_b, sys, nsys);
    return decode_payload(p, s, r->pay_a, e, &r->row, out);
}

/* --- driving -------------------------------------------------------------------------- */

void scan_init(Scan *out) {
    classes_init();
    memset(out, 0, sizeof *out);
    Buf *bufs[] = {&out->line_no, &out->ts, &out->cpu, &out->pid, &out->tid, &out->pid_valid.b,
                   &out->comm.off, &out->comm.data, &out->event.off, &out->event.data,
                   &out->payload.off, &out->payload.data, &out->field_off, &out->keys.off,
                   &out->keys.data, &out->values.off, &out->values.data, &out->other_line_no,
                   &out->other_start, &out->other_end, &out->bitrow};
    for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++)
        bufs[k]->oom = &out->oom;
    for (int k = 0; k < N_U64; k++)
        out->u64[k].oom = out->u64_valid[k].b.oom = &out->oom;
    for (int k = 0; k < N_BOOL; k++)
        out->bools[k].b.oom = out->bools_valid[k].b.oom = &out->oom;
    strs_start(&out->comm);
    strs_start(&out->event);
    strs_start(&out->payload);
    strs_start(&out->keys);
    strs_start(&out->values);
    buf_i32(&out->field_off, 0);
}

/* free a buffer the results did not take: the pool's blocks back to it */
static void buf_release(Buf *b) {
    if (b->p != NULL && b->cap >= POOL_MIN)
        pool_put(b->p, b->cap);
    else
        free(b->p);
}

void scan_free(Scan *out) {
    Buf *bufs[] = {&out->line_no, &out->ts, &out->cpu, &out->pid, &out->tid, &out->pid_valid.b,
                   &out->comm.off, &out->comm.data, &out->event.off, &out->event.data,
                   &out->payload.off, &out->payload.data, &out->field_off, &out->keys.off,
                   &out->keys.data, &out->values.off, &out->values.data, &out->other_line_no,
                   &out->other_start, &out->other_end, &out->bitrow};
    for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++)
        buf_release(bufs[k]);
    for (int k = 0; k < N_U64; k++) { /* a column no record had is not taken */
        buf_release(&out->u64[k]);
        buf_release(&out->u64_valid[k].b);
    }
    for (int k = 0; k < N_BOOL; k++) {
        free(out->bools[k].b.p);
        free(out->bools_valid[k].b.p);
    }
    memset(out, 0, sizeof *out);
}

typedef struct {
    int ftrace, tracecmd;
    const PerfLayout *layout;
    const System *sys;
    size_t nsys;
    const V4Rule *v4;
} Grammar;

/* The pool of large buffers (tracetext.h): at most POOL_SLOTS blocks, each at
 * least POOL_MIN bytes and POOL_BYTES together (of room: only pages once written
 * are resident), sizes rounded up to POOL_MIN so that the buffers of
 * chunks of about the same size fit each other.  Taken with the GIL released
 * (the scans), given back with it held (a Memory's deallocation): a mutex. */
#define POOL_SLOTS 256
#define POOL_BYTES ((size_t)256 << 20)
static struct {
    void *p;
    size_t cap;
} pool[POOL_SLOTS];
static size_t pool_n, pool_bytes;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

void *pool_get(size_t want, size_t *cap) {
    want = (want + POOL_MIN - 1) / POOL_MIN * POOL_MIN;
    void *p = NULL;
    pthread_mutex_lock(&pool_lock);
    size_t best = pool_n;
    for (size_t k = 0; k < pool_n; k++)
        if (pool[k].cap >= want && (best == pool_n || pool[k].cap < pool[best].cap))
            best = k;
    if (best < pool_n) {
        p = pool[best].p;
        *cap = pool[best].cap;
        pool_bytes -= pool[best].cap;
        pool[best] = pool[--pool_n];
    }
    pthread_mutex_unlock(&pool_lock);
    if (p == NULL && (p = malloc(want)) != NULL)
        *cap = want;
    return p;
}

void pool_put(void *p, size_t cap) {
    pthread_mutex_lock(&pool_lock);
    if (pool_n < POOL_SLOTS && pool_bytes + cap <= POOL_BYTES) {
        pool[pool_n].p = p;
        pool[pool_n].cap = cap;
        pool_bytes += cap;
        pool_n++;
        p = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    free(p);
}

/* buf_reserve, from the pool when the room is large */
static void reserve_buf(Buf *b, size_t need) {
    size_t want = b->len + need, cap;
    if (want <= b->cap)
        return;
    if (want < POOL_MIN) {
        buf_reserve(b, need);
        return;
    }
    char *q = pool_get(want, &cap);
    if (q == NULL) {
        *b->oom = 1;
        return;
    }
    if (b->len)
        memcpy(q, b->p, b->len);
    free(b->p);
    b->p = q;
    b->cap = cap;
}

/* Room for the worst case of n lines of len bytes: records and left-over lines
 * share the per-line columns' room, strings cannot outgrow the input (plus a
 * qualified event's system), bitmaps take a bit per line. */
static void reserve(Scan *out, size_t n, size_t len, const Grammar *g) {
    size_t sys = 0, bits = n / 8 + 1;
    for (size_t k = 0; k < g->nsys; k++)
        sys = g->sys[k].system_len + 1 > sys ? g->sys[k].system_len + 1 : sys;
    Buf *i64[] = {&out->line_no, &out->ts, &out->other_line_no, &out->other_start,
                  &out->other_end};
    for (size_t k = 0; k < sizeof i64 / sizeof i64[0]; k++)
        reserve_buf(i64[k], 8 * n);
    for (int k = 0; k < N_U64; k++) {
        reserve_buf(&out->u64[k], 8 * n);
        reserve_buf(&out->u64_valid[k].b, bits);
    }
    for (int k = 0; k < N_BOOL; k++) {
        reserve_buf(&out->bools[k].b, bits);
        reserve_buf(&out->bools_valid[k].b, bits);
    }
    if (out->has_cpu)
        reserve_buf(&out->cpu, 4 * n);
    if (out->has_pid)
        reserve_buf(&out->pid, 4 * n);
    if (out->has_pid_valid)
        reserve_buf(&out->pid_valid.b, bits);
    if (out->has_tid)
        reserve_buf(&out->tid, 4 * n);
    Strs *strs[] = {&out->comm, &out->event, &out->payload};
    for (size_t k = 0; k < 3; k++) {
        reserve_buf(&strs[k]->off, 4 * n);
        reserve_buf(&strs[k]->data, len);
    }
    reserve_buf(&out->event.data, sys * n);
    reserve_buf(&out->field_off, 4 * n);
    reserve_buf(&out->bitrow, 2 * n);
}

static void scan_lines(const uint8_t *data, size_t len, size_t n_lines, int64_t origin,
                       const Grammar *g, Scan *out) {
    reserve(out, n_lines, len, g);
    uint8_t *tmp = NULL; /* the last line with a newline added, when it has none */
    size_t pos = 0;
    for (size_t li = 0; li < n_lines && !out->oom; li++) {
        size_t s = pos < len ? pos : len;
        const uint8_t *nl = s < len ? memchr(data + s, '\n', len - s) : NULL;
        size_t e = nl ? (size_t)(nl - data) : len;
        pos = e + 1;
        const uint8_t *p = data;
        ix ls = (ix)s, le = (ix)e;
        if (nl == NULL) {
            free(tmp);
            tmp = malloc(e - s + 1);
            if (tmp == NULL) {
                out->oom = 1;
                break;
            }
            memcpy(tmp, data + s, e - s);
            tmp[e - s] = '\n';
            p = tmp;
            ls = 0;
            le = (ix)(e - s);
        }
        Rec r;
        int ok = g->ftrace ? ftrace_line(p, ls, le, g->tracecmd, g->sys, g->nsys, &r, out)
                           : perf_line(p, ls, le, g->layout, &r, out);
        if (ok) {
            commit(p, le, &r, origin + (int64_t)li, g->v4, out);
        } else {
            buf_i64(&out->other_line_no, origin + (int64_t)li);
            buf_i64(&out->other_start, (int64_t)s);
            buf_i64(&out->other_end, (int64_t)e);
        }
    }
    free(tmp);
    if (!out->oom)
        finish(out);
}

void scan_perf_script(const uint8_t *data, size_t len, size_t n_lines, int64_t origin,
                      const PerfLayout *layout, const V4Rule *v4, Scan *out) {
    out->has_cpu = layout->cpu;
    out->has_pid = layout->ids == 2;
    out->has_tid = layout->ids != 0;
    out->has_comm = layout->comm;
    Grammar g = {0, 0, layout, NULL, 0, v4};
    scan_lines(data, len, n_lines, origin, &g, out);
}

void scan_ftrace(const uint8_t *data, size_t len, size_t n_lines, int64_t origin, int tracecmd,
                 const System *systems, size_t n_systems, const V4Rule *v4, Scan *out) {
    out->has_cpu = out->has_tid = out->has_comm = 1;
    out->has_pid = out->has_pid_valid = !tracecmd; /* trace-cmd prints no tgid */
    Grammar g = {1, tracecmd, NULL, systems, n_systems, v4};
    scan_lines(data, len, n_lines, origin, &g, out);
}

/* data.count(b"\n") (formats/lines.py cuts chunks with it), a word at a time:
 * each newline byte flagged exactly (no carries between bytes), the flags summed
 * in byte lanes for up to 255 words, then across the lanes. */
size_t count_newlines(const uint8_t *p, size_t n) {
    const uint64_t low7 = 0x7F7F7F7F7F7F7F7FULL, pairs = 0x00FF00FF00FF00FFULL;
    size_t total = 0, i = 0;
#ifdef __SSE2__
    /* 64 bytes a step, each compare's 0xFF (-1) bytes subtracted from 16 byte
     * counters, summed by psadbw before they can wrap (4 a step: 63 steps): ~3x the
     * 8-byte SWAR below (6.5 GB/s, the read thread's largest cost), which counts the
     * tail */
    const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
    while (n - i >= 64) {
        __m128i acc = zero;
        size_t steps = (n - i) / 64 > 63 ? 63 : (n - i) / 64;
        for (size_t k = 0; k < steps; k++, i += 64) {
            const __m128i *q = (const __m128i *)(const void *)(p + i);
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128(q), nl));
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128(q + 1), nl));
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128(q + 2), nl));
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128(q + 3), nl));
        }
        __m128i sums = _mm_sad_epu8(acc, zero); /* two 64-bit lanes */
        total += (size_t)_mm_cvtsi128_si64(sums) +
                 (size_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums));
    }
#endif
    while (n - i >= 8) {
        uint64_t acc = 0;
        size_t words = (n - i) / 8 > 255 ? 255 : (n - i) / 8;
        for (size_t k = 0; k < words; k++, i += 8) {
            uint64_t x = load8(p + i) ^ (ONES * '\n');
            acc += (~(((x & low7) + low7) | x) & HIGHS) >> 7;
        }
        uint64_t sums = (acc & pairs) + ((acc >> 8) & pairs); /* 4 lanes of 16 bits */
        total += (size_t)((sums * 0x0001000100010001ULL) >> 48);
    }
    for (; i < n; i++)
        total += p[i] == '\n';
    return total;
}
