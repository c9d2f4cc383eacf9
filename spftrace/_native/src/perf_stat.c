/* spftrace._native._perf_stat: perf stat's counter lines (human, CSV, JSON), cut in C.
 *
 * Why C: the Arrow paths (formats/perf_stat/fast.py) spent ~40 compute calls
 * and a str->Arrow round trip per chunk, capping ingest near 250k lines/s
 * (human), 130k (CSV) and 70k (JSON); one byte loop per line reads the same
 * lines 5-20x faster.  Why its own extension: _core (module.c) and _perf_walk
 * belong to other scanners; this one shares no state with them.
 *
 * scan(data, sep) reads every line of a chunk and takes, in the per-line
 * path's own order of trial, exactly: the lines formats/perf_stat/human.FAST_RE
 * matches (its groups found in the priority order the regex backtracks in)
 * and perf's "#  time CPU counts unit events" header (ignored); perf's flat
 * JSON counter objects (json_lines.json_fields' rules); CSV rows split on
 * `sep` (the input's separator, once the parser knows its layout) passing
 * csv_lines._sep_fields' tests.  Every other line - a byte outside printable
 * ASCII, a '\r', a long number, a layout detail the rules read specially - is
 * left to the per-line Python path, as is a row followed by a line that may be
 * a wrapped "( +- x% )" (it amends that row).  Floats: Clinger's exact fast
 * path (numbers it cannot read exactly go to the per-line path), so the scan
 * needs no Python API and runs with the GIL released.
 *
 * JSON lines are read first in perf's own layout (json_fixed: its key order and
 * spacing, keys compared in place), then by the general object scanner
 * (json_general) on any other byte; scan(data, sep, general=True) uses the
 * general one alone, and tests/test_perf_stat_scanner.py holds the two equal.
 * A JSON number is read once, as it is cut (Dec: its digits as an integer and
 * where the point is), and checked exact there; human and CSV fields are cut
 * first and converted in emit.  SSE2 (every x86-64) finds line ends, non-printable bytes, backslashes and
 * CSV separators sixteen bytes at a time; elsewhere plain loops do. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define NO ((size_t)-1)
/* each grammar's matcher a function of its own: inlined into scan's loop, one
 * grammar's code changed the register use of another's (+3% instructions a human
 * line when the JSON reader grew) */
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

enum { K_OTHER = 0, K_ROW = 1, K_HEADER = 2 };

/* the fixed-width per-row columns, in FIXED_NAMES order, and their element sizes */
enum {
    ROW_LINE, TS, TS_VALID, CPU, CPU_VALID, AGGR_VALID, AGGR_CPUS, VALUE, STATUS, UNIT_VALID,
    ENABLED, ENABLED_VALID, MV, MV_VALID, KEY_HASH, RUN, RUN_VALID, N_FIXED
};
static const size_t FIXED_SIZE[N_FIXED] = {4, 8, 1, 4, 1, 1, 4, 8, 1, 1, 8, 1, 8, 1, 8, 8, 1};
static const char *FIXED_NAMES[N_FIXED] = {
    "row_line", "ts",       "ts_valid", "cpu",       "cpu_valid", "aggr_valid",
    "aggr_cpus", "value",   "status",   "unit_valid", "enabled",  "enabled_valid",
    "mv",        "mv_valid", "key_hash", "run",       "run_valid"};
#define N_STRS 4

/* The fixed-width columns (and the string offsets) are written in place into bytes
 * objects sized for the chunk's worst case, one row per line, and cut to their
 * length at the end, so the scan neither grows nor copies them (growing by
 * doubling and copying the result into bytes cost a fifth of the scan, much of it
 * in page faults).  The string bytes, a few per row, grow (their worst case, the
 * chunk's size per column, reserved cost 15-20 MB of peak RSS) and are copied. */
typedef struct {
    PyObject *obj;
    char *p;
} Col;

/* What the parser would otherwise work out per chunk with Arrow and numpy, kept as
 * the rows are emitted (blocks.py, keys.py: ~1 ms of a 35K-row chunk's 2 ms of
 * Python besides the scan):
 * - each event's first row (ev_first, in row order): the (block, event, first line)
 *   notes of a one-block chunk (parser._note_blocks) without encoding its events;
 * - whether any row repeats the key hash of an earlier row with the same time
 *   (pair_dup): blocks._pairs_distinct without its sort.
 * Both are open-addressed tables; a row dropped again (drop_last_row) puts back
 * the one slot of each that it wrote (the latest writes, so no probe passed over
 * them; a pair's slot may have held an earlier time's pair, which a row at that
 * time after the dropped one must still find: tests/test_perf_stat_seen.py).  A table that
 * fills sets its *_lost flag, and the parser then works it out as before. */
#define EV_SLOTS 1024    /* distinct events a chunk may have (half of them used) */
#define PAIR_SLOTS 4096  /* rows one time may have (half of them used) */
typedef struct {
    uint64_t h;
    const char *p;
    uint32_t len, used, at; /* at: its place in first[] and order[] */
} EvSlot;
typedef struct {
    uint64_t h;
    uint32_t stamp; /* the time run it belongs to (0: none) */
} PairSlot;
typedef struct {
    EvSlot *ev;
    size_t n_ev, n_first;
    int32_t *first;  /* each event's first row, in row order */
    uint16_t *order; /* each event's slot, in the same order */
    size_t last;     /* the previous row's event (its place in order[]), or NO */
    int ev_lost;
    PairSlot *pair;
    size_t n_pair; /* in the current run */
    uint32_t stamp;
    int64_t ts;
    int has_ts_run, pair_dup, pair_lost;
    /* the state before the last row, to drop it again */
    size_t undo_last, undo_pair_slot, undo_n_pair;
    PairSlot undo_pair;
    uint32_t undo_stamp;
    int64_t undo_ts;
    int undo_has_ts_run, undo_first;
} Seen;

typedef struct {
    size_t rows, lines;
    Col kind, line_start;
    Col col[N_FIXED];
    Col str_off[N_STRS]; /* aggr, event, mu, unit */
    char *str_data[N_STRS];
    size_t str_len[N_STRS], str_cap[N_STRS];
    size_t str_init; /* a string column's first size */
    int oom, overflow;
    const char *data_end; /* the chunk's end: str_put reads no further */
    Seen seen;
} Out;
enum { S_AGGR, S_EVENT, S_MU, S_UNIT };
static const char *STR_NAMES[N_STRS] = {"aggr", "event", "mu", "unit"};

#define PUT(o, k, T, v)                                                                   \
    do {                                                                                  \
        T x_ = (T)(v);                                                                    \
        memcpy((o)->col[k].p + (o)->rows * sizeof(T), &x_, sizeof(T));                   \
    } while (0)

static inline void str_put(Out *o, int k, const char *src, size_t n) {
    if (o->str_len[k] + n > o->str_cap[k]) {
        size_t cap = o->str_cap[k] ? o->str_cap[k] : o->str_init;
        while (cap < o->str_len[k] + n)
            cap *= 2;
        char *q = realloc(o->str_data[k], cap);
        if (q == NULL) {
            o->oom = 1; /* (checked at the end; the offsets stay in bounds) */
            n = 0;
        } else {
            o->str_data[k] = q;
            o->str_cap[k] = cap;
        }
    }
    if (n <= 32 && src + 32 <= o->data_end && o->str_len[k] + 32 <= o->str_cap[k])
        /* (a fixed size: inlined, where memcpy(n) is a call per string; the bytes
         * past n are written over by the next one, or cut off at the end) */
        memcpy(o->str_data[k] + o->str_len[k], src, 32);
    else if (n)
        memcpy(o->str_data[k] + o->str_len[k], src, n);
    o->str_len[k] += n;
    int32_t end = (int32_t)o->str_len[k];
    memcpy(o->str_off[k].p + (o->rows + 1) * sizeof end, &end, sizeof end);
}

static inline int dig(char c) { return c >= '0' && c <= '9'; }
static inline int alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static inline int evch(char c) {
    return alpha(c) || dig(c) || c == '_' || c == ':' || c == '.' || c == '/' || c == '@' ||
           c == '=' || c == ',' || c == '-';
}

static inline size_t spaces(const char *s, size_t n, size_t i) {
    while (i < n && s[i] == ' ')
        i++;
    return i;
}

static inline size_t digits(const char *s, size_t n, size_t i) {
    while (i < n && dig(s[i]))
        i++;
    return i;
}

/* one or more spaces at i: the position after them, or NO */
static inline size_t gap(const char *s, size_t n, size_t i) {
    size_t j = spaces(s, n, i);
    return j > i ? j : NO;
}

