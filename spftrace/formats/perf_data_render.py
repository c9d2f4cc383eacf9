"""perf.data (binary) -> event rows, rendered by ``perf script``.

Produced by: perf record -e 'pagefault:*' -e exceptions:page_fault_user -e 'mmap_lock:*' ...
Sample:      a file that starts with the magic ``PERFILE2``

perf.data's tracepoint payloads are only decodable with the kernel's format
files, which perf stores in the file and libtraceevent interprets; perf itself
is the well-kept reader, so it renders the file (``perf script --header --ns
-F comm,tid,pid,cpu,time,event,trace``) and the perf-script parser reads that
text.  The dataset records ``perf-data`` as the source format and the SHA-256
of the binary file.  Since spftrace reads perf.data itself (perf_data/), this
path runs only on request: ``--format perf-data-render`` (formats/binary.py).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import SpftraceError
from .lines import LineReader
from .perf_script import SPEC as PERF_SCRIPT
from .perf_script import PerfScriptParser
from .spec import Batch, ByteSource, parse_chunks

FORMAT = "perf-data"
TABLE = "events"
MAGIC = b"PERFILE2"
#: ``ip,sym,symoff,dso`` print callchains (the sample's symbol when it has none) and
#: ``--show-lost-events`` the ring buffer's losses; the perf-script parser keeps both
SCRIPT_ARGS = (
    "script", "--header", "--ns", "--show-lost-events",
    "-F", "comm,tid,pid,cpu,time,event,trace,ip,sym,symoff,dso", "-i",
)  # fmt: skip


def perf_binary() -> str | None:
    return shutil.which("perf")


def read(source: ByteSource) -> Iterator[Batch]:
    """Hash the whole file, have perf script render it, parse the text."""
    perf = perf_binary()
    if perf is None:
        raise SpftraceError(
            f"{source.name}: perf.data needs the perf tool to be rendered (Debian: linux-perf); "
            "or ingest `perf script` output instead"
        )
    with contextlib.ExitStack() as stack:
        path = source.path
        stream = stack.enter_context(source.stream())
        if path is None:  # a pipe or a compressed file: perf needs a file it can seek in
            spool = stack.enter_context(
                tempfile.NamedTemporaryFile(prefix="spftrace-", suffix=".data")
            )
            shutil.copyfileobj(stream, spool, 1 << 20)
            spool.flush()
            path = Path(spool.name)
        else:
            while stream.read(1 << 20):  # the SHA-256 is taken over the bytes read
                pass
        err = stack.enter_context(tempfile.TemporaryFile(prefix="spftrace-perf-"))
        proc = subprocess.Popen([perf, *SCRIPT_ARGS, str(path)], stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        stack.callback(_stop, proc)
        source.interrupt_with(proc.kill)
        lines = LineReader(proc.stdout)
        rendered = False
        for batch in parse_chunks(PerfScriptParser(), lines.chunks(PERF_SCRIPT.chunk_bytes), TABLE):
            rendered = rendered or batch.lines > 0
            yield batch
        proc.wait()
        if not rendered:
            err.seek(0)
            said = err.read().decode("utf-8", "replace").strip().splitlines()
            raise SpftraceError(
                f"{source.name}: perf script could not read this perf.data"
                + (f": {said[-1]}" if said else "")
            )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    if proc.stdout is not None:
        proc.stdout.close()
    proc.wait()
