/*
 * _perf_walk: the record walks of spftrace's binary readers, compiled.
 *
 * walk()      perf.data records -> one row of COLUMNS per record
 *             (twin: spftrace/formats/perf_data/walk.py walk_py)
 * ring_walk() ftrace ring-buffer pages -> records
 *             (twin: spftrace/formats/trace_dat/ring.py walk_pages_py)
 * fields()    fixed-offset integer fields of tracepoint payloads -> an (n, k) u64 matrix
 *             (twin: tracefs_format.decode_fields, which tests hold it equal to)
 * gather()    a batch's delivered records -> walk columns and one buffer of their bytes
 *             (twin: spftrace/formats/perf_data/reader.py gather_py)
 * u64s()      u64 words at given offsets (callchain entries; twin: callchain.read_u64s_py)
 * format_rows() a print fmt's pieces rendered and joined row by row
 *             (twin: tracefs_eval.render)
 * take()      rows of a string column picked by index (strcol.choose / gather:
 *             per row a memcpy instead of numpy's per-byte index arithmetic;
 *             twin: strcol.take_py)
 *
 * Both only scan bytes and fill caller-allocated numpy arrays; every decision
 * about what the fields mean stays in Python.  Tests hold each function equal to
 * its twin on real and fuzzed inputs.  Build: a setuptools Extension named
 * spftrace._native._perf_walk with this one source, no libraries.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum { C_OFF, C_TYPE, C_MISC, C_SIZE, C_ATTR, C_IP, C_PID, C_TID, C_TIME, C_ADDR, C_ID,
       C_CPU, C_PERIOD, C_RAW_OFF, C_RAW_LEN, C_CC_OFF, C_CC_NR, C_STATUS, NCOL };

#define S_IP (1ULL << 0)
#define S_TID (1ULL << 1)
#define S_TIME (1ULL << 2)
#define S_ADDR (1ULL << 3)
#define S_READ (1ULL << 4)
#define S_CALLCHAIN (1ULL << 5)
#define S_ID (1ULL << 6)
#define S_CPU (1ULL << 7)
#define S_PERIOD (1ULL << 8)
#define S_STREAM_ID (1ULL << 9)
#define S_RAW (1ULL << 10)
#define S_BRANCH_STACK (1ULL << 11)
#define S_REGS_USER (1ULL << 12)
#define S_STACK_USER (1ULL << 13)
#define S_WEIGHT (1ULL << 14)
#define S_DATA_SRC (1ULL << 15)
#define S_IDENTIFIER (1ULL << 16)
#define S_TRANSACTION (1ULL << 17)
#define S_REGS_INTR (1ULL << 18)
#define S_PHYS_ADDR (1ULL << 19)
#define S_AUX (1ULL << 20)
#define S_CGROUP (1ULL << 21)
#define S_DATA_PAGE_SIZE (1ULL << 22)
#define S_CODE_PAGE_SIZE (1ULL << 23)
#define S_WEIGHT_STRUCT (1ULL << 24)

#define F_ENABLED 1ULL
#define F_RUNNING 2ULL
#define F_ID 4ULL
#define F_GROUP 8ULL
#define F_LOST 16ULL

#define NO_TIME UINT64_MAX
enum { ST_OK = 0, ST_MALFORMED = 1, ST_UNKNOWN_ID = 2 };
enum { STOP_END = 0, STOP_BAD_HEADER = 1, STOP_FULL = 2 };

static inline uint64_t bswap64(uint64_t v) { return __builtin_bswap64(v); }
static inline uint32_t bswap32(uint32_t v) { return __builtin_bswap32(v); }
static inline uint16_t bswap16(uint16_t v) { return __builtin_bswap16(v); }

typedef struct {
	const uint8_t *b;
	int swap;
} rd_t;

static inline uint64_t r64(const rd_t *r, Py_ssize_t at)
{
	uint64_t v;
	memcpy(&v, r->b + at, 8);
	return r->swap ? bswap64(v) : v;
}
static inline uint32_t r32(const rd_t *r, Py_ssize_t at)
{
	uint32_t v;
	memcpy(&v, r->b + at, 4);
	return r->swap ? bswap32(v) : v;
}
static inline uint16_t r16(const rd_t *r, Py_ssize_t at)
{
	uint16_t v;
	memcpy(&v, r->b + at, 2);
	return r->swap ? bswap16(v) : v;
}

static int host_big(void)
{
	const uint16_t one = 1;
	return *(const uint8_t *)&one == 0;
}

/* attr rows: sample_type, read_format, nregs_user, nregs_intr, hw_index, counters, sample_id_all, 0 */
typedef struct {
	const uint64_t *attrs;
	Py_ssize_t nattrs;
	const uint64_t *ids;
	const int64_t *id_attr;
	Py_ssize_t nids;
	long id_pos, is_pos;
} cfg_t;