#define ONES 0x0101010101010101ULL
#define HIGH 0x8080808080808080ULL

/* the first c in s[i:n], or NO: eight bytes at a time (memchr's set-up costs more
 * than the search on the short strings of perf's lines) */
static inline size_t find_byte(const char *s, size_t i, size_t n, char c) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__GNUC__)
    const uint64_t pat = (unsigned char)c * ONES;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        x ^= pat;
        uint64_t z = (x - ONES) & ~x & HIGH; /* exact at the lowest zero byte */
        if (z)
            return i + (size_t)(__builtin_ctzll(z) >> 3);
    }
    for (; i < n; i++)
        if (s[i] == c)
            return i;
    return NO;
#else
    const char *q = i < n ? memchr(s + i, c, n - i) : NULL;
    return q ? (size_t)(q - s) : NO;
#endif
}

typedef struct {
    size_t a, b;
} Span;

typedef struct {
    Span ts, cpu, aggr, nr, value, event, mv, mu, pct, unit, run;
    int has_ts, ident, has_unit, has_metric, has_pct, has_run; /* ident: 0 CPU, 1 aggr, 2 none */
    int ts_pad; /* fraction digits the time lacks to nine (JSON) */
    /* the numbers, when the matcher read them as it went (JSON: nums set), else emit
     * reads them from the spans */
    int nums;
    double value_d, pct_d, mv_d;
    int64_t ts_i, run_i, cpu_i;
} Hit;

/* `\d+\.\d{9}\s+` */
static size_t m_ts(const char *s, size_t n, size_t i, Hit *h) {
    size_t j = digits(s, n, i);
    if (j == i || j >= n || s[j] != '.')
        return NO;
    size_t k = digits(s, n, j + 1);
    if (k - (j + 1) != 9)
        return NO;
    h->ts = (Span){i, k};
    return gap(s, n, k);
}

/* `CPU(\d+)\s+` */
static size_t m_cpu(const char *s, size_t n, size_t i, Hit *h) {
    if (i + 3 > n || memcmp(s + i, "CPU", 3) != 0)
        return NO;
    size_t j = digits(s, n, i + 3);
    if (j == i + 3)
        return NO;
    h->cpu = (Span){i + 3, j};
    return gap(s, n, j);
}

/* optional `-X\d+` at i (X the letter): the position after it, or i */
static size_t opt_part(const char *s, size_t n, size_t i, char x) {
    if (i + 2 < n && s[i] == '-' && s[i + 1] == x && dig(s[i + 2]))
        return digits(s, n, i + 2);
    return i;
}

/* `(S\d+(?:-D\d+)?(?:-C\d+)?|N\d+)\s+(\d+)\s+` */
static size_t m_aggr(const char *s, size_t n, size_t i, Hit *h) {
    if (i >= n || (s[i] != 'S' && s[i] != 'N'))
        return NO;
    size_t j = digits(s, n, i + 1);
    if (j == i + 1)
        return NO;
    if (s[i] == 'S')
        j = opt_part(s, n, opt_part(s, n, j, 'D'), 'C');
    h->aggr = (Span){i, j};
    size_t k = gap(s, n, j);
    if (k == NO)
        return NO;
    size_t m = digits(s, n, k);
    if (m == k)
        return NO;
    h->nr = (Span){k, m};
    return gap(s, n, m);
}

/* `(\d+(?:\.\d\d|\.\d{4,})?|<not counted>|<not supported>)\s+` */
static size_t m_value(const char *s, size_t n, size_t i, Hit *h) {
    static const char NC[] = "<not counted>", NS[] = "<not supported>";
    size_t j;
    if (i + sizeof NC - 1 <= n && memcmp(s + i, NC, sizeof NC - 1) == 0) {
        j = i + sizeof NC - 1;
    } else if (i + sizeof NS - 1 <= n && memcmp(s + i, NS, sizeof NS - 1) == 0) {
        j = i + sizeof NS - 1;
    } else {
        j = digits(s, n, i);
        if (j == i)
            return NO;
        if (j < n && s[j] == '.') {
            size_t k = digits(s, n, j + 1), f = k - (j + 1);
            if (f != 2 && f < 4)
                return NO;
            j = k;
        }
    }
    h->value = (Span){i, j};
    return gap(s, n, j);
}

/* `(?:\s+\((\d+\.\d\d)%\))?\s*$` */
static int m_end(const char *s, size_t n, size_t i, Hit *h) {
    size_t j = spaces(s, n, i);
    h->has_pct = 0;
    if (j > i && j < n && s[j] == '(') {
        size_t d = digits(s, n, j + 1);
        if (d > j + 1 && d + 5 <= n && s[d] == '.' && dig(s[d + 1]) && dig(s[d + 2]) &&
            s[d + 3] == '%' && s[d + 4] == ')' && spaces(s, n, d + 5) == n) {
            h->pct = (Span){j + 1, d + 3};
            h->has_pct = 1;
            return 1;
        }
    }
    return j == n;
}

static inline int mu_stop(char c) { return c == '(' || c == '#' || c == '['; }

/* `(?:\s+#\s+(\d+\.\d+)\s+([^\s(#\[](?:[^(#\[]*[^\s(#\[])?))?` then m_end */
static int m_tail(const char *s, size_t n, size_t i, Hit *h) {
    h->has_metric = 0;
    size_t j = gap(s, n, i);
    if (j != NO && j < n && s[j] == '#') {
        size_t k = gap(s, n, j + 1);
        size_t d = k == NO ? NO : digits(s, n, k);
        if (d != NO && d > k && d < n && s[d] == '.') {
            size_t e = digits(s, n, d + 1);
            size_t m = e > d + 1 ? gap(s, n, e) : NO;
            if (m != NO && m < n && s[m] != ' ' && !mu_stop(s[m])) {
                size_t t = m + 1;
                while (t < n && !mu_stop(s[t]))
                    t++;
                while (s[t - 1] == ' ')
                    t--;
                if (m_end(s, n, t, h)) {
                    h->mv = (Span){k, e};
                    h->mu = (Span){m, t};
                    h->has_metric = 1;
                    return 1;
                }
            }
        }
    }
    return m_end(s, n, i, h);
}

/* FAST_RE over one printable-ASCII line: 1 with the groups in h, else 0 */
static int match(const char *s, size_t n, Hit *h) {
    size_t p = spaces(s, n, 0);
    for (int t = 1; t >= 0; t--) {
        size_t q = t ? m_ts(s, n, p, h) : p;
        if (q == NO)
            continue;
        for (int id = 0; id < 3; id++) {
            size_t r = id == 0 ? m_cpu(s, n, q, h) : id == 1 ? m_aggr(s, n, q, h) : q;
            if (r == NO)
                continue;
            size_t v = m_value(s, n, r, h);
            if (v == NO)
                continue;
            for (int u = 1; u >= 0; u--) {
                size_t e = v;
                h->has_unit = u;
                if (u) {
                    if (v + 4 <= n && memcmp(s + v, "msec", 4) == 0)
                        h->unit = (Span){v, v + 4}, e = gap(s, n, v + 4);
                    else if (v + 2 <= n && memcmp(s + v, "ns", 2) == 0)
                        h->unit = (Span){v, v + 2}, e = gap(s, n, v + 2);
                    else
                        continue;
                    if (e == NO)
                        continue;
                }
                if (e >= n || !alpha(s[e]))
                    continue;
                size_t w = e + 1;
                while (w < n && evch(s[w]))
                    w++;
                if (m_tail(s, n, w, h)) {
                    h->event = (Span){e, w};
                    h->has_ts = t;
                    h->ts_pad = 0;
                    h->ident = id;
                    h->has_run = 0;
                    h->nums = 0;
                    return 1;
                }
            }
        }
    }
    return 0;
}

/* exact powers of ten as doubles (10^22 is the largest one a double holds exactly) */
static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* float(s[x]) for `\d+([.,]\d+)?`: at most 15 digits and 22 decimals is an exact
 * integer divided by an exact power of ten, one correctly rounded IEEE division
 * (Clinger's fast path), so equal to float(); -1 for anything else (the scan
 * runs without the GIL, so float() itself is left to the per-line path). */
