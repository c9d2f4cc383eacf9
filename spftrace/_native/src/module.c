/* spftrace._native._core: the CPython face of the compiled scanners.
 *
 * Arguments are parsed and results built here, with the GIL held; the scans
 * themselves (tracetext.c) run with it released, on plain C buffers.  Results
 * are dicts of read-only memoryviews over those buffers (Arrow-ready: handed
 * over, not copied) that spftrace/_native turns into named dataclasses.  A future perf.data record walker adds its
 * source file beside tracetext.c and its functions to METHODS below. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "tracetext.h"

/* Bumped whenever a function's arguments or results change: the loader refuses
 * a stale build (an editable install whose C sources moved on). */
#define CORE_VERSION 4

static const char *U64_NAMES[N_U64] = {"ip",      "vm_start",   "vm_start_decimal", "vm_end",
                                       "address", "error_code", "mm"};
static const char *BOOL_NAMES[N_BOOL] = {"write", "success"};

/* A scan's buffer, owned by a Python object that exports it read-only. */
typedef struct {
    PyObject_HEAD char *p;
    Py_ssize_t len;
    size_t cap; /* POOL_MIN or more: the block goes back to the pool (tracetext.h) */
} Memory;

static int memory_getbuffer(PyObject *self, Py_buffer *view, int flags) {
    Memory *m = (Memory *)self;
    static char empty[1];
    return PyBuffer_FillInfo(view, self, m->p ? m->p : empty, m->len, 1, flags);
}

static void memory_dealloc(PyObject *self) {
    Memory *m = (Memory *)self;
    if (m->p != NULL && m->cap >= POOL_MIN)
        pool_put(m->p, m->cap);
    else
        free(m->p);
    Py_TYPE(self)->tp_free(self);
}

static PyBufferProcs MEMORY_BUFFER = {memory_getbuffer, NULL};

static PyTypeObject MemoryType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "spftrace._native._core.Memory",
    .tp_basicsize = sizeof(Memory),
    .tp_dealloc = memory_dealloc,
    .tp_as_buffer = &MEMORY_BUFFER,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "a scanner's output buffer (read through a memoryview)",
};

/* A memoryview of b's bytes; b's memory moves into it (b is left empty). */
static PyObject *take(Buf *b) {
    Memory *m = PyObject_New(Memory, &MemoryType);
    if (m == NULL)
        return NULL;
    m->p = b->p;
    m->len = (Py_ssize_t)b->len;
    m->cap = b->cap;
    if (b->cap >= POOL_MIN) {
        /* kept whole for the pool: pages past len that were never written cost no
         * memory, and a shrunk block would fit no later chunk's worst case */
    } else if (b->p != NULL && b->cap > b->len) { /* give back the unused reserve */
        char *q = realloc(b->p, b->len ? b->len : 1);
        if (q != NULL)
            m->p = q;
    }
    b->p = NULL;
    b->len = b->cap = 0;
    PyObject *v = PyMemoryView_FromObject((PyObject *)m);
    Py_DECREF(m);
    return v;
}

static int set_buf(PyObject *d, const char *key, Buf *b) {
    PyObject *v = take(b);
    if (v == NULL)
        return -1;
    int rc = PyDict_SetItemString(d, key, v);
    Py_DECREF(v);
    return rc;
}

static int set_opt(PyObject *d, const char *key, Buf *b, int present) {
    if (!present)
        return PyDict_SetItemString(d, key, Py_None);
    return set_buf(d, key, b);
}

static int set_strs(PyObject *d, const char *name, Strs *s, int present) {
    char key[64];
    snprintf(key, sizeof key, "%s_offsets", name);
    if (set_opt(d, key, &s->off, present) < 0)
        return -1;
    snprintf(key, sizeof key, "%s_data", name);
    return set_opt(d, key, &s->data, present);
}

static int set_obj(PyObject *d, const char *key, PyObject *v) {
    if (v == NULL)
        return -1;
    int rc = PyDict_SetItemString(d, key, v);
    Py_DECREF(v);
    return rc;
}

