"""The build of spftrace's compiled core (spftrace/_native); pyproject.toml has the rest.

The extension is optional by design: where the compiler is missing or fails,
setuptools warns and installs the package without it, and SPFTRACE_NO_NATIVE=1
skips it on purpose.  Either way spftrace then runs the exact per-line Python
path alone, only slower (spftrace/_native/__init__.py).
"""

from __future__ import annotations

import os

from setuptools import Extension, setup

SRC = "spftrace/_native/src"


def extensions() -> list[Extension]:
    if os.environ.get("SPFTRACE_NO_NATIVE", "") not in ("", "0"):
        return []
    return [
        Extension(
            "spftrace._native._core",
            sources=[f"{SRC}/module.c", f"{SRC}/tracetext.c"],
            depends=[f"{SRC}/out.h", f"{SRC}/tracetext.h"],
            # -O3: the scanners' small per-token helpers inlined (~5% of a scan)
            extra_compile_args=["-O3", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        ),
        # perf stat's human counter lines (formats/perf_stat/compiled.py)
        Extension(
            "spftrace._native._perf_stat",
            sources=[f"{SRC}/perf_stat.c"],
            depends=[f"{SRC}/out.h"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        ),
        # the record walks of the binary readers (formats/perf_data, formats/trace_dat)
        Extension(
            "spftrace._native._perf_walk",
            sources=[f"{SRC}/perf_walk.c"],
            extra_compile_args=["-O2", "-std=c99", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        ),
    ]


setup(ext_modules=extensions())
