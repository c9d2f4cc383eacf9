"""spftrace.__main__.quiet_blas and system_allocator: numpy's OpenBLAS starts no worker
threads in the command, and an ingest's Arrow buffers come from malloc (each case in a
fresh interpreter: both libraries read their setting once, as they load)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .helpers import DATA

THREADS = "import os, numpy\nprint(len(os.listdir('/proc/self/task')))\n"


def _run(code: str, **env: str) -> str:
    ours = ("OPENBLAS_NUM_THREADS", "ARROW_DEFAULT_MEMORY_POOL")
    clean = {k: v for k, v in os.environ.items() if k not in ours}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**clean, **env}
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.strip()


def test_numpy_starts_no_blas_threads() -> None:
    # the precondition, measured: OpenBLAS does start threads here when left alone
    # (one per CPU: on one CPU there is nothing to hold back)
    if (os.cpu_count() or 1) > 1:
        assert int(_run(THREADS)) > 1
    assert _run("from spftrace.__main__ import quiet_blas\nquiet_blas()\n" + THREADS) == "1"


def test_the_command_sets_it_and_keeps_the_users_choice() -> None:
    code = (
        "import os, sys\n"
        "sys.argv = ['spftrace', '--version']\n"
        "import spftrace.__main__ as m\n"
        "try:\n    m.main()\nexcept SystemExit:\n    pass\n"
        "print(os.environ['OPENBLAS_NUM_THREADS'])\n"
    )
    assert _run(code).splitlines()[-1] == "1"
    assert _run(code, OPENBLAS_NUM_THREADS="2").splitlines()[-1] == "2"


POOL = "import pyarrow as pa\nprint(pa.default_memory_pool().backend_name)\n"


def test_ingest_takes_arrow_buffers_from_malloc(tmp_path: Path) -> None:
    # the precondition, measured: this pyarrow's default pool is not malloc's
    assert _run(POOL) != "system"
    assert _run("from spftrace.__main__ import system_allocator\nsystem_allocator()\n" + POOL) == (
        "system"
    )
    # the command: an ingest sets it (seen as it would exit), another command does not
    code = (
        "import os, sys\n"
        "import spftrace.__main__ as m\n"
        "m._fast_exit = lambda code: None\n"
        "sys.argv = ['spftrace', *sys.argv[1:]]\n"
        "try:\n    m.main()\nexcept SystemExit:\n    pass\n"
        "print(os.environ.get('ARROW_DEFAULT_MEMORY_POOL'))\n"
    )
    src = DATA / "perf_data" / "mmap-lock.data"
    ingest = code.replace("*sys.argv[1:]", f"'ingest', {str(src)!r}, '--data', {str(tmp_path)!r}")
    assert _run(ingest).splitlines()[-1] == "system"
    assert (tmp_path / "events").is_dir()  # (it did ingest)
    assert _run(code.replace("*sys.argv[1:]", "'--version'")).splitlines()[-1] == "None"
