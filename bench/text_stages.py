"""Where a text ingest's CPU goes, stage by stage, in one process (not whole-process:
bench/whole.py has those).  Each stage runs alone on the previous one's output, so the
figures add up to the ingest's work without its threads' overlap or its start-up.

    python bench/text_stages.py bench/work/ps-1M.txt   # the capture bench/whole.py records
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main(path: str, fmt: str = "perf-script") -> None:
    from spftrace.formats import FORMATS
    from spftrace.ingest.inputs import open_input
    from spftrace.store import Dataset

    spec = FORMATS[fmt]
    assert spec.parser is not None
    clock = time.process_time
    data = Path(path).read_bytes()
    c = clock()
    hashlib.sha256(data).hexdigest()
    sha = clock() - c
    del data
    c = clock()
    inp = open_input(path)
    chunks = list(inp.lines().chunks(spec.chunk_bytes))
    read = clock() - c
    c = clock()
    import pyarrow  # noqa: F401  (the parse's first use imports it: not the parse's work)

    imports = clock() - c
    parser = spec.parser()
    c = clock()
    outs = [parser.feed(ch) for ch in chunks]
    outs.append(parser.close())
    parse = clock() - c
    tmp = Path(tempfile.mkdtemp())
    try:
        w = Dataset(tmp / "ds", create=True).writer("stages", 0)
        c = clock()
        for o in outs:
            if o.n_rows:
                w.write(o.table, o.rows, 0)
        for f in w._open.values():  # what commit() does before it publishes
            w._flush(f)
            f.writer.close()
        write = clock() - c
        w.abort()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lines = sum(ch.n_lines for ch in chunks)
    print(f"{path}: {lines:,} lines, {inp.nbytes / 1e6:.0f} MB, {len(chunks)} chunks; CPU s:")
    print(f"  SHA-256 of the bytes alone: {sha:.2f}")
    print(f"  read, hash and split into chunks: {read:.2f}")
    print(f"  import pyarrow (and numpy): {imports:.2f}")
    print(f"  parse ({fmt}): {parse:.2f}")
    print(f"  Parquet write: {write:.2f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
