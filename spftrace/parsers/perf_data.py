"""perf.data (binary) -> event rows, through ``perf script``.

Produced by: perf record -e 'pagefault:*' -e exceptions:page_fault_user -e 'mmap_lock:*' ...
Sample:      a file that starts with the magic ``PERFILE2``

perf.data's tracepoint payloads are only decodable with the kernel's format
files, which perf stores in the file and libtraceevent interprets; perf itself
is the well-kept reader, so it renders the file (``perf script --header --ns
-F comm,tid,pid,cpu,time,event,trace``) and the perf-script parser reads that
text.  The dataset records ``perf-data`` as the source format and the
SHA-256 of the binary file.  ``ip,sym,symoff,dso`` print callchains (the
sample's symbol when it has none) and ``--show-lost-events`` the ring buffer's
losses, both kept by the perf-script parser.
"""

from __future__ import annotations

import shutil

from .perf_script import PerfScriptParser

FORMAT = "perf-data"
TABLE = "events"
MAGIC = b"PERFILE2"
SCRIPT_ARGS = (
    "script", "--header", "--ns", "--show-lost-events",
    "-F", "comm,tid,pid,cpu,time,event,trace,ip,sym,symoff,dso", "-i",
)  # fmt: skip


def sniff(head: str) -> bool:
    return head.startswith(MAGIC.decode())


def perf_binary() -> str | None:
    return shutil.which("perf")


__all__ = ["FORMAT", "MAGIC", "SCRIPT_ARGS", "PerfScriptParser", "perf_binary", "sniff"]