static inline int to_double(const char *s, Span x, double *out) {
    uint64_t m = 0;
    size_t k = x.a, sep = NO;
    int nd = 0; /* digits from the first nonzero one on */
    while (k < x.b && s[k] == '0')
        k++;
    if (k < x.b && (s[k] == '.' || s[k] == ',')) { /* CSV: float(text.replace(",", ".")) */
        sep = k++;
        while (k < x.b && s[k] == '0')
            k++;
    }
    for (; k < x.b; k++) {
        unsigned d = (unsigned)(unsigned char)s[k] - '0';
        if (d > 9) {
            sep = k;
            continue;
        }
        m = m * 10 + d;
        nd++;
    }
    size_t frac = sep == NO ? 0 : x.b - sep - 1;
    if (nd > 15 || frac > 22)
        return -1; /* not exact this way: the per-line path reads the line (float()) */
    *out = (double)m / POW10[frac];
    return 0;
}

static int64_t to_int(const char *s, Span x) {
    int64_t v = 0;
    for (size_t k = x.a; k < x.b; k++)
        if (s[k] != '.')
            v = v * 10 + (s[k] - '0');
    return v;
}

/* s[x] and a separator into the hash h: eight bytes at a time (the last eight
 * overlapping the ones before) with its length, FNV-1a a byte at a time below eight.
 * Only equal spans must hash equal: a collision costs blocks.py its shortcut, never
 * a wrong block. */
static inline uint64_t fnv(uint64_t h, const char *s, Span x, int sep) {
    size_t len = x.b - x.a;
    if (len >= 8) {
        uint64_t w;
        for (size_t k = x.a; k + 8 < x.b; k += 8) {
            memcpy(&w, s + k, 8);
            h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
            h ^= h >> 29;
        }
        memcpy(&w, s + x.b - 8, 8);
        h = (h ^ w ^ ((uint64_t)len << 56)) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    } else {
        for (size_t k = x.a; k < x.b; k++)
            h = (h ^ (unsigned char)s[k]) * 0x100000001b3ULL;
    }
    return (h ^ (unsigned)sep) * 0x100000001b3ULL;
}

/* A hash of the row's block key but its time (cpu or aggregation, event): equal
 * keys hash equal, so distinct (time, hash) pairs prove distinct keys (blocks.py) */
static uint64_t key_hash(const char *s, const Hit *h, int64_t cpu) {
    Span none = {0, 0};
    uint64_t x = 0xcbf29ce484222325ULL;
    if (h->ident == 0) /* the number, not its digits: CPU01 is CPU1 */
        x = (x ^ (uint64_t)cpu) * 0x100000001b3ULL;
    x = fnv(x, s, h->ident == 1 ? h->aggr : none, 256 + h->ident);
    return fnv(x, s, h->event, 0);
}

/* whether a[0:n] equals b[0:n]: eight bytes at a time, the last eight overlapping
 * (a call to memcmp cost more than the compare on perf's short event names) */
static inline int same_bytes(const char *a, const char *b, size_t n) {
    if (n < 8) {
        for (size_t k = 0; k < n; k++)
            if (a[k] != b[k])
                return 0;
        return 1;
    }
    uint64_t x, y, d = 0;
    for (size_t k = 0; k + 8 < n; k += 8) {
        memcpy(&x, a + k, 8), memcpy(&y, b + k, 8);
        d |= x ^ y;
    }
    memcpy(&x, a + n - 8, 8), memcpy(&y, b + n - 8, 8);
    return (d | (x ^ y)) == 0;
}

/* Row o->rows (time ts, if it has one; key hash kh; event p[0:n]) into o->seen.  The
 * event is looked for first where perf's order puts it (the previous row's event,
 * the one seen after it, the first one), then by its hash. */
static void seen_row(Out *o, int has_ts, int64_t ts, uint64_t kh, const char *p, size_t n) {
    Seen *z = &o->seen;
    z->undo_first = 0;
    z->undo_last = z->last;
    if (!z->ev_lost) {
        size_t hit = NO, c = z->last;
        if (c != NO) {
            size_t cand[3] = {c, c + 1 < z->n_first ? c + 1 : 0, 0};
            for (int t = 0; t < 3 && hit == NO; t++) {
                const EvSlot *e = &z->ev[z->order[cand[t]]];
                if (e->len == n && same_bytes(e->p, p, n))
                    hit = cand[t];
            }
        }
        if (hit == NO) {
            uint64_t x = 0xcbf29ce484222325ULL;
            x = fnv(x, p, (Span){0, n}, 0);
            size_t i = (size_t)(x ^ (x >> 32)) & (EV_SLOTS - 1);
            while (z->ev[i].used && !(z->ev[i].h == x && z->ev[i].len == n &&
                                      same_bytes(z->ev[i].p, p, n)))
                i = (i + 1) & (EV_SLOTS - 1);
            if (z->ev[i].used) {
                hit = z->ev[i].at;
            } else if (z->n_ev >= EV_SLOTS / 2) {
                z->ev_lost = 1;
            } else {
                z->ev[i] = (EvSlot){x, p, (uint32_t)n, 1, (uint32_t)z->n_first};
                z->n_ev++;
                z->order[z->n_first] = (uint16_t)i;
                z->first[z->n_first] = (int32_t)o->rows;
                hit = z->n_first++;
                z->undo_first = 1;
            }
        }
        z->last = hit;
    }
    z->undo_stamp = z->stamp, z->undo_ts = z->ts, z->undo_has_ts_run = z->has_ts_run;
    z->undo_n_pair = z->n_pair;
    z->undo_pair_slot = NO;
    if (z->pair_dup || z->pair_lost)
        return;
    if (z->stamp == 0 || has_ts != z->has_ts_run || ts != z->ts) { /* a new time: a new run */
        z->stamp++;
        z->ts = ts, z->has_ts_run = has_ts;
        z->n_pair = 0;
    }
    size_t i = (size_t)(kh ^ (kh >> 32)) & (PAIR_SLOTS - 1);
    while (z->pair[i].stamp == z->stamp) {
        if (z->pair[i].h == kh) {
            z->pair_dup = 1;
            return;
        }
        i = (i + 1) & (PAIR_SLOTS - 1);
    }
    if (z->n_pair >= PAIR_SLOTS / 2) {
        z->pair_lost = 1;
        return;
    }
    z->undo_pair = z->pair[i]; /* (an earlier time's: the drop puts it back) */
    z->pair[i] = (PairSlot){kh, z->stamp};
    z->n_pair++;
    z->undo_pair_slot = i;
}

/* the last row's entries out of o->seen again (drop_last_row) */
static void seen_drop(Out *o) {
    Seen *z = &o->seen;
    if (z->undo_first) {
        z->n_first--;
        z->n_ev--;
        z->ev[z->order[z->n_first]].used = 0;
    }
    z->last = z->undo_last;
    if (z->undo_pair_slot != NO)
        z->pair[z->undo_pair_slot] = z->undo_pair;
    if (!z->pair_dup) { /* (a duplicate found stays found: the parser only loses time) */
        z->stamp = z->undo_stamp, z->ts = z->undo_ts, z->has_ts_run = z->undo_has_ts_run;
        z->n_pair = z->undo_n_pair;
    }
    z->undo_first = 0;
    z->undo_pair_slot = NO;
}

/* A matched line's row; 0 when its numbers are left to the per-line path. */
static int emit(Out *o, const char *s, const Hit *h, int32_t line) {
    if ((h->has_ts && h->ts.b - h->ts.a > 19) || (h->ident == 0 && h->cpu.b - h->cpu.a > 9) ||
        (h->ident == 1 && h->nr.b - h->nr.a > 9))
        return 0; /* the per-line path checks these (parser.line_path) */
    double value = 0, enabled = 0, mv = 0;
    int64_t ts = 0, run = 0, cpu = 0;
    int status = s[h->value.a] != '<' ? 0 : s[h->value.a + 5] == 'c' ? 1 : 2;
    if (h->nums) { /* (each one the matcher checked exact, as to_double does) */
        value = h->value_d, enabled = h->pct_d, mv = h->mv_d;
        ts = h->ts_i, run = h->run_i, cpu = h->cpu_i;
    } else {
        if ((status == 0 && to_double(s, h->value, &value) < 0) ||
            (h->has_pct && to_double(s, h->pct, &enabled) < 0) ||
            (h->has_metric && to_double(s, h->mv, &mv) < 0))
            return 0;
        ts = h->has_ts ? to_int(s, h->ts) : 0;
        for (int k = 0; k < h->ts_pad; k++)
            ts *= 10;
        run = h->has_run ? to_int(s, h->run) : 0;
        cpu = h->ident == 0 ? to_int(s, h->cpu) : 0;
    }
    PUT(o, ROW_LINE, int32_t, line);
    PUT(o, TS, int64_t, ts);
    PUT(o, TS_VALID, uint8_t, h->has_ts);
    PUT(o, CPU, int32_t, (int32_t)cpu);
    PUT(o, CPU_VALID, uint8_t, h->ident == 0);
    PUT(o, AGGR_VALID, uint8_t, h->ident == 1);
    PUT(o, AGGR_CPUS, int32_t, h->ident == 1 ? (int32_t)to_int(s, h->nr) : 0);
    PUT(o, VALUE, double, value);
    PUT(o, STATUS, uint8_t, status);
    PUT(o, UNIT_VALID, uint8_t, h->has_unit);
    PUT(o, RUN, int64_t, run);
    PUT(o, RUN_VALID, uint8_t, h->has_run);
    PUT(o, ENABLED, double, enabled);
    PUT(o, ENABLED_VALID, uint8_t, h->has_pct);
    PUT(o, MV, double, mv);
    PUT(o, MV_VALID, uint8_t, h->has_metric);
    uint64_t kh = key_hash(s, h, cpu);
    PUT(o, KEY_HASH, uint64_t, kh);
    seen_row(o, h->has_ts, ts, kh, s + h->event.a, h->event.b - h->event.a);
    str_put(o, S_AGGR, s + h->aggr.a, h->ident == 1 ? h->aggr.b - h->aggr.a : 0);
    str_put(o, S_EVENT, s + h->event.a, h->event.b - h->event.a);
    str_put(o, S_MU, s + h->mu.a, h->has_metric ? h->mu.b - h->mu.a : 0);
    str_put(o, S_UNIT, s + h->unit.a, h->has_unit ? h->unit.b - h->unit.a : 0);
    o->rows++;
    return 1;
}

