"""Build spftrace/_native/_perf_walk (the compiled record walks) in place.

    python bench/build_perf_walk.py

One C file, no libraries: a setuptools Extension named spftrace._native._perf_walk
from spftrace/_native/perf_walk.c.  Without it the readers use their pure-Python
twins (perf_data/walk.py, trace_dat/ring.py), about 20x slower on the walk.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    from setuptools import Extension, setup

    ext = Extension(
        "spftrace._native._perf_walk",
        sources=[str(Path("spftrace") / "_native" / "perf_walk.c")],
        extra_compile_args=["-O2", "-std=c99"],
    )
    import os
    import tempfile

    os.chdir(ROOT)
    tmp = tempfile.mkdtemp(prefix="spftrace-build-")
    setup(
        name="spftrace-perf-walk",
        ext_modules=[ext],
        packages=[],
        py_modules=[],
        script_args=["build_ext", "--inplace", "-q", "--build-temp", tmp, "--build-lib", tmp],
    )


if __name__ == "__main__":
    main()
