"""spftrace.__main__.quiet_blas: numpy's OpenBLAS starts no worker threads in the
command (each case in a fresh interpreter: OpenBLAS reads its setting as it loads)."""

from __future__ import annotations

import os
import subprocess
import sys

THREADS = "import os, numpy\nprint(len(os.listdir('/proc/self/task')))\n"


def _run(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
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
