"""A perf stat ingest through the compiled scanner does not import pandas: pyarrow
imports it on the first ``pa.array`` / ``pa.scalar`` / ``Array.to_numpy`` of a
process (0.25 s and ~50 MB, inside the first chunk's parse), so the scanner's rows
are made into Arrow arrays from their buffers.  Checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest

from spftrace.formats.perf_stat import compiled

from .helpers import DATA

SCRIPT = """
import sys
from spftrace.formats import FORMATS
from spftrace.formats.perf_stat import fast
from spftrace.formats.spec import parse_chunks
from spftrace.ingest.inputs import open_input

fast.THRESHOLDS["compiled"] = 1  # the golden captures are short: the scanner takes them
spec = FORMATS["perf-stat"]
rows = 0
for path in sys.argv[1:]:
    inp = open_input(path)
    for b in parse_chunks(spec.parser(), inp.lines().chunks(spec.chunk_bytes), spec.table):
        rows += b.n_rows
    inp.close()
print(rows, "pandas" in sys.modules)
"""


@pytest.mark.skipif(compiled.scanner() is None, reason="the compiled core is not built")
def test_the_scanners_rows_need_no_pandas() -> None:
    files = [DATA / "perf_stat" / f"per-cpu-interval-{m}.txt" for m in ("human", "csv", "json")]
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, *map(str, files)], check=True, capture_output=True,
        text=True,
    )  # fmt: skip
    rows, pandas = out.stdout.split()
    assert int(rows) > 40  # the three captures' counter lines were parsed
    assert pandas == "False"