static PyObject *result(Scan *out) {
    if (out->oom) {
        scan_free(out);
        return PyErr_NoMemory();
    }
    PyObject *d = PyDict_New();
    if (d == NULL)
        goto fail;
    char key[64];
    if (set_obj(d, "records", PyLong_FromSize_t(out->records)) < 0 ||
        set_obj(d, "v4", PyBool_FromLong(out->v4)) < 0 ||
        set_obj(d, "samples", PyLong_FromSize_t(out->samples)) < 0 ||
        set_obj(d, "tails", PyLong_FromSize_t(out->tails)) < 0 ||
        set_buf(d, "line_no", &out->line_no) < 0 || set_buf(d, "ts", &out->ts) < 0 ||
        set_opt(d, "cpu", &out->cpu, out->has_cpu) < 0 ||
        set_opt(d, "pid", &out->pid, out->has_pid) < 0 ||
        set_opt(d, "pid_valid", &out->pid_valid.b, out->has_pid_valid) < 0 ||
        set_opt(d, "tid", &out->tid, out->has_tid) < 0 ||
        set_strs(d, "comm", &out->comm, out->has_comm) < 0 ||
        set_strs(d, "event", &out->event, 1) < 0 || set_strs(d, "payload", &out->payload, 1) < 0 ||
        set_buf(d, "field_offsets", &out->field_off) < 0 ||
        set_strs(d, "key", &out->keys, 1) < 0 || set_strs(d, "value", &out->values, 1) < 0 ||
        set_buf(d, "other_line_no", &out->other_line_no) < 0 ||
        set_buf(d, "other_start", &out->other_start) < 0 ||
        set_buf(d, "other_end", &out->other_end) < 0)
        goto fail;
    for (int k = 0; k < N_U64; k++) {
        snprintf(key, sizeof key, "%s_valid", U64_NAMES[k]);
        if (set_opt(d, U64_NAMES[k], &out->u64[k], out->u64_any[k]) < 0 ||
            set_opt(d, key, &out->u64_valid[k].b, out->u64_any[k]) < 0)
            goto fail;
    }
    for (int k = 0; k < N_BOOL; k++) {
        snprintf(key, sizeof key, "%s_valid", BOOL_NAMES[k]);
        if (set_buf(d, BOOL_NAMES[k], &out->bools[k].b) < 0 ||
            set_buf(d, key, &out->bools_valid[k].b) < 0)
            goto fail;
    }
    scan_free(out);
    return d;
fail:
    Py_XDECREF(d);
    scan_free(out);
    return NULL;
}

static int check_size(const Py_buffer *data, Py_ssize_t n_lines) {
    if (data->len > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "data over 2 GiB (string offsets are int32)");
        return -1;
    }
    if (n_lines < 0) {
        PyErr_SetString(PyExc_ValueError, "n_lines must not be negative");
        return -1;
    }
    return 0;
}

static V4Rule v4_rule(const Py_buffer *prefix, const Py_buffer *dead) {
    V4Rule v4 = {prefix->buf, dead->buf, (size_t)prefix->len, (size_t)dead->len};
    return v4;
}

PyDoc_STRVAR(scan_perf_script_doc,
             "scan_perf_script(data, n_lines, origin, *, comm, ids, cpu, v4_prefix, v4_dead)"
             " -> dict\n\nCut perf script lines of one layout (ids: 0 none, 1 one id, 2 "
             "pid/tid) and decode their payloads.");

static PyObject *py_scan_perf_script(PyObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"data", "n_lines", "origin",    "comm",    "ids",
                             "cpu",  "v4_prefix", "v4_dead", NULL};
    Py_buffer data, prefix, dead;
    Py_ssize_t n_lines;
    long long origin;
    int comm, ids, cpu;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "y*nL$pipy*y*", kwlist, &data, &n_lines, &origin,
                                     &comm, &ids, &cpu, &prefix, &dead))
        return NULL;
    PyObject *res = NULL;
    if (check_size(&data, n_lines) == 0) {
        if (ids < 0 || ids > 2) {
            PyErr_SetString(PyExc_ValueError, "ids must be 0, 1 or 2");
        } else {
            PerfLayout layout = {comm, ids, cpu};
            V4Rule v4 = v4_rule(&prefix, &dead);
            Scan out;
            scan_init(&out);
            Py_BEGIN_ALLOW_THREADS;
            scan_perf_script(data.buf, (size_t)data.len, (size_t)n_lines, origin, &layout, &v4,
                             &out);
            Py_END_ALLOW_THREADS;
            res = result(&out);
        }
    }
    PyBuffer_Release(&data);
    PyBuffer_Release(&prefix);
    PyBuffer_Release(&dead);
    return res;
}

