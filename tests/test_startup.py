"""The ingest command's start-up (spftrace.__main__, spftrace.lazy_numpy): the garbage
collector is back on once the modules are imported, and pyarrow's libraries are
loaded with lazy binding without changing the flags of later loads.  Each case in a
fresh interpreter (the state is per process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _run(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.split()


def test_the_collector_is_on_again_after_the_imports() -> None:
    out = _run(
        "import gc, sys\n"
        "gc.disable()\n"  # as main() does for an ingest
        "from spftrace.__main__ import imported\n"
        "imported()\n"
        "print(gc.isenabled(), gc.get_freeze_count() > 10000, 'spftrace.ingest' in sys.modules)\n"
        "print(gc.collect(0) >= 0, gc.isenabled())\n"
    )
    assert out == ["True", "True", "True", "True", "True"]


def test_lazy_binding_is_only_for_the_loads_inside() -> None:
    out = _run(
        "import os, sys\n"
        "from spftrace.lazy_numpy import lazy_binding\n"
        "before = sys.getdlopenflags()\n"
        "with lazy_binding():\n"
        "    inside = sys.getdlopenflags()\n"
        "print(before, inside, sys.getdlopenflags())\n"
    )
    before, inside, after = map(int, out)
    assert before & os.RTLD_NOW  # CPython's default for extension modules
    assert inside & (os.RTLD_NOW | os.RTLD_LAZY) == os.RTLD_LAZY
    assert inside & ~(os.RTLD_NOW | os.RTLD_LAZY) == before & ~(os.RTLD_NOW | os.RTLD_LAZY)
    assert after == before


def test_an_ingest_with_lazily_bound_pyarrow_stores_its_rows(tmp_path: Path) -> None:
    """The command line's pyarrow (lazily bound) writes what it read: 3 perf script
    tracepoint lines, 3 events (counted by hand), LD_BIND_NOW or not."""
    import pyarrow.parquet as pq

    src = tmp_path / "ps.txt"
    line = (
        "         mtfault  2313 [000]   197.2069{}:    mmap_lock:mmap_lock_start_locking: "
        "mm=0xffff88810006a580 memcg_id=2972 write=true\n"
    )
    src.write_text("".join(line.format(n) for n in (15, 17, 32)))
    for bind_now in ("", "1"):
        data = tmp_path / f"ds{bind_now}"
        env = {k: v for k, v in os.environ.items() if k != "LD_BIND_NOW"}
        if bind_now:
            env["LD_BIND_NOW"] = bind_now
        cmd = [sys.executable, "-m", "spftrace", "ingest", str(src), "--data", str(data)]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stderr
        assert "3 lines: 3 records, 0 ignored, 0 rejected" in out.stderr
        (events,) = (data / "events").rglob("*.parquet")
        assert pq.read_table(events).num_rows == 3
