"""Whether a change kept `spftrace ingest`'s dataset the same, table by table.

    python bench/dataset_same.py save DIR FILE...    # before the change
    python bench/dataset_same.py check DIR FILE...   # after it: exit 1 on a difference

Ingests each FILE into a fresh dataset and saves (or compares with the saved copy)
the events, stats and runs tables as Arrow IPC, ``ingested_at`` left out (the
clock).  Used for the perf.data reader's speed work (issue #12) on the bench
captures and tests/data/perf_data/*.data; run with SPFTRACE_NO_NATIVE=1 for the
pure-Python path.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq

#: each that the input has (perf stat fills counters, not events)
TABLES = ("events", "counters", "rejects", "stats", "runs")


def main() -> int:
    mode, out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    spftrace = os.path.join(os.path.dirname(sys.executable), "spftrace")
    os.makedirs(out, exist_ok=True)
    bad = 0
    for f in files:
        ds = tempfile.mkdtemp(prefix="spftrace-same-")
        try:
            subprocess.run([spftrace, "ingest", f, "--data", ds], check=True, capture_output=True)
            for tab in TABLES:
                parts = sorted(glob.glob(f"{ds}/{tab}/*/*.parquet"))
                name = os.path.join(out, f"{os.path.basename(f)}.{tab}.arrow")
                if not parts:
                    if mode != "save" and os.path.exists(name):
                        print(f"DIFFERENT {f} {tab}: no such table now")
                        bad += 1
                    continue
                t = pa.concat_tables([pq.read_table(p) for p in parts])
                t = t.drop_columns([c for c in ("ingested_at",) if c in t.column_names])
                if mode == "save":
                    with pa.OSFile(name, "wb") as s, pa.ipc.new_file(s, t.schema) as w:
                        w.write_table(t)
                    continue
                ref = pa.ipc.open_file(name).read_all()
                if not ref.equals(t):
                    cols = [
                        c
                        for c in ref.column_names
                        if c not in t.column_names or not ref[c].equals(t[c])
                    ]
                    print(
                        f"DIFFERENT {f} {tab}: {cols} ({ref.num_rows} rows saved, {t.num_rows} now)"
                    )
                    bad += 1
        finally:
            shutil.rmtree(ds, ignore_errors=True)
    print(f"{len(files)} files, {bad} tables different")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
