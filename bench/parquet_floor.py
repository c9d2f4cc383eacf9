"""The floor of an ingest's Parquet write: an events table already in memory, written
with pyarrow under the dataset's contract (same columns, types and values), with the
writer settings of spftrace/runwriter.py and with cheaper ones.

    python bench/parquet_floor.py EVENTS.parquet [--rounds 3] [--rows 65536,131072]

EVENTS.parquet: an events file of a dataset (``spftrace ingest X --data D``, then
D/events/run=*/part-00000.parquet).  It is loaded into memory once; each setting then
writes it to /dev/shm (no disk in the figure) as ParquetWriter.write_table calls of
one row group each (as RunWriter._flush does), best of --rounds, CPU seconds of the
process (every thread) and wall seconds, printed per row.  Also: reading the file's
bytes (cat FILE > /dev/null) with --cat FILE.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def settings(names: list[str]) -> dict[str, dict[str, object]]:
    from spftrace import runwriter as rw

    current = {
        "compression": rw.COMPRESSION,
        "use_dictionary": [c for c in names if c in rw._DICT_COLUMNS],
        "column_encoding": {c: rw._ENCODING[c] for c in names if c in rw._ENCODING},
        "write_statistics": [c for c in names if c in rw._STATS],
        "data_page_version": "2.0",
        "max_rows_per_page": rw.PAGE_ROWS,
    }
    return {
        "current (zstd, dict on some, delta ts)": current,
        "compression NONE": {**current, "compression": "NONE"},
        "no dictionaries": {**current, "use_dictionary": False},
        "lz4, else current": {**current, "compression": "lz4"},
        "zstd level 1, else current": {**current, "compression_level": 1},
        "cheapest (NONE, no dict, PLAIN, no stats)": {
            "compression": "NONE",
            "use_dictionary": False,
            "write_statistics": False,
            "data_page_version": "1.0",
            "max_rows_per_page": rw.PAGE_ROWS,
            "data_page_size": 8 << 20,
            "store_schema": False,
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("events", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rows", default="65536,131072")
    ap.add_argument("--cat", type=Path)
    args = ap.parse_args()
    import pyarrow.parquet as pq

    from spftrace.runwriter import ParquetFileWriter

    table = pq.read_table(args.events)
    n = table.num_rows
    names = table.schema.names
    print(f"{n} rows, {table.nbytes / 1e6:.0f} MB in memory, {len(names)} columns")
    out = Path("/dev/shm") / f"parquet-floor-{os.getpid()}.parquet"
    print("| setting | group rows | CPU s | wall s | CPU us/row | file MB |")
    print("|---|---:|---:|---:|---:|---:|")
    try:
        for group in (int(x) for x in args.rows.split(",")):
            groups = [table.slice(a, group) for a in range(0, n, group)]
            for name, opts in settings(names).items():
                best_cpu = best_wall = float("inf")
                for _ in range(args.rounds):
                    c0, t0 = time.process_time(), time.perf_counter()
                    w = ParquetFileWriter(out, table.schema, **opts)
                    for g in groups:
                        w.write_table(g, row_group_size=group)
                    w.close()
                    best_cpu = min(best_cpu, time.process_time() - c0)
                    best_wall = min(best_wall, time.perf_counter() - t0)
                size = out.stat().st_size / 1e6
                back = pq.read_table(out)
                assert back.equals(table), name  # same values, whatever the settings
                print(
                    f"| {name} | {group} | {best_cpu:.3f} | {best_wall:.3f} "
                    f"| {best_cpu / n * 1e6:.3f} | {size:.1f} |"
                )
    finally:
        out.unlink(missing_ok=True)
    if args.cat:
        best = float("inf")
        for _ in range(args.rounds):
            r = subprocess.run(
                ["/usr/bin/time", "-f", "%U %S", "sh", "-c", f"cat {args.cat} > /dev/null"],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            u, s = r.stderr.split()[-2:]
            best = min(best, float(u) + float(s))
        print(f"cat {args.cat} > /dev/null: {best:.3f} CPU s (best of {args.rounds})")


if __name__ == "__main__":
    main()