/* the last row appended is void (its line may be amended by the next) */
static void drop_last_row(Out *o) {
    o->rows--;
    seen_drop(o);
    for (int k = 0; k < N_STRS; k++) {
        int32_t end;
        memcpy(&end, o->str_off[k].p + o->rows * sizeof end, sizeof end);
        o->str_len[k] = (size_t)end;
    }
}

/* perf's interval column header: "#" spaces "time" space, letters and spaces only */
static int is_header(const char *s, size_t n) {
    size_t j = spaces(s, n, 1);
    if (n < 6 || s[0] != '#' || j == 1 || j + 5 > n || memcmp(s + j, "time ", 5) != 0)
        return 0;
    for (size_t k = j; k < n; k++)
        if (!alpha(s[k]) && s[k] != ' ')
            return 0;
    return 1;
}

/* --- CSV (-x SEP) lines: csv_lines._sep_fields for its common layouts ------------- */

#define MAX_FIELDS 16

static inline Span strip(const char *s, Span x) {
    while (x.a < x.b && s[x.a] == ' ')
        x.a++;
    while (x.b > x.a && s[x.b - 1] == ' ')
        x.b--;
    return x;
}

static inline int span_is(const char *s, Span x, const char *lit) {
    size_t n = strlen(lit);
    return x.b - x.a == n && memcmp(s + x.a, lit, n) == 0;
}

static inline int is_status(const char *s, Span x) {
    return span_is(s, x, "<not counted>") || span_is(s, x, "<not supported>");
}

/* whether the line holds "seconds" (each 's' found sixteen or eight bytes at a
 * time: memmem's set-up per line cost more than the search) */
static inline int has_seconds(const char *s, size_t n) {
    size_t k = 0;
#ifdef __SSE2__
    const __m128i es = _mm_set1_epi8('s');
    for (; k + 16 <= n; k += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + k));
        for (unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, es)); m; m &= m - 1) {
            size_t j = k + (size_t)__builtin_ctz(m);
            if (j + 7 <= n && memcmp(s + j + 1, "econds", 6) == 0)
                return 1;
        }
    }
#endif
    for (; k + 7 <= n; k++) {
        k = find_byte(s, k, n - 6, 's');
        if (k == NO)
            return 0;
        if (memcmp(s + k + 1, "econds", 6) == 0)
            return 1;
    }
    return 0;
}

/* A CSV field read as a number, once: `\d+` (1) or `\d+[.,]\d+` (2), with its digits as
 * to_double and to_int read them (m: every digit, exact up to 19 of them; big: whether
 * to_double's nd, the digits from the first nonzero one on, is over 15; frac: the
 * digits after the point); 0 for anything else.  One pass instead of a test of its
 * shape and then the conversion. */
typedef struct {
    uint64_t m;
    int big, frac;
} CNum;

#if defined(__GNUC__)
#define INLINE inline __attribute__((always_inline))
#else
#define INLINE inline
#endif

/* the digits from s[k] on (up to end) into *m: where they stop.  (Eight at a time by
 * SWAR was tried: more instructions on perf's short numbers, 5 digits on average.) */
static INLINE size_t csv_digits(const char *s, size_t k, size_t end, uint64_t *m) {
    uint64_t v = *m;
    for (; k < end; k++) {
        unsigned d = (unsigned)(unsigned char)s[k] - '0';
        if (d > 9)
            break;
        v = v * 10 + d; /* (unsigned: wraps past 19 digits; see csv_number) */
    }
    *m = v;
    return k;
}

static INLINE int csv_number(const char *s, Span x, CNum *c) {
    uint64_t m = 0;
    size_t k = csv_digits(s, x.a, x.b, &m);
    if (k == x.a)
        return 0;
    int kind = 1;
    c->frac = 0;
    if (k < x.b) {
        if ((s[k] != '.' && s[k] != ',') || k + 1 == x.b)
            return 0;
        size_t p = k + 1;
        if (csv_digits(s, p, x.b, &m) != x.b)
            return 0;
        c->frac = (int)(x.b - p);
        kind = 2;
    }
    c->m = m;
    if (x.b - x.a - (kind == 2) <= 19) {
        c->big = m >= 1000000000000000ULL; /* m holds every digit: nd > 15 */
    } else { /* over 19 digits (m wrapped): nd counted past the leading zeros */
        size_t z = x.a;
        while (z < x.b && (s[z] == '0' || s[z] == '.' || s[z] == ','))
            z++;
        size_t nd = x.b - z;
        if (kind == 2 && z <= x.b - 1 - (size_t)c->frac - 1)
            nd--; /* the point comes after the first nonzero digit */
        c->big = nd > 15;
    }
    return kind;
}

/* to_double's result for a number csv_number read: 0 where to_double returns -1 */
static inline int cnum_double(const CNum *c, double *out) {
    if (c->big || c->frac > 22)
        return 0;
    *out = (double)c->m / POW10[c->frac];
    return 1;
}

/* `[TIME] [CPUn | S..,NR] VALUE UNIT EVENT RUN PCNT [MV [MU]]` split on sep, with
 * each test csv_fields applies; 0 (the per-line path reads it) for anything else,
 * and for what the per-line path would read before trying CSV.  Its numbers are read
 * here, as each field is tested (h->nums): a number emit's to_double would not read
 * exactly gives 0 here instead (the same: the line goes to the per-line path). */
/* the last CSV time read (an interval's rows all start with the same one): its bytes
 * (in the chunk) and value */
typedef struct {
    const char *p;
    size_t len;
    int64_t v;
} CsvTime;

/* whether s[0:len] equals q[0:len], for 8 <= len <= 16: two words each (overlapping) */
static inline int same16(const char *s, const char *q, size_t len) {
    uint64_t a, b, c, d;
    memcpy(&a, s, 8), memcpy(&b, q, 8);
    memcpy(&c, s + len - 8, 8), memcpy(&d, q + len - 8, 8);
    return ((a ^ b) | (c ^ d)) == 0;
}

static NOINLINE int csv_match(const char *s, size_t n, size_t lead, const char *sep, size_t sl,
                              CsvTime *last, Hit *h) {
    while (n && s[n - 1] == ' ')
        n--; /* the per-line path reads raw.rstrip() */
    size_t j = lead < n ? lead : n;
    /* HEADER_RE and the Wall-clock footer start with a letter, which fails the
     * head-field test below; the elapsed/user/sys footers hold "seconds" */
    if (j == n || s[j] == '{' || s[j] == '#' || s[j] == '(' || has_seconds(s, n))
        return 0;
    Span f[MAX_FIELDS];
    size_t nf = 0, a = 0;
    size_t k = 0;
#ifdef __SSE2__
    if (sl == 1) { /* the separators of sixteen bytes at a time, as a bit mask */
        const __m128i c = _mm_set1_epi8(sep[0]);
        for (; k + 16 <= n; k += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + k));
            for (unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, c)); m; m &= m - 1) {
                if (nf == MAX_FIELDS - 1)
                    return 0;
                size_t at = k + (size_t)__builtin_ctz(m);
                f[nf++] = (Span){a, at};
                a = at + 1;
            }
        }
    }