static long find_attr(const cfg_t *c, uint64_t key)
{
	Py_ssize_t lo = 0, hi = c->nids;
	if (c->nattrs <= 1)
		return 0;
	while (lo < hi) {
		Py_ssize_t mid = lo + (hi - lo) / 2;
		if (c->ids[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < c->nids && c->ids[lo] == key)
		return (long)c->id_attr[lo];
	return key == 0 ? 0 : -1; /* evlist__event2evsel: synthesized records have id 0 */
}

static inline uint64_t add_sat(uint64_t a, uint64_t b)
{
	return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

#define NEED(n)                                                                                    \
	do {                                                                                       \
		if ((uint64_t)(n) > (uint64_t)(end - p))                                           \
			goto malformed;                                                            \
	} while (0)

static void parse_sample(const rd_t *r, Py_ssize_t pos, Py_ssize_t size, const cfg_t *c,
			 uint64_t *row)
{
	Py_ssize_t end = pos + size, p = pos + 8;
	long a = 0;
	uint64_t st, rf, nregs_u, nregs_i, hw_idx, counters, nr;
	if (c->nattrs > 1 && c->id_pos >= 0) {
		Py_ssize_t at = p + 8 * c->id_pos;
		if (at + 8 > end)
			goto malformed;
		a = find_attr(c, r64(r, at));
		if (a < 0) {
			row[C_STATUS] = ST_UNKNOWN_ID;
			return;
		}
	}
	row[C_ATTR] = (uint64_t)a;
	st = c->attrs[a * 8 + 0];
	rf = c->attrs[a * 8 + 1];
	nregs_u = c->attrs[a * 8 + 2];
	nregs_i = c->attrs[a * 8 + 3];
	hw_idx = c->attrs[a * 8 + 4];
	counters = c->attrs[a * 8 + 5];
	if (st & S_IDENTIFIER) { NEED(8); row[C_ID] = r64(r, p); p += 8; }
	if (st & S_IP) { NEED(8); row[C_IP] = r64(r, p); p += 8; }
	if (st & S_TID) {
		NEED(8);
		row[C_PID] = (uint64_t)(int64_t)(int32_t)r32(r, p);
		row[C_TID] = (uint64_t)(int64_t)(int32_t)r32(r, p + 4);
		p += 8;
	}
	if (st & S_TIME) { NEED(8); row[C_TIME] = r64(r, p); p += 8; }
	if (st & S_ADDR) { NEED(8); row[C_ADDR] = r64(r, p); p += 8; }
	if (st & S_ID) { NEED(8); row[C_ID] = r64(r, p); p += 8; }
	if (st & S_STREAM_ID) { NEED(8); p += 8; }
	if (st & S_CPU) { NEED(8); row[C_CPU] = r32(r, p); p += 8; }
	if (st & S_PERIOD) { NEED(8); row[C_PERIOD] = r64(r, p); p += 8; }
	if (st & S_READ) {
		if (rf & F_GROUP) {
			uint64_t per = 8 * (1 + ((rf & F_ID) ? 1 : 0) + ((rf & F_LOST) ? 1 : 0));
			uint64_t fixed = 8 + 8 * (((rf & F_ENABLED) ? 1 : 0) + ((rf & F_RUNNING) ? 1 : 0));
			NEED(8);
			nr = r64(r, p);
			if (per && nr > (uint64_t)(end - p) / per)
				goto malformed;
			NEED(fixed + nr * per);
			p += fixed + nr * per;
		} else {
			uint64_t sz = 8 * (1 + ((rf & F_ENABLED) ? 1 : 0) + ((rf & F_RUNNING) ? 1 : 0) +
					   ((rf & F_ID) ? 1 : 0) + ((rf & F_LOST) ? 1 : 0));
			NEED(sz);
			p += sz;
		}
	}
	if (st & S_CALLCHAIN) {
		NEED(8);
		nr = r64(r, p);
		if (nr > (uint64_t)(end - p) / 8)
			goto malformed;
		row[C_CC_OFF] = (uint64_t)(p + 8);
		row[C_CC_NR] = nr;
		NEED(8 + 8 * nr);
		p += 8 + 8 * nr;
	}
	if (st & S_RAW) {
		uint32_t rs;
		NEED(4);
		rs = r32(r, p);
		row[C_RAW_OFF] = (uint64_t)(p + 4);
		row[C_RAW_LEN] = rs;
		NEED(4 + (uint64_t)rs);
		p += 4 + rs;
	}
	if (st & S_BRANCH_STACK) {
		uint64_t per = 24 + (counters ? 8 : 0);
		NEED(8);
		nr = r64(r, p);
		if (nr > (uint64_t)(end - p) / 24)
			goto malformed;
		NEED(8 + (hw_idx ? 8 : 0) + nr * per);
		p += 8 + (hw_idx ? 8 : 0) + nr * per;
	}
	if (st & S_REGS_USER) {
		NEED(8);
		nr = r64(r, p);
		NEED(8 + (nr ? 8 * nregs_u : 0));
		p += 8 + (nr ? 8 * nregs_u : 0);
	}
	if (st & S_STACK_USER) {
		NEED(8);
		nr = r64(r, p);
		if (nr > (uint64_t)(end - p))
			goto malformed;
		NEED(8 + nr + (nr ? 8 : 0));
		p += 8 + nr + (nr ? 8 : 0);
	}
	if (st & (S_WEIGHT | S_WEIGHT_STRUCT)) { NEED(8); p += 8; }
	if (st & S_DATA_SRC) { NEED(8); p += 8; }
	if (st & S_TRANSACTION) { NEED(8); p += 8; }
	if (st & S_REGS_INTR) {
		NEED(8);
		nr = r64(r, p);
		NEED(8 + (nr ? 8 * nregs_i : 0));
		p += 8 + (nr ? 8 * nregs_i : 0);
	}
	if (st & S_PHYS_ADDR) { NEED(8); p += 8; }
	if (st & S_CGROUP) { NEED(8); p += 8; }
	if (st & S_DATA_PAGE_SIZE) { NEED(8); p += 8; }
	if (st & S_CODE_PAGE_SIZE) { NEED(8); p += 8; }
	if (st & S_AUX) {
		NEED(8);
		nr = r64(r, p);
		if (nr > (uint64_t)(end - p))
			goto malformed;
		NEED(8 + nr);
		p += 8 + nr;
	}
	return;
malformed:
	row[C_STATUS] = ST_MALFORMED;
}

static void parse_trailer(const rd_t *r, Py_ssize_t pos, Py_ssize_t size, const cfg_t *c,
			  uint64_t *row)
{
	Py_ssize_t start = pos + 8, p = pos + size;
	long a = 0;
	uint64_t st, need = 0;
	if (c->nattrs > 1 && c->is_pos > 0) {
		Py_ssize_t at = p - 8 * c->is_pos;
		if (at < start) {
			row[C_STATUS] = ST_MALFORMED;
			return;
		}
		a = find_attr(c, r64(r, at));
		if (a < 0) {
			row[C_STATUS] = ST_UNKNOWN_ID;
			return;
		}
	}
	row[C_ATTR] = (uint64_t)a;
	st = c->attrs[a * 8];
	need = 8 * (!!(st & S_IDENTIFIER) + !!(st & S_CPU) + !!(st & S_STREAM_ID) +
		    !!(st & S_ID) + !!(st & S_TIME) + !!(st & S_TID));
	if (p - (Py_ssize_t)need < start) {
		row[C_STATUS] = ST_MALFORMED;
		return;
	}
	if (st & S_IDENTIFIER) { p -= 8; row[C_ID] = r64(r, p); }
	if (st & S_CPU) { p -= 8; row[C_CPU] = r32(r, p); }
	if (st & S_STREAM_ID) { p -= 8; }
	if (st & S_ID) { p -= 8; row[C_ID] = r64(r, p); }
	if (st & S_TIME) { p -= 8; row[C_TIME] = r64(r, p); }
	if (st & S_TID) {
		p -= 8;
		row[C_PID] = (uint64_t)(int64_t)(int32_t)r32(r, p);
		row[C_TID] = (uint64_t)(int64_t)(int32_t)r32(r, p + 4);
	}
}

static int get(PyObject *o, Py_buffer *v, int writable, Py_ssize_t itemsize, const char *what)
{
	if (PyObject_GetBuffer(o, v, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) < 0)
		return -1;
	if (itemsize && v->itemsize != itemsize) {
		PyErr_Format(PyExc_TypeError, "%s: expected %zd-byte items", what, itemsize);
		PyBuffer_Release(v);
		return -1;
	}
	return 0;
}

static PyObject *walk(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *obuf, *oattrs, *oids, *oidattr, *oout;
	Py_ssize_t pos, end;
	int big;
	long id_pos, is_pos;
	Py_buffer buf, attrs, ids, idattr, out;
	Py_ssize_t n = 0, cap;
	int why = STOP_END;
	if (!PyArg_ParseTuple(args, "OnnpOOOllO", &obuf, &pos, &end, &big, &oattrs, &oids,
			      &oidattr, &id_pos, &is_pos, &oout))
		return NULL;
	if (get(obuf, &buf, 0, 0, "buf") < 0)
		return NULL;
	if (get(oattrs, &attrs, 0, 8, "attrs") < 0)
		goto e1;
	if (get(oids, &ids, 0, 8, "ids") < 0)
		goto e2;
	if (get(oidattr, &idattr, 0, 8, "id_attr") < 0)
		goto e3;
	if (get(oout, &out, 1, 8, "out") < 0)
		goto e4;
	if (pos < 0 || end > buf.len || pos > end || attrs.len < 64 || out.len % (8 * NCOL)) {
		PyErr_SetString(PyExc_ValueError, "walk: bad arguments");
		goto e5;
	}
	{
		rd_t r = {(const uint8_t *)buf.buf, big != host_big()};
		cfg_t c = {(const uint64_t *)attrs.buf, attrs.len / 64, (const uint64_t *)ids.buf,
			   (const int64_t *)idattr.buf, ids.len / 8, id_pos, is_pos};
		uint64_t *o = (uint64_t *)out.buf;
		cap = out.len / (8 * NCOL);
		Py_BEGIN_ALLOW_THREADS
		while (pos + 8 <= end) {
			uint32_t typ;
			uint16_t misc, size;
			uint64_t total;
			uint64_t *row;
			if (n == cap) {
				why = STOP_FULL;
				break;
			}
			typ = r32(&r, pos);
			misc = r16(&r, pos + 4);
			size = r16(&r, pos + 6);
			if (size < 8) {
				why = STOP_BAD_HEADER;
				break;
			}
			total = size;
			/* the trailing data's size is the file's: a sum past the window (or
			   wrapping past 2^64, which made total 0 and the walk stand still
			   while filling its table) ends the walk like the twin's exact sum */
			if (typ == 71 && size >= 16)
				total = add_sat(total, r64(&r, pos + 8));
			else if (typ == 66 && size >= 12)
				total += r32(&r, pos + 8);
			if (total > (uint64_t)(end - pos))
				break;
			row = o + n * NCOL;
			memset(row, 0, 8 * NCOL);
			row[C_OFF] = (uint64_t)pos;
			row[C_TYPE] = typ;
			row[C_MISC] = misc;
			row[C_SIZE] = total;
			row[C_PID] = row[C_TID] = row[C_CPU] = UINT64_MAX;
			row[C_TIME] = NO_TIME;
			if (typ == 9)
				parse_sample(&r, pos, size, &c, row);
			else if (typ < 64 && c.attrs[6])
				parse_trailer(&r, pos, size, &c, row);
			n++;
			pos += (Py_ssize_t)total;
		}
		Py_END_ALLOW_THREADS
	}
	PyBuffer_Release(&out);
	PyBuffer_Release(&idattr);
	PyBuffer_Release(&ids);
	PyBuffer_Release(&attrs);
	PyBuffer_Release(&buf);
	return Py_BuildValue("nni", n, pos, why);
e5:
	PyBuffer_Release(&out);
e4:
	PyBuffer_Release(&idattr);
e3:
	PyBuffer_Release(&ids);
e2:
	PyBuffer_Release(&attrs);
e1:
	PyBuffer_Release(&buf);
	return NULL;
}

#define COMMIT_MASK ((1ULL << 27) - 1)
#define MISSING_EVENTS (1ULL << 31)
#define MISSING_STORED (1ULL << 30)
#define TS_MSB (0xf8ULL << 56)

static PyObject *ring_walk(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *obuf, *ots, *ooff, *oln, *opg, *olost;
	Py_ssize_t page_size, long_size;
	int big;
	Py_buffer buf, ts, off, ln, pg, lost;
	Py_ssize_t n = 0, bad = 0, cap, npages;
	if (!PyArg_ParseTuple(args, "OnnpOOOOO", &obuf, &page_size, &long_size, &big, &ots, &ooff,
			      &oln, &opg, &olost))
		return NULL;
	if (page_size < 16 || (long_size != 4 && long_size != 8)) {
		PyErr_SetString(PyExc_ValueError, "ring_walk: bad page or long size");
		return NULL;
	}
	if (get(obuf, &buf, 0, 0, "buf") < 0)
		return NULL;
	if (get(ots, &ts, 1, 8, "ts") < 0)
		goto e1;
	if (get(ooff, &off, 1, 8, "off") < 0)
		goto e2;
	if (get(oln, &ln, 1, 8, "len") < 0)
		goto e3;
	if (get(opg, &pg, 1, 8, "page") < 0)
		goto e4;
	if (get(olost, &lost, 1, 8, "lost") < 0)
		goto e5;
	npages = buf.len / page_size;
	cap = ts.len / 8;
	if (off.len / 8 < cap || ln.len / 8 < cap || pg.len / 8 < cap || lost.len / 8 < npages) {
		PyErr_SetString(PyExc_ValueError, "ring_walk: output arrays too small");
		goto e6;
	}
	{
		rd_t r = {(const uint8_t *)buf.buf, big != host_big()};
		uint64_t *o_ts = (uint64_t *)ts.buf;
		int64_t *o_off = (int64_t *)off.buf, *o_ln = (int64_t *)ln.buf;
		int64_t *o_pg = (int64_t *)pg.buf, *o_lost = (int64_t *)lost.buf;
		Py_ssize_t start = long_size == 8 ? 16 : 12;
		Py_BEGIN_ALLOW_THREADS
		for (Py_ssize_t k = 0; k < npages && n < cap; k++) {
			Py_ssize_t base = k * page_size, data = base + start, q = 0;
			uint64_t t = r64(&r, base);
			uint64_t commit = long_size == 8 ? r64(&r, base + 8) : r32(&r, base + 8);
			uint64_t size = commit & COMMIT_MASK;
			o_lost[k] = 0;
			if (size > (uint64_t)(page_size - start)) {
				bad++;
				continue;
			}
			if (commit & MISSING_EVENTS) {
				if ((commit & MISSING_STORED) &&
				    start + (Py_ssize_t)size + long_size <= page_size)
					o_lost[k] = (int64_t)(long_size == 8 ? r64(&r, data + size)
									     : r32(&r, data + size));
				else
					o_lost[k] = -1;
			}
			while (q + 4 <= (Py_ssize_t)size && n < cap) {
				uint32_t w = r32(&r, data + q);
				uint32_t tl = big ? w >> 27 : w & 31;
				uint64_t delta = big ? (w & ((1u << 27) - 1)) : (w >> 5);
				Py_ssize_t p = q + 4;
				int64_t length;
				if (tl == 29) {
					if (p + 4 > (Py_ssize_t)size)
						break;
					length = r32(&r, data + p);
					t += delta;
				} else if (tl == 30 || tl == 31) {
					uint64_t ext;
					if (p + 4 > (Py_ssize_t)size)
						break;
					ext = ((uint64_t)r32(&r, data + p) << 27) + delta;
					p += 4;
					length = 0;
					if (tl == 31)
						t = ext | (t & TS_MSB);
					else
						t += ext;
				} else {
					if (tl == 0) {
						if (p + 4 > (Py_ssize_t)size)
							break;
						length = (int64_t)r32(&r, data + p) - 4;
						length = (length + 3) & ~(int64_t)3;
						p += 4;
					} else {
						length = (int64_t)tl * 4;
					}
					t += delta;
					if (length < 0 || p + length > (Py_ssize_t)size)
						break;
					o_ts[n] = t;
					o_off[n] = data + p;
					o_ln[n] = length;
					o_pg[n] = k;
					n++;
				}
				if (length < 0)
					break;
				q = p + length;
			}
		}
		Py_END_ALLOW_THREADS
	}
	PyBuffer_Release(&lost);
	PyBuffer_Release(&pg);
	PyBuffer_Release(&ln);
	PyBuffer_Release(&off);
	PyBuffer_Release(&ts);
	PyBuffer_Release(&buf);
	return Py_BuildValue("nn", n, bad);
e6:
	PyBuffer_Release(&lost);
e5:
	PyBuffer_Release(&pg);
e4:
	PyBuffer_Release(&ln);
e3:
	PyBuffer_Release(&off);
e2:
	PyBuffer_Release(&ts);
e1:
	PyBuffer_Release(&buf);
	return NULL;
}

/* gather(tables, datas, blob i64[n], row i64[n], out u64[NCOL * n]) -> bytearray
 * The delivered records of a batch, from the walk tables and windows they are in,
 * as one column per walk column (out[c * n + i]) and one buffer holding only
 * their bytes, one after the other: record i is tables[blob[i]] row row[i], its
 * bytes datas[blob[i]][off : off + size]; off, raw_off and cc_off (when not 0)
 * are moved to where the record is in the result.  A row whose record or
 * payload/callchain would lie outside its window or record is refused
 * (ValueError; walk never delivers one).  Twin: reader.gather_py. */
static int gather_check(const uint64_t *row, Py_ssize_t dlen)
{
	uint64_t off = row[C_OFF], size = row[C_SIZE], end;
	if (size < 8 || off > (uint64_t)dlen || size > (uint64_t)dlen - off)
		return -1;
	end = off + size;
	if (row[C_RAW_OFF] != 0 &&
	    (row[C_RAW_OFF] < off + 8 || row[C_RAW_OFF] > end || row[C_RAW_LEN] > end - row[C_RAW_OFF]))
		return -1;
	if (row[C_CC_OFF] != 0 &&
	    (row[C_CC_OFF] < off + 8 || row[C_CC_OFF] > end || row[C_CC_NR] > (end - row[C_CC_OFF]) / 8))
		return -1;
	if ((row[C_CC_OFF] == 0 && row[C_CC_NR] != 0) || (row[C_RAW_OFF] == 0 && row[C_RAW_LEN] != 0))
		return -1;
	return 0;
}

static PyObject *gather(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *otabs, *odatas, *oblob, *orow, *oout, *ts = NULL, *ds = NULL, *res = NULL;
	Py_buffer *tb = NULL, *db = NULL, blob, row, out;
	Py_ssize_t nb = 0, got_t = 0, got_d = 0, n, i;
	int bad = 0;
	if (!PyArg_ParseTuple(args, "OOOOO", &otabs, &odatas, &oblob, &orow, &oout))
		return NULL;
	if (get(oblob, &blob, 0, 8, "blob") < 0)
		return NULL;
	if (get(orow, &row, 0, 8, "row") < 0)
		goto e1;
	if (get(oout, &out, 1, 8, "out") < 0)
		goto e2;
	ts = PySequence_Fast(otabs, "gather: tables must be a sequence");
	ds = ts ? PySequence_Fast(odatas, "gather: datas must be a sequence") : NULL;
	if (ds == NULL)
		goto done;
	nb = PySequence_Fast_GET_SIZE(ts);
	n = blob.len / 8;
	if (PySequence_Fast_GET_SIZE(ds) != nb || row.len / 8 != n || out.len / 8 != (Py_ssize_t)NCOL * n) {
		PyErr_SetString(PyExc_ValueError, "gather: bad array sizes");
		goto done;
	}
	tb = PyMem_Calloc((size_t)nb + 1, sizeof(Py_buffer));
	db = PyMem_Calloc((size_t)nb + 1, sizeof(Py_buffer));
	if (tb == NULL || db == NULL) {
		PyErr_NoMemory();
		goto done;
	}
	for (; got_t < nb; got_t++)
		if (get(PySequence_Fast_GET_ITEM(ts, got_t), &tb[got_t], 0, 8, "table") < 0)
			goto done;
	for (; got_d < nb; got_d++)
		if (get(PySequence_Fast_GET_ITEM(ds, got_d), &db[got_d], 0, 0, "data") < 0)
			goto done;
	for (Py_ssize_t b = 0; b < nb; b++)
		if (tb[b].len % (8 * NCOL)) {
			PyErr_SetString(PyExc_ValueError, "gather: a table of another width");
			goto done;
		}
	{
		const int64_t *bl = (const int64_t *)blob.buf, *rw = (const int64_t *)row.buf;
		uint64_t *o = (uint64_t *)out.buf, total = 0;
		char *dst;
		Py_BEGIN_ALLOW_THREADS
		for (i = 0; i < n && !bad; i++) /* every index first, then every record */
			if (bl[i] < 0 || bl[i] >= nb || rw[i] < 0 || rw[i] >= tb[bl[i]].len / (8 * NCOL))
				bad = 1;
		for (i = 0; i < n && !bad; i++) {
			const uint64_t *src = (const uint64_t *)tb[bl[i]].buf + rw[i] * NCOL;
			if (gather_check(src, db[bl[i]].len) < 0)
				bad = 2;
			else
				total += src[C_SIZE];
		}
		Py_END_ALLOW_THREADS
		if (bad) {
			PyErr_SetString(bad == 1 ? PyExc_IndexError : PyExc_ValueError,
					bad == 1 ? "gather: a row outside its table"
						 : "gather: a record outside its window");
			goto done;
		}
		res = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)total);
		if (res == NULL)
			goto done;
		dst = PyByteArray_AS_STRING(res);
		Py_BEGIN_ALLOW_THREADS
		{
			/* a block of rows at a time, written a column at a time: the columns lie
			 * n * 8 bytes apart (a multiple of 4096 for a batch of 2^k rows), and a
			 * row's 18 values written at once would fall in one cache set */
			enum { BLK = 256 };
			const uint64_t *srcs[BLK];
			uint64_t at = 0;
			for (Py_ssize_t i0 = 0; i0 < n; i0 += BLK) {
				Py_ssize_t m = n - i0 < BLK ? n - i0 : BLK;
				for (Py_ssize_t k = 0; k < m; k++) {
					const uint64_t *src =
						(const uint64_t *)tb[bl[i0 + k]].buf + rw[i0 + k] * NCOL;
					srcs[k] = src;
					memcpy(dst + at, (const char *)db[bl[i0 + k]].buf + src[C_OFF],
					       (size_t)src[C_SIZE]);
					o[C_OFF * n + i0 + k] = at;
					at += src[C_SIZE];
				}
				for (int c = 0; c < NCOL; c++) {
					uint64_t *oc = o + c * n + i0;
					if (c == C_OFF)
						continue;
					for (Py_ssize_t k = 0; k < m; k++)
						oc[k] = srcs[k][c];
				}
				for (Py_ssize_t k = 0; k < m; k++) {
					uint64_t shift = o[C_OFF * n + i0 + k] - srcs[k][C_OFF];
					if (srcs[k][C_RAW_OFF])
						o[C_RAW_OFF * n + i0 + k] = srcs[k][C_RAW_OFF] + shift;
					if (srcs[k][C_CC_OFF])
						o[C_CC_OFF * n + i0 + k] = srcs[k][C_CC_OFF] + shift;
				}
			}
		}
		Py_END_ALLOW_THREADS
	}
done:
	for (Py_ssize_t b = 0; b < got_t; b++)
		PyBuffer_Release(&tb[b]);
	for (Py_ssize_t b = 0; b < got_d; b++)
		PyBuffer_Release(&db[b]);
	PyMem_Free(tb);
	PyMem_Free(db);
	Py_XDECREF(ts);
	Py_XDECREF(ds);
	PyBuffer_Release(&out);
e2:
	PyBuffer_Release(&row);
e1:
	PyBuffer_Release(&blob);
	return res;
}

/* fields(buf u8, starts i64, lens i64, offs i64[k], sizes i64[k], static_size, big, out u64[k*n])
 * out holds one column per field (out[j * n + i]).
 * Field j of record i, read unsigned at its size in the file's byte order, as
 * decode_fields reads it from fixed_part: the bytes past a short record's end are
 * zero, and so is every byte of a record whose fixed part would run past the buffer. */
static PyObject *fields(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *obuf, *ostarts, *olens, *ooffs, *osizes, *oout;
	Py_ssize_t ssize;
	int big, bad = 0;
	Py_buffer buf, starts, lens, offs, sizes, out;
	if (!PyArg_ParseTuple(args, "OOOOOnpO", &obuf, &ostarts, &olens, &ooffs, &osizes, &ssize,
			      &big, &oout))
		return NULL;
	if (get(obuf, &buf, 0, 0, "buf") < 0)
		return NULL;
	if (get(ostarts, &starts, 0, 8, "starts") < 0)
		goto e1;
	if (get(olens, &lens, 0, 8, "lens") < 0)
		goto e2;
	if (get(ooffs, &offs, 0, 8, "offs") < 0)
		goto e3;
	if (get(osizes, &sizes, 0, 8, "sizes") < 0)
		goto e4;
	if (get(oout, &out, 1, 8, "out") < 0)
		goto e5;
	{
		Py_ssize_t n = starts.len / 8, k = offs.len / 8;
		const int64_t *st = (const int64_t *)starts.buf, *ln = (const int64_t *)lens.buf;
		const int64_t *of = (const int64_t *)offs.buf, *sz = (const int64_t *)sizes.buf;
		const uint8_t *b = (const uint8_t *)buf.buf;
		uint64_t *o = (uint64_t *)out.buf;
		int64_t blen = (int64_t)buf.len, L = blen > ssize ? blen : (int64_t)ssize;
		int swap = big != host_big();
		if (lens.len / 8 != n || sizes.len / 8 != k || out.len / 8 != n * k || ssize < 0) {
			PyErr_SetString(PyExc_ValueError, "fields: bad array sizes");
			bad = 1;
		}
		for (Py_ssize_t j = 0; !bad && j < k; j++)
			if (of[j] < 0 || of[j] + sz[j] > ssize ||
			    (sz[j] != 1 && sz[j] != 2 && sz[j] != 4 && sz[j] != 8)) {
				PyErr_SetString(PyExc_ValueError, "fields: a field outside the fixed part");
				bad = 1;
			}
		if (!bad) {
			Py_BEGIN_ALLOW_THREADS
			for (Py_ssize_t i = 0; i < n; i++) {
				int64_t s0 = st[i], avail = ln[i];
				if (ssize == 0 || s0 < 0 || s0 > L - ssize) {
					for (Py_ssize_t j = 0; j < k; j++)
						o[j * n + i] = 0;
					continue;
				}
				if (avail > ssize)
					avail = ssize;
				if (avail > blen - s0)
					avail = blen - s0 > 0 ? blen - s0 : 0;
				for (Py_ssize_t j = 0; j < k; j++) {
					uint8_t tmp[8] = {0};
					int64_t have = avail - of[j];
					uint64_t v = 0;
					int sj = (int)sz[j];
					if (have >= sj) {
						const uint8_t *at = b + s0 + of[j];
						switch (sj) {
						case 1: v = at[0]; break;
						case 2: { uint16_t x; memcpy(&x, at, 2); v = swap ? bswap16(x) : x; break; }
						case 4: { uint32_t x; memcpy(&x, at, 4); v = swap ? bswap32(x) : x; break; }
						default: { uint64_t x; memcpy(&x, at, 8); v = swap ? bswap64(x) : x; }
						}
						o[j * n + i] = v;
						continue;
					}
					if (have > 0)
						memcpy(tmp, b + s0 + of[j], (size_t)have);
					if (big) /* the bytes in the file's order */
						for (int q = 0; q < sj; q++)
							v = (v << 8) | tmp[q];
					else
						for (int q = sj - 1; q >= 0; q--)
							v = (v << 8) | tmp[q];
					o[j * n + i] = v;
				}
			}
			Py_END_ALLOW_THREADS
		}
	}
	PyBuffer_Release(&out);
e5:
	PyBuffer_Release(&sizes);
e4:
	PyBuffer_Release(&offs);
e3:
	PyBuffer_Release(&lens);
e2:
	PyBuffer_Release(&starts);
e1:
	PyBuffer_Release(&buf);
	if (bad)
		return NULL;
	Py_RETURN_NONE;
}

/* u64s(buf u8, at i64[n], big, out u64[n]): out[i] = the u64 at buf[at[i]] */
static PyObject *u64s(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *obuf, *oat, *oout;
	int big, bad = 0;
	Py_buffer buf, at, out;
	if (!PyArg_ParseTuple(args, "OOpO", &obuf, &oat, &big, &oout))
		return NULL;
	if (get(obuf, &buf, 0, 0, "buf") < 0)
		return NULL;
	if (get(oat, &at, 0, 8, "at") < 0)
		goto e1;
	if (get(oout, &out, 1, 8, "out") < 0)
		goto e2;
	{
		Py_ssize_t n = at.len / 8;
		const int64_t *a = (const int64_t *)at.buf;
		uint64_t *o = (uint64_t *)out.buf;
		rd_t r = {(const uint8_t *)buf.buf, big != host_big()};
		if (out.len / 8 != n) {
			PyErr_SetString(PyExc_ValueError, "u64s: bad array sizes");
			bad = 1;
		}
		for (Py_ssize_t i = 0; !bad && i < n; i++)
			if (a[i] < 0 || a[i] > (int64_t)buf.len - 8) {
				PyErr_SetString(PyExc_IndexError, "u64s: an offset outside the buffer");
				bad = 1;
			}
		if (!bad)
			for (Py_ssize_t i = 0; i < n; i++)
				o[i] = r64(&r, a[i]);
	}
	PyBuffer_Release(&out);
e2:
	PyBuffer_Release(&at);
e1:
	PyBuffer_Release(&buf);
	if (bad)
		return NULL;
	Py_RETURN_NONE;
}

/* take(data u8, starts i64, lens i64, idx i64, out_off i64[n+1]) -> bytearray:
 * row i of the result is data[starts[idx[i]] : starts[idx[i]] + lens[idx[i]]]. */
static PyObject *take(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *odata, *ostarts, *olens, *oidx, *ooff, *res = NULL;
	Py_buffer data, starts, lens, idx, off;
	if (!PyArg_ParseTuple(args, "OOOOO", &odata, &ostarts, &olens, &oidx, &ooff))
		return NULL;
	if (get(odata, &data, 0, 0, "data") < 0)
		return NULL;
	if (get(ostarts, &starts, 0, 8, "starts") < 0)
		goto e1;
	if (get(olens, &lens, 0, 8, "lens") < 0)
		goto e2;
	if (get(oidx, &idx, 0, 8, "idx") < 0)
		goto e3;
	if (get(ooff, &off, 1, 8, "out_off") < 0)
		goto e4;
	{
		const int64_t *st = (const int64_t *)starts.buf, *ln = (const int64_t *)lens.buf;
		const int64_t *ix = (const int64_t *)idx.buf;
		int64_t *o = (int64_t *)off.buf;
		Py_ssize_t nt = starts.len / 8, n = idx.len / 8, i;
		int64_t total = 0;
		char *dst;
		if (lens.len / 8 != nt || off.len / 8 != n + 1) {
			PyErr_SetString(PyExc_ValueError, "take: bad array sizes");
			goto e5;
		}
		for (Py_ssize_t t = 0; t < nt; t++)
			if (st[t] < 0 || ln[t] < 0 || st[t] + ln[t] > (int64_t)data.len) {
				PyErr_SetString(PyExc_ValueError, "take: a string outside the data");
				goto e5;
			}
		for (i = 0; i < n; i++) {
			if (ix[i] < 0 || ix[i] >= nt) {
				PyErr_SetString(PyExc_IndexError, "take: index out of range");
				goto e5;
			}
			o[i] = total;
			total += ln[ix[i]];
		}
		o[n] = total;
		res = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)total);
		if (res == NULL)
			goto e5;
		dst = PyByteArray_AS_STRING(res);
		Py_BEGIN_ALLOW_THREADS
		for (i = 0; i < n; i++)
			memcpy(dst + o[i], (const char *)data.buf + st[ix[i]], (size_t)ln[ix[i]]);
		Py_END_ALLOW_THREADS
	}
