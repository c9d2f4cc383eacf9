"""Per-VMA-lock classification cost as a run grows (``make bench``, section vmalock).

A run of N events is written straight into a dataset (no text to ingest): 16
faulting threads whose windows have the shapes recorded in tests/data/vmalock
(fault alone; the __vmf_anon_prepare trylock; a retry through a failed trylock and
lock_mm_and_find_vma), each mmap_lock event with a 4-frame kernel callchain, plus a
writer thread doing munmap (write, downgrade, read release).  Then, in a fresh process
each: ``vmalock.classify`` (the streaming pass) and, for reference, the window query
the report used before it (``lead()`` over all faults and read start_locking events).

usage: python bench/vmalock.py make DATA N      (write the run)
       python bench/vmalock.py classify DATA    (time the pass; prints JSON)
       python bench/vmalock.py window DATA      (time the old window query; prints JSON)
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

CHUNK = 1 << 20
THREADS = 16
# window shapes: (event kind, write, success, frame) rows after the fault
_ANON = [(2, 0, 1, "anon"), (3, 0, 1, "anon"), (4, 0, 1, "anon")]
_RETRY = [(2, 0, 1, "anon"), (3, 0, 0, "anon"), (2, 0, 1, "lmfv"), (3, 0, 1, "lmfv"),
          (4, 0, 1, "fault")]  # fmt: skip
_MUNMAP = [(2, 1, 1, "munmap"), (3, 1, 1, "munmap"), (3, 0, 1, "vms"), (4, 0, 1, "vms")]
FRAMES = {
    "anon": ["__vmf_anon_prepare", "do_anonymous_page", "handle_mm_fault", "exc_page_fault"],
    "lmfv": ["lock_mm_and_find_vma", "exc_page_fault", "asm_exc_page_fault", "?"],
    "fault": ["__mmap_lock_do_trace_released", "exc_page_fault", "asm_exc_page_fault", "?"],
    "munmap": ["__mmap_lock_do_trace_start_locking", "__vm_munmap", "__x64_sys_munmap", "?"],
    "vms": ["__mmap_lock_do_trace_released", "vms_complete_munmap_vmas", "do_vmi_munmap", "?"],
}
EVENTS = ["exceptions:page_fault_user", "exceptions:page_fault_kernel",
          "mmap_lock:mmap_lock_start_locking", "mmap_lock:mmap_lock_acquire_returned",
          "mmap_lock:mmap_lock_released"]  # fmt: skip


def _chunk(rng: object, start_row: int, n: int) -> object:
    """n events continuing a run at row ``start_row``: a table in time order."""
    import numpy as np
    import pyarrow as pa

    from spftrace.schema import frames_type, parser_schema

    r = rng  # numpy Generator
    rows: list[tuple[int, int, int, int, str]] = []  # (tid, kind, write, success, frame)
    while len(rows) < n:
        u = r.random()  # type: ignore[attr-defined]
        if u < 0.02:
            rows.append((THREADS + 1, *_MUNMAP[0][:3], _MUNMAP[0][3]))
            rows += [(THREADS + 1, k, w, s, f) for k, w, s, f in _MUNMAP[1:]]
            continue
        tid = 1 + int(r.integers(THREADS))  # type: ignore[attr-defined]
        rows.append((tid, 0, 0, 1, ""))
        shape = _ANON if u < 0.10 else _RETRY if u < 0.12 else []
        rows += [(tid, k, w, s, f) for k, w, s, f in shape]
    rows = rows[:n]
    tid, kind, write, ok, frame = zip(*rows, strict=True)
    kind_a = np.array(kind, np.int8)
    lock = kind_a >= 2
    ts = (start_row + np.arange(n, dtype=np.int64)) * 1000 + 1_000_000_000
    names = [EVENTS[k] for k in kind]
    chains = [FRAMES[f] if f else None for f in frame]
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum([len(c) if c else 0 for c in chains], out=offsets[1:])
    flat = [s for c in chains if c for s in c]
    typ = frames_type()
    struct = pa.StructArray.from_arrays(
        [pa.array(np.arange(len(flat), dtype=np.uint64) + 0xFFFFFFFF81000000),
         pa.array(flat, pa.string()), pa.nulls(len(flat), pa.uint64()),
         pa.array(["[kernel.kallsyms]"] * len(flat), pa.string())],
        fields=list(typ.value_type),
    )  # fmt: skip
    callchain = pa.ListArray.from_arrays(
        pa.array(offsets), struct, type=typ, mask=pa.array([c is None for c in chains])
    )
    cols = {
        "line_no": pa.array(start_row + np.arange(n, dtype=np.int64) + 1),
        "ts": pa.array(ts), "cpu": pa.array(np.zeros(n, np.int32)),
        "tid": pa.array(np.array(tid, np.int32)), "comm": pa.array(["bench"] * n),
        "event": pa.array(names),
        "mm": pa.array(np.where(lock, 0xFFFF888100000000, 0).astype(np.uint64),
                       mask=~lock),
        "write": pa.array(np.array(write, bool), mask=~lock),
        "success": pa.array(np.array(ok, bool), mask=kind_a != 3),
        "payload": pa.array([""] * n),
        "callchain": callchain,
    }  # fmt: skip
    schema = parser_schema("events")
    return pa.table({k: cols[k] for k in schema.names if k in cols})


def make(data: str, n: int) -> None:
    import numpy as np

    from spftrace.store import Dataset

    ds = Dataset(Path(data), create=True)
    w = ds.writer("bench", 0)
    rng = np.random.default_rng(1)
    done = 0
    while done < n:
        k = min(CHUNK, n - done)
        w.write("events", _chunk(rng, done, k), 0)
        done += k
    from datetime import UTC, datetime

    from spftrace._version import __version__
    from spftrace.schema import SCHEMA_VERSION

    w.write("runs", {
        "label": [None], "source_format": ["perf-script"], "source": ["bench"],
        "sha256": ["0" * 64], "bytes": [0], "compression": [None],
        "ingested_at": [datetime.now(UTC)], "host": [None], "kernel": [None],
        "command": [None], "spftrace_version": [__version__], "schema_version": [SCHEMA_VERSION],
    }, 0)  # fmt: skip
    w.commit()


WINDOW = """
WITH ev AS (
    SELECT tid, ts, line_no, event, write FROM events
    WHERE run = ? AND (event = 'exceptions:page_fault_user'
                       OR (event = 'mmap_lock:mmap_lock_start_locking' AND NOT write))
),
seq AS (SELECT *, lead(event) OVER w AS next_event FROM ev
        WINDOW w AS (PARTITION BY tid ORDER BY ts, line_no))
SELECT count(*) FILTER (WHERE event = 'exceptions:page_fault_user'),
       count(*) FILTER (WHERE event = 'exceptions:page_fault_user'
                        AND next_event = 'mmap_lock:mmap_lock_start_locking')
FROM seq
"""


def main() -> None:
    job, data = sys.argv[1], sys.argv[2]
    if job == "make":
        make(data, int(sys.argv[3]))
        return
    from spftrace.api import open_dataset

    con = open_dataset(data).connect()
    t0 = time.perf_counter()
    if job == "classify":
        from spftrace.analysis import vmalock

        pv = vmalock.classify(con, "bench")
        out: dict[str, object] = {"faults": pv["faults"], "fell_back": pv["fell_back"]}
    elif job == "window":
        out = {"faults": con.execute(WINDOW, ["bench"]).fetchall()[0][0]}
    else:
        raise SystemExit(f"unknown job {job}")
    out["wall_s"] = time.perf_counter() - t0
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