#endif
    while (k + sl <= n) {
        k = find_byte(s, k, n - sl + 1, sep[0]); /* (eight bytes at a time) */
        if (k == NO)
            break;
        if (sl == 1 || memcmp(s + k, sep, sl) == 0) {
            if (nf == MAX_FIELDS - 1)
                return 0;
            f[nf++] = (Span){a, k};
            k += sl;
            a = k;
        } else {
            k++;
        }
    }
    f[nf++] = (Span){a, n};
    if (nf < 2)
        return 0; /* the separator is not in the line */
    size_t i = 0;
    CNum num;
    h->has_ts = 0;
    h->ts_pad = 0;
    h->ts_i = 0;
    /* `^\s*\d+\.\d{9}$` (the spaces: the line's lead, as f[0] starts the line) */
    Span t = {j < f[0].b ? j : f[0].b, f[0].b};
    size_t tl = t.b - t.a;
    if (tl > 10 && tl == last->len && tl <= 16 && same16(s + t.a, last->p, tl)) {
        h->ts = t;
        h->has_ts = 1;
        h->ts_i = last->v;
        i = 1;
    } else if (tl > 10 && s[t.b - 10] == '.' && csv_number(s, t, &num) == 2 && num.frac == 9) {
        h->ts = t;
        h->has_ts = 1;
        h->ts_i = (int64_t)num.m; /* (emit leaves times over 19 bytes to the per-line path) */
        *last = (CsvTime){s + t.a, tl, h->ts_i};
        i = 1;
    }
    if (i >= nf)
        return 0;
    Span head = f[i];
    size_t hl = head.b - head.a;
    h->cpu_i = 0;
    if (hl > 3 && memcmp(s + head.a, "CPU", 3) == 0) {
        if (csv_number(s, (Span){head.a + 3, head.b}, &num) != 1)
            return 0; /* neither CPUn nor a value, a status, S.. or N..: a comm-pid */
        h->ident = 0;
        h->cpu = (Span){head.a + 3, head.b};
        h->cpu_i = (int64_t)num.m; /* (emit leaves over nine digits to the per-line path) */
        i += 1;
    } else if (hl && (s[head.a] == 'S' || s[head.a] == 'N')) {
        size_t e = digits(s, head.b, head.a + 1);
        if (e == head.a + 1)
            return 0;
        if (s[head.a] == 'S')
            e = opt_part(s, head.b, opt_part(s, head.b, e, 'D'), 'C');
        if (e != head.b || i + 1 >= nf || csv_number(s, f[i + 1], &num) != 1)
            return 0;
        h->ident = 1;
        h->aggr = head;
        h->nr = f[i + 1];
        i += 2;
    } else {
        h->ident = 2; /* the head is the value (tested below, as exactly as this would) */
    }
    /* _tail: VALUE SEP UNIT SEP EVENT SEP RUN SEP PCNT [SEP MV SEP MU] */
    if (i + 2 > nf)
        return 0;
    Span v = f[i];
    h->value_d = 0;
    if (v.b > v.a && s[v.a] == '<') {
        if (!is_status(s, v))
            return 0;
    } else if (!csv_number(s, v, &num) || !cnum_double(&num, &h->value_d)) {
        return 0;
    }
    h->value = v;
    Span *rest = f + i + 1;
    size_t nr = nf - i - 1;
    if (nr >= 3 && rest[1].b > rest[1].a && csv_number(s, rest[0], &num) != 1) {
        h->has_unit = rest[0].b > rest[0].a;
        h->unit = rest[0];
    } else if (nr >= 2 && rest[0].b == rest[0].a) {
        h->has_unit = 0;
    } else {
        return 0;
    }
    Span *after = rest + 1;
    size_t na = nr - 1;
    /* the RUN,PCNT anchor must be right after the event (no cgroup, no variance) */
    if (na < 3 || after[1].b - after[1].a > 18 || csv_number(s, after[1], &num) != 1)
        return 0;
    h->run_i = (int64_t)num.m; /* (at most 18 digits) */
    if (csv_number(s, after[2], &num) != 2 || !cnum_double(&num, &h->pct_d))
        return 0;
    Span ev = after[0];
    if (ev.b == ev.a || s[ev.a] == ' ' || s[ev.b - 1] == ' ' || s[ev.b - 1] == '%')
        return 0;
    h->event = ev;
    h->run = after[1];
    h->has_run = 1;
    h->pct = after[2];
    h->has_pct = 1;
    Span *tail = after + 3;
    size_t nt = na - 3;
    int any = 0;
    for (size_t q = 0; q < nt; q++)
        any |= tail[q].b > tail[q].a;
    h->has_metric = 0;
    h->mv_d = 0;
    if (any) {
        if (nt > 4)
            return 0;
        if (tail[0].b == tail[0].a)
            return 0; /* mu without mv: rare, left to the per-line path */
        Span mv = strip(s, tail[0]);
        if (!csv_number(s, mv, &num) || !cnum_double(&num, &h->mv_d))
            return 0;
        h->mv = mv;
        if (nt < 2)
            return 0;
        Span mu = strip(s, tail[1]);
        if (mu.b == mu.a)
            return 0; /* mv without mu: rare, left to the per-line path */
        h->mu = mu;
        h->has_metric = 1;
    }
    h->nums = 1;
    return 1;
}

/* --- JSON (-j) lines: json_lines.json_fields for perf's flat counter objects ------- */

/* A decimal `\d+(\.\d+)?` as it was read, digit by digit, once: its digits as an
 * integer (m: exact while there are at most 19 of them), how many come before the
 * point (ni) and after it (frac); to_double's and to_int's results follow from these
 * without reading it again (dec_double). */
typedef struct {
    uint64_t m;
    int32_t frac, ni, neg;
} Dec;

typedef struct {
    Span v;
    int type; /* 0 absent, 1 string (v inside the quotes), 2 number (d: its digits) */
    Dec d;
} JVal;

/* the digits from s[k] on into d->m (unsigned overflow is defined, and m is only
 * read when there are at most 19 digits): where they end.  No bound: json_match
 * reads a line only when its last byte is '}', and a string's digits end at its
 * closing quote, so a non-digit always stops the loop within the line. */
static inline size_t dec_digits(const char *s, size_t k, Dec *d) {
    uint64_t m = d->m;
    for (;; k++) {
        unsigned v = (unsigned)(unsigned char)s[k] - '0';
        if (v > 9)
            break;
        m = m * 10 + v;
    }
    d->m = m;
    return k;
}

/* `\d+(\.\d+)?` at s[i:n] into d: its end, or NO when no digit starts it or none
 * follows the point */
static inline size_t dec_read(const char *s, size_t n, size_t i, Dec *d) {
    d->m = 0, d->frac = 0;
    size_t k = dec_digits(s, i, d);
    if (k == i)
        return NO;
    d->ni = (int32_t)(k - i);
    if (k < n && s[k] == '.') {
        size_t f = dec_digits(s, k + 1, d);
        if (f == k + 1)
            return NO;
        d->frac = (int32_t)(f - k - 1);
        k = f;
    }
    return k;
}

/* to_double's result from the digits as read: m / 10^frac when that is exact (m has
 * at most 15 significant digits, as to_double's nd <= 15: m < 10^15 is the same
 * test once m holds all the digits, which at most 19 guarantee), else 0 and the
 * per-line path reads the line (float()) */
static inline int dec_double(const Dec *d, double *out) {
    if (d->ni + d->frac > 19 || d->m >= 1000000000000000ULL || d->frac > 22)
        return 0;
    *out = (double)d->m / POW10[d->frac];
    return 1;
}

enum {
    J_VALUE, J_INTERVAL, J_TIMESTAMP, J_CPU, J_RUN, J_RUNTIME, J_PCNT, J_MU, J_MV, J_UNIT,
    J_EVENT, J_BAIL, N_J
};

typedef struct {
    const char *name;
    size_t len;
    int id;
} JKey;

#define JK(s, id) {s, sizeof s - 1, id}
/* the keys json_fields reads; J_BAIL: read in ways left to the per-line path */
static const JKey JKEYS[] = {
    JK("counter-value", J_VALUE), JK("interval", J_INTERVAL),   JK("timestamp", J_TIMESTAMP),
    JK("cpu", J_CPU),             JK("event-runtime", J_RUN),   JK("runtime", J_RUNTIME),
    JK("pcnt-running", J_PCNT),   JK("metric-unit", J_MU),      JK("metric-value", J_MV),
    JK("unit", J_UNIT),           JK("event", J_EVENT),         JK("core", J_BAIL),
    JK("die", J_BAIL),            JK("socket", J_BAIL),         JK("node", J_BAIL),
    JK("cluster", J_BAIL),        JK("cache", J_BAIL),          JK("aggregate-number", J_BAIL),
    JK("counters", J_BAIL),       JK("thread", J_BAIL),         JK("cgroup", J_BAIL),
    JK("variance", J_BAIL),
};

