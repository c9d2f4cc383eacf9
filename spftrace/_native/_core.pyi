# The C extension built from src/module.c (results: see Scan in __init__.py).
from typing import Any

VERSION: int

def scan_perf_script(
    data: bytes | bytearray,
    n_lines: int,
    origin: int,
    *,
    comm: bool,
    ids: int,
    cpu: bool,
    v4_prefix: bytes,
    v4_dead: bytes,
) -> dict[str, Any]: ...
def scan_ftrace(
    data: bytes | bytearray,
    n_lines: int,
    origin: int,
    *,
    tracecmd: bool,
    systems: dict[bytes, bytes],
    v4_prefix: bytes,
    v4_dead: bytes,
) -> dict[str, Any]: ...
def count_lines(data: bytes | bytearray | memoryview) -> int: ...
