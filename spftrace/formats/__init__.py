"""The format registry: name -> FormatSpec, in detection order.

The order is the sniffing order, most specific first (as Perfetto's
trace_type.cc): a format whose signature cannot be mistaken for another's goes
before looser ones.  It is written here and nowhere else.  A new format is one
module with a ``SPEC`` and one line below.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping

from .spec import Batch, FormatSpec, Parser


class _Registry(MutableMapping[str, FormatSpec]):
    """name -> FormatSpec, each spec's module imported when the spec is first used.

    Sniffing walks the registry in order and stops at the first format that accepts
    the head, so a perf script ingest never imports perf stat's modules (their
    regular expressions alone took 40 ms of a 10-line ingest's start-up).  Iterating
    the names imports nothing."""

    def __init__(self, entries: dict[str, str]) -> None:
        #: name -> "module:ATTRIBUTE" until first use, then the spec
        self._entries: dict[str, str | FormatSpec] = dict(entries)

    def __getitem__(self, name: str) -> FormatSpec:
        entry = self._entries[name]
        if isinstance(entry, str):
            module, attr = entry.split(":")
            spec_: FormatSpec = getattr(importlib.import_module(module, __name__), attr)
            self._entries[name] = entry = spec_
        return entry

    def __setitem__(self, name: str, spec_: FormatSpec) -> None:
        self._entries[name] = spec_

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"FORMATS({list(self._entries)})"


#: format name -> spec, in detection order
FORMATS: MutableMapping[str, FormatSpec] = _Registry(
    {
        # perf.data: the binary magic PERFILE2 / 2ELIFREP (or v1's PERFFILE, to name it)
        "perf-data": ".binary:PERF_DATA",
        # trace.dat: the binary magic "\x17\x08\x44tracing"
        "trace-dat": ".binary:TRACE_DAT",
        # will-it-scale: runtest.py's CSV header, or the harness's "testcase:" first line
        "will-it-scale": ".will_it_scale:SPEC",
        # trace-cmd report: "cpus=N" first line, or "INSTANCE: comm-pid [cpu] ..." records
        "trace-cmd": ".trace_cmd:SPEC",
        # ftrace text: "# tracer:" header, or "comm-pid [cpu] flags time: event:" lines
        "ftrace": ".ftrace:SPEC",
        # perf script: "time: system:event:" tracepoints, or "ids [cpu] time: [period] event:"
        # samples
        "perf-script": ".perf_script:SPEC",
        # a /proc/vmstat dump is all "name value" lines with well-known keys
        "vmstat": ".vmstat:SPEC",
        # simpleperf stat: its "Performance counter statistics:" header or "# count
        # event_name" column line; before perf stat, whose human grammar takes its counters
        "simpleperf-stat": ".simpleperf_stat:SPEC",
        # perf stat: headers, footers, or counter lines (human/CSV/JSON)
        "perf-stat": ".perf_stat:SPEC",
        # never sniffed: perf.data through the installed perf script, on request
        "perf-data-render": ".binary:PERF_DATA_RENDER",
    }
)


def spec(name: str) -> FormatSpec:
    return FORMATS[name]


__all__ = ["FORMATS", "Batch", "FormatSpec", "Parser", "spec"]