static int json_key(const char *s, Span k) {
    size_t len = k.b - k.a;
    if (len < 3 || len > 16) /* JKEYS' shortest and longest */
        return -1;
    for (size_t j = 0; j < sizeof JKEYS / sizeof *JKEYS; j++)
        if (JKEYS[j].len == len && s[k.a] == JKEYS[j].name[0] &&
            memcmp(s + k.a, JKEYS[j].name, len) == 0)
            return JKEYS[j].id;
    return -1;
}

/* `-?(0|[1-9]\d*)(\.\d+)?` at i (no exponent here) into dec: its end, or NO */
static inline size_t json_number(const char *s, size_t n, size_t i, Dec *dec) {
    size_t j = i < n && s[i] == '-' ? i + 1 : i;
    size_t d = dec_read(s, n, j, dec);
    if (d == NO || (s[j] == '0' && dec->ni > 1))
        return NO;
    if (d < n && (s[d] == 'e' || s[d] == 'E'))
        return NO;
    dec->neg = j > i;
    return d;
}

/* the closing quote of a string opened at i, or NO; json_match has already left
 * every line with a backslash to Python, so the first quote closes it (memchr:
 * the byte loop was the JSON scan's largest cost) */
static inline size_t json_string_end(const char *s, size_t n, size_t i) {
    const char *q = i + 1 < n ? memchr(s + i + 1, '"', n - i - 1) : NULL;
    return q ? (size_t)(q - s) : NO;
}

/* the first '"' in s[i:n], or NO: perf's short strings end within sixteen bytes,
 * one SSE2 compare where there is room for it (else eight bytes at a time) */
static inline size_t short_string_end(const char *s, size_t n, size_t i) {
#ifdef __SSE2__
    if (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')));
        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    return find_byte(s, i, n, '"');
}

/* The value at s[*i] into *v, *i past it: a string (its end by memchr, or by the
 * eight-byte find_byte on the fixed-order path's short strings) or a number; 0 for
 * null, true, false, objects, arrays and exponents, which Python reads. */
static inline int json_value(const char *s, size_t n, size_t *i, JVal *v, int short_strings) {
    size_t p = *i;
    if (p < n && s[p] == '"') {
        size_t q = short_strings ? short_string_end(s, n, p + 1) : json_string_end(s, n, p);
        if (q == NO)
            return 0;
        v->v = (Span){p + 1, q};
        v->type = 1;
        *i = q + 1;
        return 1;
    }
    size_t e = json_number(s, n, p, &v->d);
    if (e == NO)
        return 0;
    v->v = (Span){p, e};
    v->type = 2;
    *i = e;
    return 1;
}

/* The object's "key" : value pairs into o[] (the general scanner: any spacing, any
 * key order, the last of a repeated key); 0 for anything json_match leaves to Python. */
static int json_general(const char *s, size_t n, size_t i, JVal *o) {
    i = spaces(s, n, i + 1);
    for (;;) { /* "key" : value (, | }) */
        size_t q = i < n && s[i] == '"' ? json_string_end(s, n, i) : NO;
        if (q == NO)
            return 0;
        Span key = {i + 1, q};
        i = spaces(s, n, key.b + 1);
        if (i >= n || s[i] != ':')
            return 0;
        i = spaces(s, n, i + 1);
        int j = json_key(s, key);
        if (j == J_BAIL)
            return 0;
        JVal other; /* json.loads: the last one wins (read into its slot) */
        if (!json_value(s, n, &i, j >= 0 ? &o[j] : &other, 0))
            return 0;
        i = spaces(s, n, i);
        if (i < n && s[i] == ',') {
            i = spaces(s, n, i + 1);
            continue;
        }
        return i == n - 1 && s[i] == '}';
    }
}

/* perf's own layout (stat-display.c): `{"key" : value, "key" : value, ...}`, one
 * space either side of each colon, one after each comma, and the keys it prints
 * for a flat counter in the order it prints them (any of them absent).  On such a
 * line it reads into o[] exactly what json_general reads (each key is compared in
 * place with memcmp instead of being cut out and looked up); 0 on any other byte,
 * and json_general then reads the line. */
static const JKey JORDER[] = { /* each as it appears: "key" : */
    JK("\"interval\" : ", J_INTERVAL),   JK("\"cpu\" : ", J_CPU),
    JK("\"counter-value\" : ", J_VALUE), JK("\"unit\" : ", J_UNIT),
    JK("\"event\" : ", J_EVENT),         JK("\"event-runtime\" : ", J_RUN),
    JK("\"pcnt-running\" : ", J_PCNT),   JK("\"metric-value\" : ", J_MV),
    JK("\"metric-unit\" : ", J_MU),
};
#define N_ORDER (sizeof JORDER / sizeof *JORDER)

/* JORDER's keys as eight-byte words: the first eight bytes, the last eight
 * (overlapping them: every key is 8 to 24 bytes) and, past 16, bytes 8-15; filled
 * once at import (PyInit__perf_stat), so a key is two or three word compares in
 * place (a call to memcmp, or a compare loop over the literal, cost more) */
typedef struct {
    uint64_t first, last, mid;
} KeyWords;
static KeyWords JWORDS[N_ORDER];

static void key_words_init(void) {
    for (size_t t = 0; t < N_ORDER; t++) {
        const JKey *k = &JORDER[t];
        memcpy(&JWORDS[t].first, k->name, 8);
        memcpy(&JWORDS[t].last, k->name + k->len - 8, 8);
        JWORDS[t].mid = 0;
        if (k->len > 16)
            memcpy(&JWORDS[t].mid, k->name + 8, 8);
    }
}

/* whether JORDER[t]'s key is at s[i] (within s[0:n]) */
static inline int key_at(const char *s, size_t n, size_t i, size_t t) {
    size_t len = JORDER[t].len;
    uint64_t a, b;
    if (i + len > n)
        return 0;
    memcpy(&a, s + i, 8);
    memcpy(&b, s + i + len - 8, 8);
    if (a != JWORDS[t].first || b != JWORDS[t].last)
        return 0;
    if (len > 16) {
        memcpy(&a, s + i + 8, 8);
        return a == JWORDS[t].mid;
    }
    return 1;
}

static int json_fixed(const char *s, size_t n, size_t i, JVal *o) {
    size_t t = 0; /* the next key of JORDER that may follow */
    i++;          /* s[i] was the '{' */
    for (;;) {
        while (t < N_ORDER && !key_at(s, n, i, t)) /* (each key starts with its quote) */
            t++;
        if (t == N_ORDER)
            return 0;
        const JKey *key = &JORDER[t++];
        i += key->len;
        if (!json_value(s, n, &i, &o[key->id], 1))
            return 0;
        if (i + 1 == n && s[i] == '}')
            return 1;
        if (i + 2 > n || s[i] != ',' || s[i + 1] != ' ')
            return 0;
        i += 2;
    }
}

static NOINLINE int json_match(const char *s, size_t n, int backslash, int general, Hit *h) {
    while (n && s[n - 1] == ' ')
        n--;
    size_t i = spaces(s, n, 0);
    if (i >= n || s[i] != '{' || s[n - 1] != '}')
        return 0;
    /* a backslash can only be an escape in a string (anywhere else the line is not
     * JSON): such lines are left to the per-line path, as before */
    if (backslash)
        return 0;
    JVal o[N_J];
    for (int k = 0; k < N_J; k++)
        o[k].type = 0; /* (a memset of the spans too cost 7% of the scan) */
    if (general || !json_fixed(s, n, i, o)) {
        for (int k = 0; k < N_J; k++)
            o[k].type = 0;
        if (!json_general(s, n, i, o))
            return 0;
    }
    /* Each number is read once, as json_value cut it (d) or, in a string, here, and
     * checked as emit's to_double / to_int would read it (exact, or the per-line
     * path reads the line). */
    /* counter-value: a status, or an unsigned plain decimal (string or number) */
    JVal cv = o[J_VALUE];
    h->value_d = 0;
    if (cv.type == 1 && is_status(s, cv.v)) {
        /* (its value is null) */
    } else if (cv.type == 1) {
        Dec d;
        if (cv.v.b == cv.v.a || dec_read(s, cv.v.b, cv.v.a, &d) != cv.v.b ||
            !dec_double(&d, &h->value_d))
            return 0;
    } else if (cv.type != 2 || cv.d.neg || !dec_double(&cv.d, &h->value_d)) {
        return 0;
    }
    h->value = cv.v;
    /* interval: a float under 10^6 s with at most nine decimals prints back as itself */
    h->has_ts = 0;
    h->ts_pad = 0;
    h->ts_i = 0;
    if (o[J_INTERVAL].type) {
        const Dec *t = &o[J_INTERVAL].d;
        if (o[J_INTERVAL].type != 2 || t->neg || t->ni > 6 || t->frac == 0 || t->frac > 9)
            return 0;
        h->ts = o[J_INTERVAL].v;
        h->has_ts = 1;
        h->ts_pad = 9 - t->frac;
        h->ts_i = (int64_t)t->m; /* (at most 15 digits) */
        for (int k = 0; k < h->ts_pad; k++)
            h->ts_i *= 10;
    } else if (o[J_TIMESTAMP].type) {
        return 0;
    }
    h->ident = 2;
    h->cpu_i = 0;
    if (o[J_CPU].type) { /* digits, in a string or a number */
        Span c = o[J_CPU].v;
        if (c.b == c.a || c.b - c.a > 9)
            return 0;
        int64_t v = 0;
        for (size_t k = c.a; k < c.b; k++) {
            unsigned x = (unsigned)(unsigned char)s[k] - '0';
            if (x > 9)
                return 0;
            v = v * 10 + x;
        }
        h->ident = 0;
        h->cpu = c;
        h->cpu_i = v;
    }
    h->has_run = 0;
    h->run_i = 0;
    if (o[J_RUN].type) {
        const Dec *r = &o[J_RUN].d;
        if (o[J_RUN].type != 2 || r->neg || r->frac || r->ni > 15)
            return 0;
        h->run = o[J_RUN].v;
        h->has_run = 1;
        h->run_i = (int64_t)r->m;
    } else if (o[J_RUNTIME].type) {
        return 0;
    }
    h->has_pct = 0;
    h->pct_d = 0;
    if (o[J_PCNT].type) {
        if (o[J_PCNT].type != 2 || o[J_PCNT].d.neg || !dec_double(&o[J_PCNT].d, &h->pct_d))
            return 0;
        h->pct = o[J_PCNT].v;
        h->has_pct = 1;
    }
    h->has_metric = 0;
    h->mv_d = 0;
    if (o[J_MU].type) {
        Span mu = o[J_MU].v;
        if (o[J_MU].type != 1)
            return 0;
        if (mu.b > mu.a && !span_is(s, mu, "(null)")) {
            if (o[J_MV].type != 2 || o[J_MV].d.neg || !dec_double(&o[J_MV].d, &h->mv_d))
                return 0;
            h->mu = mu;
            h->mv = o[J_MV].v;
            h->has_metric = 1;
        }
    }
    h->nums = 1;
    h->has_unit = 0;
    if (o[J_UNIT].type) {
        if (o[J_UNIT].type != 1)
            return 0;
        h->unit = o[J_UNIT].v;
        h->has_unit = h->unit.b > h->unit.a;
    }
    if (o[J_EVENT].type != 1 || o[J_EVENT].v.b == o[J_EVENT].v.a)
        return 0;
    h->event = o[J_EVENT].v;
    return 1;
}

/* every byte in 0x20..0x7e, eight at a time: any byte below 0x20, at or above
 * 0x80, or equal to 0x7f (bit tricks: "determine if a word has a byte less than n") */
#ifndef __SSE2__
static int is_printable(const char *s, size_t n) {
    uint64_t bad = 0;
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        uint64_t x, y;
        memcpy(&x, s + k, 8);
        y = x ^ (0x7f * ONES);
        bad |= ((x - 0x20 * ONES) & ~x) | x | ((y - ONES) & ~y);
    }
    for (; k < n; k++)
        bad |= (unsigned char)(s[k] - 0x20) > 0x5e ? HIGH : 0;
    return (bad & HIGH) == 0;
}
#endif

