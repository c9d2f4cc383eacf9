"""Helpers for fault tests: dataset fingerprints and a small real file system to fill.

CI runs as root (.ci/run), so the disk-full tests mount a real tmpfs of a few hundred
KiB rather than pretending with a mock: the ENOSPC comes from the kernel."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import spftrace


def fingerprint(path: Path) -> dict[str, str]:
    """Every file under ``path`` (the lock file aside) with its SHA-256, and every
    directory: what "the dataset is byte-identical" means in these tests."""
    out: dict[str, str] = {}
    for p in sorted(path.rglob("*")):
        rel = str(p.relative_to(path))
        if p.is_dir():
            out[rel + "/"] = "dir"
        elif p.name != ".lock":
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def readable_runs(data: Path) -> dict[str, int]:
    """run -> faults of each run as the JSON report gives them, one run at a time."""
    import json

    out = {}
    for line in spftrace.list_runs(data)[1:]:
        run = line.split()[0]
        if "DAMAGED:" in line:
            continue
        doc = json.loads(spftrace.report("json", data=data, runs=[run]))
        out[run] = doc["runs"][0]["faults"]
    return out


@contextmanager
def tiny_fs(where: Path, size_kib: int) -> Iterator[Path]:
    """A tmpfs of ``size_kib`` KiB mounted at ``where`` (needs root, as CI has)."""
    assert os.geteuid() == 0, "the disk-full tests mount a tmpfs: run them as root (as CI does)"
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0755", "spftrace-test", str(where)],
        check=True,
    )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def fill(fs: Path, leave: int = 0) -> None:
    """Fill the file system at ``fs`` up to ``leave`` free bytes."""
    st = os.statvfs(fs)
    free = st.f_bavail * st.f_frsize
    try:
        with (fs / "filler").open("wb") as fh:
            fh.write(b"\0" * max(free - leave, 0))
    except OSError:  # tmpfs counts whole pages: the last one may not fit
        pass
