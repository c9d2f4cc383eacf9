/* Tracepoint text scanners: perf script, ftrace and trace-cmd report lines.
 *
 * Contract (tests/test_traces.py holds it): a line is *accepted* only where the
 * exact per-line Python path (the record regexes of formats perf_script.py,
 * ftrace.py and trace_cmd.py, then tracetext.decode_payload) gives the same
 * values.  Every other line - a byte outside printable ASCII (so tabs, CR and
 * UTF-8), a backslash anywhere, a number that could overflow its column, a
 * shape the regexes might take another way - is listed in `other` and left to
 * that path.  Refusing is always allowed; accepting wrongly never is. */
#ifndef SPFTRACE_TRACETEXT_H
#define SPFTRACE_TRACETEXT_H

#include "out.h"

/* typed payload columns (decode_payload's keys; vm_start also read as decimal) */
enum { U_IP, U_VM_START, U_VM_START_DEC, U_VM_END, U_ADDRESS, U_ERROR_CODE, U_MM, N_U64 };
enum { B_WRITE, B_SUCCESS, N_BOOL };

/* What a scan produces: one entry per accepted record, in line order. */
typedef struct {
    int oom;
    size_t records;
    int v4; /* a record shows a v4 kernel (TraceTextParser._note_v4) */
    size_t samples; /* perf script lines of a sample event (page-faults:u), all left over */
    size_t tails;   /* perf script lines ending in ')' (a symbol's dso?), all left over */
    /* which prefix columns the grammar or layout has (the others are all null) */
    int has_cpu, has_pid, has_pid_valid, has_tid, has_comm;
    Buf line_no, ts, cpu, pid, tid; /* int64, int64, int32, int32, int32 */
    Bits pid_valid;
    Strs comm, event, payload;
    Buf u64[N_U64];
    Bits u64_valid[N_U64];
    int u64_any[N_U64]; /* a record has the column (else all null: not written) */
    Bits bools[N_BOOL], bools_valid[N_BOOL];
    Buf field_off; /* int32 per record + 1: where its fields start in keys/values */
    Strs keys, values;
    Buf other_line_no, other_start, other_end; /* int64: lines left to Python */
    Buf bitrow; /* uint16 per record: its bits of the bitmaps (finish() spreads them) */
} Scan;

/* An event name the input writes bare (ftrace, trace-cmd) and its system. */
typedef struct {
    const char *name, *system;
    size_t name_len, system_len;
} System;

typedef struct {
    int comm, ids, cpu; /* ids: 0 none, 1 one id (stored as tid), 2 pid/tid */
} PerfLayout;

typedef struct {
    const char *prefix, *dead; /* an SPF event's name starts with prefix; dead: v4 only */
    size_t prefix_len, dead_len;
} V4Rule;

void scan_init(Scan *out);
void scan_free(Scan *out);

/* Large output buffers are recycled (tracetext.c): a chunk's buffers, freed once the
 * writer has encoded them, were glibc mmaps of ~2 MB given back to the kernel, so
 * every chunk's output went to fresh pages the kernel had to fault in and zero. */
#define POOL_MIN (64 * 1024)
void *pool_get(size_t want, size_t *cap);
void pool_put(void *p, size_t cap);

/* n_lines lines of data[0:len], each ending at its newline or at the end of the
 * data; line numbers are origin + index. */
void scan_perf_script(const uint8_t *data, size_t len, size_t n_lines, int64_t origin,
                      const PerfLayout *layout, const V4Rule *v4, Scan *out);
void scan_ftrace(const uint8_t *data, size_t len, size_t n_lines, int64_t origin, int tracecmd,
                 const System *systems, size_t n_systems, const V4Rule *v4, Scan *out);

/* How many newlines data[0:len] holds (bytes.count(b"\n")). */
size_t count_newlines(const uint8_t *data, size_t len);

#endif