/* Whether the line's first token (at lead) is a run of digits and dots followed by
 * something other than a space: FAST_RE cannot match it then (its time, or else
 * its value, is such a run and must be followed by whitespace; a CPU or
 * aggregation column starts with a letter), so a CSV row skips the attempt
 * (tried only once the input is known to be CSV: human lines pass it anyway). */
static inline int unspaced_number(const char *s, size_t n, size_t avail, size_t lead) {
    if (lead >= n || !dig(s[lead]))
        return 0;
    size_t k = lead;
#ifdef __SSE2__
    if (lead + 16 <= avail) { /* the first byte neither a digit nor a dot, of sixteen */
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + lead));
        __m128i num = _mm_or_si128(
            _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
                          _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1))),
            _mm_cmpeq_epi8(x, _mm_set1_epi8('.')));
        unsigned other = ~(unsigned)_mm_movemask_epi8(num) & 0xffff;
        if (other) {
            k = lead + (size_t)__builtin_ctz(other);
            return k < n && s[k] != ' ';
        }
        k = lead + 16;
    }
#endif
    while (k < n && (dig(s[k]) || s[k] == '.'))
        k++;
    return k < n && s[k] != ' ';
}

/* The end of the line at pos (its '\n', or len), and whether every byte before it
 * is printable ASCII and whether one is a backslash: one pass over the line
 * (sixteen bytes at a time where SSE2 is there) instead of three. */
#ifdef __SSE2__
/* whether every byte of d[pos:end] is printable ASCII, and whether one is a backslash
 * (a byte at a time: only for the rare line the search below saw one of either in) */
static void line_bytes(const char *d, size_t pos, size_t end, int *printable, int *backslash) {
    unsigned bad = 0, back = 0;
    for (size_t k = pos; k < end; k++) {
        unsigned char c = (unsigned char)d[k];
        bad |= c < 0x20 || c > 0x7e;
        back |= c == '\\';
    }
    *printable = !bad;
    *backslash = back != 0;
}
#endif

static size_t line_end(const char *d, size_t pos, size_t len, int *printable, int *backslash) {
#ifdef __SSE2__
    const __m128i nl = _mm_set1_epi8('\n'), lo = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f),
                  bs = _mm_set1_epi8('\\');
    unsigned odd = 0; /* a non-printable byte or a backslash: which one, line_bytes says */
    size_t i = pos;
    for (; i + 16 <= len; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(d + i));
        unsigned m_nl = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, nl));
        /* signed: bytes from 0x80 on are negative, so below 0x20 too */
        unsigned m_odd = (unsigned)_mm_movemask_epi8(_mm_or_si128(
            _mm_or_si128(_mm_cmplt_epi8(x, lo), _mm_cmpeq_epi8(x, del)), _mm_cmpeq_epi8(x, bs)));
        if (m_nl) {
            unsigned before = (m_nl & (0u - m_nl)) - 1; /* the bytes before the first '\n' */
            size_t end = i + (size_t)__builtin_ctz(m_nl);
            if (odd | (m_odd & before))
                line_bytes(d, pos, end, printable, backslash);
            else
                *printable = 1, *backslash = 0;
            return end;
        }
        odd |= m_odd;
    }
    size_t end = i;
    while (end < len && d[end] != '\n')
        end++;
    line_bytes(d, pos, end, printable, backslash);
    return end;
#else
    const char *nl = memchr(d + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - d) : len;
    *printable = is_printable(d + pos, end - pos);
    *backslash = memchr(d + pos, '\\', end - pos) != NULL;
    return end;
#endif
}

