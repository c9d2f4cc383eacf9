"""The format registry: name -> FormatSpec, in detection order.

The order is the sniffing order, most specific first (as Perfetto's
trace_type.cc): a format whose signature cannot be mistaken for another's goes
before looser ones.  It is written here and nowhere else.  A new format is one
module with a ``SPEC`` and one line below.
"""

from __future__ import annotations

from . import (
    binary,
    ftrace,
    perf_script,
    perf_stat,
    simpleperf_stat,
    trace_cmd,
    vmstat,
    will_it_scale,
)
from .spec import Batch, FormatSpec, Parser

#: format name -> spec, in detection order
FORMATS: dict[str, FormatSpec] = {
    # perf.data: the binary magic PERFILE2 / 2ELIFREP (or v1's PERFFILE, to name it)
    "perf-data": binary.PERF_DATA,
    # trace.dat: the binary magic "\x17\x08\x44tracing"
    "trace-dat": binary.TRACE_DAT,
    # will-it-scale: runtest.py's CSV header, or the harness's "testcase:" first line
    "will-it-scale": will_it_scale.SPEC,
    # trace-cmd report: "cpus=N" first line, or "INSTANCE: comm-pid [cpu] ..." records
    "trace-cmd": trace_cmd.SPEC,
    # ftrace text: "# tracer:" header, or "comm-pid [cpu] flags time: event:" lines
    "ftrace": ftrace.SPEC,
    # perf script: "time: system:event:" tracepoints, or "ids [cpu] time: [period] event:" samples
    "perf-script": perf_script.SPEC,
    # a /proc/vmstat dump is all "name value" lines with well-known keys
    "vmstat": vmstat.SPEC,
    # simpleperf stat: its "Performance counter statistics:" header or "# count
    # event_name" column line; before perf stat, whose human grammar takes its counters
    "simpleperf-stat": simpleperf_stat.SPEC,
    # perf stat: headers, footers, or counter lines (human/CSV/JSON)
    "perf-stat": perf_stat.SPEC,
    # never sniffed: perf.data through the installed perf script, on request
    "perf-data-render": binary.PERF_DATA_RENDER,
}


def spec(name: str) -> FormatSpec:
    return FORMATS[name]


__all__ = ["FORMATS", "Batch", "FormatSpec", "Parser", "spec"]