e5:
	PyBuffer_Release(&off);
e4:
	PyBuffer_Release(&idx);
e3:
	PyBuffer_Release(&lens);
e2:
	PyBuffer_Release(&starts);
e1:
	PyBuffer_Release(&data);
	return res;
}

/* format_rows(ops, n, out_off i64[n+1]) -> bytearray: row i is the concatenation of
 * every op's text for row i (a print fmt rendered a row at a time;
 * twin: tracefs_eval.render, which tests hold it equal to).  ops is a sequence of
 *   (0, lit bytes)                          the literal on every row
 *   (1, v u64[n], base, upper, alt bytes)   v[i] unsigned in base 8/10/16, alt before
 *                                           nonzero values (printf's '#')
 *   (2, v u64[n])                           v[i] as a signed 64-bit decimal
 *   (3, v u64[n])                           %p: "(nil)" for 0, else 0x and hex
 *   (4, data u8, off i64[n+1])              a string column
 *   (5, v u64[n], idx i64[n], data u8, off i64[k+1])
 *                                           table[idx[i]] when idx[i] >= 0, else 0x and hex
 */
#define MAX_OPS 128
typedef struct {
	long kind, base, upper;
	const uint8_t *lit;
	Py_ssize_t litlen, altlen;
	const uint8_t *alt;
	const uint64_t *v;
	const int64_t *idx, *off;
	const uint8_t *data;
	Py_ssize_t noff;
} op_t;

