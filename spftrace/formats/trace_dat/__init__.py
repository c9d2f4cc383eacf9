"""trace.dat (trace-cmd, versions 6 and 7) -> event rows, read by spftrace itself.

Produced by: trace-cmd record -e EVENTS -o FILE; trace-cmd extract -B INSTANCE -o FILE
Sample:      a file starting with "\\x17\\x08\\x44tracing" and the version ("6", "7")
Reference:   trace-cmd.dat.v6(5), trace-cmd.dat.v7(5), lib/trace-cmd/trace-input.c,
             libtraceevent kbuffer-parse.c and event-parse.c.

Rows are the records ``trace-cmd report`` prints, in its order: every buffer's
CPUs merged by time, ties to the earlier buffer and lower CPU (tracecmd_read_next_data
and trace-read.c); comm from the saved cmdlines ("<idle>" for pid 0, "<...>" when
unknown); the payload as libtraceevent prints it with the file's own kallsyms.
The CPUs are read a few hundred pages at a time, so memory stays bounded.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from typing import IO

from ...errors import SpftraceError
from ..binary_batch import BinaryBatch
from ..tracing_data import MAGIC
from .header import DatError, read_dat_header
from .merge import DatReader

FORMAT = "trace-dat"
BATCH_ROWS = 65536


def sniff(head: bytes) -> bool:
    return head[:10] == MAGIC


def read_trace_dat(
    stream: IO[bytes],
    *,
    source: str = "<stdin>",
    batch_rows: int = BATCH_ROWS,
    use_native: bool = True,
) -> Iterator[BinaryBatch]:
    """Batches of event rows from a trace.dat stream positioned at its start.
    A non-seekable stream is spooled to a temporary file first (the CPUs' data are
    read side by side)."""
    owned: IO[bytes] | None = None
    try:
        if not _seekable(stream):
            owned = tempfile.TemporaryFile(prefix="spftrace-dat-")  # noqa: SIM115
            shutil.copyfileobj(stream, owned, 1 << 20)
            owned.seek(0)
            stream = owned
        start = stream.tell()
        head = stream.read(10)
        if not head:
            raise SpftraceError(f"{source}: empty input (0 bytes), not a trace.dat file")
        if head != MAGIC:
            raise SpftraceError(f"{source}: not a trace.dat file (no tracing magic)")
        stream.seek(start)
        try:
            hdr = read_dat_header(stream)
            reader = DatReader(stream, hdr, batch_rows=batch_rows, use_native=use_native)
        except DatError as err:
            raise SpftraceError(f"{source}: {err}") from None
        try:
            yield from reader.batches()
        except DatError as err:  # merge.DatLimit: the file would hold too much at once
            raise SpftraceError(f"{source}: {err}") from None
    finally:
        if owned is not None:
            owned.close()


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable())
    except (OSError, ValueError):
        return False


__all__ = ["FORMAT", "BinaryBatch", "read_trace_dat", "sniff"]
