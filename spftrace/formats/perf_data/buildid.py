"""Where perf.data's kernel symbols come from: the build-id cache, else this kernel.

Its own module so that the session (which looks symbols up when it meets the file's
build-ids) and the package's reader import it without importing each other.
"""

from __future__ import annotations

import os
from pathlib import Path


def find_kallsyms(
    build_ids: list[tuple[int, int, bytes, str]], osrelease: str | None = None
) -> bytes | None:
    """The kernel's symbols for a file, as perf finds them: the build-id cache
    ($PERF_BUILDID_DIR or ~/.debug) that perf record fills, else /proc/kallsyms when
    the running kernel has the file's build-id (/sys/kernel/notes), or - for files
    without build-ids, as pipe mode writes them - the file's kernel release."""
    bid = next(
        (b for misc, _pid, b, name in build_ids if name == "[kernel.kallsyms]" and misc & 7 == 1),
        None,
    )
    try:
        if bid is not None:
            root = Path(os.environ.get("PERF_BUILDID_DIR") or Path.home() / ".debug")
            cached = root / "[kernel.kallsyms]" / bid.hex() / "kallsyms"
            if cached.is_file():
                return cached.read_bytes()
            if bid not in Path("/sys/kernel/notes").read_bytes():
                return None
        elif osrelease is None or osrelease != os.uname().release:
            return None
        text = Path("/proc/kallsyms").read_bytes()
    except OSError:
        return None
    return text if text[:16].strip(b"0") else None  # zeros: addresses hidden