static inline int ndigits(uint64_t v, int base)
{
	int k = 1;
	if (base == 16)
		return v ? (67 - __builtin_clzll(v)) / 4 : 1;
	if (base == 8)
		return v ? (66 - __builtin_clzll(v)) / 3 : 1;
	while (v >= 10000) {
		v /= 10000;
		k += 4;
	}
	while (v >= 10) {
		v /= 10;
		k++;
	}
	return k;
}

/* "000102...ff" (and upper case): hex digits two at a time, from the right */
static char hex_pairs[2][512];
static void init_hex_pairs(void)
{
	for (int u = 0; u < 2; u++)
		for (int i = 0; i < 256; i++) {
			const char *dig = u ? "0123456789ABCDEF" : "0123456789abcdef";
			hex_pairs[u][2 * i] = dig[i >> 4];
			hex_pairs[u][2 * i + 1] = dig[i & 15];
		}
}

static inline char *put_digits(char *dst, uint64_t v, int base, int upper)
{
	const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int k = ndigits(v, base);
	if (base == 16) {
		const char *pairs = hex_pairs[upper ? 1 : 0];
		int q = k;
		for (; q >= 2; q -= 2, v >>= 8)
			memcpy(dst + q - 2, pairs + 2 * (v & 255), 2);
		if (q)
			dst[0] = dig[v & 15];
	} else if (base == 8)
		for (int q = k - 1; q >= 0; q--, v >>= 3)
			dst[q] = dig[v & 7];
	else
		for (int q = k - 1; q >= 0; q--, v /= 10)
			dst[q] = (char)('0' + v % 10);
	return dst + k;
}

