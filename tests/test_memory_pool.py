"""spftrace.__main__._memory_pool: an ingest's Arrow buffers come from the system
allocator unless the user chose a pool (ARROW_DEFAULT_MEMORY_POOL, which pyarrow reads
when it makes its default pool); other commands keep pyarrow's default.  Each case in
a fresh interpreter: the pool is chosen once per process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = (
    "import sys\n"
    "from spftrace.__main__ import _memory_pool\n"
    "_memory_pool(sys.argv[1:])\n"
    "import pyarrow as pa\n"
    "print(pa.default_memory_pool().backend_name)\n"
)


def backend(argv: list[str], pool: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if pool is not None:
        env["ARROW_DEFAULT_MEMORY_POOL"] = pool
    r = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env, check=True
    )
    return r.stdout.strip()


def pyarrows_own_default() -> str:
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    code = "import pyarrow as pa; print(pa.default_memory_pool().backend_name)"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.strip()


def test_an_ingest_uses_the_system_allocator() -> None:
    assert backend(["ingest", "x.txt"]) == "system"


@pytest.mark.parametrize("argv", [["report", "text"], ["query", "select 1"], []])
def test_other_commands_keep_pyarrows_default(argv: list[str]) -> None:
    assert backend(argv) == pyarrows_own_default()


def test_the_users_choice_wins() -> None:
    own = pyarrows_own_default()
    assert own != "system"  # (else this test could not tell the two apart)
    assert backend(["ingest", "x.txt"], pool=own) == own
