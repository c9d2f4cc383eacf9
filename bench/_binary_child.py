"""One measured run for bench/binary_readers.py: read a perf.data or trace.dat, in this
fresh process, optionally writing the rows to Parquet; prints {"rows": N} as JSON.

``_binary_child.py text -`` instead feeds ``perf script`` text from stdin through
spftrace's existing text parser (PerfScriptParser), the path the binary reader replaces."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    # the process settings `spftrace ingest` makes before its imports (one OpenBLAS
    # thread, Arrow's buffers from malloc), so the reader is timed as the command runs it
    from spftrace.__main__ import quiet_blas, system_allocator

    quiet_blas()
    system_allocator()
    kind, path = sys.argv[1], sys.argv[2]
    if kind == "text":
        print(json.dumps({"rows": _text_rows()}))
        return
    out = sys.argv[3] if len(sys.argv) > 3 else None
    from spftrace.formats.perf_data import read_perf_data
    from spftrace.formats.trace_dat import read_trace_dat

    writer = None
    n = 0
    with open(path, "rb") as f:
        batches = (
            read_perf_data(f, source=path)
            if kind == "perf.data"
            else read_trace_dat(f, source=path)
        )
        for batch in batches:
            n += batch.rows
            if out is not None and batch.rows:
                import pyarrow.parquet as pq

                if writer is None:
                    writer = pq.ParquetWriter(out, batch.events.schema)
                writer.write_table(batch.events)
    if writer is not None:
        writer.close()
    print(json.dumps({"rows": n}))


def _text_rows() -> int:
    import itertools

    from spftrace.formats.perf_script import PerfScriptParser

    parser = PerfScriptParser()
    n, line_no = 0, 1
    while True:
        lines = [ln.rstrip("\n") for ln in itertools.islice(sys.stdin, 65536)]
        if not lines:
            return n
        n += parser.feed_lines(lines, line_no).rows.num_rows
        line_no += len(lines)


if __name__ == "__main__":
    main()