static int64_t op_len(const op_t *o, Py_ssize_t i)
{
	uint64_t v;
	switch (o->kind) {
	case 0: return o->litlen;
	case 1:
		v = o->v[i];
		return ndigits(v, (int)o->base) + (v ? o->altlen : 0);
	case 2: {
		int64_t s = (int64_t)o->v[i];
		uint64_t m = s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s;
		return ndigits(m, 10) + (s < 0);
	}
	case 3:
		v = o->v[i];
		return v ? 2 + ndigits(v, 16) : 5;
	case 4: return o->off[i + 1] - o->off[i];
	default:
		if (o->idx[i] >= 0)
			return o->off[o->idx[i] + 1] - o->off[o->idx[i]];
		return 2 + ndigits(o->v[i], 16);
	}
}

static char *op_put(const op_t *o, Py_ssize_t i, char *d)
{
	uint64_t v;
	switch (o->kind) {
	case 0:
		memcpy(d, o->lit, (size_t)o->litlen);
		return d + o->litlen;
	case 1:
		v = o->v[i];
		if (v && o->altlen) {
			memcpy(d, o->alt, (size_t)o->altlen);
			d += o->altlen;
		}
		return put_digits(d, v, (int)o->base, (int)o->upper);
	case 2: {
		int64_t s = (int64_t)o->v[i];
		uint64_t m = s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s;
		if (s < 0)
			*d++ = '-';
		return put_digits(d, m, 10, 0);
	}
	case 3:
		v = o->v[i];
		if (!v) {
			memcpy(d, "(nil)", 5);
			return d + 5;
		}
		*d++ = '0';
		*d++ = 'x';
		return put_digits(d, v, 16, 0);
	case 4: {
		int64_t a = o->off[i], b = o->off[i + 1];
		memcpy(d, o->data + a, (size_t)(b - a));
		return d + (b - a);
	}
	default:
		if (o->idx[i] >= 0) {
			int64_t a = o->off[o->idx[i]], b = o->off[o->idx[i] + 1];
			memcpy(d, o->data + a, (size_t)(b - a));
			return d + (b - a);
		}
		*d++ = '0';
		*d++ = 'x';
		return put_digits(d, o->v[i], 16, 0);
	}
}

