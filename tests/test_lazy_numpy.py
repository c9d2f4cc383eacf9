"""spftrace.lazy_numpy: pyarrow imported without numpy, numpy's support completed when
numpy is imported later (each case in a fresh interpreter: the state is per process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from .helpers import DATA


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_numpy_imported_later_works_with_pyarrow() -> None:
    """Everything pyarrow does with numpy, after numpy arrives late: arrays from
    ndarrays (numpy's C API in Arrow's C++ side), numpy scalars, NaN as null, back
    to numpy, compute on them.  Values by hand."""
    out = _run(
        "import sys\n"
        "from spftrace.lazy_numpy import import_pyarrow\n"
        "assert import_pyarrow()\n"
        "import pyarrow as pa\n"
        "assert 'numpy' not in sys.modules and pa.lib.np is None\n"
        "print(pa.array([1, None]).null_count)\n"  # (no numpy needed)
        "import importlib.util\n"
        "assert importlib.util.find_spec('numpy') is not None\n"  # (a check: not the import)
        "import numpy as np\n"
        "assert pa.lib.np is np\n"
        "print(pa.array(np.arange(3, dtype=np.int16)).type, pa.array([np.int64(7)]).to_pylist())\n"
        "print(pa.array(np.array([1.5, np.nan]), from_pandas=True).null_count)\n"
        "print(pa.chunked_array([[1, 2], [3]]).to_numpy().tolist())\n"
        "import pyarrow.compute as pc\n"
        "print(pc.sum(pa.array(np.arange(10))).as_py())\n"
    )
    assert out.split("\n") == ["1", "int16 [7]", "1", "[1, 2, 3]", "45", ""]


def test_nothing_held_back_once_pyarrow_is_loaded() -> None:
    out = _run(
        "import pyarrow, sys\n"
        "from spftrace.lazy_numpy import import_pyarrow\n"
        "print(import_pyarrow(), 'numpy' in sys.modules, pyarrow.lib.np is sys.modules['numpy'])\n"
    )
    assert out.split() == ["False", "True", "True"]


def test_a_binary_ingest_through_the_cli_equals_the_eager_one(tmp_path: Path) -> None:
    """perf.data needs numpy (the compiled walk's columns): the command line, which
    imports pyarrow without it, stores the same events as with numpy loaded at start
    (``SPFTRACE_LAZY_NUMPY=0``, the way every ingest ran before)."""
    import os

    src = DATA / "perf_data" / "callchain.data"
    tables = []
    for lazy in ("1", "0"):
        data = tmp_path / f"ds{lazy}"
        env = {**os.environ, "SPFTRACE_LAZY_NUMPY": lazy}
        cmd = [sys.executable, "-m", "spftrace", "ingest", str(src), "--data", str(data)]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stderr
        (events,) = (data / "events").rglob("*.parquet")
        tables.append(pq.read_table(events))
    assert tables[0].num_rows > 0
    assert tables[0].equals(tables[1])