PyDoc_STRVAR(scan_ftrace_doc,
             "scan_ftrace(data, n_lines, origin, *, tracecmd, systems, v4_prefix, v4_dead)"
             " -> dict\n\nCut ftrace (or trace-cmd report) lines and decode their payloads; "
             "systems maps bare event names to their system.");

static PyObject *py_scan_ftrace(PyObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"data",    "n_lines",   "origin",  "tracecmd",
                             "systems", "v4_prefix", "v4_dead", NULL};
    Py_buffer data, prefix, dead;
    Py_ssize_t n_lines;
    long long origin;
    int tracecmd;
    PyObject *systems;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "y*nL$pO!y*y*", kwlist, &data, &n_lines, &origin,
                                     &tracecmd, &PyDict_Type, &systems, &prefix, &dead))
        return NULL;
    PyObject *res = NULL;
    /* the items list keeps the names alive while the GIL is released */
    PyObject *items = check_size(&data, n_lines) == 0 ? PyDict_Items(systems) : NULL;
    System *sys = NULL;
    Py_ssize_t n = items ? PyList_GET_SIZE(items) : 0;
    if (items != NULL && (sys = PyMem_Calloc((size_t)n + 1, sizeof *sys)) == NULL)
        PyErr_NoMemory();
    for (Py_ssize_t k = 0; sys != NULL && k < n; k++) {
        PyObject *name = PyTuple_GET_ITEM(PyList_GET_ITEM(items, k), 0);
        PyObject *system = PyTuple_GET_ITEM(PyList_GET_ITEM(items, k), 1);
        if (!PyBytes_Check(name) || !PyBytes_Check(system)) {
            PyErr_SetString(PyExc_TypeError, "systems must map bytes to bytes");
            PyMem_Free(sys);
            sys = NULL;
            break;
        }
        sys[k].name = PyBytes_AS_STRING(name);
        sys[k].name_len = (size_t)PyBytes_GET_SIZE(name);
        sys[k].system = PyBytes_AS_STRING(system);
        sys[k].system_len = (size_t)PyBytes_GET_SIZE(system);
    }
    if (sys != NULL) {
        V4Rule v4 = v4_rule(&prefix, &dead);
        Scan out;
        scan_init(&out);
        Py_BEGIN_ALLOW_THREADS;
        scan_ftrace(data.buf, (size_t)data.len, (size_t)n_lines, origin, tracecmd, sys, (size_t)n,
                    &v4, &out);
        Py_END_ALLOW_THREADS;
        res = result(&out);
        PyMem_Free(sys);
    }
    Py_XDECREF(items);
    PyBuffer_Release(&data);
    PyBuffer_Release(&prefix);
    PyBuffer_Release(&dead);
    return res;
}

PyDoc_STRVAR(count_lines_doc, "count_lines(data) -> int\n\ndata.count(b'\\n'), without the GIL.");

static PyObject *py_count_lines(PyObject *self, PyObject *arg) {
    Py_buffer data;
    (void)self;
    if (PyObject_GetBuffer(arg, &data, PyBUF_SIMPLE) < 0)
        return NULL;
    size_t n;
    Py_BEGIN_ALLOW_THREADS;
    n = count_newlines(data.buf, (size_t)data.len);
    Py_END_ALLOW_THREADS;
    PyBuffer_Release(&data);
    return PyLong_FromSize_t(n);
}

static PyMethodDef METHODS[] = {
    {"count_lines", py_count_lines, METH_O, count_lines_doc},
    {"scan_perf_script", (PyCFunction)(void (*)(void))py_scan_perf_script,
     METH_VARARGS | METH_KEYWORDS, scan_perf_script_doc},
    {"scan_ftrace", (PyCFunction)(void (*)(void))py_scan_ftrace, METH_VARARGS | METH_KEYWORDS,
     scan_ftrace_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {
    PyModuleDef_HEAD_INIT, "_core", "spftrace's compiled byte scanners (see spftrace/_native).",
    -1, METHODS, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__core(void) {
    if (PyType_Ready(&MemoryType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&MODULE);
    if (m != NULL && PyModule_AddIntConstant(m, "VERSION", CORE_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