static PyObject *format_rows(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *oops, *ooff, *seq = NULL, *res = NULL;
	Py_ssize_t n, nops = 0, nb = 0, i;
	Py_buffer bufs[MAX_OPS * 3], off;
	op_t ops[MAX_OPS];
	int ok = 1;
	if (!PyArg_ParseTuple(args, "OnO", &oops, &n, &ooff))
		return NULL;
	if (get(ooff, &off, 1, 8, "out_off") < 0)
		return NULL;
	seq = PySequence_Fast(oops, "format_rows: ops must be a sequence");
	if (seq == NULL)
		goto done;
	nops = PySequence_Fast_GET_SIZE(seq);
	if (nops > MAX_OPS || n < 0 || off.len / 8 != n + 1) {
		PyErr_SetString(PyExc_ValueError, "format_rows: too many ops or bad sizes");
		goto done;
	}
#define ARG(k) PyTuple_GET_ITEM(t, k)
#define BUF(k, item, what)                                                                         \
	do {                                                                                       \
		if (get(ARG(k), &bufs[nb], 0, item, what) < 0)                                     \
			goto done;                                                                 \
		nb++;                                                                              \
	} while (0)
	for (Py_ssize_t j = 0; j < nops; j++) {
		PyObject *t = PySequence_Fast_GET_ITEM(seq, j);
		op_t *o = &ops[j];
		Py_ssize_t want;
		memset(o, 0, sizeof(*o));
		if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) < 2) {
			PyErr_SetString(PyExc_TypeError, "format_rows: an op is a tuple (kind, ...)");
			goto done;
		}
		o->kind = PyLong_AsLong(ARG(0));
		want = o->kind == 0 ? 2 : o->kind == 1 ? 5 : o->kind == 4 ? 3 : o->kind == 5 ? 5 : 2;
		if (o->kind < 0 || o->kind > 5 || PyTuple_GET_SIZE(t) != want) {
			PyErr_SetString(PyExc_ValueError, "format_rows: unknown op");
			goto done;
		}
		if (o->kind == 0) {
			BUF(1, 0, "lit");
			o->lit = bufs[nb - 1].buf;
			o->litlen = bufs[nb - 1].len;
			continue;
		}
		if (o->kind == 4) {
			BUF(1, 0, "data");
			o->data = bufs[nb - 1].buf;
			BUF(2, 8, "off");
			o->off = bufs[nb - 1].buf;
			if (bufs[nb - 1].len / 8 != n + 1) {
				PyErr_SetString(PyExc_ValueError, "format_rows: offsets of another length");
				goto done;
			}
			for (i = 0; i < n; i++)
				if (o->off[i] < 0 || o->off[i] > o->off[i + 1] ||
				    o->off[i + 1] > bufs[nb - 2].len) {
					PyErr_SetString(PyExc_ValueError, "format_rows: a string outside its data");
					goto done;
				}
			continue;
		}
		BUF(1, 8, "v");
		o->v = bufs[nb - 1].buf;
		if (bufs[nb - 1].len / 8 != n) {
			PyErr_SetString(PyExc_ValueError, "format_rows: values of another length");
			goto done;
		}
		if (o->kind == 1) {
			o->base = PyLong_AsLong(ARG(2));
			o->upper = PyObject_IsTrue(ARG(3));
			if (o->base != 8 && o->base != 10 && o->base != 16) {
				PyErr_SetString(PyExc_ValueError, "format_rows: base 8, 10 or 16");
				goto done;
			}
			BUF(4, 0, "alt");
			o->alt = bufs[nb - 1].buf;
			o->altlen = bufs[nb - 1].len;
		} else if (o->kind == 5) {
			Py_ssize_t k;
			BUF(2, 8, "idx");
			o->idx = bufs[nb - 1].buf;
			if (bufs[nb - 1].len / 8 != n) {
				PyErr_SetString(PyExc_ValueError, "format_rows: indices of another length");
				goto done;
			}
			BUF(3, 0, "data");
			o->data = bufs[nb - 1].buf;
			BUF(4, 8, "off");
			o->off = bufs[nb - 1].buf;
			k = bufs[nb - 1].len / 8 - 1;
			for (i = 0; i < k; i++)
				if (o->off[i] < 0 || o->off[i] > o->off[i + 1] ||
				    o->off[i + 1] > bufs[nb - 2].len) {
					PyErr_SetString(PyExc_ValueError, "format_rows: a string outside its data");
					goto done;
				}
			for (i = 0; i < n; i++)
				if (o->idx[i] >= k) {
					PyErr_SetString(PyExc_IndexError, "format_rows: index out of range");
					goto done;
				}
		}
	}