static void scan(const char *data, size_t len, const char *sep, size_t sl, int general,
                 size_t cap, Out *o) {
    size_t pos = 0;
    int32_t line = 0;
    int prev = K_OTHER;
    CsvTime last = {NULL, 0, 0};
    while (pos < len) {
        if ((size_t)line == cap) { /* more lines than the caller said: no row is kept */
            o->overflow = 1;
            return;
        }
        int printable, backslash;
        size_t end = line_end(data, pos, len, &printable, &backslash);
        const char *s = data + pos;
        size_t n = end - pos;
        int64_t start = (int64_t)pos;
        memcpy(o->line_start.p + (size_t)line * sizeof start, &start, sizeof start);
        int kind = K_OTHER;
        Hit h;
        size_t lead = spaces(s, n, 0);
        int brace = lead < n && s[lead] == '{'; /* FAST_RE cannot match these */
        if (printable && n && !brace && !(sl && unspaced_number(s, n, len - pos, lead)) && match(s, n, &h)) {
            if (emit(o, s, &h, line))
                kind = K_ROW;
        } else if (printable && brace) {
            if (json_match(s, n, backslash, general, &h) && emit(o, s, &h, line))
                kind = K_ROW;
        } else if (printable && sl && csv_match(s, n, lead, sep, sl, &last, &h)) {
            if (emit(o, s, &h, line))
                kind = K_ROW;
        } else if (printable && is_header(s, n)) {
            kind = K_HEADER;
        }
        if (kind == K_OTHER && prev == K_ROW) {
            size_t j = spaces(s, n, 0);
            unsigned char c = j < n ? (unsigned char)s[j] : ' ';
            if (c == '(' || (j < n && (c < 0x21 || c > 0x7e))) {
                drop_last_row(o); /* it may be amended: per line, both */
                ((uint8_t *)o->kind.p)[line - 1] = K_OTHER;
            }
        }
        ((uint8_t *)o->kind.p)[line] = (uint8_t)kind;
        prev = kind;
        line++;
        pos = end < len ? end + 1 : len;
    }
    int64_t stop = (int64_t)len;
    memcpy(o->line_start.p + (size_t)line * sizeof stop, &stop, sizeof stop);
    o->lines = (size_t)line;
}

/* lines in data[0:len]: its newlines, and a last line without one */
static size_t count_lines(const char *data, size_t len) {
    size_t n = 0, i = 0;
#ifdef __SSE2__
    const __m128i nl = _mm_set1_epi8('\n');
    for (; i + 16 <= len; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(data + i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, nl));
        for (; m; m &= m - 1) /* (a line or so per 16 bytes: no popcount call) */
            n++;
    }
#endif
    for (; i < len; i++)
        n += data[i] == '\n';
    return n + (len && data[len - 1] != '\n');
}

static void out_free(Out *o) {
    Py_CLEAR(o->kind.obj);
    Py_CLEAR(o->line_start.obj);
    for (int k = 0; k < N_FIXED; k++)
        Py_CLEAR(o->col[k].obj);
    for (int k = 0; k < N_STRS; k++) {
        Py_CLEAR(o->str_off[k].obj);
        free(o->str_data[k]);
    }
    free(o->seen.ev);
    free(o->seen.first);
    free(o->seen.order);
    free(o->seen.pair);
}

/* a bytes object of `size` bytes to write into (0 on failure, with the error set) */
static int col_new(Col *c, size_t size) {
    c->obj = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size);
    c->p = c->obj ? PyBytes_AS_STRING(c->obj) : NULL;
    return c->obj != NULL;
}

/* the column cut to `size` bytes, into d[key] (the reference moves to d) */
static int col_put(PyObject *d, const char *key, Col *c, size_t size) {
    if (_PyBytes_Resize(&c->obj, (Py_ssize_t)size) < 0)
        return -1; /* (c->obj is NULL now) */
    int rc = PyDict_SetItemString(d, key, c->obj);
    Py_CLEAR(c->obj);
    return rc;
}

PyDoc_STRVAR(scan_doc,
             "scan(data, sep, general=False, lines=-1) -> dict\n\nThe counter lines of a chunk of perf "
             "stat output that FAST_RE matches, or that are CSV rows with sep (b'': none), "
             "or perf's JSON counter objects, as columns (see "
             "spftrace/formats/perf_stat/compiled.py).  general: JSON lines through the "
             "general object scanner only, never the fixed-key-order one (tests compare "
             "the two).  lines: how many lines data holds, when the caller knows (else they are "
             "counted; more lines than that raise ValueError).");

static PyObject *py_scan(PyObject *self, PyObject *args) {
    Py_buffer data, sep;
    int general = 0;
    Py_ssize_t given = -1;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*|pn", &data, &sep, &general, &given))
        return NULL;
    char sepc[16];
    size_t sl = (size_t)sep.len < sizeof sepc ? (size_t)sep.len : 0; /* long: no CSV */
    memcpy(sepc, sep.buf, sl);
    PyBuffer_Release(&sep);
    if (data.len > INT32_MAX) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "data over 2 GiB (string offsets are int32)");
        return NULL;
    }
    size_t len = (size_t)data.len;
    /* the lines the caller counted (Chunk.n_lines), else counted here */
    size_t lines = given >= 0 ? (size_t)given : count_lines(data.buf, len);
    Out o;
    memset(&o, 0, sizeof o);
    /* (perf's names take a tenth to a sixth of a line: one allocation, not doubling
     * from 64 KiB with a copy each time; the pages are only touched as written; at
     * most 1 MiB, as a 4 MiB chunk's: a JSON chunk (8 MiB) then faulted no more) */
    o.str_init = len / 4 < (1 << 16) ? 1 << 16 : len / 4 > (1 << 20) ? 1 << 20 : len / 4;
    o.seen.ev = calloc(EV_SLOTS, sizeof *o.seen.ev);
    o.seen.first = malloc(EV_SLOTS / 2 * sizeof *o.seen.first);
    o.seen.order = malloc(EV_SLOTS / 2 * sizeof *o.seen.order);
    o.seen.last = NO;
    o.data_end = (const char *)data.buf + len;
    o.seen.pair = calloc(PAIR_SLOTS, sizeof *o.seen.pair);
    if (!o.seen.ev || !o.seen.first || !o.seen.order || !o.seen.pair) {
        out_free(&o);
        PyBuffer_Release(&data);
        return PyErr_NoMemory();
    }
    int ok = col_new(&o.kind, lines) && col_new(&o.line_start, (lines + 1) * 8);
    for (int k = 0; ok && k < N_FIXED; k++)
        ok = col_new(&o.col[k], lines * FIXED_SIZE[k]);
    for (int k = 0; ok && k < N_STRS; k++) {
        ok = col_new(&o.str_off[k], (lines + 1) * 4);
        if (ok)
            memset(o.str_off[k].p, 0, 4);
    }
    PyObject *d = NULL;
    if (!ok) {
        PyBuffer_Release(&data);
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS; /* the read-ahead and writer threads run meanwhile */
    scan(data.buf, len, sepc, sl, general, lines, &o);
    Py_END_ALLOW_THREADS;
    PyBuffer_Release(&data);
    if (o.oom) {
        PyErr_NoMemory();
        goto done;
    }
    if (o.overflow) {
        PyErr_SetString(PyExc_ValueError, "data holds more lines than the count given");
        goto done;
    }
    d = PyDict_New();
    if (d == NULL)
        goto done;
    /* (each step only while the ones before succeeded: no call with an error set) */
    int rc = col_put(d, "kind", &o.kind, o.lines);
    rc = rc ? rc : col_put(d, "line_start", &o.line_start, (o.lines + 1) * 8);
    if (!rc) { /* each event's first row (None: too many events), and whether no row
                * repeats the key hash of another at its time (False: unknown) */
        PyObject *first = o.seen.ev_lost ? Py_NewRef(Py_None)
                                         : PyBytes_FromStringAndSize(
                                               (const char *)o.seen.first,
                                               (Py_ssize_t)(o.seen.n_first * sizeof(int32_t)));
        rc = first == NULL || PyDict_SetItemString(d, "ev_first", first) < 0;
        Py_XDECREF(first);
        int distinct = !o.seen.pair_dup && !o.seen.pair_lost;
        rc = rc || PyDict_SetItemString(d, "pairs_distinct", distinct ? Py_True : Py_False) < 0;
    }
    for (int k = 0; !rc && k < N_FIXED; k++)
        rc = col_put(d, FIXED_NAMES[k], &o.col[k], o.rows * FIXED_SIZE[k]);
    for (int k = 0; !rc && k < N_STRS; k++) {
        char key[32];
        snprintf(key, sizeof key, "%s_offsets", STR_NAMES[k]);
        rc = col_put(d, key, &o.str_off[k], (o.rows + 1) * 4);
        if (rc)
            break;
        snprintf(key, sizeof key, "%s_data", STR_NAMES[k]);
        PyObject *b = PyBytes_FromStringAndSize(o.str_data[k] ? o.str_data[k] : "",
                                                (Py_ssize_t)o.str_len[k]);
        rc = b == NULL || PyDict_SetItemString(d, key, b) < 0;
        Py_XDECREF(b);
    }
    if (rc) {
        Py_CLEAR(d);
    }
done:
    out_free(&o);
    return d;
}

static PyMethodDef METHODS[] = {
    {"scan", py_scan, METH_VARARGS, scan_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {
    PyModuleDef_HEAD_INIT, "_perf_stat", "perf stat's human counter lines, cut in C.",
    -1, METHODS, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__perf_stat(void) {
    key_words_init();
    return PyModule_Create(&MODULE);
}
