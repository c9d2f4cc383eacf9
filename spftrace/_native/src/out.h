/* Growable output buffers of the scanners.
 *
 * No Python API here: the scanners fill these with the GIL released, and
 * module.c turns them into bytes objects afterwards.  A failed allocation
 * sets a sticky flag (checked once, at the end) instead of a return value at
 * every append; the buffers stay valid and are freed as usual. */
#ifndef SPFTRACE_OUT_H
#define SPFTRACE_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *p;
    size_t len, cap;
    int *oom; /* the owner's sticky out-of-memory flag */
} Buf;

static int buf_grow(Buf *b, size_t need) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + need)
        cap *= 2;
    char *q = realloc(b->p, cap);
    if (q == NULL) {
        *b->oom = 1;
        return -1;
    }
    b->p = q;
    b->cap = cap;
    return 0;
}

/* Room for `need` more bytes up front (a scan knows its worst case per chunk:
 * growing by doubling costs a copy of everything so far at each step). */
static inline void buf_reserve(Buf *b, size_t need) {
    if (b->len + need > b->cap) {
        char *q = realloc(b->p, b->len + need);
        if (q == NULL) {
            *b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = b->len + need;
    }
}

static inline void buf_put(Buf *b, const void *src, size_t n) {
    if (b->len + n > b->cap && buf_grow(b, n) < 0)
        return;
    if (n)
        memcpy(b->p + b->len, src, n);
    b->len += n;
}

static inline void buf_i32(Buf *b, int32_t v) { buf_put(b, &v, sizeof v); }
static inline void buf_i64(Buf *b, int64_t v) { buf_put(b, &v, sizeof v); }
static inline void buf_u64(Buf *b, uint64_t v) { buf_put(b, &v, sizeof v); }

/* An Arrow bitmap (least significant bit first), one bit appended at a time. */
typedef struct {
    Buf b;
    size_t n;
} Bits;

static inline void bits_push(Bits *x, int v) {
    if ((x->n & 7) == 0) {
        uint8_t z = 0;
        buf_put(&x->b, &z, 1);
        if (x->b.len <= (x->n >> 3))
            return; /* out of memory */
    }
    if (v)
        ((uint8_t *)x->b.p)[x->n >> 3] |= (uint8_t)(1u << (x->n & 7));
    x->n++;
}

/* Arrow strings: int32 offsets (count + 1, the first 0) and the bytes. */
typedef struct {
    Buf off, data;
} Strs;

static inline void strs_start(Strs *s) { buf_i32(&s->off, 0); }

static inline void strs_push(Strs *s, const void *src, size_t n) {
    buf_put(&s->data, src, n);
    buf_i32(&s->off, (int32_t)s->data.len);
}

static inline size_t strs_count(const Strs *s) {
    return s->off.len / sizeof(int32_t) - 1;
}

/* Drop the strings appended after the first `count` (a refused line's fields). */
static inline void strs_truncate(Strs *s, size_t count) {
    if (*s->off.oom)
        return; /* the scan is abandoned anyway */
    s->off.len = (count + 1) * sizeof(int32_t);
    s->data.len = (size_t)((const int32_t *)s->off.p)[count];
}

#endif