#undef ARG
#undef BUF
	{
		int64_t *oo = (int64_t *)off.buf, total = 0;
		char *dst;
		Py_BEGIN_ALLOW_THREADS
		for (i = 0; i < n; i++) {
			oo[i] = total;
			for (Py_ssize_t j = 0; j < nops; j++)
				total += op_len(&ops[j], i);
		}
		oo[n] = total;
		Py_END_ALLOW_THREADS
		res = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)total);
		if (res == NULL)
			goto done;
		dst = PyByteArray_AS_STRING(res);
		Py_BEGIN_ALLOW_THREADS
		for (i = 0; i < n; i++) {
			char *d = dst + oo[i];
			for (Py_ssize_t j = 0; j < nops; j++)
				d = op_put(&ops[j], i, d);
		}
		Py_END_ALLOW_THREADS
	}
	ok = 1;
done:
	(void)ok;
	for (Py_ssize_t b = 0; b < nb; b++)
		PyBuffer_Release(&bufs[b]);
	Py_XDECREF(seq);
	PyBuffer_Release(&off);
	return res;
}

static PyMethodDef methods[] = {
	{"walk", walk, METH_VARARGS,
	 "walk(buf, pos, end, big_endian, attrs, ids, id_attr, id_pos, is_pos, out) -> "
	 "(records, next_pos, stop_reason)"},
	{"ring_walk", ring_walk, METH_VARARGS,
	 "ring_walk(buf, page_size, long_size, big_endian, ts, off, length, page, lost) -> "
	 "(records, bad_pages)"},
	{"fields", fields, METH_VARARGS,
	 "fields(buf, starts, lens, offs, sizes, static_size, big_endian, out) -> None"},
	{"gather", gather, METH_VARARGS,
	 "gather(tables, datas, blob, row, out) -> bytearray (a batch's records, columns "
	 "in out)"},
	{"u64s", u64s, METH_VARARGS, "u64s(buf, at, big_endian, out) -> None"},
	{"format_rows", format_rows, METH_VARARGS,
	 "format_rows(ops, n, out_off) -> bytearray (a print fmt rendered row by row)"},
	{"take", take, METH_VARARGS,
	 "take(data, starts, lens, idx, out_off) -> bytearray (rows picked by index)"},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
	PyModuleDef_HEAD_INIT, "_perf_walk", "spftrace's compiled record walks (see perf_walk.c)",
	-1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__perf_walk(void)
{
	init_hex_pairs();
	return PyModule_Create(&module);
}
